"""Retention and erasure against a moto server: every stored item carries a TTL from the
retention setting, every read treats an item past its TTL as gone (moto, like DynamoDB for up to
a few days, still holds it), and erasing a member removes every item of theirs, proved by the
same queries afterwards, while nobody else's data changes."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import EXPIRES_AT, Kind, NamedLink, kind_of, quarantine_key
from rapport.adapters.dynamodb.member_data import erase_member, export_member
from rapport.adapters.dynamodb.quarantine import get_quarantined, list_quarantined
from rapport.adapters.dynamodb.retention import Retention
from rapport.digest.delivery import CLAIM_LEASE
from rapport.ingest import InboundMessage, ingest
from rapport_cli.local.lambda_runtime import Handler
from rapport_cli.local.stack import LocalStack
from rapport_cli.local.template import LogicalId, load_template
from tests.support.events import answer, body, preferences, sent
from tests.support.local_aws import deliver

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
WEEK = date(2026, 11, 9)
DAY = 86_400


def _member_items(table: str, member: str) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb")
    partition = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.member_pk(member)}},
        ConsistentRead=True,
    )["Items"]
    # The partition links to the quarantined payloads naming the member.
    return list(partition) + [
        dynamodb.get_item(
            TableName=table, Key=quarantine_key(NamedLink.decode(link).quarantine_id)
        )["Item"]
        for link in partition
        if kind_of(link) is Kind.NAMED_IN
    ]


def _everything(table: str) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"])


def _history(handler: Handler, stack: LocalStack, member: str) -> None:
    """Preferences, a declined request, a bad event naming the member, and a sent digest."""
    deliver(
        handler,
        [
            body(preferences(member, at=NOW - timedelta(days=20), email=f"{member}@example.org")),
            body(sent("req-1", member, note=f"private note of {member}")),
            body(answer("declined", "req-1", member, note=f"decline for {member}")),
            json.dumps(
                {"specversion": "1.0", "id": f"bad-{member}", "data": {"sender_id": member}}
            ),
        ],
        NOW,
    )
    store = DynamoDigestStore(stack.table)
    claim = store.claim(member, WEEK, NOW, CLAIM_LEASE)
    store.record_sent(member, WEEK, claim, {"member_id": member, "week_start": WEEK.isoformat()})


def test_every_item_gets_a_ttl_from_the_retention_setting(
    stack: LocalStack, process_events: Handler
) -> None:
    _history(process_events, stack, "m-ttl")
    items = _everything(stack.table)
    days = int(stack.functions[LogicalId.PROCESS_EVENTS].environment["RETENTION_DAYS"])
    assert days == int(load_template()["Parameters"]["RetentionDays"]["Default"])
    kinds = {item["kind"]["S"] for item in items}
    assert kinds == {"request", "profile", "quarantine", "named_in", "digest"}
    expected = time.time() + days * DAY
    for item in items:
        # A link to a quarantined payload outlives it by a week (TTL deletes in no set order).
        margin = 7 * DAY if item["kind"]["S"] == "named_in" else 0
        assert abs(int(item[EXPIRES_AT]["N"]) - expected - margin) < 120, item["kind"]
    ttl = load_template()["Resources"][LogicalId.TABLE]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": EXPIRES_AT, "Enabled": True}


def _expired(stack: LocalStack, member: str) -> Retention:
    """Write the member's history as if a retention period had already run out; return the
    retention that reads with now."""
    table = stack.table
    past = Retention(timedelta(days=1), clock=lambda: datetime.now(UTC) - timedelta(days=2))
    store = DynamoEventStore(table, past)
    for text in (
        body(preferences(member, at=NOW - timedelta(days=20), email=f"{member}@example.org")),
        body(sent("req-old", member, note="an old note")),
        '{"not": "an event", "data": {"sender_id": "' + member + '"}}',
    ):
        ingest(InboundMessage(str(uuid.uuid4()), text, NOW), store)
    digests = DynamoDigestStore(table, past)
    claim = digests.claim(member, WEEK - timedelta(days=7), NOW, CLAIM_LEASE)
    digests.record_sent(member, WEEK - timedelta(days=7), claim, {"member_id": member})
    return Retention(timedelta(days=1))


def test_reads_ignore_items_past_their_ttl(stack: LocalStack, process_events: Handler) -> None:
    del process_events  # its environment points the SDK at the stack
    table = stack.table
    retention = _expired(stack, "m-expired")
    held = _member_items(table, "m-expired")
    assert len(held) >= 4  # moto never deletes them...
    data = [item for item in held if item["kind"]["S"] != "named_in"]  # links outlive items
    assert all(int(item[EXPIRES_AT]["N"]) < time.time() for item in data)

    # ...but every read treats them as gone.
    digests = DynamoDigestStore(table, retention)
    assert digests.profile("m-expired") is None
    assert digests.member_requests("m-expired") == []
    assert [due.member_id for due in digests.due_at(NOW + timedelta(days=30))] == []
    assert list(list_quarantined(table, NOW.date(), retention)) == []
    quarantine_ids = [item["sk"]["S"] for item in held if item["kind"]["S"] == "quarantine"]
    assert quarantine_ids
    assert get_quarantined(table, quarantine_ids[0], retention) is None
    export = export_member(table, "m-expired")
    assert export == {
        "member_id": "m-expired",
        "profile": None,
        "requests": [],
        "received_requests": [],
        "digests": [],
        "quarantined": [],
    }


def test_erasure_removes_every_item_of_the_member_and_nothing_else(
    stack: LocalStack, process_events: Handler
) -> None:
    table = stack.table
    for member in ("m-erase", "m-keep"):
        _history(process_events, stack, member)
    _expired(stack, "m-erase")  # items past their TTL are erased too
    keep_before = _member_items(table, "m-keep")
    erase_items = _member_items(table, "m-erase")
    kinds = sorted(item["kind"]["S"] for item in erase_items)
    assert kinds == [
        "digest",
        "digest",
        "named_in",
        "named_in",
        "profile",
        "quarantine",
        "quarantine",
        "request",
        "request",
    ]

    erasure = erase_member(table, "m-erase")

    assert erasure.deleted == len(erase_items)
    assert erasure.redacted == 0
    assert _member_items(table, "m-erase") == []  # the proof: the same queries find nothing
    assert [item for item in _everything(table) if "m-erase" in json.dumps(item)] == []
    assert _member_items(table, "m-keep") == keep_before
