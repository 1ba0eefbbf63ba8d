"""An operator lists and inspects quarantined events with `rapport quarantine` over HTTP."""

from __future__ import annotations

import json

import boto3
import pytest

from rapport_cli.local.event_source import drain
from rapport_cli.local.lambda_runtime import Handler
from rapport_cli.local.stack import LocalStack
from rapport_cli.main import main
from tests.support.events import body, sent

pytestmark = pytest.mark.integration


def test_quarantined_events_can_be_listed_and_shown_with_their_payload(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = body(sent(request_id="r" * 200))
    sqs = boto3.client("sqs")
    queue = stack.queues["EventsQueue"]
    for text in ("not json at all", bad, body(sent())):
        sqs.send_message(QueueUrl=queue.url, MessageBody=text)
    drain(sqs, queue, process_events, function_name="f", batch_size=10, region="us-east-1")
    aws = ["--table", stack.tables["RapportTable"], "--endpoint-url", moto_endpoint]
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
    aws = ["--table", stack.tables["RapportTable"], "--endpoint-url", moto_endpoint]
    assert main(["quarantine", "show", "2026-01-01T00:00:00.000000Z#nope", *aws]) == 2
    assert capsys.readouterr().err.strip() == (
        "rapport quarantine: error: no quarantined event with id '2026-01-01T00:00:00.000000Z#nope'"
    )
