"""Everything Rapport keeps about one member: export it, or erase it.

A member's data is their partition (``MEMBER#<id>``: requests, profile, digest records) plus the
quarantined payloads that name them, found through the sparse ``MemberIndex``. Both are queries:
no scan, and nothing about any other member is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from rapport.adapters import keys
from rapport.adapters.aws import client
from rapport.adapters.dynamodb_store import QuarantinedEvent, request_events
from rapport.adapters.retention import Retention

Item = dict[str, Any]
_DELETE_BATCH = 25  # BatchWriteItem's limit
_DELETE_ATTEMPTS = 8


class ErasureIncomplete(RuntimeError):
    """Items of the member were still found after deleting them."""


def _query(table: str, **request: Any) -> Iterator[Item]:
    for page in client("dynamodb").get_paginator("query").paginate(TableName=table, **request):
        yield from page["Items"]


def _partition(table: str, member_id: str) -> Iterator[Item]:
    return _query(
        table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.member_pk(member_id)}},
        ConsistentRead=True,
    )


def _quarantine_keys(table: str, member_id: str) -> Iterator[Item]:
    return _query(
        table,
        IndexName=keys.MEMBER_INDEX,
        KeyConditionExpression="#ref = :ref",
        ExpressionAttributeNames={"#ref": keys.MEMBER_REF},
        ExpressionAttributeValues={":ref": {"S": keys.member_pk(member_id)}},
    )


def _profile(item: Item) -> dict[str, Any]:
    return {
        "email": item["email"]["S"],
        "timezone": item["timezone"]["S"],
        "digest_day": item["digest_day"]["S"],
        "digest_hour": int(item["digest_hour"]["N"]),
        "digest_enabled": item["digest_enabled"]["BOOL"],
        "preferences_time": item["preferences_time"]["S"],
    }


def export_member(table: str, member_id: str, retention: Retention | None = None) -> dict[str, Any]:
    """All of a member's data as plain JSON-ready values.

    Items past their TTL are gone as far as Rapport is concerned (DynamoDB deletes them within
    days), so they are not exported; erasure still deletes them."""
    retention = retention or Retention()
    export: dict[str, Any] = {
        "member_id": member_id,
        "profile": None,
        "requests": [],
        "digests": [],
        "quarantined": [],
    }
    for item in _partition(table, member_id):
        if not retention.live(item):
            continue
        kind = item.get("kind", {}).get("S")
        if kind == "profile":
            export["profile"] = _profile(item)
        elif kind == "request":
            events = sorted(request_events(item), key=lambda event: (event.time, event.id))
            export["requests"].append(
                {
                    "request_id": item["request_id"]["S"],
                    "events": [event.model_dump(mode="json") for event in events],
                }
            )
        elif kind == "digest" and "record" in item:
            export["digests"].append(json.loads(item["record"]["S"]))
    table_client = client("dynamodb")
    for key in _quarantine_keys(table, member_id):
        item = table_client.get_item(
            TableName=table, Key={"pk": key["pk"], "sk": key["sk"]}, ConsistentRead=True
        ).get("Item")
        if item and retention.live(item):
            export["quarantined"].append(vars(QuarantinedEvent.from_item(item)))
    return export


def _keys(items: Iterator[Item]) -> list[Item]:
    return [{"pk": item["pk"], "sk": item["sk"]} for item in items]


def _delete(table: str, item_keys: list[Item]) -> None:
    for start in range(0, len(item_keys), _DELETE_BATCH):
        requests = [
            {"DeleteRequest": {"Key": key}} for key in item_keys[start : start + _DELETE_BATCH]
        ]
        for _ in range(_DELETE_ATTEMPTS):
            response = client("dynamodb").batch_write_item(RequestItems={table: requests})
            requests = response.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                break
        else:
            raise ErasureIncomplete(f"{len(requests)} item(s) kept being returned unprocessed")


def erase_member(table: str, member_id: str) -> int:
    """Delete every item of the member, then prove it with the same queries; returns the count.

    Point-in-time recovery backups still hold the items until they age out (35 days at most):
    see docs/operations.md.
    """
    partition = _keys(_partition(table, member_id))
    quarantined = _keys(_quarantine_keys(table, member_id))
    _delete(table, partition + quarantined)
    # The index is eventually consistent, so the quarantine items are checked in the table itself.
    left = _keys(_partition(table, member_id)) + [
        key
        for key in quarantined
        if client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    ]
    if left:
        raise ErasureIncomplete(f"{len(left)} item(s) of the member are still there")
    return len(partition) + len(quarantined)
