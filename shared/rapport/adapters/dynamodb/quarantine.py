"""Quarantine: rejected input kept with its reason, and the operator queries on it.

A quarantine item lives in its UTC day's partition; the members its payload names get a link
in their own partitions first, so no quarantined payload is ever there without the way to
erase it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from botocore.exceptions import ClientError

from rapport.adapters.aws import client
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import (
    EXPIRES_AT,
    REDRIVEN_AT,
    NamedLink,
    QuarantinedEvent,
    QuarantineItem,
    quarantine_key,
    string,
)
from rapport.adapters.dynamodb.retention import Retention
from rapport.adapters.errors import Outcome, outcome
from rapport.ingest.ports import QuarantineEntry
from rapport.timeutil import iso_utc

#: TTL deletes in no set order: a link outlives its item, never the reverse, so an expired item
#: that still holds data can be found until it is gone.
_LINK_MARGIN = timedelta(days=7)


def put(table_name: str, entry: QuarantineEntry, retention: Retention) -> None:
    """Keep the rejected input with its reason; a redelivery of the same message is a no-op."""
    quarantine_id = keys.quarantine_sk(entry.enqueued_at, entry.message_id)
    item = QuarantineItem(
        quarantine_id=quarantine_id,
        enqueued_at=iso_utc(entry.enqueued_at),
        error_code=entry.error_code,
        message=entry.message,
        event_id=entry.event_id,
        message_id=entry.message_id,
        payload=entry.payload,
    ).encode()
    link_expiry = retention.expiry(later_by=_LINK_MARGIN)
    for member_id in entry.member_ids:  # one or two, rarely more: PutItem keeps the grant as is
        link = NamedLink(member_id, quarantine_id).encode() | {EXPIRES_AT: link_expiry}
        client("dynamodb").put_item(TableName=table_name, Item=link)
    try:
        client("dynamodb").put_item(
            TableName=table_name,
            Item=item | {EXPIRES_AT: retention.expiry()},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if outcome(error) is not Outcome.CONDITION_FAILED:
            raise


def list_quarantined(
    table_name: str, day: date, retention: Retention | None = None
) -> Iterator[QuarantinedEvent]:
    """One day's quarantine, oldest first: a query on that day's partition."""
    retention = retention or Retention()
    paginator = client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": string(keys.quarantine_pk_for_day(day))},
    ):
        for item in page["Items"]:
            if retention.live(item):
                yield QuarantineItem.decode(item)


def get_quarantined(
    table_name: str, quarantine_id: str, retention: Retention | None = None
) -> QuarantinedEvent | None:
    key = quarantine_key(quarantine_id)
    if key is None:
        return None
    response = client("dynamodb").get_item(TableName=table_name, Key=key, ConsistentRead=True)
    item = response.get("Item")
    live = item is not None and (retention or Retention()).live(item)
    return QuarantineItem.decode(item) if item and live else None


def mark_redriven(table_name: str, quarantine_id: str, at: datetime) -> bool:
    """Record that a quarantined event was sent again; False if it already was (or is gone)."""
    key = quarantine_key(quarantine_id)
    if key is None:
        return False
    try:
        client("dynamodb").update_item(
            TableName=table_name,
            Key=key,
            UpdateExpression=f"SET {REDRIVEN_AT} = :at",
            ConditionExpression=f"attribute_exists(pk) AND attribute_not_exists({REDRIVEN_AT})",
            ExpressionAttributeValues={":at": string(iso_utc(at))},
        )
    except ClientError as error:
        if outcome(error) is Outcome.CONDITION_FAILED:
            return False
        raise
    return True
