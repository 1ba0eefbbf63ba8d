"""PutEvents done right: EventBridge's limits, Rapport's entry conventions, and re-sending only
the entries that failed.

An entry carries one CloudEvent: ``Detail`` is the event's JSON text (the rule delivers it to
the events queue as the message body, ``InputPath: $.detail``), ``DetailType`` its ``type`` and
``Source`` its ``source`` (docs/events.md). ``PutEvents`` succeeds or fails per entry; the
entries that failed with ``InternalFailure`` or ``ThrottlingException`` (what EventBridge calls
retryable) are re-sent with bounded backoff, every other failure is permanent
(``rapport.adapters.entry_batches``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapport.adapters.entry_batches import (
    Answer,
    BatchCall,
    BatchOutcome,
    EntryFailure,
    RetryPolicy,
    send_entries,
)

#: EventBridge limits for one PutEvents call: entries, and their total size (``BusEntry.size``).
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
#: Lengths of an entry's Source and DetailType, in characters.
MAX_SOURCE_CHARS = 256
MAX_DETAIL_TYPE_CHARS = 128
_RESERVED_SOURCE_PREFIX = "aws."
_RETRYABLE = frozenset({"InternalFailure", "ThrottlingException"})


@dataclass(frozen=True)
class BusEntry:
    """One PutEvents entry: a CloudEvent's JSON text, with its ``source`` and ``type``."""

    source: str
    detail_type: str
    detail: str

    @property
    def size(self) -> int:
        """The entry's size as EventBridge counts it: UTF-8 bytes of Source, DetailType and
        Detail (no Time or Resources are sent)."""
        return sum(
            len(part.encode("utf-8")) for part in (self.source, self.detail_type, self.detail)
        )

    def request(self, bus: str) -> dict[str, str]:
        return {
            "EventBusName": bus,
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": self.detail,
        }


def source_problem(source: str) -> str | None:
    """Why ``source`` cannot be an entry's Source (EventBridge's rules for it), or None."""
    if not 1 <= len(source) <= MAX_SOURCE_CHARS:
        return f"EventBridge takes a Source of 1 to {MAX_SOURCE_CHARS} characters"
    if source.startswith(_RESERVED_SOURCE_PREFIX):
        return f"EventBridge reserves Sources starting with {_RESERVED_SOURCE_PREFIX!r} for AWS"
    return None


def fits_in_batch(entries: int, batch_bytes: int, entry_bytes: int) -> bool:
    """Whether one more entry of ``entry_bytes`` fits a batch already holding ``entries``."""
    return entries < MAX_BATCH_ENTRIES and batch_bytes + entry_bytes <= MAX_BATCH_BYTES


def put_batch(
    events: Any, bus: str, entries: Sequence[BusEntry], retry: RetryPolicy
) -> BatchOutcome:
    """Put up to ten entries on ``bus`` (a name or an ARN) with one PutEvents, re-sending only
    the retryable failures; ``message_ids`` are EventBridge's event ids."""

    def call(pending: Mapping[int, BusEntry]) -> Answer:
        order = list(pending)
        response = events.put_events(Entries=[pending[index].request(bus) for index in order])
        answer = Answer()
        # The answer's entries are the request's, in the same order.
        for index, result in zip(order, response.get("Entries", []), strict=False):
            if result.get("EventId"):
                answer.accepted[index] = result["EventId"]
            else:
                code = result.get("ErrorCode", "unknown")
                answer.failed[index] = EntryFailure(
                    code, result.get("ErrorMessage", ""), sender_fault=code not in _RETRYABLE
                )
        return answer

    return send_entries(BatchCall("EventBridge", call), entries, retry)
