"""Every kind of item in the table, and the one translation between each and DynamoDB's
attribute values.

Each kind has a record with ``encode`` (the whole item) and ``decode``. Conditional updates name
their attributes with the constants below and take their values from a record's ``encode``, so
an item's shape is written once whether it is put whole or updated in place. Kept free of the
contract's readers and the reason classifier: ingestion imports it on every cold start.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from rapport.adapters.dynamodb import keys

Item = Mapping[str, Any]
AttributeValue = dict[str, Any]


class Kind(StrEnum):
    """The ``kind`` attribute: what an item is, whatever its key looks like."""

    REQUEST = "request"
    PROFILE = "profile"
    DIGEST = "digest"
    QUARANTINE = "quarantine"
    #: A link in a member's partition to a quarantined payload that names them.
    NAMED_IN = "named_in"


# --- attribute names, shared by the codecs and the stores' update expressions -------------------

PK, SK, KIND, EXPIRES_AT = "pk", "sk", "kind", "expires_at"
#: Request and profile items hold each event under ``ev_<dedupe key>``.
EVENT_ATTRIBUTE_PREFIX = "ev_"
#: Inside an event attribute: the fingerprint, the canonical event (requests only), the write token.
FINGERPRINT, EVENT_JSON, WRITE_TOKEN = "h", "e", "w"
#: On request items, the recipient's partition key: the sparse MemberIndex finds the requests a
#: member received (which live in the sender's partition) for export and erasure.
MEMBER_REF = "member_ref"
#: On request items: an instant no event the item holds is timed after (sortable UTC), set by
#: every event's write. The sparse HistoryIndex sorts a member's requests by it.
EVENTS_UNTIL = "events_until"
#: On a request item whose recipient was erased: what their decline meant, without their words.
KEPT_REASONS = "kept_reasons"
MEMBER_ID, EMAIL, TIMEZONE = "member_id", "email", "timezone"
DIGEST_DAY, DIGEST_HOUR, DIGEST_ENABLED = "digest_day", "digest_hour", "digest_enabled"
PREFERENCES_ORDER, PREFERENCES_TIME = "preferences_order", "preferences_time"
DIGESTS_SENT, LAST_SETTLED_WEEK = "digests_sent", "last_settled_week"
NEXT_DUE_AT, DUE_SHARD, UNSUBSCRIBED_AT = "next_due_at", "due_shard", "unsubscribed_at"
STATUS, CLAIM_TOKEN, LEASE_UNTIL, RECORD, REASON = (
    "status",
    "claim_token",
    "lease_until",
    "record",
    "reason",
)
MESSAGE_ID, ENQUEUED_AT, ERROR_CODE, MESSAGE, EVENT_ID = (
    "message_id",
    "enqueued_at",
    "error_code",
    "message",
    "event_id",
)
PAYLOAD, PAYLOAD_ZLIB, PAYLOAD_BYTES = "payload", "payload_zlib", "payload_bytes"
PAYLOAD_SHA256, PAYLOAD_TRUNCATED, REDRIVEN_AT = (
    "payload_sha256",
    "payload_truncated",
    "redriven_at",
)
QUARANTINE_ID = "quarantine_id"

#: Payloads up to this size are kept as text; larger ones compressed (DynamoDB items max 400 KB).
PLAIN_PAYLOAD_BYTES = 256 * 1024
MAX_STORED_PAYLOAD_BYTES = 300 * 1024


# --- attribute values ----------------------------------------------------------------------------


def string(value: str) -> AttributeValue:
    return {"S": value}


def number(value: int) -> AttributeValue:
    return {"N": str(value)}


def flag(value: bool) -> AttributeValue:
    return {"BOOL": value}


def text(item: Item, name: str) -> str:
    return str(item[name]["S"])


def optional_text(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def integer(item: Item, name: str, default: int | None = None) -> int:
    value = item.get(name)
    if value is None and default is not None:
        return default
    return int(item[name]["N"])


def boolean(item: Item, name: str, default: bool | None = None) -> bool:
    value = item.get(name)
    if value is None and default is not None:
        return default
    return bool(item[name]["BOOL"])


def key(pk: str, sk: str) -> dict[str, AttributeValue]:
    return {PK: string(pk), SK: string(sk)}


def key_of(item: Item) -> dict[str, AttributeValue]:
    return {PK: item[PK], SK: item[SK]}


def request_key(sender_id: str, request_id: str) -> dict[str, AttributeValue]:
    """The table key of a request, which lives in its sender's partition."""
    return key(keys.member_pk(sender_id), keys.request_sk(request_id))


def profile_key(member_id: str) -> dict[str, AttributeValue]:
    return key(keys.member_pk(member_id), keys.PROFILE_SK)


def digest_key(member_id: str, week_start: date) -> dict[str, AttributeValue]:
    """The table key of a member-week's digest claim."""
    return key(keys.member_pk(member_id), keys.digest_sk(week_start))


def named_key(member_id: str, quarantine_id: str) -> dict[str, AttributeValue]:
    """The table key of the link from a member's partition to a quarantined payload."""
    return key(keys.member_pk(member_id), keys.named_sk(quarantine_id))


def quarantine_key(quarantine_id: str) -> dict[str, AttributeValue] | None:
    """The table key of a quarantine item, or None if the id names no day."""
    day = keys.quarantine_day(quarantine_id)
    return None if day is None else key(keys.quarantine_pk_for_day(day), quarantine_id)


def kind_of(item: Item) -> Kind | None:
    """None for an item without a kind (a profile that only ever recorded an older event).

    A request item's key says what it is, so its writes do not spend attributes on it (older
    items also hold ``kind``, ``sender_id`` and ``request_id``, which say the same)."""
    value = optional_text(item, KIND)
    if value is not None:
        return Kind(value)
    return Kind.REQUEST if text(item, SK).startswith(keys.REQUEST_PREFIX) else None


def event_attribute(dedupe_key: str) -> str:
    return f"{EVENT_ATTRIBUTE_PREFIX}{dedupe_key}"


def _number_size(value: str) -> int:
    digits = len(value.lstrip("-").replace(".", "").strip("0")) or 1
    return -(-digits // 2) + 1


_SCALAR_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda value: len(str(value).encode()),
    "N": _number_size,
    "B": len,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
}


def _value_size(value: AttributeValue) -> int:
    ((tag, inner),) = value.items()
    if tag == "M":
        return 3 + sum(len(name.encode()) + _value_size(v) + 1 for name, v in inner.items())
    if tag == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    if tag in _SCALAR_SIZES:
        return _SCALAR_SIZES[tag](inner)
    return sum(len(str(element).encode()) for element in inner)  # SS, NS, BS


def item_size(item: Item) -> int:
    """DynamoDB's documented item size: UTF-8 attribute names plus their values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


# --- events inside request and profile items -----------------------------------------------------


@dataclass(frozen=True)
class EventEntry:
    """One stored event, under its dedupe key's attribute.

    ``token`` names the write that stored it (a retried write recognises itself); request items
    also keep the canonical event, profile items only its fingerprint.
    """

    fingerprint: str
    token: str | None = None
    canonical: str | None = None

    def encode(self) -> AttributeValue:
        fields = {FINGERPRINT: string(self.fingerprint)}
        if self.canonical is not None:
            fields[EVENT_JSON] = string(self.canonical)
        if self.token is not None:
            fields[WRITE_TOKEN] = string(self.token)
        return {"M": fields}

    @classmethod
    def decode(cls, value: AttributeValue) -> EventEntry:
        fields = value["M"]
        return cls(
            text(fields, FINGERPRINT),
            optional_text(fields, WRITE_TOKEN),
            optional_text(fields, EVENT_JSON),
        )


def event_entries(item: Item) -> dict[str, EventEntry]:
    """The events an item holds, by attribute name, in the item's order."""
    return {
        name: EventEntry.decode(value)
        for name, value in item.items()
        if name.startswith(EVENT_ATTRIBUTE_PREFIX)
    }


def count_events(item: Item) -> int:
    return sum(1 for name in item if name.startswith(EVENT_ATTRIBUTE_PREFIX))


def _encode_events(events: Mapping[str, EventEntry]) -> dict[str, AttributeValue]:
    return {name: entry.encode() for name, entry in events.items()}


# --- the kinds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestItem:
    """One connection request in its sender's partition, with every event stored for it."""

    sender_id: str
    request_id: str
    events: Mapping[str, EventEntry] = field(default_factory=dict)
    #: The recipient's partition key, once a sent event named them (and until erased).
    member_ref: str | None = None
    #: JSON of the ``Classification`` an erasure kept.
    kept_reasons: str | None = None
    #: Sortable instant no stored event is timed after (absent on items older than the index).
    events_until: str | None = None

    def encode(self) -> dict[str, AttributeValue]:
        item = {**request_key(self.sender_id, self.request_id), **_encode_events(self.events)}
        optional = {
            MEMBER_REF: self.member_ref,
            KEPT_REASONS: self.kept_reasons,
            EVENTS_UNTIL: self.events_until,
        }
        item |= {name: string(value) for name, value in optional.items() if value is not None}
        return item

    @classmethod
    def decode(cls, item: Item) -> RequestItem:
        return cls(
            keys.member_of(text(item, PK)),
            keys.request_of(text(item, SK)),
            event_entries(item),
            optional_text(item, MEMBER_REF),
            optional_text(item, KEPT_REASONS),
            optional_text(item, EVENTS_UNTIL),
        )


@dataclass(frozen=True)
class ProfileItem:
    """A member's preferences (latest event wins), digest schedule and digest bookkeeping."""

    member_id: str
    email: str
    timezone: str
    digest_day: str
    digest_hour: int
    digest_enabled: bool
    #: ``<sortable time>#<dedupe key>``: the conditional write keeps the latest preferences.
    preferences_order: str
    preferences_time: str
    digests_sent: int = 0
    last_settled_week: date | None = None
    #: The sparse due index: present only while digests are on.
    next_due_at: str | None = None
    due_shard: str | None = None
    events: Mapping[str, EventEntry] = field(default_factory=dict)

    def encode(self) -> dict[str, AttributeValue]:
        item = {
            **profile_key(self.member_id),
            KIND: string(Kind.PROFILE),
            MEMBER_ID: string(self.member_id),
            EMAIL: string(self.email),
            TIMEZONE: string(self.timezone),
            DIGEST_DAY: string(self.digest_day),
            DIGEST_HOUR: number(self.digest_hour),
            DIGEST_ENABLED: flag(self.digest_enabled),
            PREFERENCES_ORDER: string(self.preferences_order),
            PREFERENCES_TIME: string(self.preferences_time),
            **_encode_events(self.events),
        }
        if self.digests_sent:
            item[DIGESTS_SENT] = number(self.digests_sent)
        if self.last_settled_week is not None:
            item[LAST_SETTLED_WEEK] = string(self.last_settled_week.isoformat())
        if self.next_due_at is not None and self.due_shard is not None:
            item[NEXT_DUE_AT] = string(self.next_due_at)
            item[DUE_SHARD] = string(self.due_shard)
        return item

    @classmethod
    def decode(cls, item: Item) -> ProfileItem:
        settled = optional_text(item, LAST_SETTLED_WEEK)
        return cls(
            member_id=text(item, MEMBER_ID),
            email=text(item, EMAIL),
            timezone=text(item, TIMEZONE),
            digest_day=text(item, DIGEST_DAY),
            digest_hour=integer(item, DIGEST_HOUR),
            digest_enabled=boolean(item, DIGEST_ENABLED),
            preferences_order=text(item, PREFERENCES_ORDER),
            preferences_time=text(item, PREFERENCES_TIME),
            digests_sent=integer(item, DIGESTS_SENT, default=0),
            last_settled_week=date.fromisoformat(settled) if settled else None,
            next_due_at=optional_text(item, NEXT_DUE_AT),
            due_shard=optional_text(item, DUE_SHARD),
            events=event_entries(item),
        )

    @staticmethod
    def due_projection(item: Item) -> tuple[str, str]:
        """The member and timezone of a profile as the due index projects it (and no more)."""
        return text(item, MEMBER_ID), text(item, TIMEZONE)


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True)
class DigestItem:
    """A member-week's digest: claimed (a lease), then settled as sent or undeliverable."""

    member_id: str
    week_start: date
    status: ClaimStatus
    claim_token: str | None = None
    #: Sortable instant; only while claimed.
    lease_until: str | None = None
    #: What was sent (figures, message id, time); only when sent.
    record: Mapping[str, Any] | None = None
    #: Why it was not sent; only when undeliverable.
    reason: str | None = None

    @property
    def settled(self) -> bool:
        return self.status is not ClaimStatus.CLAIMED

    def encode(self) -> dict[str, AttributeValue]:
        item = {
            **digest_key(self.member_id, self.week_start),
            KIND: string(Kind.DIGEST),
            STATUS: string(self.status),
        }
        optional = {
            CLAIM_TOKEN: self.claim_token,
            LEASE_UNTIL: self.lease_until,
            RECORD: None if self.record is None else json.dumps(self.record, sort_keys=True),
            REASON: self.reason,
        }
        item |= {name: string(value) for name, value in optional.items() if value is not None}
        return item

    @classmethod
    def decode(cls, item: Item) -> DigestItem:
        record = optional_text(item, RECORD)
        return cls(
            member_id=keys.member_of(text(item, PK)),
            week_start=keys.digest_week(text(item, SK)),
            status=ClaimStatus(text(item, STATUS)),
            claim_token=optional_text(item, CLAIM_TOKEN),
            lease_until=optional_text(item, LEASE_UNTIL),
            record=None if record is None else json.loads(record),
            reason=optional_text(item, REASON),
        )


@dataclass(frozen=True)
class QuarantinedEvent:
    """A rejected input as an operator sees it: what a quarantine item decodes to."""

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


@dataclass(frozen=True)
class QuarantineItem:
    """A rejected input with its reason, as received: what a quarantine item encodes."""

    #: Also the item's sort key: it starts with the instant, so it names its day.
    quarantine_id: str
    enqueued_at: str
    error_code: str
    message: str
    event_id: str | None
    message_id: str
    payload: str

    def encode(self) -> dict[str, AttributeValue]:
        day = keys.quarantine_day(self.quarantine_id)
        assert day is not None, "a quarantine id starts with its instant"
        item = {
            **key(keys.quarantine_pk_for_day(day), self.quarantine_id),
            KIND: string(Kind.QUARANTINE),
            MESSAGE_ID: string(self.message_id),
            ENQUEUED_AT: string(self.enqueued_at),
            ERROR_CODE: string(self.error_code),
            MESSAGE: string(self.message),
            **self._payload_attributes(),
        }
        if self.event_id is not None:
            item[EVENT_ID] = string(self.event_id)
        return item

    def _payload_attributes(self) -> dict[str, AttributeValue]:
        """The payload, compressed when large; truncation is flagged, never silent."""
        raw = self.payload.encode("utf-8")
        attributes = {
            PAYLOAD_BYTES: number(len(raw)),
            PAYLOAD_SHA256: string(hashlib.sha256(raw).hexdigest()),
        }
        if len(raw) <= PLAIN_PAYLOAD_BYTES:
            attributes[PAYLOAD] = string(self.payload)
            return attributes
        compressed = zlib.compress(raw, level=9)
        if len(compressed) <= MAX_STORED_PAYLOAD_BYTES:
            attributes[PAYLOAD_ZLIB] = {"B": compressed}
            return attributes
        attributes[PAYLOAD] = string(raw[:PLAIN_PAYLOAD_BYTES].decode("utf-8", "ignore"))
        attributes[PAYLOAD_TRUNCATED] = flag(True)
        return attributes

    @staticmethod
    def decode(item: Item) -> QuarantinedEvent:
        return QuarantinedEvent(
            quarantine_id=text(item, SK),
            enqueued_at=text(item, ENQUEUED_AT),
            error_code=text(item, ERROR_CODE),
            message=text(item, MESSAGE),
            event_id=optional_text(item, EVENT_ID),
            message_id=text(item, MESSAGE_ID),
            payload_bytes=integer(item, PAYLOAD_BYTES),
            payload_truncated=boolean(item, PAYLOAD_TRUNCATED, default=False),
            payload=payload_of(item),
            redriven_at=optional_text(item, REDRIVEN_AT),
        )


def payload_of(item: Item) -> str:
    """The stored payload of a quarantine item, decompressed."""
    if PAYLOAD_ZLIB in item:
        return zlib.decompress(item[PAYLOAD_ZLIB]["B"]).decode("utf-8")
    return text(item, PAYLOAD)


@dataclass(frozen=True)
class NamedLink:
    """In a member's partition: a quarantined payload names them, so erasing them erases it."""

    member_id: str
    quarantine_id: str

    def encode(self) -> dict[str, AttributeValue]:
        return {
            **named_key(self.member_id, self.quarantine_id),
            KIND: string(Kind.NAMED_IN),
            QUARANTINE_ID: string(self.quarantine_id),
        }

    @classmethod
    def decode(cls, item: Item) -> NamedLink:
        return cls(keys.member_of(text(item, PK)), text(item, QUARANTINE_ID))
