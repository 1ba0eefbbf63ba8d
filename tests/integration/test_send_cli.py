"""`rapport send` against a moto server over HTTP: what is sent, what is reported, exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from rapport_cli import send_cmd
from rapport_cli.local.stack import LocalStack
from rapport_cli.main import main
from rapport_cli.publisher import QueueTarget
from tests.integration.test_producer_sqs import (
    PartialFailures,
    hooked_client,
    received_bodies,
)
from tests.support.events import answer, body, preferences, sent

pytestmark = pytest.mark.integration

RAPPORT = Path(sys.executable).parent / "rapport"


def _args(path: Path, stack: LocalStack, endpoint: str, *extra: str) -> list[str]:
    return [
        "send",
        str(path),
        "--queue-url",
        stack.events_queue.url,
        "--endpoint-url",
        endpoint,
        "--region",
        os.environ["AWS_DEFAULT_REGION"],
        *extra,
    ]


@pytest.fixture
def mixed_file(tmp_path: Path) -> tuple[Path, list[str]]:
    """Valid events with an invalid one on lines 3, 5 and 6 and a blank line 7."""
    valid = [
        body(preferences()),
        body(sent("req-1")),
        body(answer("declined", "req-1", note="Have we met?")),
        body(sent("req-2")),
    ]
    lines = [
        valid[0],
        valid[1],
        '{"specversion": "1.0", "id": "evt-trunc"',
        valid[2],
        body({**sent("req-3", event_id="evt-viewed"), "type": "rapport.connection_request.viewed"}),
        body(sent("r" * 200, event_id="evt-long")),
        "",
        valid[3],
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe not utf-8\n")
    return path, valid


def test_valid_lines_are_sent_once_and_invalid_ones_named_by_line(
    stack: LocalStack,
    moto_endpoint: str,
    mixed_file: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, valid = mixed_file

    assert main(_args(path, stack, moto_endpoint)) == 1

    assert received_bodies(stack.events_queue.url) == Counter(valid)
    stderr = capsys.readouterr().err
    assert "line 3: invalid_json: The body is not valid JSON" in stderr
    assert "line 5: unknown_type: type is not one of" in stderr
    assert "line 6: field_too_long: data.request_id" in stderr
    assert "line 9: invalid_encoding: The line is not UTF-8" in stderr
    assert "sent 4 event(s)" in stderr
    assert "4 invalid line(s)" in stderr


def test_json_summary_lists_every_problem(
    stack: LocalStack,
    moto_endpoint: str,
    mixed_file: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _valid = mixed_file

    assert main(_args(path, stack, moto_endpoint, "--json")) == 1

    summary = json.loads(capsys.readouterr().out)
    assert {key: summary[key] for key in ("sent", "invalid", "unsent", "blank_lines")} == {
        "sent": 4,
        "invalid": 4,
        "unsent": 0,
        "blank_lines": 1,
    }
    assert [(p["line"], p["event_id"], p["error_code"]) for p in summary["problems"]] == [
        (3, None, "invalid_json"),
        (5, "evt-viewed", "unknown_type"),
        (6, "evt-long", "field_too_long"),
        (9, None, "invalid_encoding"),
    ]


def test_a_clean_file_exits_0(stack: LocalStack, moto_endpoint: str, tmp_path: Path) -> None:
    lines = [body(sent(f"req-{number}")) for number in range(15)]
    path = tmp_path / "clean.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert main(_args(path, stack, moto_endpoint)) == 0
    assert received_bodies(stack.events_queue.url) == Counter(lines)


def test_a_missing_file_or_queue_is_one_line_and_exit_2(
    stack: LocalStack,
    moto_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(_args(tmp_path / "nope.jsonl", stack, moto_endpoint)) == 2
    assert capsys.readouterr().err.strip() == (
        f"rapport send: error: FILE {tmp_path / 'nope.jsonl'}: no such file"
    )

    path = tmp_path / "one.jsonl"
    path.write_text(body(sent()) + "\n", encoding="utf-8")
    args = _args(path, stack, moto_endpoint)
    args[3] = stack.events_queue.url + "-missing"
    assert main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"rapport send: error: cannot send to {args[3]}: ")
    assert error.endswith("(0 event(s) were sent before this)")


def test_a_queue_url_that_is_not_a_url_is_refused_by_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["send", str(tmp_path / "x.jsonl"), "--queue-url", "events-queue"])
    assert exited.value.code == 2
    assert "'events-queue' is not an http(s) URL" in capsys.readouterr().err


def test_an_unreachable_endpoint_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    path = tmp_path / "one.jsonl"
    path.write_text(body(sent()) + "\n", encoding="utf-8")

    completed = subprocess.run(
        [
            str(RAPPORT),
            "send",
            str(path),
            *("--queue-url", f"{closed}/123456789012/events"),
            *("--endpoint-url", closed, "--region", "us-east-1"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )

    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert (
        completed.stderr.strip()
        .splitlines()[-1]
        .startswith("rapport send: error: cannot send to http://127.0.0.1:")
    )


def test_events_sqs_does_not_accept_are_named_by_id_and_exit_1(
    stack: LocalStack,
    moto_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [body(sent(f"req-{number}")) for number in range(3)]
    refused = {"Code": "InvalidMessageContents", "Message": "refused", "SenderFault": True}
    hook = PartialFailures(
        lambda _call, entry: refused if entry["MessageBody"] == lines[1] else None
    )
    monkeypatch.setattr(
        send_cmd, "QueueTarget", lambda url: QueueTarget(url, sqs=hooked_client(hook))
    )
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert main(_args(path, stack, moto_endpoint)) == 1

    assert received_bodies(stack.events_queue.url) == Counter([lines[0], lines[2]])
    stderr = capsys.readouterr().err
    assert "event sent-m-sender-req-1: InvalidMessageContents: refused" in stderr
    assert "1 event(s) SQS did not accept" in stderr
