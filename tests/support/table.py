"""Reading the table in tests, through the DynamoDB package's keys and codecs.

Tests that look at what the handlers stored go through here, so no test spells an attribute-value
type tag or an item kind: the shapes are ``rapport.adapters.dynamodb.items``' alone. Every read
is consistent and paginated. A test that checks the wire format on purpose reads the raw item
(``get``) and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import boto3

from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import (
    AttributeValue,
    Kind,
    NamedLink,
    ProfileItem,
    QuarantinedEvent,
    QuarantineItem,
    kind_of,
    profile_key,
    quarantine_key,
    string,
)

RawItem = dict[str, Any]


def find(table: str, key: Mapping[str, AttributeValue]) -> RawItem | None:
    """The item under ``key`` as DynamoDB returns it, or None."""
    item = boto3.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)
    return dict(item["Item"]) if "Item" in item else None


def get(table: str, key: Mapping[str, AttributeValue]) -> RawItem:
    """The item under ``key`` as DynamoDB returns it; it must be there."""
    item = find(table, key)
    assert item is not None, f"no item under {key}"
    return item


def partition(table: str, pk: str) -> list[RawItem]:
    """Every item of one partition, in sort-key order."""
    pages = (
        boto3.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": string(pk)},
            ConsistentRead=True,
        )
    )
    return [item for page in pages for item in page["Items"]]


def member_items(table: str, member_id: str) -> list[RawItem]:
    """The member's partition: profile, requests sent, digests, links to what names them."""
    return partition(table, keys.member_pk(member_id))


def scan(table: str) -> list[RawItem]:
    pages = (
        boto3.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=table, ConsistentRead=True)
    )
    return [item for page in pages for item in page["Items"]]


def of_kind(items: Iterable[RawItem], kind: Kind) -> list[RawItem]:
    return [item for item in items if kind_of(item) is kind]


def linked_quarantine(table: str, links: Iterable[RawItem]) -> list[RawItem | None]:
    """The quarantine items that the ``named_in`` links among ``links`` point to (None if gone)."""
    found: list[RawItem | None] = []
    for link in of_kind(links, Kind.NAMED_IN):
        quarantined = quarantine_key(NamedLink.decode(link).quarantine_id)
        assert quarantined is not None, "a link names a quarantine id with its day"
        found.append(find(table, quarantined))
    return found


def quarantined_on(table: str, day: date | datetime) -> list[QuarantinedEvent]:
    """The quarantine of one UTC day (the day of an instant), decoded."""
    pk = keys.quarantine_pk(day) if isinstance(day, datetime) else keys.quarantine_pk_for_day(day)
    return [QuarantineItem.decode(item) for item in partition(table, pk)]


def all_quarantined(table: str) -> list[QuarantinedEvent]:
    """Every quarantined input in the table, whatever its day, decoded."""
    return [QuarantineItem.decode(item) for item in of_kind(scan(table), Kind.QUARANTINE)]


def stored_profile(table: str, member_id: str) -> ProfileItem:
    """The member's profile item, decoded; it must be there."""
    return ProfileItem.decode(get(table, profile_key(member_id)))
