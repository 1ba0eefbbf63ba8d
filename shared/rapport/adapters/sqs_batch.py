"""SendMessageBatch done right: SQS's limits, and re-sending only the entries that failed.

``SendMessageBatch`` succeeds or fails *per entry*: only the entries that failed for a transient
reason (``SenderFault`` false) are retried, with bounded backoff; a sender fault is permanent
(``rapport.adapters.entry_batches``). Whole-call failures (throttling, 5xx) are retried by
botocore's standard retry mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rapport.adapters.entry_batches import (
    Answer,
    BatchCall,
    BatchOutcome,
    EntryFailure,
    RetryPolicy,
    send_entries,
)

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "BatchOutcome",
    "EntryFailure",
    "RetryPolicy",
    "fits_in_batch",
    "has_forbidden_characters",
    "send_batch",
]

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


def send_batch(sqs: Any, queue_url: str, bodies: Sequence[str], retry: RetryPolicy) -> BatchOutcome:
    """Send up to ten bodies with one SendMessageBatch, re-sending only the transient failures."""

    def call(pending: Mapping[int, str]) -> Answer:
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(index), "MessageBody": body} for index, body in pending.items()],
        )
        return Answer(
            accepted={
                int(success["Id"]): success["MessageId"]
                for success in response.get("Successful", [])
            },
            failed={
                int(failed["Id"]): EntryFailure(
                    failed.get("Code", "unknown"),
                    failed.get("Message", ""),
                    bool(failed.get("SenderFault")),
                )
                for failed in response.get("Failed", [])
            },
        )

    return send_entries(BatchCall("SQS", call), bodies, retry)
