"""Batch APIs that succeed or fail per entry (SQS ``SendMessageBatch``, EventBridge
``PutEvents``), and re-sending only the entries that failed.

Re-sending a whole batch after a partial failure would deliver the successful entries twice, so
only the entries that failed for a transient reason are retried, with bounded backoff; an entry
refused for good (the sender's fault) never is. Whole-call failures (throttling, 5xx) are retried
by botocore's standard retry mode, not here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently entries that failed transiently are re-sent.

    The delay doubles from ``base_delay`` up to ``max_delay``; ``sleep`` is injectable so tests
    never wait.
    """

    attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        return float(min(self.max_delay, self.base_delay * 2 ** (retry - 1)))


@dataclass(frozen=True)
class EntryFailure:
    """Why the service did not accept one entry of a batch; ``sender_fault`` means for good."""

    code: str
    message: str
    sender_fault: bool


@dataclass
class BatchOutcome:
    """What became of each entry of one batch, by its position in the batch."""

    #: position -> the id the service gave the entry (SQS message id, EventBridge event id)
    message_ids: dict[int, str] = field(default_factory=dict)
    failures: dict[int, EntryFailure] = field(default_factory=dict)
    #: entries re-sent after a transient failure, counted once per re-send
    retried: int = 0


@dataclass
class Answer:
    """One call's answer, by position: the accepted entries' ids and the failed entries."""

    accepted: dict[int, str] = field(default_factory=dict)
    failed: dict[int, EntryFailure] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchCall(Generic[Entry]):
    """One batch API: ``call`` sends the pending entries (by position) and says what became of
    each; ``service`` names it in messages."""

    service: str
    call: Callable[[Mapping[int, Entry]], Answer]


def send_entries(
    api: BatchCall[Entry], entries: Sequence[Entry], retry: RetryPolicy
) -> BatchOutcome:
    """Send ``entries`` in one call, then re-send only the transient failures, up to
    ``retry.attempts`` calls in all."""
    outcome = BatchOutcome()
    pending = dict(enumerate(entries))
    last_failure: dict[int, EntryFailure] = {}
    for attempt in range(retry.attempts):
        if attempt:
            retry.sleep(retry.delay(attempt))
            outcome.retried += len(pending)
        answer = api.call(pending)
        for index, entry_id in answer.accepted.items():
            del pending[index]
            outcome.message_ids[index] = entry_id
        for index, failure in answer.failed.items():
            if failure.sender_fault:
                del pending[index]
                outcome.failures[index] = failure
            else:
                last_failure[index] = failure
        if not pending:
            return outcome
    for index in pending:
        failure = last_failure.get(
            index, EntryFailure("no_result", f"{api.service} did not answer", False)
        )
        outcome.failures[index] = EntryFailure(
            failure.code,
            f"{failure.message} (still failing after {retry.attempts} attempts)".lstrip(),
            sender_fault=False,
        )
    return outcome
