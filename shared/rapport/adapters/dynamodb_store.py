"""DynamoDB behind the ``EventStore`` port: one conditional write per new event, no reads.

Each request is one item holding its events as attributes named by dedupe key. A conditional
``UpdateItem`` both stores and dedupes; when the condition fails, DynamoDB returns the existing
item in the same response (``ReturnValuesOnConditionCheckFailure``), which tells a duplicate
from a conflict without a read.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from rapport.adapters import keys
from rapport.adapters.aws import client
from rapport.adapters.recent_events import RecentEvents
from rapport.adapters.retention import EXPIRES_AT, Retention
from rapport.contract import (
    PreferencesData,
    PreferencesUpdated,
    RequestRef,
    SentData,
)
from rapport.digest.schedule import due_shard
from rapport.ingest import PermanentStoreError, QuarantineEntry, StoredEvent, WriteOutcome
from rapport.timeutil import iso_utc, sortable

Item = Mapping[str, Any]

#: Payloads up to this size are kept as text; larger ones compressed (DynamoDB items max 400 KB).
_PLAIN_PAYLOAD_BYTES = 256 * 1024
_MAX_STORED_PAYLOAD_BYTES = 300 * 1024


_REQUEST_EVENT_UPDATE = (
    "SET #ev = :ev, #kind = :kind, #sender = :sender, #request = :request, #exp = :exp"
)
#: A sent event also names the recipient, so the requests a member received can be found.
_SENT_EVENT_UPDATE = _REQUEST_EVENT_UPDATE + ", #ref = :ref"
_REQUEST_EVENT_CONDITION = (
    "attribute_not_exists(#ev) AND (attribute_not_exists(#exp) OR #exp > :now)"
)
#: A request has one recipient: a second sent event naming another is refused, not merged.
_SENT_EVENT_CONDITION = (
    _REQUEST_EVENT_CONDITION + " AND (attribute_not_exists(#ref) OR #ref = :ref)"
)
_REQUEST_EVENT_NAMES = {
    "#kind": "kind",
    "#sender": "sender_id",
    "#request": "request_id",
    "#exp": EXPIRES_AT,
}
_SENT_EVENT_NAMES = {**_REQUEST_EVENT_NAMES, "#ref": keys.MEMBER_REF}
_REQUEST_KIND = {"S": "request"}
NAMED_KIND = "named_in"
_LINK_MARGIN_SECONDS = 7 * 86_400


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _write_token() -> str:
    """A token for one write and its SDK retries: a new one for every delivery of a message.

    A write that timed out on the client may still have been applied; the SDK's retry then fails
    its condition against the event it wrote itself. The token tells that apart from a redelivery.
    """
    return os.urandom(6).hex()


def _outcome_from_existing(
    item: Item | None, attribute: str, fingerprint: str, token: str
) -> WriteOutcome | None:
    """Applied if ``item`` holds this very write, duplicate or conflict if it holds the event
    from an earlier one; None if it does not hold the event."""
    existing = (item or {}).get(attribute)
    if existing is None:
        return None
    if existing["M"].get("w", {}).get("S") == token:
        return WriteOutcome.APPLIED
    same = existing["M"]["h"]["S"] == fingerprint
    return WriteOutcome.DUPLICATE if same else WriteOutcome.CONFLICT


class DynamoEventStore:
    def __init__(
        self,
        table_name: str,
        retention: Retention | None = None,
        recent: RecentEvents | None = None,
    ) -> None:
        self.table_name = table_name
        self.retention = retention or Retention()
        self.recent = recent if recent is not None else RecentEvents()

    def _known(self, location: str, fingerprint: str) -> WriteOutcome | None:
        """What the conditional write would say, if this container has seen the event already."""
        seen = self.recent.fingerprint(location)
        if seen is None:
            return None
        return WriteOutcome.DUPLICATE if seen == fingerprint else WriteOutcome.CONFLICT

    def _update(self, **request: Any) -> dict[str, Any]:
        """An ``UpdateItem`` request on the table that returns the old item if it fails."""
        return {
            "TableName": self.table_name,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **request,
        }

    def _conditional_update(self, request: dict[str, Any]) -> Item | None:
        """Run an update; None when it applied, the existing item when its condition failed."""
        try:
            client("dynamodb").update_item(**request)
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return dict(error.response.get("Item") or {})
            if _error_code(error) == "ValidationException" and "size" in str(error).lower():
                raise PermanentStoreError(
                    "request_too_large",
                    "The request's events together exceed what one request may hold",
                ) from error
            raise
        return None

    def apply_request_event(self, stored: StoredEvent) -> WriteOutcome:
        data = stored.event.data
        assert not isinstance(data, PreferencesData)
        attribute = keys.event_attribute(stored.key)
        pk, sk = keys.member_pk(data.sender_id), keys.request_sk(data.request_id)
        location = f"{pk}|{sk}|{attribute}"
        if (known := self._known(location, stored.fingerprint)) is not None:
            return known
        token = _write_token()
        write = self._request_event_write(pk, sk, attribute, data, stored, token=token)
        existing = self._conditional_update(write)
        if existing is not None and not self.retention.live(existing):
            # The request expired but TTL has not deleted it yet: its old events must not come
            # back with this write, so the remains go first (only if still the same remains).
            self._purge_expired(pk, sk, existing)
            existing = self._conditional_update(write)  # same request: its clock is ms old
        if existing is None:
            self.recent.remember(location, stored.fingerprint)
            return WriteOutcome.APPLIED
        outcome = _outcome_from_existing(existing, attribute, stored.fingerprint, token)
        if outcome is None and isinstance(data, SentData):
            raise PermanentStoreError(
                "conflicting_recipient",
                "The request was already sent to another recipient; a request has one",
            )
        if outcome is None:  # the condition tests only this attribute and the recipient
            raise RuntimeError("conditional write failed without an existing event")
        self.recent.remember(location, existing[attribute]["M"]["h"]["S"])  # what DynamoDB holds
        return outcome

    def _purge_expired(self, pk: str, sk: str, expired: Item) -> None:
        try:
            client("dynamodb").delete_item(
                TableName=self.table_name,
                Key={"pk": _s(pk), "sk": _s(sk)},
                ConditionExpression="#exp = :seen",
                ExpressionAttributeNames={"#exp": EXPIRES_AT},
                ExpressionAttributeValues={":seen": expired[EXPIRES_AT]},
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":  # someone wrote first
                raise

    def _request_event_write(
        self,
        pk: str,
        sk: str,
        attribute: str,
        data: RequestRef,
        stored: StoredEvent,
        *,
        token: str,
    ) -> dict[str, Any]:
        """The one conditional write that stores a request event.

        The condition fails when the event is already there, and also when the item has expired,
        so expired remains are never silently extended. Built on every event: only its
        variable parts are made here, the rest are module constants.
        """
        now, expiry = self.retention.stamps()
        values: dict[str, Any] = {}
        if isinstance(data, SentData):
            values[":ref"] = {"S": keys.member_pk(data.recipient.member_id)}
        return {
            # What ``_update`` adds, written out: this request is built once per event.
            "TableName": self.table_name,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": _SENT_EVENT_UPDATE if values else _REQUEST_EVENT_UPDATE,
            "ConditionExpression": _SENT_EVENT_CONDITION if values else _REQUEST_EVENT_CONDITION,
            "ExpressionAttributeNames": {
                "#ev": attribute,
                **(_SENT_EVENT_NAMES if values else _REQUEST_EVENT_NAMES),
            },
            "ExpressionAttributeValues": {
                **values,
                ":ev": {
                    "M": {
                        "h": {"S": stored.fingerprint},
                        "e": {"S": stored.canonical},
                        "w": {"S": token},
                    }
                },
                ":exp": expiry,
                ":now": now,
                ":kind": _REQUEST_KIND,
                ":sender": {"S": data.sender_id},
                ":request": {"S": data.request_id},
            },
        }

    def apply_preferences(
        self, stored: StoredEvent, next_digest_due: datetime | None
    ) -> WriteOutcome:
        """Latest ``time`` wins (ties broken by dedupe key), whatever the arrival order.

        The same write (re)schedules the member's digest in the sparse due index, or takes the
        member out of it when digests are off.
        """
        event = stored.event
        assert isinstance(event, PreferencesUpdated)
        prefs: PreferencesData = event.data
        attribute = keys.event_attribute(stored.key)
        key = {"pk": _s(keys.member_pk(prefs.member_id)), "sk": _s(keys.PROFILE_SK)}
        location = f"{key['pk']['S']}|{keys.PROFILE_SK}|{attribute}"
        if (known := self._known(location, stored.fingerprint)) is not None:
            return known
        outcome = self._apply_preferences(stored, next_digest_due, key, attribute)
        if outcome is not WriteOutcome.CONFLICT:  # then the stored fingerprint is ours
            self.recent.remember(location, stored.fingerprint)
        return outcome

    def _apply_preferences(
        self,
        stored: StoredEvent,
        next_digest_due: datetime | None,
        key: dict[str, Any],
        attribute: str,
    ) -> WriteOutcome:
        event = stored.event
        assert isinstance(event, PreferencesUpdated)
        prefs: PreferencesData = event.data
        token = _write_token()
        mark = {"M": {"h": _s(stored.fingerprint), "w": _s(token)}}
        schedule_values: dict[str, Any] = {}
        if next_digest_due is None:
            schedule_update = " REMOVE next_due_at, due_shard"
        else:
            schedule_update = ", next_due_at = :due, due_shard = :shard"
            schedule_values = {
                ":due": _s(sortable(next_digest_due)),
                ":shard": _s(due_shard(prefs.member_id)),
            }
        existing = self._conditional_update(
            self._update(
                Key=key,
                UpdateExpression=(
                    "SET #ev = :ev, #kind = :kind, #member = :member, #email = :email, #tz = :tz,"
                    " #day = :day, #hour = :hour, #enabled = :enabled, #order = :order, #at = :at,"
                    " #exp = :exp" + schedule_update
                ),
                ConditionExpression=(
                    "attribute_not_exists(#ev)"
                    " AND (attribute_not_exists(#order) OR #order < :order)"
                ),
                ExpressionAttributeNames={
                    "#ev": attribute,
                    "#kind": "kind",
                    "#member": "member_id",
                    "#email": "email",
                    "#tz": "timezone",
                    "#day": "digest_day",
                    "#hour": "digest_hour",
                    "#enabled": "digest_enabled",
                    "#order": "preferences_order",
                    "#at": "preferences_time",
                    "#exp": EXPIRES_AT,
                },
                ExpressionAttributeValues={
                    ":ev": mark,
                    ":kind": _s("profile"),
                    ":member": _s(prefs.member_id),
                    ":email": _s(prefs.email),
                    ":tz": _s(prefs.timezone),
                    ":day": _s(prefs.digest_day),
                    ":hour": {"N": str(prefs.digest_hour)},
                    ":enabled": {"BOOL": prefs.digest_enabled},
                    ":order": _s(f"{sortable(event.time)}#{stored.key}"),
                    ":at": _s(iso_utc(event.time)),
                    ":exp": self.retention.expiry(),
                    **schedule_values,
                },
            )
        )
        if existing is None:
            return WriteOutcome.APPLIED
        outcome = _outcome_from_existing(existing, attribute, stored.fingerprint, token)
        if outcome is not None:
            return outcome
        # Older than what is stored: remember it was seen (so a redelivery is a duplicate) only.
        existing = self._conditional_update(
            self._update(
                Key=key,
                UpdateExpression="SET #ev = :ev",
                ConditionExpression="attribute_not_exists(#ev)",
                ExpressionAttributeNames={"#ev": attribute},
                ExpressionAttributeValues={":ev": mark},
            )
        )
        if existing is None:
            return WriteOutcome.APPLIED
        return (
            _outcome_from_existing(existing, attribute, stored.fingerprint, token)
            or WriteOutcome.DUPLICATE
        )

    def quarantine(self, entry: QuarantineEntry) -> None:
        """Keep the rejected input with its reason; a redelivery of the same message is a no-op."""
        item: dict[str, Any] = {
            "pk": _s(keys.quarantine_pk(entry.enqueued_at)),
            "sk": _s(keys.quarantine_sk(entry.enqueued_at, entry.message_id)),
            "kind": _s("quarantine"),
            "message_id": _s(entry.message_id),
            "enqueued_at": _s(iso_utc(entry.enqueued_at)),
            "error_code": _s(entry.error_code),
            "message": _s(entry.message),
            EXPIRES_AT: self.retention.expiry(),
            **_payload_attributes(entry.payload),
        }
        if entry.event_id is not None:
            item["event_id"] = _s(entry.event_id)
        # The links first: a quarantine item is never there without the way to erase it.
        self._link_named_members(entry.member_ids, item["sk"]["S"])
        try:
            client("dynamodb").put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise

    def _link_named_members(self, member_ids: Sequence[str], quarantine_id: str) -> None:
        """One link per named member in their partition; rewriting a link changes nothing."""
        links = [
            {
                "pk": _s(keys.member_pk(member_id)),
                "sk": _s(keys.named_sk(quarantine_id)),
                "kind": _s(NAMED_KIND),
                "quarantine_id": _s(quarantine_id),
                # TTL deletes in no set order: a link outlives its item, never the reverse, so
                # an expired item that still holds data can be found until it is gone.
                EXPIRES_AT: {"N": str(int(self.retention.expiry()["N"]) + _LINK_MARGIN_SECONDS)},
            }
            for member_id in member_ids
        ]
        for link in links:  # one or two, rarely more: PutItem keeps the grant as it was
            client("dynamodb").put_item(TableName=self.table_name, Item=link)


def _payload_attributes(payload: str) -> dict[str, Any]:
    """The original payload, compressed when large; truncation is flagged, never silent."""
    raw = payload.encode("utf-8")
    attributes: dict[str, Any] = {
        "payload_bytes": {"N": str(len(raw))},
        "payload_sha256": _s(hashlib.sha256(raw).hexdigest()),
    }
    if len(raw) <= _PLAIN_PAYLOAD_BYTES:
        attributes["payload"] = _s(payload)
        return attributes
    compressed = zlib.compress(raw, level=9)
    if len(compressed) <= _MAX_STORED_PAYLOAD_BYTES:
        attributes["payload_zlib"] = {"B": compressed}
        return attributes
    attributes["payload"] = _s(raw[:_PLAIN_PAYLOAD_BYTES].decode("utf-8", "ignore"))
    attributes["payload_truncated"] = {"BOOL": True}
    return attributes


@dataclass(frozen=True)
class QuarantinedEvent:
    """A rejected input as an operator sees it."""

    quarantine_id: str
    enqueued_at: str
    error_code: str
    message: str
    event_id: str | None
    message_id: str
    payload_bytes: int
    payload_truncated: bool
    payload: str
    redriven_at: str | None = None

    @classmethod
    def from_item(cls, item: Item) -> QuarantinedEvent:
        return cls(
            quarantine_id=item["sk"]["S"],
            enqueued_at=item["enqueued_at"]["S"],
            error_code=item["error_code"]["S"],
            message=item["message"]["S"],
            event_id=item.get("event_id", {}).get("S"),
            message_id=item["message_id"]["S"],
            payload_bytes=int(item["payload_bytes"]["N"]),
            payload_truncated=bool(item.get("payload_truncated", {}).get("BOOL", False)),
            payload=payload_of(item),
            redriven_at=item.get("redriven_at", {}).get("S"),
        )


def list_quarantined(
    table_name: str, day: date, retention: Retention | None = None
) -> Iterator[QuarantinedEvent]:
    """One day's quarantine, oldest first: a query on that day's partition."""
    retention = retention or Retention()
    paginator = client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _s(keys.quarantine_pk_for_day(day))},
    ):
        for item in page["Items"]:
            if retention.live(item):
                yield QuarantinedEvent.from_item(item)


def get_quarantined(
    table_name: str, quarantine_id: str, retention: Retention | None = None
) -> QuarantinedEvent | None:
    key = keys.quarantine_key(quarantine_id)
    if key is None:
        return None
    response = client("dynamodb").get_item(TableName=table_name, Key=key, ConsistentRead=True)
    item = response.get("Item")
    live = item is not None and (retention or Retention()).live(item)
    return QuarantinedEvent.from_item(item) if item and live else None


def mark_redriven(table_name: str, quarantine_id: str, at: datetime) -> bool:
    """Record that a quarantined event was sent again; False if it already was (or is gone)."""
    key = keys.quarantine_key(quarantine_id)
    if key is None:
        return False
    try:
        client("dynamodb").update_item(
            TableName=table_name,
            Key=key,
            UpdateExpression="SET redriven_at = :at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(redriven_at)",
            ExpressionAttributeValues={":at": _s(iso_utc(at))},
        )
    except ClientError as error:
        if _error_code(error) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def payload_of(item: Item) -> str:
    """The stored payload of a quarantine item, decompressed."""
    if "payload_zlib" in item:
        return zlib.decompress(item["payload_zlib"]["B"]).decode("utf-8")
    return str(item["payload"]["S"])
