"""`rapport run --endpoint-url` against a moto server in another process: the stack stays there,
under names of its own that `stack.json` lists, and the operator commands explore it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rapport_cli.generator import GenerationStats, GeneratorConfig, generate
from rapport_cli.main import main
from tests.reliability.runs import jsonl

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
