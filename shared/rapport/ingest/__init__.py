"""Apply one queued message: store it exactly once, recognise it as a duplicate, or quarantine it.

Transient failures (throttling, timeouts) are deliberately not caught here: they propagate so the
batch reports only that record as failed and SQS redelivers it. The store is the ``EventStore``
port (``rapport.ingest.ports``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from rapport.contract import PreferencesUpdated, RapportEvent
from rapport.digest.schedule import DigestSchedule, next_due_after
from rapport.errors import InvalidEvent, Rejected
from rapport.ingest.ports import EventStore, QuarantineEntry, StoredEvent, WriteOutcome
from rapport.named_members import members_named
from rapport.settings import DEFAULT_FUTURE_TOLERANCE_HOURS
from rapport.validation import parse_event


class Disposition(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


# NamedTuples, like ``StoredEvent``: created once per event, where their low cost counts.


class InboundMessage(NamedTuple):
    message_id: str
    body: str
    #: When the queue accepted the message; identical on every redelivery.
    enqueued_at: datetime


class IngestResult(NamedTuple):
    disposition: Disposition
    event_id: str | None
    event_type: str | None = None
    error_code: str | None = None


def _apply(store: EventStore, stored: StoredEvent) -> WriteOutcome:
    if isinstance(stored.event, PreferencesUpdated):
        prefs = stored.event.data
        schedule = DigestSchedule(prefs.timezone, prefs.digest_day, prefs.digest_hour)
        due = next_due_after(schedule, stored.event.time) if prefs.digest_enabled else None
        return store.apply_preferences(stored, due)
    return store.apply_request_event(stored)


DEFAULT_FUTURE_TOLERANCE = timedelta(hours=DEFAULT_FUTURE_TOLERANCE_HOURS)


def _check_not_in_future(event: RapportEvent, enqueued_at: datetime, tolerance: timedelta) -> None:
    """A time far past the enqueue time is a producer's bug (a wrong year, a local time sent as
    UTC): stored, it would outrank every real update and schedule digests for that year."""
    if event.time - enqueued_at > tolerance:
        raise InvalidEvent(
            "time_in_future",
            f"time is more than {tolerance / timedelta(hours=1):g} hours after the queue "
            "received the event",
            event.id,
        )


class Checked(NamedTuple):
    """A message parsed and checked, before any call: the event as stored, or why it is refused
    (with the event too when it parsed, so its id and type reach the result)."""

    event: RapportEvent | None
    stored: StoredEvent | None
    problem: Rejected | None


def check(message: InboundMessage, future_tolerance: timedelta) -> Checked:
    """Everything about a message that needs no store: parse, validate, the time check, and the
    dedupe key and fingerprint the store and the batch's grouping use."""
    event: RapportEvent | None = None
    try:
        event = parse_event(message.body)
        _check_not_in_future(event, message.enqueued_at, future_tolerance)
    except Rejected as problem:
        return Checked(event, None, problem)
    return Checked(event, StoredEvent.of(event), None)


def settle(message: InboundMessage, checked: Checked, store: EventStore) -> IngestResult:
    """Apply a checked message: its one write, or its quarantine; the disposition is final."""
    event, stored, problem = checked
    if stored is not None:
        try:
            outcome = _apply(store, stored)
            if outcome is WriteOutcome.CONFLICT:
                raise InvalidEvent(
                    "conflicting_duplicate",
                    "An event with this source and id was already stored with different content",
                    stored.event.id,
                )
        except Rejected as rejected:
            problem = rejected
        else:
            applied = outcome is WriteOutcome.APPLIED
            disposition = Disposition.STORED if applied else Disposition.DUPLICATE
            return IngestResult(disposition, stored.event.id, stored.event.type)
    assert problem is not None
    event_id = event.id if event is not None else problem.event_id
    store.quarantine(
        QuarantineEntry(
            message_id=message.message_id,
            enqueued_at=message.enqueued_at,
            error_code=problem.error_code,
            message=problem.message,
            event_id=event_id,
            payload=message.body,
            member_ids=members_named(message.body),
        )
    )
    return IngestResult(
        Disposition.QUARANTINED,
        event_id,
        event.type if event else None,
        problem.error_code,
    )


def ingest(
    message: InboundMessage,
    store: EventStore,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> IngestResult:
    """Process one message body; the returned disposition is final for this message.

    The time check is against this message's enqueue time, so a redrive (a new message) is
    judged afresh. A batch goes through ``rapport.ingest.batch``, which does the same per record.
    """
    return settle(message, check(message, future_tolerance), store)
