"""In-memory stand-ins for the ports (``rapport.ingest.ports``, ``rapport.digest.ports``) and for
the one DynamoDB client the bench needs, kept honest by the contract tests
(``tests/integration/test_port_contracts.py``) that run against them and the moto-backed adapters.

``MemoryTable`` holds what the DynamoDB table holds; ``MemoryEventStore`` and
``MemoryDigestStore`` are the two ports' views of it, as ``DynamoEventStore`` and
``DynamoDigestStore`` are of the real table, so an event ingested through one is read through
the other. ``FakeDynamoDB`` sits a level lower: the bench times the real ``DynamoEventStore``
building its requests (docs/performance.md, handler overhead), so only the client is replaced.

They live here and ``bench/`` imports them, rather than the reverse: they are test doubles whose
only proof of fidelity is the contract test beside them, neither tree ships (the wheel and the
Lambda layer hold ``rapport`` and ``rapport_cli`` only), and both run from the repository root.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from rapport.adapters.dynamodb.items import (
    MEMBER_REF,
    PK,
    PREFERENCES_ORDER,
    SK,
    optional_text,
    text,
)
from rapport.contract import PreferencesUpdated, RequestEvent, SentData
from rapport.digest.jobs import DigestJob
from rapport.digest.ports import Claim, ClaimOutcome, DueMember, MemberProfile
from rapport.digest.schedule import DigestSchedule
from rapport.errors import PermanentStoreError, Undeliverable
from rapport.history import needed
from rapport.ingest.ports import QuarantineEntry, StoredEvent, WriteOutcome
from rapport.state import RequestHistory
from rapport.timeutil import sortable


class Faults:
    """Errors a fake raises from its next calls, by method: the throttling and outages moto never
    simulates (DESIGN §5), injected where a test needs them."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Exception]] = {}

    def inject(self, method: str, *errors: Exception) -> None:
        self._queued.setdefault(method, []).extend(errors)

    def check(self, method: str) -> None:
        if queued := self._queued.get(method):
            raise queued.pop(0)


def _repeat(stored_fingerprint: str, fingerprint: str) -> WriteOutcome:
    """An event whose key is already stored: the same content again, or different content."""
    return WriteOutcome.DUPLICATE if stored_fingerprint == fingerprint else WriteOutcome.CONFLICT


# --- the table ------------------------------------------------------------------------------


@dataclass
class MemoryProfile:
    email: str
    timezone: str
    digest_day: str
    digest_hour: int
    digest_enabled: bool
    preferences_order: str
    next_due: datetime | None
    digests_sent: int = 0
    last_settled_week: date | None = None
    #: Fingerprint by dedupe key of every preferences event seen, applied or older.
    events: dict[str, str] = field(default_factory=dict)


@dataclass
class MemoryRequest:
    recipient: str | None
    #: Fingerprint by dedupe key, and the events in the order they were stored.
    fingerprints: dict[str, str] = field(default_factory=dict)
    events: list[RequestEvent] = field(default_factory=list)


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


@dataclass
class MemoryClaim:
    status: ClaimStatus
    token: str
    lease_until: datetime | None
    record: dict[str, Any] | None = None
    reason: str | None = None


class ClaimLost(Exception):
    """Settling a claim that is no longer this token's (the adapter's failed condition): not
    ``Transient``, so ``deliver`` does not retry it."""


@dataclass
class MemoryTable:
    profiles: dict[str, MemoryProfile] = field(default_factory=dict)
    requests: dict[tuple[str, str], MemoryRequest] = field(default_factory=dict)
    claims: dict[tuple[str, date], MemoryClaim] = field(default_factory=dict)
    #: By (enqueued_at, message_id), as the quarantine item's key: a redelivery is a no-op.
    quarantine: dict[tuple[datetime, str], QuarantineEntry] = field(default_factory=dict)


# --- ingest ---------------------------------------------------------------------------------


class MemoryEventStore:
    """The ``EventStore`` port on a ``MemoryTable`` (``DynamoEventStore``'s semantics, no TTL)."""

    def __init__(self, table: MemoryTable | None = None) -> None:
        self.table = table if table is not None else MemoryTable()
        self.faults = Faults()

    def apply_request_event(self, stored: StoredEvent) -> WriteOutcome:
        self.faults.check("apply_request_event")
        event = stored.event
        assert not isinstance(event, PreferencesUpdated)
        data = event.data
        recipient = data.recipient.member_id if isinstance(data, SentData) else None
        request = self.table.requests.get((data.sender_id, data.request_id))
        if request is not None and (seen := request.fingerprints.get(stored.key)) is not None:
            return _repeat(seen, stored.fingerprint)
        if request is None:
            request = self.table.requests[data.sender_id, data.request_id] = MemoryRequest(None)
        if recipient is not None and request.recipient not in (None, recipient):
            raise PermanentStoreError("conflicting_recipient", "A request has one recipient")
        request.recipient = request.recipient or recipient
        request.fingerprints[stored.key] = stored.fingerprint
        request.events.append(event)
        return WriteOutcome.APPLIED

    def apply_preferences(
        self, stored: StoredEvent, next_digest_due: datetime | None
    ) -> WriteOutcome:
        """Latest ``time`` wins, ties broken by dedupe key; an older event is only remembered."""
        self.faults.check("apply_preferences")
        event = stored.event
        assert isinstance(event, PreferencesUpdated)
        prefs = event.data
        current = self.table.profiles.get(prefs.member_id)
        if current is not None and (seen := current.events.get(stored.key)) is not None:
            return _repeat(seen, stored.fingerprint)
        order = f"{sortable(event.time)}#{stored.key}"
        if current is None or current.preferences_order < order:
            latest = MemoryProfile(
                email=prefs.email,
                timezone=prefs.timezone,
                digest_day=prefs.digest_day,
                digest_hour=prefs.digest_hour,
                digest_enabled=prefs.digest_enabled,
                preferences_order=order,
                next_due=next_digest_due,
            )
            if current is not None:  # what the digests wrote stays
                latest = dataclasses.replace(
                    latest,
                    digests_sent=current.digests_sent,
                    last_settled_week=current.last_settled_week,
                    events=current.events,
                )
            self.table.profiles[prefs.member_id] = current = latest
        current.events[stored.key] = stored.fingerprint
        return WriteOutcome.APPLIED

    def quarantine(self, entry: QuarantineEntry) -> None:
        self.faults.check("quarantine")
        self.table.quarantine.setdefault((entry.enqueued_at, entry.message_id), entry)


# --- digest ---------------------------------------------------------------------------------


class MemoryDigestStore:
    """The digest ports (due members, repository, preferences) on a ``MemoryTable``."""

    def __init__(self, table: MemoryTable | None = None) -> None:
        self.table = table if table is not None else MemoryTable()
        self.faults = Faults()

    def due_at(self, now: datetime) -> Iterator[DueMember]:
        self.faults.check("due_at")
        for member_id, record in sorted(self.table.profiles.items()):
            if record.next_due is not None and record.next_due <= now:
                yield DueMember(member_id, record.timezone)

    def profile(self, member_id: str) -> MemberProfile | None:
        self.faults.check("profile")
        record = self.table.profiles.get(member_id)
        if record is None:
            return None
        return MemberProfile(
            member_id=member_id,
            email=record.email,
            schedule=DigestSchedule(record.timezone, record.digest_day, record.digest_hour),
            digest_enabled=record.digest_enabled,
            digests_sent=record.digests_sent,
            preferences_order=record.preferences_order,
            last_settled_week=record.last_settled_week,
        )

    def member_requests(
        self, member_id: str, since: datetime | None = None
    ) -> Sequence[Sequence[RequestEvent]]:
        self.faults.check("member_requests")
        requests = [
            RequestHistory(request.events)
            for (sender_id, _), request in sorted(self.table.requests.items())
            if sender_id == member_id
        ]
        return requests if since is None else needed(requests, since)

    def claim(self, member_id: str, week_start: date, now: datetime, lease: timedelta) -> Claim:
        self.faults.check("claim")
        existing = self.table.claims.get((member_id, week_start))
        if existing is not None:
            if existing.status is not ClaimStatus.CLAIMED:  # sent, or given up on
                return Claim(ClaimOutcome.ALREADY_SENT, "")
            assert existing.lease_until is not None
            if existing.lease_until >= now:  # a lease that has run out may be taken over
                return Claim(ClaimOutcome.IN_PROGRESS, "")
        token = uuid.uuid4().hex
        self.table.claims[member_id, week_start] = MemoryClaim(
            ClaimStatus.CLAIMED, token, now + lease
        )
        return Claim(ClaimOutcome.CLAIMED, token)

    def release(self, member_id: str, week_start: date, claim: Claim) -> None:
        self.faults.check("release")
        existing = self.table.claims.get((member_id, week_start))
        if existing and existing.status is ClaimStatus.CLAIMED and existing.token == claim.token:
            del self.table.claims[member_id, week_start]

    def _settle(self, member_id: str, week_start: date, claim: Claim, settled: MemoryClaim) -> None:
        existing = self.table.claims.get((member_id, week_start))
        if existing is None or existing.token != claim.token:
            raise ClaimLost(f"the claim on {member_id} {week_start} is not {claim.token!r}")
        self.table.claims[member_id, week_start] = settled

    def record_sent(
        self, member_id: str, week_start: date, claim: Claim, record: dict[str, Any]
    ) -> None:
        self.faults.check("record_sent")
        settled = MemoryClaim(ClaimStatus.SENT, claim.token, None, record=record)
        self._settle(member_id, week_start, claim, settled)

    def record_undeliverable(
        self, member_id: str, week_start: date, claim: Claim, reason: str
    ) -> None:
        self.faults.check("record_undeliverable")
        settled = MemoryClaim(ClaimStatus.UNDELIVERABLE, claim.token, None, reason=reason)
        self._settle(member_id, week_start, claim, settled)

    def advance_schedule(
        self, profile: MemberProfile, next_due: datetime, settled_week: date, sent: bool
    ) -> None:
        """The settled week only moves forward; the next due instant moves on only while the
        preferences the job read are still the latest and digests still on."""
        self.faults.check("advance_schedule")
        record = self.table.profiles.get(profile.member_id)
        if record is None:
            return
        if record.last_settled_week is None or record.last_settled_week < settled_week:
            record.last_settled_week = settled_week
        unchanged = record.preferences_order == profile.preferences_order
        later = record.next_due is None or record.next_due < next_due
        if unchanged and record.digest_enabled and later:
            record.next_due = next_due
            if sent:
                record.digests_sent += 1

    def disable_digests(self, member_id: str, at: datetime) -> None:
        self.faults.check("disable_digests")
        record = self.table.profiles.get(member_id)
        if record is not None:
            record.digest_enabled = False
            record.preferences_order = f"{sortable(at)}#unsubscribe"
            record.next_due = None


@dataclass(frozen=True)
class SentEmail:
    sender: str
    recipient: str
    raw: bytes
    message_id: str


class FakeMailer:
    """The ``Mailer`` port: keeps what it sends; ``refused`` addresses (sender or recipient) are
    refused for good, as SES refuses an unverified sender."""

    def __init__(self, refused: Sequence[str] = ()) -> None:
        self.sent: list[SentEmail] = []
        self.refused = set(refused)
        self.faults = Faults()

    def send_raw(self, sender: str, recipient: str, raw: bytes) -> str:
        self.faults.check("send_raw")
        if self.refused & {sender, recipient}:
            raise Undeliverable("MessageRejected", "The email service refused the message")
        message_id = f"fake-{uuid.uuid4().hex}"
        self.sent.append(SentEmail(sender, recipient, raw, message_id))
        return message_id


class MemoryJobQueue:
    """The ``JobQueue`` port: every batch enqueued, in order."""

    def __init__(self) -> None:
        self.batches: list[list[DigestJob]] = []
        self.faults = Faults()

    def enqueue(self, jobs: list[DigestJob]) -> None:
        self.faults.check("enqueue")
        self.batches.append(list(jobs))

    @property
    def jobs(self) -> list[DigestJob]:
        return [job for batch in self.batches for job in batch]


# --- the DynamoDB client --------------------------------------------------------------------


@cache
def _parsed_update(expression: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """``SET a = :x, b = :y REMOVE c`` as assignments and removals, parsed once per expression
    (the store sends a handful of distinct expressions), so the fake costs little per request."""
    assignments, _, removals = expression.removeprefix("SET ").partition(" REMOVE ")
    pairs = tuple(
        (name.strip(), value.strip())
        for name, value in (assignment.split("=") for assignment in assignments.split(","))
    )
    return pairs, tuple(filter(None, (part.strip() for part in removals.split(","))))


class FakeDynamoDB:
    """The two DynamoDB operations ``DynamoEventStore`` uses, with their conditions, in memory,
    and a plain ``GetItem``.

    Only what the store's own writes need (no TTL, no expression parser): cheap per request,
    since the bench counts its cost inside the handler's. An ``UpdateItem`` without a condition
    (the bench's peer design sends those) is applied as it is.
    """

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes = 0

    @staticmethod
    def _failed(operation: str, item: dict[str, Any] | None) -> Exception:
        from botocore.exceptions import ClientError

        response: dict[str, Any] = {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}
        }
        if item is not None:
            response["Item"] = dict(item)
        error: Exception = ClientError(response, operation)
        return error

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.writes += 1
        key = (text(request["Key"], PK), text(request["Key"], SK))
        names: dict[str, str] = request["ExpressionAttributeNames"]
        values: dict[str, Any] = request["ExpressionAttributeValues"]
        item = self.items.get(key)
        condition = request.get("ConditionExpression")
        if item is not None and condition is not None:
            if names["#ev"] in item:
                raise self._failed("UpdateItem", item)
            order = optional_text(item, PREFERENCES_ORDER)
            if "#order <" in condition and order and not order < text(values, ":order"):
                raise self._failed("UpdateItem", item)
            if "#ref" in names and item.get(MEMBER_REF, values[":ref"]) != values[":ref"]:
                raise self._failed("UpdateItem", item)
        item = dict(item) if item else {"pk": request["Key"]["pk"], "sk": request["Key"]["sk"]}
        assignments, removals = _parsed_update(request["UpdateExpression"])
        for name, value in assignments:
            item[names.get(name, name)] = values[value]
        for name in removals:
            item.pop(names.get(name, name), None)
        self.items[key] = item
        return {}

    def put_item(self, **request: Any) -> dict[str, Any]:
        """Unconditional, or ``attribute_not_exists(pk)``: the only condition the store puts."""
        self.writes += 1
        item = request["Item"]
        key = (text(item, PK), text(item, SK))
        if "ConditionExpression" in request and key in self.items:
            returned = request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
            raise self._failed("PutItem", self.items[key] if returned else None)
        self.items[key] = item
        return {}

    def get_item(self, **request: Any) -> dict[str, Any]:
        item = self.items.get((text(request["Key"], PK), text(request["Key"], SK)))
        return {} if item is None else {"Item": dict(item)}
