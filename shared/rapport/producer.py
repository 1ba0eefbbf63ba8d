"""Publish contract events to the events queue: the library a platform (or a Lambda) sends with.

Why not a bare ``send_message`` loop:

- an event the contract rejects would only be quarantined downstream, where the platform never
  sees why; validating first (with the pipeline's own ``parse_event``) reports it to the sender;
- ``SendMessageBatch`` succeeds or fails *per entry*. Re-sending the whole batch after a partial
  failure would send the successful entries twice, so only the entries that failed for a transient
  reason (``SenderFault`` false) are retried, with bounded backoff. A sender fault is permanent
  and is never retried;
- whole-call failures (throttling, 5xx, connection errors) are already retried with jittered
  backoff by botocore's standard retry mode (``rapport.adapters.aws``), so they are not retried
  again here: if they persist they propagate as botocore errors.

Only the standard library, boto3 (through the injected client) and the contract are used, so this
module can be packaged for Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from rapport.adapters.aws import client
from rapport.adapters.sqs_batch import (
    RetryPolicy,
    fits_in_batch,
    has_forbidden_characters,
    send_batch,
)
from rapport.validation import InvalidEvent, parse_event

_LISTED_FAILURES = 20


@dataclass(frozen=True)
class Failure:
    """One event that was not sent, and why."""

    event_id: str | None
    error_code: str
    message: str


@dataclass
class PublishResult:
    sent: int = 0
    #: entries re-sent after a transient failure
    retried: int = 0
    #: events SQS refused or kept failing to accept (not the ones the contract rejected)
    unsent: list[Failure] = field(default_factory=list)


class PublishError(Exception):
    """Some events were not sent; ``failures`` names every one of them and why."""

    def __init__(self, failures: Sequence[Failure], result: PublishResult) -> None:
        self.failures = list(failures)
        self.result = result
        listed = "; ".join(
            f"{failure.event_id or '(no id)'}: {failure.error_code}: {failure.message}"
            for failure in self.failures[:_LISTED_FAILURES]
        )
        if len(self.failures) > _LISTED_FAILURES:
            listed += f"; and {len(self.failures) - _LISTED_FAILURES} more"
        super().__init__(f"{len(self.failures)} event(s) not sent ({result.sent} sent): {listed}")


class Publisher:
    """Validates events one at a time and sends them in batches as the batches fill.

    Push-based so a platform can hand over events as they happen and a file of any length can be
    streamed. Use it as a context manager (or call ``close``) so the last batch is sent; when the
    block raises, what is still queued is not sent.
    """

    def __init__(
        self, queue_url: str, *, sqs: Any = None, retry: RetryPolicy | None = None
    ) -> None:
        self.queue_url = queue_url
        self.result = PublishResult()
        self._sqs = sqs if sqs is not None else client("sqs")
        self._retry = retry or RetryPolicy()
        self._batch: list[tuple[str, str]] = []  # (event id, body)
        self._batch_bytes = 0

    def add(self, event: str | Mapping[str, Any]) -> str:
        """Validate one event and queue it for sending; return its id.

        A JSON string is sent exactly as given; a mapping is serialised to compact JSON. Raises
        ``InvalidEvent`` (with the pipeline's error code) and queues nothing when the event would
        be quarantined or refused by SQS.
        """
        body = event if isinstance(event, str) else _to_json(event)
        event_id = parse_event(body).id
        if has_forbidden_characters(body):
            raise InvalidEvent(
                "rejected_by_queue", "The event contains characters SQS does not accept", event_id
            )
        size = len(body.encode("utf-8"))
        if not fits_in_batch(len(self._batch), self._batch_bytes, size):
            self.flush()
        self._batch.append((event_id, body))
        self._batch_bytes += size
        return event_id

    def flush(self) -> None:
        """Send what is queued. Failures are recorded in ``result.unsent``, not raised."""
        if not self._batch:
            return
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        outcome = send_batch(self._sqs, self.queue_url, [body for _, body in batch], self._retry)
        self.result.sent += len(outcome.message_ids)
        self.result.retried += outcome.retried
        self.result.unsent.extend(
            Failure(batch[index][0], failure.code, failure.message)
            for index, failure in sorted(outcome.failures.items())
        )

    def close(self) -> PublishResult:
        """Send the last batch; raise ``PublishError`` if any event was not accepted by SQS."""
        self.flush()
        if self.result.unsent:
            raise PublishError(self.result.unsent, self.result)
        return self.result

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()


def publish(
    events: Iterable[str | Mapping[str, Any]],
    queue_url: str,
    *,
    sqs: Any = None,
    retry: RetryPolicy | None = None,
) -> PublishResult:
    """Validate and send every event; every valid one is sent even when others are not.

    Raises ``PublishError`` at the end, naming each event that the contract rejected or SQS did
    not accept, with the reason.
    """
    publisher = Publisher(queue_url, sqs=sqs, retry=retry)
    invalid: list[Failure] = []
    for event in events:
        try:
            publisher.add(event)
        except InvalidEvent as exc:
            invalid.append(Failure(exc.event_id, exc.error_code, exc.message))
    publisher.flush()
    failures = invalid + publisher.result.unsent
    if failures:
        raise PublishError(failures, publisher.result)
    return publisher.result


def _to_json(event: Mapping[str, Any]) -> str:
    try:
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        event_id = event.get("id")
        raise InvalidEvent(
            "invalid_json",
            f"The event cannot be written as JSON: {exc}",
            event_id if isinstance(event_id, str) else None,
        ) from None
