"""`rapport run --endpoint-url` against a moto server in another process: the stack stays there,
under names of its own that `stack.json` lists, and the operator commands explore it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from rapport_cli.generator import GenerationStats, GeneratorConfig, generate
from rapport_cli.main import main
from tests.reliability.runs import jsonl
from tests.support.events import T0, answer, body, preferences, sent

pytestmark = pytest.mark.integration

NOW = "2026-10-20T12:00:00Z"
STACK_KEYS = {"table", "events_queue_url", "events_dlq_url", "digest_queue_url", "digest_dlq_url"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """``python -m moto.server`` on a free loopback port, ready once it says it is running."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    for line in server.stderr:  # werkzeug announces the address once it listens
        if f"127.0.0.1:{port}" in line:
            break
    else:
        pytest.fail("moto server exited before it listened")
    # Keep reading its request log, so a full pipe never blocks the server.
    reader = threading.Thread(target=server.stderr.read, daemon=True)
    reader.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        reader.join(timeout=30)
        server.stderr.close()


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("endpoint") / "stream.jsonl"
    lines = generate(
        GeneratorConfig(members=3, weeks=2, seed=5, malformed_rate=0.1), GenerationStats()
    )
    path.write_text("".join(f"{line.text}\n" for line in lines), encoding="utf-8")
    return path


def _run(stream: Path, out: Path, endpoint: str) -> dict[str, str]:
    command = ["run", "--events", str(stream), "--out", str(out), "--now", NOW]
    assert main([*command, "--endpoint-url", endpoint, "--quiet"]) == 0
    stack: dict[str, str] = json.loads((out / "stack.json").read_text())
    assert set(stack) >= STACK_KEYS
    return stack


def _operator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> list[Any]:
    """A ``rapport`` command as an operator runs it on the local stack: moto's dummy credentials,
    its output read back as JSON lines."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # restored after the test
    capsys.readouterr()
    assert main(list(argv)) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_run_against_a_running_server_leaves_a_stack_the_operator_commands_explore(
    endpoint: str,
    stream: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = _run(stream, tmp_path / "first", endpoint)
    summary = json.loads((tmp_path / "first" / "summary.json").read_text())
    assert summary["quarantined"] > 0
    assert summary["digests_sent"] == 3  # SES's messages read over the server's HTTP API
    assert first["endpoint_url"] == endpoint

    listed = _operator(
        monkeypatch, capsys, "quarantine", "list", "--table", first["table"],
        "--endpoint-url", endpoint, "--json",
    )  # fmt: skip
    quarantined = jsonl(tmp_path / "first" / "quarantine.jsonl")
    assert {row["quarantine_id"] for row in listed} == {
        row["quarantine_id"] for row in quarantined if row["quarantine_id"]
    }

    requests = jsonl(tmp_path / "first" / "requests.jsonl")
    member = requests[0]["sender_id"]
    export_file = tmp_path / "export.json"
    _operator(
        monkeypatch, capsys, "member", "export", member, "--table", first["table"],
        "--endpoint-url", endpoint, "--out", str(export_file),
    )  # fmt: skip
    exported = json.loads(export_file.read_text())
    assert len(exported["requests"]) == sum(row["sender_id"] == member for row in requests)
    assert len(exported["digests"]) == 1

    assert _operator(
        monkeypatch, capsys, "dlq", "show", "--dlq-url", first["events_dlq_url"],
        "--endpoint-url", endpoint, "--json",
    ) == []  # fmt: skip

    # A second run on the same server gets resources of its own and leaves the first's alone.
    second = _run(stream, tmp_path / "second", endpoint)
    assert {second[key] for key in STACK_KEYS}.isdisjoint(first[key] for key in STACK_KEYS)
    assert json.loads((tmp_path / "second" / "summary.json").read_text()) == summary
    again = tmp_path / "again.json"
    _operator(
        monkeypatch, capsys, "member", "export", member, "--table", first["table"],
        "--endpoint-url", endpoint, "--out", str(again),
    )  # fmt: skip
    assert json.loads(again.read_text()) == exported


def test_a_recipient_whose_payloads_never_parsed_is_exported_and_erased_after_a_run(
    endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 13's erasure case on a local run: export finds the recipient's unparsed payloads
    and the request they received; delete leaves no item naming them, the sender's remain."""
    sender, recipient = "m-run-sender", "m-run-recipient"
    address, headline = "recipient.run@example.org", "Programme Director | PMP"
    words = "Sorry, I only connect with people I have met in person"
    prefs = body(preferences(recipient, at=T0, email=address))
    request = sent("req-1", sender, note="Fellow PMP here")
    request["data"]["recipient"] = {"member_id": recipient, "headline": headline}
    lines = [
        body(preferences(sender, at=T0, email="sender.run@example.org")),
        body(request),
        body(answer("declined", "req-1", sender, note=words)),
        prefs.replace('"email":', '"email": "x@example.org", "email":'),  # a duplicate key
        "\ufeff" + prefs.replace(T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()),
        prefs[:-1] + ', "padding": "' + "x" * 70_000 + '"}',  # over 64 KiB
    ]
    stream = tmp_path / "erasure.jsonl"
    stream.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    stack = _run(stream, tmp_path / "out", endpoint)
    aws = ["--table", stack["table"], "--endpoint-url", endpoint, "--region", stack["region"]]

    export_file = tmp_path / "recipient.json"
    _operator(monkeypatch, capsys, "member", "export", recipient, *aws, "--out", str(export_file))
    exported = json.loads(export_file.read_text())
    assert len(exported["quarantined"]) == 3
    assert [item["answers"][0]["note"] for item in exported["received_requests"]] == [words]

    [result] = _operator(
        monkeypatch, capsys, "member", "delete", recipient, *aws, "--yes", "--json"
    )
    assert result == {
        "member_id": recipient,
        "deleted_items": 6,  # three links and three quarantined payloads
        "redacted_items": 1,
        "remaining": 0,
    }
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=stack["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    items = [
        json.dumps(item, ensure_ascii=False)
        for page in dynamodb.get_paginator("scan").paginate(TableName=stack["table"])
        for item in page["Items"]
    ]
    for theirs in (recipient, address, headline, words):
        assert [item for item in items if theirs in item] == []
    sender_file = tmp_path / "sender.json"
    _operator(monkeypatch, capsys, "member", "export", sender, *aws, "--out", str(sender_file))
    [kept] = json.loads(sender_file.read_text())["requests"]
    assert [event["type"].rsplit(".", 1)[1] for event in kept["events"]] == ["sent", "declined"]
    assert kept["events"][0]["data"]["note"] == "Fellow PMP here"
