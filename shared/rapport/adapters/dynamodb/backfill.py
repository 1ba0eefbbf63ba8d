"""Migration: give request items written before the history index their ``events_until``.

Such an item is in no digest's read until it has the attribute (or a new event of its request
writes it). The backfill is an operator's one-off, so unlike every other path it scans the
table: it reads each request item without the attribute and sets the latest time of the events
it holds (an exact bound, where the ingest writes a looser one). The update is conditional on
the attribute still being absent and the item still existing, so a run is idempotent, can be
stopped and started again, and never overwrites what a concurrent event wrote nor brings back
an item erased meanwhile. It changes no ``expires_at``: retention still counts from the
item's last event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError

from rapport.adapters.aws import client
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import EVENTS_UNTIL, SK, key_of, string
from rapport.adapters.dynamodb.request_history import request_events
from rapport.adapters.errors import Outcome, outcome
from rapport.timeutil import sortable

SCAN_PAGE_SIZE = 500


@dataclass(frozen=True)
class BackfillProgress:
    """Running totals after one page of the scan."""

    #: Items the scan looked at (every kind), and request items it found without the attribute.
    scanned: int
    missing: int
    #: Of those, updated by this run, and given the attribute by someone else meanwhile.
    updated: int
    raced: int


def backfill_events_until(table: str) -> Iterator[BackfillProgress]:
    """Set ``events_until`` on every request item without it; the totals after each page."""
    scanned = missing = updated = raced = 0
    for page in (
        client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=table,
            FilterExpression="begins_with(#sk, :request) AND attribute_not_exists(#until)",
            ExpressionAttributeNames={"#sk": SK, "#until": EVENTS_UNTIL},
            ExpressionAttributeValues={":request": string(keys.REQUEST_PREFIX)},
            PaginationConfig={"PageSize": SCAN_PAGE_SIZE},
        )
    ):
        scanned += page["ScannedCount"]
        for item in page["Items"]:
            missing += 1
            if _set_events_until(table, item):
                updated += 1
            else:
                raced += 1
        yield BackfillProgress(scanned, missing, updated, raced)


def _set_events_until(table: str, item: dict[str, object]) -> bool:
    latest = max(event.time for event in request_events(item))
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key=key_of(item),
            UpdateExpression="SET #until = :until",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#until)",
            ExpressionAttributeNames={"#until": EVENTS_UNTIL},
            ExpressionAttributeValues={":until": string(sortable(latest))},
        )
    except ClientError as error:
        if outcome(error) is not Outcome.CONDITION_FAILED:
            raise
        return False
    return True
