"""`rapport send --bus` against a moto server over HTTP: valid lines are put on the template's bus
and reach the events queue through its rule; invalid ones are named by line, as with --queue-url."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from rapport_cli.local.bus import BusDelivery
from rapport_cli.local.stack import LocalStack
from rapport_cli.local.template import LogicalId
from rapport_cli.main import main
from tests.support.events import answer, body, preferences, sent

pytestmark = pytest.mark.integration


def _args(path: Path, bus: str, endpoint: str, *extra: str) -> list[str]:
    region = os.environ["AWS_DEFAULT_REGION"]
    return ["send", str(path), "--bus", bus, "--endpoint-url", endpoint, "--region", region, *extra]


def _bus(stack: LocalStack) -> str:
    return stack.buses[stack.route_to(LogicalId.EVENTS_QUEUE).bus_logical_id].name


def _delivered(stack: LocalStack) -> list[dict[str, Any]]:
    """The CloudEvents the events queue holds, as process_events reads them."""
    sqs = boto3.client("sqs")
    delivery = BusDelivery(stack.route_to(LogicalId.EVENTS_QUEUE).input_path)
    events = []
    while messages := sqs.receive_message(
        QueueUrl=stack.events_queue.url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=300,
        WaitTimeSeconds=0,
    ).get("Messages", []):
        events += [json.loads(delivery.body_of(message)) for message in messages]
    return events


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_valid_lines_reach_the_events_queue_through_the_rule_and_invalid_ones_are_named(
    stack: LocalStack, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = [
        preferences(),
        sent("req-1"),
        answer("declined", "req-1", note="Have we met?"),
        *(sent(f"req-{number}") for number in range(2, 14)),
    ]
    lines = [body(event) for event in valid]
    lines.insert(2, '{"specversion": "1.0", "id": "evt-trunc"')
    lines.insert(4, body({**sent("req-aws", event_id="evt-aws"), "source": "aws.platform"}))
    path = _write(tmp_path, lines)

    assert main(_args(path, _bus(stack), moto_endpoint, "--json")) == 1

    assert sorted(_delivered(stack), key=lambda event: event["id"]) == sorted(
        valid, key=lambda event: event["id"]
    )
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["sent"], summary["invalid"], summary["unsent"]) == (15, 2, 0)
    assert [(p["line"], p["event_id"], p["error_code"]) for p in summary["problems"]] == [
        (3, None, "invalid_json"),
        (5, "evt-aws", "rejected_by_bus"),
    ]
    assert f"sent 15 event(s) to {_bus(stack)}" in captured.err


def test_a_missing_bus_is_one_line_and_exit_2(
    stack: LocalStack, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, [body(sent())])

    assert main(_args(path, _bus(stack) + "-missing", moto_endpoint)) == 2

    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"rapport send: error: cannot send to {_bus(stack)}-missing: ")
    assert "(0 event(s) were sent before this)" in error


def test_a_queue_and_a_bus_at_once_is_a_usage_error(
    stack: LocalStack, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, [body(sent())])
    args = [
        *_args(path, _bus(stack), moto_endpoint),
        "--queue-url",
        stack.events_queue.url,
    ]

    with pytest.raises(SystemExit) as exited:
        main(args)

    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
