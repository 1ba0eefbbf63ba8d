"""Operator commands against a moto server over HTTP: member export and erasure, DLQ redrive."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from rapport.adapters.dynamodb.items import count_events, request_key
from rapport_cli.local.event_source import drain
from rapport_cli.local.lambda_runtime import Handler
from rapport_cli.local.stack import LocalStack
from rapport_cli.main import main
from tests.support.events import answer, body, preferences, sent
from tests.support.local_aws import throttle
from tests.support.table import get, linked_quarantine, member_items

pytestmark = pytest.mark.integration

A, B = "m-alice", "m-bob"


def _aws(stack: LocalStack, endpoint: str) -> list[str]:
    return ["--table", stack.table, "--endpoint-url", endpoint]


def _ingest(stack: LocalStack, handler: Handler, *bodies: str) -> None:
    sqs = boto3.client("sqs")
    queue = stack.events_queue
    for text in bodies:
        sqs.send_message(QueueUrl=queue.url, MessageBody=text)
    drain(sqs, queue, handler, function_name="f", batch_size=10, region="us-east-1")


def _two_members(stack: LocalStack, handler: Handler) -> None:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    _ingest(
        stack,
        handler,
        body(preferences(A, at=at, email="alice@example.com")),
        body(preferences(B, at=at, email="bob@example.com")),
        body(sent("req-shared", A, note="Hello from Alice")),
        body(sent("req-shared", B, note="Bob's private note")),
        body(answer("declined", "req-shared", B, note="Bob was told no")),
        json.dumps({"specversion": "1.0", "id": "bad", "data": {"sender_id": A, "note": "x"}}),
        json.dumps({"specversion": "1.0", "id": "bad-b", "data": {"sender_id": B}}),
    )


def _partition(stack: LocalStack, member: str) -> list[dict[str, Any]]:
    return member_items(stack.table, member)


def _named(stack: LocalStack, member: str) -> list[dict[str, Any] | None]:
    """The quarantine items the member's partition links to (None for one that is gone)."""
    return linked_quarantine(stack.table, _partition(stack, member))


def test_export_holds_all_of_a_member_and_nothing_of_anyone_else(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _two_members(stack, process_events)
    capsys.readouterr()
    assert main(["member", "export", A, *_aws(stack, moto_endpoint)]) == 0
    output = capsys.readouterr().out
    exported = json.loads(output)
    assert exported["profile"]["email"] == "alice@example.com"
    assert [request["request_id"] for request in exported["requests"]] == ["req-shared"]
    assert [event["data"]["sender_id"] for event in exported["requests"][0]["events"]] == [A]
    assert [item["event_id"] for item in exported["quarantined"]] == ["bad"]
    for foreign in ("bob", "Bob", B):
        assert foreign not in output


def test_delete_erases_every_item_of_the_member_and_only_those(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _two_members(stack, process_events)
    before_b = (_partition(stack, B), _named(stack, B))
    assert _partition(stack, A)
    assert _named(stack, A)
    capsys.readouterr()

    assert main(["member", "delete", A, "--yes", "--json", *_aws(stack, moto_endpoint)]) == 0
    result = json.loads(capsys.readouterr().out)
    # A's profile, request and link to the quarantined payload; the payload itself.
    assert result == {"member_id": A, "deleted_items": 4, "redacted_items": 0, "remaining": 0}
    assert _partition(stack, A) == []
    everything = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    assert [item for item in everything if A in json.dumps(item)] == []
    assert (_partition(stack, B), _named(stack, B)) == before_b


def test_delete_without_confirmation_changes_nothing(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _two_members(stack, process_events)
    assert main(["member", "delete", A, *_aws(stack, moto_endpoint)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert _partition(stack, A)


def test_a_dead_lettered_event_is_redriven_and_stored_once(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outage = {"on": True}
    throttle("UpdateItem", lambda _params: outage["on"])
    _ingest(stack, process_events, body(sent("req-late", A)))
    dlq = stack.events_dead_letter_queue.url
    still_invalid = '{"specversion": "1.0", "id": "poison"'
    boto3.client("sqs").send_message(QueueUrl=dlq, MessageBody=still_invalid)
    endpoint = ["--endpoint-url", moto_endpoint]
    capsys.readouterr()

    assert main(["dlq", "show", "--dlq-url", dlq, "--json", *endpoint]) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(row["body"] for row in shown) == sorted(
        [body(sent("req-late", A)), still_invalid]
    )
    assert next(row for row in shown if "req-late" in row["body"])["receive_count"] >= 5

    outage["on"] = False  # the cause is fixed
    to = stack.events_queue.url
    assert main(["dlq", "redrive", "--dlq-url", dlq, "--to-url", to, "--json", *endpoint]) == 0
    assert json.loads(capsys.readouterr().out)["moved"] == 2
    result = drain(
        boto3.client("sqs"),
        stack.events_queue,
        process_events,
        function_name="f",
        batch_size=10,
        region="us-east-1",
    )
    assert len(result.succeeded) == 2  # stored, and quarantined rather than failing again
    item = get(stack.table, request_key(A, "req-late"))
    assert count_events(item) == 1
    assert boto3.client("sqs").receive_message(QueueUrl=dlq).get("Messages", []) == []


def test_dlq_needs_a_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "show"]) == 2
    assert "--stack" in capsys.readouterr().err


def test_export_of_an_id_with_no_data_is_an_error_not_an_empty_member(
    stack: LocalStack,
    process_events: Handler,
    moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _two_members(stack, process_events)
    capsys.readouterr()
    assert main(["member", "export", "m-Alice", *_aws(stack, moto_endpoint)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"rapport member: error: no data about member 'm-Alice' in table "
        f"{stack.tables['RapportTable']}; check the id (ids are case-sensitive) and the table"
    ]
