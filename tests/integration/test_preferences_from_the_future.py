"""Against real DynamoDB semantics (moto over HTTP): a preferences event dated 8999 is quarantined,
so it can neither outrank later real updates (the latest ``time`` wins) nor schedule a digest
for the year 8999."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.ingest import InboundMessage, ingest
from rapport_cli.local.stack import LocalStack
from tests.support.events import T0, body, preferences

pytestmark = pytest.mark.integration


def _profile(table: str, member: str) -> dict[str, Any]:
    return dict(
        boto3.client("dynamodb").get_item(
            TableName=table,
            Key={"pk": {"S": keys.member_pk(member)}, "sk": {"S": keys.PROFILE_SK}},
            ConsistentRead=True,
        )["Item"]
    )


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
    profile = _profile(table, member)
    assert profile["email"]["S"] == "real@example.com"
    assert profile["preferences_time"]["S"].startswith("2026-11-05")
    assert profile["next_due_at"]["S"].startswith("2026-11-09")  # the next Monday, 08:00 UTC
    quarantined = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.quarantine_pk(T0 + timedelta(days=1))}},
        ConsistentRead=True,
    )["Items"]
    assert [item["error_code"]["S"] for item in quarantined] == ["time_in_future"]
