"""Everything Rapport keeps about one member: export it, or erase it.

A member's data is in three places, each found by a query (no scan, and nothing about any other
member is read beyond the items that hold this member's data):

* their partition (``MEMBER#<id>``): requests they sent, profile, digest records, and links to
  the quarantined payloads that name them (``NAMED#<quarantine id>``, written at quarantine time
  from the raw text, so a payload that never parsed is found too);
* those quarantined payloads;
* the requests they *received*, which live in the senders' partitions and carry the recipient's
  key in ``member_ref`` (the sparse ``MemberIndex``).

Erasure deletes the first two and redacts the third (``rapport.erasure``): the sender keeps their
own facts and reasons, the recipient's id, headline and words go.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

from botocore.exceptions import ClientError

from rapport.adapters.aws import client
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import (
    EVENT_JSON,
    KEPT_REASONS,
    MEMBER_REF,
    PK,
    DigestItem,
    Kind,
    NamedLink,
    ProfileItem,
    QuarantineItem,
    RequestItem,
    key_of,
    kind_of,
    named_key,
    payload_of,
    quarantine_key,
    string,
    text,
)
from rapport.adapters.dynamodb.request_history import (
    history_of,
    request_events,
    stored_request_events,
)
from rapport.adapters.dynamodb.retention import Retention
from rapport.adapters.errors import Outcome, outcome
from rapport.contract import RequestDeclined, RequestSent
from rapport.erasure import redact_recipient
from rapport.identity import canonical_json
from rapport.named_members import members_named

Item = dict[str, Any]
#: A received request whose recipient link changed while it was being redacted (someone else
#: erased or re-linked it) is read and redacted again.
_REDACT_ATTEMPTS = 5
_DELETE_BATCH = 25  # BatchWriteItem's limit
_DELETE_ATTEMPTS = 8


class ErasureIncomplete(RuntimeError):
    """Data of the member was still found after erasing it."""


@dataclass(frozen=True)
class Erasure:
    #: Items deleted: the member's partition and the quarantined payloads naming them.
    deleted: int
    #: Requests of other members from which the member's part was removed.
    redacted: int


def _query(table: str, **request: Any) -> Iterator[Item]:
    for page in client("dynamodb").get_paginator("query").paginate(TableName=table, **request):
        yield from page["Items"]


def _partition(table: str, member_id: str) -> Iterator[Item]:
    return _query(
        table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": string(keys.member_pk(member_id))},
        ConsistentRead=True,
    )


def _indexed_keys(table: str, member_id: str) -> tuple[list[Item], list[Item]]:
    """Keys the index holds for the member (it is eventually consistent): the requests they
    received, and quarantine items that an earlier release linked through the index itself."""
    received: list[Item] = []
    quarantined: list[Item] = []
    for item in _query(
        table,
        IndexName=keys.MEMBER_INDEX,
        KeyConditionExpression="#ref = :ref",
        ExpressionAttributeNames={"#ref": MEMBER_REF},
        ExpressionAttributeValues={":ref": string(keys.member_pk(member_id))},
    ):
        in_partition = text(item, PK).startswith(keys.MEMBER_PREFIX)
        (received if in_partition else quarantined).append(key_of(item))
    return received, quarantined


def _get(table: str, key: Item) -> Item | None:
    item = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def _received_by(item: Item | None, member_id: str) -> TypeGuard[Item]:
    return item is not None and item.get(MEMBER_REF) == string(keys.member_pk(member_id))


def _quarantine_keys(partition: list[Item]) -> list[Item]:
    return [
        quarantined
        for item in partition
        if kind_of(item) is Kind.NAMED_IN
        and (quarantined := quarantine_key(NamedLink.decode(item).quarantine_id)) is not None
    ]


def _profile(profile: ProfileItem) -> dict[str, Any]:
    return {
        "email": profile.email,
        "timezone": profile.timezone,
        "digest_day": profile.digest_day,
        "digest_hour": profile.digest_hour,
        "digest_enabled": profile.digest_enabled,
        "preferences_time": profile.preferences_time,
    }


def _as_recipient(item: Item) -> dict[str, Any]:
    """What a received request holds of the recipient: how they were shown, what they said."""
    events = sorted(request_events(item), key=lambda event: (event.time, event.id))
    shown = [event.data.recipient for event in events if isinstance(event, RequestSent)]
    request = RequestItem.decode(item)
    return {
        "request_id": request.request_id,
        "sender_id": request.sender_id,
        "recipient": shown[0].model_dump(mode="json") if shown else None,
        "answers": [
            {
                "type": event.type,
                "time": event.model_dump(mode="json")["time"],
                "note": event.data.note if isinstance(event, RequestDeclined) else None,
            }
            for event in events
            if not isinstance(event, RequestSent)
        ],
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
        "received_requests": [],
        "digests": [],
        "quarantined": [],
    }
    partition = [item for item in _partition(table, member_id) if retention.live(item)]
    for item in partition:
        kind = kind_of(item)
        if kind is Kind.PROFILE:
            export["profile"] = _profile(ProfileItem.decode(item))
        elif kind is Kind.REQUEST:
            events = sorted(request_events(item), key=lambda event: (event.time, event.id))
            export["requests"].append(
                {
                    "request_id": RequestItem.decode(item).request_id,
                    "events": [event.model_dump(mode="json") for event in events],
                }
            )
        elif kind is Kind.DIGEST and (record := DigestItem.decode(item).record) is not None:
            export["digests"].append(record)
    received_keys, indexed_quarantine = _indexed_keys(table, member_id)
    for quarantined_key in _quarantine_keys(partition) + indexed_quarantine:
        quarantined = _get(table, quarantined_key)
        if quarantined and retention.live(quarantined):
            export["quarantined"].append(dataclasses.asdict(QuarantineItem.decode(quarantined)))
    for received_key in received_keys:
        received = _get(table, received_key)
        if _received_by(received, member_id) and retention.live(received):
            export["received_requests"].append(_as_recipient(received))
    return export


def _delete(table: str, item_keys: list[Item]) -> None:
    for start in range(0, len(item_keys), _DELETE_BATCH):
        requests = [
            {"DeleteRequest": {"Key": item_key}}
            for item_key in item_keys[start : start + _DELETE_BATCH]
        ]
        for _ in range(_DELETE_ATTEMPTS):
            response = client("dynamodb").batch_write_item(RequestItems={table: requests})
            requests = response.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                break
        else:
            raise ErasureIncomplete(f"{len(requests)} item(s) kept being returned unprocessed")


def _redact_received(table: str, request_key: Item, member_id: str) -> bool:
    """Take the member's part out of one request they received; False if it holds none."""
    for _ in range(_REDACT_ATTEMPTS):
        item = _get(table, request_key)
        if not _received_by(item, member_id):
            return False
        request = RequestItem.decode(item)
        stored = stored_request_events(request.events)
        redaction = redact_recipient(history_of(stored, request.kept_reasons), member_id)
        names: dict[str, str] = {"#ref": MEMBER_REF}
        values: dict[str, Any] = {":ref": string(keys.member_pk(member_id))}
        updates = []
        for index, event in redaction.redacted.items():
            names[f"#e{index}"] = stored[index][0]
            values[f":e{index}"] = string(canonical_json(event).decode())
            updates.append(f"#e{index}.{EVENT_JSON} = :e{index}")
        if redaction.kept_reasons is not None:
            names["#kept"] = KEPT_REASONS
            values[":kept"] = string(redaction.kept_reasons.model_dump_json())
            updates.append("#kept = :kept")
        try:
            client("dynamodb").update_item(
                TableName=table,
                Key=request_key,
                # The fingerprints stay: a redelivery of an original event is then a duplicate
                # and is not stored again, words and all.
                UpdateExpression=(f"SET {', '.join(updates)} " if updates else "") + "REMOVE #ref",
                ConditionExpression="#ref = :ref",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if outcome(error) is not Outcome.CONDITION_FAILED:
                raise
            continue
        return True
    raise ErasureIncomplete("a request the member received kept changing while it was redacted")


def erase_member(table: str, member_id: str) -> Erasure:
    """Delete every item of the member and redact the requests they received, then prove it
    with the same queries.

    Point-in-time recovery backups still hold the old items until they age out (35 days at
    most): see docs/operations.md.
    """
    partition = list(_partition(table, member_id))
    received, indexed_quarantine = _indexed_keys(table, member_id)
    quarantined, others_links = [], []
    for quarantined_key in _quarantine_keys(partition) + indexed_quarantine:
        if (item := _get(table, quarantined_key)) is None:
            continue
        quarantined.append(quarantined_key)
        # A payload naming others too is linked from their partitions: those links go with it.
        quarantine_id = QuarantineItem.decode(item).quarantine_id
        others_links += [
            named_key(other, quarantine_id)
            for other in members_named(payload_of(item))
            if other != member_id
        ]
    redacted = sum(_redact_received(table, request_key, member_id) for request_key in received)
    deleted = [key_of(item) for item in partition] + quarantined
    _delete(table, deleted + others_links)
    # The index is eventually consistent, so what it listed is checked in the table itself.
    left = list(_partition(table, member_id))
    left += [gone for gone in quarantined if _get(table, gone) is not None]
    left += [gone for gone in received if _received_by(_get(table, gone), member_id)]
    if left:
        raise ErasureIncomplete(f"{len(left)} item(s) still hold the member's data")
    return Erasure(deleted=len(deleted), redacted=redacted)
