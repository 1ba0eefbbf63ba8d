"""An operator lists and inspects quarantined events with `rapport quarantine` over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from rapport.adapters.dynamodb.items import count_events, request_key
from rapport_cli.local.event_source import drain
from rapport_cli.local.lambda_runtime import Handler
from rapport_cli.local.stack import LocalStack
from rapport_cli.main import main
from tests.support.events import body, sent
from tests.support.table import get

pytestmark = pytest.mark.integration


def test_quarantined_events_can_be_listed_and_shown_with_their_payload(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = body(sent(request_id="r" * 200))
    sqs = boto3.client("sqs")
    queue = stack.events_queue
    for text in ("not json at all", bad, body(sent())):
        sqs.send_message(QueueUrl=queue.url, MessageBody=text)
    drain(sqs, queue, process_events, function_name="f", batch_size=10, region="us-east-1")
    aws = ["--table", stack.table, "--endpoint-url", moto_endpoint]
    capsys.readouterr()  # the handler's own logs

    assert main(["quarantine", "list", *aws, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(row["error_code"] for row in listed) == ["field_too_long", "invalid_json"]

    too_long = next(row for row in listed if row["error_code"] == "field_too_long")
    assert main(["quarantine", "show", too_long["quarantine_id"], *aws]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["payload"] == bad
    assert "data.request_id" in shown["message"]
    assert shown["event_id"] == ("sent-m-sender-" + "r" * 200)[:128]  # ids are kept bounded


def test_an_unknown_quarantine_id_is_a_one_line_error(
    stack: LocalStack, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    aws = ["--table", stack.table, "--endpoint-url", moto_endpoint]
    assert main(["quarantine", "show", "2026-01-01T00:00:00.000000Z#nope", *aws]) == 2
    assert capsys.readouterr().err.strip() == (
        "rapport quarantine: error: no quarantined event with id '2026-01-01T00:00:00.000000Z#nope'"
    )


def test_a_quarantined_event_is_inspected_fixed_and_redriven_once(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    broken = sent(request_id="req-fix")
    del broken["data"]["recipient"]
    sqs = boto3.client("sqs")
    queue = stack.events_queue
    sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps(broken))
    drain(sqs, queue, process_events, function_name="f", batch_size=10, region="us-east-1")
    aws = ["--table", stack.table, "--endpoint-url", moto_endpoint]
    capsys.readouterr()
    assert main(["quarantine", "list", *aws, "--json"]) == 0
    (listed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["error_code"] == "missing_field"
    redrive = ["quarantine", "redrive", listed["quarantine_id"], *aws, "--queue-url", queue.url]

    assert main(redrive) == 2  # as it was, it still breaks the contract: nothing is sent
    assert "missing_field" in capsys.readouterr().err
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(sent(request_id="req-fix")), encoding="utf-8")
    assert main([*redrive, "--fixed", str(fixed)]) == 0
    assert main([*redrive, "--fixed", str(fixed)]) == 2  # once only
    assert "already redriven" in capsys.readouterr().err
    result = drain(sqs, queue, process_events, function_name="f", batch_size=10, region="us-east-1")

    assert len(result.succeeded) == 1
    item = get(stack.table, request_key("m-sender", "req-fix"))
    assert count_events(item) == 1
