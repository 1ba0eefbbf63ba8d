"""Retention and erasure against a moto server: every stored item carries a TTL from the
retention setting, every read treats an item past its TTL as gone (moto, like DynamoDB for up to
a few days, still holds it), and erasing a member removes every item of theirs, proved by the
same queries afterwards, while nobody else's data changes."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import EXPIRES_AT, Kind, QuarantineItem, integer, kind_of
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
from tests.support.table import linked_quarantine, member_items, of_kind, scan

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
WEEK = date(2026, 11, 9)
DAY = 86_400


def _member_items(table: str, member: str) -> list[dict[str, Any]]:
    partition = member_items(table, member)
    # The partition links to the quarantined payloads naming the member.
    linked = linked_quarantine(table, partition)
    assert None not in linked, "a link outlives the quarantine item it points to"
    return partition + [item for item in linked if item is not None]


def _kind(item: dict[str, Any]) -> Kind:
    kind = kind_of(item)
    assert kind is not None, item
    return kind


def _expires_at(item: dict[str, Any]) -> int:
    return integer(item, EXPIRES_AT)


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
    items = scan(stack.table)
    days = int(stack.functions[LogicalId.PROCESS_EVENTS].environment["RETENTION_DAYS"])
    assert days == int(load_template()["Parameters"]["RetentionDays"]["Default"])
    kinds = {_kind(item) for item in items}
    assert kinds == {Kind.REQUEST, Kind.PROFILE, Kind.QUARANTINE, Kind.NAMED_IN, Kind.DIGEST}
    expected = time.time() + days * DAY
    for item in items:
        # A link to a quarantined payload outlives it by a week (TTL deletes in no set order).
        margin = 7 * DAY if _kind(item) is Kind.NAMED_IN else 0
        assert abs(_expires_at(item) - expected - margin) < 120, _kind(item)
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
    data = [item for item in held if _kind(item) is not Kind.NAMED_IN]  # links outlive items
    assert all(_expires_at(item) < time.time() for item in data)

    # ...but every read treats them as gone.
    digests = DynamoDigestStore(table, retention)
    assert digests.profile("m-expired") is None
    assert digests.member_requests("m-expired") == []
    assert [due.member_id for due in digests.due_at(NOW + timedelta(days=30))] == []
    assert list(list_quarantined(table, NOW.date(), retention)) == []
    quarantine_ids = [
        QuarantineItem.decode(item).quarantine_id for item in of_kind(held, Kind.QUARANTINE)
    ]
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
    assert Counter(_kind(item) for item in erase_items) == {
        Kind.DIGEST: 2,
        Kind.NAMED_IN: 2,
        Kind.PROFILE: 1,
        Kind.QUARANTINE: 2,
        Kind.REQUEST: 2,
    }

    erasure = erase_member(table, "m-erase")

    assert erasure.deleted == len(erase_items)
    assert erasure.redacted == 0
    assert _member_items(table, "m-erase") == []  # the proof: the same queries find nothing
    assert [item for item in scan(table) if "m-erase" in json.dumps(item)] == []
    assert _member_items(table, "m-keep") == keep_before
