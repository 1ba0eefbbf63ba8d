"""Against real DynamoDB semantics (moto over HTTP): a preferences event dated 8999 is quarantined,
so it can neither outrank later real updates (the latest ``time`` wins) nor schedule a digest
for the year 8999."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.ingest import InboundMessage, ingest
from rapport_cli.local.stack import LocalStack
from tests.support.events import T0, body, preferences
from tests.support.table import quarantined_on, stored_profile

pytestmark = pytest.mark.integration


def test_a_preferences_event_from_8999_never_wins_nor_schedules(stack: LocalStack) -> None:
    reset_clients()
    table = stack.table
    store = DynamoEventStore(table)
    member = f"m-{uuid.uuid4().hex}"
    deliveries = [
        (preferences(member, at=T0, email="first@example.com"), T0),
        (
            preferences(member, at=datetime(8999, 1, 4, 9, tzinfo=UTC), email="x@evil.example"),
            T0 + timedelta(days=1),
        ),
        (
            preferences(member, at=T0 + timedelta(days=3), email="real@example.com"),
            T0 + timedelta(days=3),
        ),
    ]
    codes = [
        ingest(InboundMessage(str(uuid.uuid4()), body(event), enqueued), store).error_code
        for event, enqueued in deliveries
    ]

    assert codes == [None, "time_in_future", None]
    profile = stored_profile(table, member)
    assert profile.email == "real@example.com"
    assert profile.preferences_time.startswith("2026-11-05")
    assert profile.next_due_at is not None
    assert profile.next_due_at.startswith("2026-11-09")  # the next Monday, 08:00 UTC
    quarantined = quarantined_on(table, T0 + timedelta(days=1))
    assert [entry.error_code for entry in quarantined] == ["time_in_future"]
