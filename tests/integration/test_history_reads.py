"""Window-bounded digest reads against a moto server over HTTP, on the template's table: a
member with a long history reads only the requests that can appear in the digest, and gets the
same email as from a read of their whole partition; the backfill migrates items written before
the history index."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from rapport.adapters.aws import client, reset_clients
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import EVENTS_UNTIL, Kind, RequestItem, key_of, request_key
from rapport.adapters.dynamodb.retention import Retention
from rapport.digest.compose import compose_digest
from rapport.digest.insights import earliest_needed
from rapport.ingest import InboundMessage, ingest
from rapport.timeutil import sortable
from rapport_cli.local.stack import LocalStack
from rapport_cli.main import main
from tests.support.events import answer, body, sent
from tests.support.table import get, member_items, of_kind

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
WEEK = date(2026, 11, 9)
LINK = "https://unsubscribe.example/?token=t"
OLD_REQUESTS = 120
#: Recent requests: some answered, some still open, one sent long ago and answered recently.
RECENT = [
    (NOW - timedelta(days=12), "accepted", timedelta(days=1)),
    (NOW - timedelta(days=10), "declined", timedelta(days=2)),
    (NOW - timedelta(days=8), None, None),
    (NOW - timedelta(days=40), "withdrawn", timedelta(days=30)),
    (NOW - timedelta(days=3), "accepted", timedelta(hours=5)),
]


def _write(stack: LocalStack, event: dict[str, Any], written_at: datetime) -> None:
    """Ingest one event as the pipeline would have when it arrived (its enqueue and write
    clocks a minute after its time), so old history carries the bound it was written with."""
    at = written_at + timedelta(minutes=1)
    store = DynamoEventStore(stack.table, Retention(clock=lambda: at))
    result = ingest(InboundMessage(str(uuid.uuid4()), body(event), at), store)
    assert result.disposition.value == "stored", result


def _history(stack: LocalStack, member: str) -> None:
    start = NOW - timedelta(days=380)  # within retention, and ...
    for index in range(OLD_REQUESTS):
        at = start + timedelta(hours=30 * index)  # ... ending weeks before the digest's windows
        _write(stack, sent(f"old-{index}", member, at=at), at)
        if index % 3:
            verdict = "accepted" if index % 3 == 1 else "declined"
            decided = at + timedelta(days=index % 5)
            _write(stack, answer(verdict, f"old-{index}", member, at=decided), decided)
    for index, (at, kind, delay) in enumerate(RECENT):
        # Any arrival order: the answer first for odd ones.
        events = [sent(f"new-{index}", member, at=at)]
        if kind is not None and delay is not None:
            events.append(answer(kind, f"new-{index}", member, at=at + delay))
        latest = max(datetime.fromisoformat(event["time"]) for event in events)
        for event in events[:: -1 if index % 2 else 1]:
            _write(stack, event, latest)


@pytest.fixture
def items_read() -> Iterator[list[int]]:
    """How many items each Query returned, from botocore's hooks."""
    counts: list[int] = []
    reset_clients()

    def count(parsed: dict[str, Any], **_: Any) -> None:
        counts.append(len(parsed.get("Items", [])))

    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb.Query", count)
    yield counts
    events.unregister("after-call.dynamodb.Query", count)


def _digest(requests: Any, member: str) -> Any:
    return compose_digest(member, requests, WEEK, "UTC", NOW, unsubscribe_url=LINK)


def test_the_template_creates_the_history_index(stack: LocalStack) -> None:
    table = boto3.client("dynamodb").describe_table(TableName=stack.table)["Table"]
    (index,) = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == "HistoryIndex"]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["pk", EVENTS_UNTIL]
    assert index["Projection"]["ProjectionType"] == "ALL"


def test_a_long_history_is_not_read_and_the_email_is_the_same(
    stack: LocalStack, items_read: list[int]
) -> None:
    member, other = f"m-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    _history(stack, member)
    _history(stack, other)  # another member's recent requests are not read either
    store = DynamoDigestStore(stack.table, Retention(clock=lambda: NOW))

    full = store.member_requests(member)
    assert sum(items_read) == OLD_REQUESTS + len(RECENT)
    items_read.clear()
    since = earliest_needed(WEEK, "UTC")
    bounded = store.member_requests(member, since=since)

    assert sum(items_read) == len(RECENT)  # what DynamoDB returned, before any trimming
    assert sorted(events[0].data.request_id for events in bounded) == [
        f"new-{index}" for index in range(len(RECENT))
    ]
    answered = sum(kind is not None for _, kind, _ in RECENT)
    assert sum(len(events) for events in bounded) == len(RECENT) + answered  # all their events
    assert _digest(bounded, member).rendered == _digest(full, member).rendered
    # The full read holds old requests the digest drops: the comparison could have failed.
    assert len(full) > len(bounded)


def test_the_backfill_migrates_items_without_the_attribute_once(
    stack: LocalStack, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    member = f"m-{uuid.uuid4().hex[:8]}"
    _history(stack, member)
    dynamodb = boto3.client("dynamodb")
    # As items were before the index: the attribute removed from every request item.
    for item in of_kind(member_items(stack.table, member), Kind.REQUEST):
        dynamodb.update_item(
            TableName=stack.table,
            Key=key_of(item),
            UpdateExpression="REMOVE #until",
            ExpressionAttributeNames={"#until": EVENTS_UNTIL},
        )
    store = DynamoDigestStore(stack.table, Retention(clock=lambda: NOW))
    since = earliest_needed(WEEK, "UTC")
    assert store.member_requests(member, since=since) == []  # unmigrated: invisible to digests

    arguments = ["migrate", "history-index", "--table", stack.table]
    arguments += ["--endpoint-url", moto_endpoint, "--json"]
    assert main(arguments) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(arguments) == 0
    second = json.loads(capsys.readouterr().out)

    requests = OLD_REQUESTS + len(RECENT)
    assert first["updated"] == requests
    assert first["raced"] == 0
    assert second["updated"] == 0  # idempotent
    # The exact bound: the latest event's time.
    at, _, delay = RECENT[0]
    migrated = RequestItem.decode(get(stack.table, request_key(member, "new-0")))
    assert migrated.events_until == sortable(at + (delay or timedelta()))
    bounded = store.member_requests(member, since=since)
    full = store.member_requests(member)
    assert len(bounded) == len(RECENT)
    assert _digest(bounded, member).rendered == _digest(full, member).rendered
