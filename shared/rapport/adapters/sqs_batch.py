"""SendMessageBatch done right: SQS's limits, and re-sending only the entries that failed.

``SendMessageBatch`` succeeds or fails *per entry*. Re-sending the whole batch after a partial
failure would send the successful entries twice, so only the entries that failed for a transient
reason (``SenderFault`` false) are retried, with bounded backoff; a sender fault is permanent.
Whole-call failures (throttling, 5xx) are retried by botocore's standard retry mode.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: SQS limits for one SendMessageBatch call.
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1024 * 1024

# SQS accepts only these characters in a message body (the XML 1.0 character range).
_SQS_FORBIDDEN = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def has_forbidden_characters(body: str) -> bool:
    """Whether SQS would refuse ``body`` for its characters (valid JSON can still contain some)."""
    return _SQS_FORBIDDEN.search(body) is not None


def fits_in_batch(entries: int, batch_bytes: int, body_bytes: int) -> bool:
    """Whether one more body of ``body_bytes`` fits a batch already holding ``entries``."""
    return entries < MAX_BATCH_ENTRIES and batch_bytes + body_bytes <= MAX_BATCH_BYTES


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
    """Why SQS did not accept one entry of a batch."""

    code: str
    message: str
    sender_fault: bool


@dataclass
class BatchOutcome:
    """What became of each body of one batch, by its position in the batch."""

    message_ids: dict[int, str] = field(default_factory=dict)
    failures: dict[int, EntryFailure] = field(default_factory=dict)
    #: entries re-sent after a transient failure, counted once per re-send
    retried: int = 0


def send_batch(sqs: Any, queue_url: str, bodies: Sequence[str], retry: RetryPolicy) -> BatchOutcome:
    """Send up to ten bodies with one SendMessageBatch, re-sending only the transient failures."""
    outcome = BatchOutcome()
    pending = dict(enumerate(bodies))
    last_failure: dict[int, EntryFailure] = {}
    for attempt in range(retry.attempts):
        if attempt:
            retry.sleep(retry.delay(attempt))
            outcome.retried += len(pending)
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(index), "MessageBody": body} for index, body in pending.items()],
        )
        for success in response.get("Successful", []):
            index = int(success["Id"])
            del pending[index]
            outcome.message_ids[index] = success["MessageId"]
        for failed in response.get("Failed", []):
            index = int(failed["Id"])
            failure = EntryFailure(
                failed.get("Code", "unknown"),
                failed.get("Message", ""),
                bool(failed.get("SenderFault")),
            )
            if failure.sender_fault:
                del pending[index]
                outcome.failures[index] = failure
            else:
                last_failure[index] = failure
        if not pending:
            return outcome
    for index in pending:
        failure = last_failure.get(index, EntryFailure("no_result", "SQS did not answer", False))
        outcome.failures[index] = EntryFailure(
            failure.code,
            f"{failure.message} (still failing after {retry.attempts} attempts)".lstrip(),
            sender_fault=False,
        )
    return outcome
