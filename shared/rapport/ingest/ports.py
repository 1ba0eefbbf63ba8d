"""What the ingest core needs from the outside world, and the records it exchanges with it.

Kept apart from the core so the store adapters (and the in-memory fakes that stand in for them
in tests and the bench) depend on the port, not on validation and scheduling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from rapport.contract import RapportEvent
from rapport.identity import canonical_json, dedupe_key, fingerprint


class WriteOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


# The per-event values are NamedTuples: as immutable as frozen dataclasses, and several times
# cheaper to create, which counts once per event (docs/performance.md, handler overhead).


class StoredEvent(NamedTuple):
    """An event in the form the store keeps it."""

    event: RapportEvent
    key: str
    fingerprint: str
    canonical: str

    @classmethod
    def of(cls, event: RapportEvent) -> StoredEvent:
        canonical = canonical_json(event)
        key = dedupe_key(event.source, event.id)
        return cls(event, key, fingerprint(canonical), canonical.decode())


@dataclass(frozen=True)
class QuarantineEntry:
    message_id: str
    enqueued_at: datetime
    error_code: str
    message: str
    event_id: str | None
    payload: str
    #: The members the payload names (``rapport.named_members``): erasing one erases this too.
    member_ids: tuple[str, ...] = ()


class EventStore(Protocol):
    """Where events are kept. Every effect of ``apply_request_event`` stays within the event's
    request (sender and request id), of ``apply_preferences`` within the member's profile, and
    of ``quarantine`` within the message's own entry: the batch runs writes to different ones
    in parallel (``rapport.ingest.batch``), so a store must be safe to call from several
    threads at once for different ones."""

    def apply_request_event(self, stored: StoredEvent) -> WriteOutcome: ...

    def apply_preferences(
        self, stored: StoredEvent, next_digest_due: datetime | None
    ) -> WriteOutcome: ...

    def quarantine(self, entry: QuarantineEntry) -> None: ...
