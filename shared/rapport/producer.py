"""Publish contract events to Rapport, as a platform (or a Lambda) does: to the events queue or to
the event bus.

Why not a bare ``send_message`` or ``put_events`` loop:

- an event the contract rejects would only be quarantined downstream (or, on the bus, routed
  nowhere), where the platform never sees why; validating first (with the pipeline's own
  ``parse_event``) reports it to the sender;
- ``SendMessageBatch`` and ``PutEvents`` succeed or fail *per entry*. Re-sending the whole batch
  after a partial failure would send the successful entries twice, so only the entries that
  failed for a transient reason are retried, with bounded backoff. A permanent failure (SQS's
  ``SenderFault``, any EventBridge code but ``InternalFailure`` and ``ThrottlingException``) is
  never retried;
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
from typing import Any, Protocol

from rapport.adapters import eventbridge_batch, sqs_batch
from rapport.adapters.aws import client
from rapport.adapters.entry_batches import BatchOutcome, RetryPolicy
from rapport.contract import RapportEvent
from rapport.errors import InvalidEvent
from rapport.validation import parse_event

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
    #: events the queue or bus refused or kept failing to accept (not the ones the contract
    #: rejected)
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


class Destination(Protocol):
    """Where a ``Publisher`` sends: the events queue (``QueueDestination``) or the event bus
    (``BusDestination``)."""

    #: names it in messages: the queue URL, the bus name or ARN
    name: str

    def entry(self, body: str, event: RapportEvent) -> tuple[Any, int]:
        """The entry that carries ``body`` and its size in the batch; raises ``InvalidEvent``
        when the service would refuse it."""
        ...

    def fits(self, entries: int, batch_bytes: int, entry_bytes: int) -> bool:
        """Whether one more entry of ``entry_bytes`` fits a batch already holding ``entries``."""
        ...

    def send(self, entries: Sequence[Any], retry: RetryPolicy) -> BatchOutcome:
        """Send one batch, re-sending only the entries that failed transiently."""
        ...


class QueueDestination:
    """The events queue: each event is one SQS message whose body is the event's JSON text."""

    def __init__(self, queue_url: str, *, sqs: Any = None) -> None:
        self.name = queue_url
        self._sqs = sqs if sqs is not None else client("sqs")

    def entry(self, body: str, event: RapportEvent) -> tuple[str, int]:
        _refuse_queue_characters(body, event)
        return body, len(body.encode("utf-8"))

    def fits(self, entries: int, batch_bytes: int, entry_bytes: int) -> bool:
        return sqs_batch.fits_in_batch(entries, batch_bytes, entry_bytes)

    def send(self, entries: Sequence[str], retry: RetryPolicy) -> BatchOutcome:
        return sqs_batch.send_batch(self._sqs, self.name, entries, retry)


class BusDestination:
    """The event bus (its name, or its ARN from another account): each event is one PutEvents
    entry with the event's JSON text as ``Detail``, its ``type`` as ``DetailType`` and its
    ``source`` as ``Source``."""

    def __init__(self, bus: str, *, events: Any = None) -> None:
        self.name = bus
        self._events = events if events is not None else client("events")

    def entry(self, body: str, event: RapportEvent) -> tuple[eventbridge_batch.BusEntry, int]:
        problem = eventbridge_batch.source_problem(event.source)
        if problem is not None:
            raise InvalidEvent("rejected_by_bus", f"source: {problem}", event.id)
        _refuse_queue_characters(body, event)  # the rule delivers the body to the events queue
        entry = eventbridge_batch.BusEntry(source=event.source, detail_type=event.type, detail=body)
        return entry, entry.size

    def fits(self, entries: int, batch_bytes: int, entry_bytes: int) -> bool:
        return eventbridge_batch.fits_in_batch(entries, batch_bytes, entry_bytes)

    def send(
        self, entries: Sequence[eventbridge_batch.BusEntry], retry: RetryPolicy
    ) -> BatchOutcome:
        return eventbridge_batch.put_batch(self._events, self.name, entries, retry)


class Publisher:
    """Validates events one at a time and sends them in batches as the batches fill.

    ``destination`` is a ``QueueDestination`` or a ``BusDestination``; a string is the events
    queue's URL (``sqs`` is then the client to use). Push-based so a platform can hand over
    events as they happen and a file of any length can be streamed. Use it as a context manager
    (or call ``close``) so the last batch is sent; when the block raises, what is still queued is
    not sent.
    """

    def __init__(
        self,
        destination: str | Destination,
        *,
        sqs: Any = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.destination: Destination = (
            QueueDestination(destination, sqs=sqs) if isinstance(destination, str) else destination
        )
        self.result = PublishResult()
        self._retry = retry or RetryPolicy()
        self._batch: list[tuple[str, Any]] = []  # (event id, entry)
        self._batch_bytes = 0

    def add(self, event: str | Mapping[str, Any]) -> str:
        """Validate one event and queue it for sending; return its id.

        A JSON string is sent exactly as given; a mapping is serialised to compact JSON. Raises
        ``InvalidEvent`` (with the pipeline's error code) and queues nothing when the event would
        be quarantined or refused by the destination.
        """
        body = event if isinstance(event, str) else _to_json(event)
        parsed = parse_event(body)
        entry, size = self.destination.entry(body, parsed)
        if not self.destination.fits(len(self._batch), self._batch_bytes, size):
            self.flush()
        self._batch.append((parsed.id, entry))
        self._batch_bytes += size
        return parsed.id

    def flush(self) -> None:
        """Send what is queued. Failures are recorded in ``result.unsent``, not raised."""
        if not self._batch:
            return
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        outcome = self.destination.send([entry for _, entry in batch], self._retry)
        self.result.sent += len(outcome.message_ids)
        self.result.retried += outcome.retried
        self.result.unsent.extend(
            Failure(batch[index][0], failure.code, failure.message)
            for index, failure in sorted(outcome.failures.items())
        )

    def close(self) -> PublishResult:
        """Send the last batch; raise ``PublishError`` if any event was not accepted."""
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
    destination: str | Destination,
    *,
    sqs: Any = None,
    retry: RetryPolicy | None = None,
) -> PublishResult:
    """Validate and send every event; every valid one is sent even when others are not.

    ``destination`` is as for ``Publisher``. Raises ``PublishError`` at the end, naming each
    event that the contract rejected or the destination did not accept, with the reason.
    """
    publisher = Publisher(destination, sqs=sqs, retry=retry)
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


def _refuse_queue_characters(body: str, event: RapportEvent) -> None:
    if sqs_batch.has_forbidden_characters(body):
        raise InvalidEvent(
            "rejected_by_queue", "The event contains characters SQS does not accept", event.id
        )


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
