"""The one way Rapport's tools send bodies to the events queue or put them on the event bus:
``rapport send`` and ``rapport run``, the DLQ and quarantine redrives, and a platform's own
Python code.

Why not a bare ``send_message`` or ``put_events`` loop:

- with ``validate=True`` an event the contract rejects is refused here, with the pipeline's own
  ``parse_event``, so the sender hears why instead of finding it in the quarantine (or, on the
  bus, routed nowhere). ``rapport run`` and the DLQ redrive pass ``validate=False``: an invalid
  line is still published, and the pipeline quarantines it;
- ``SendMessageBatch`` and ``PutEvents`` succeed or fail *per entry*. Re-sending the whole batch
  after a partial failure would send the successful entries twice, so only the entries that
  failed for a transient reason are retried, with bounded backoff
  (``rapport.adapters.entry_batches``); a permanent failure is never retried;
- whole-call failures (throttling, 5xx, connection errors) are already retried by botocore's
  standard retry mode (``rapport.adapters.aws``): if they persist they propagate as botocore
  errors.

Every body that is not sent is a ``Refusal`` naming its source (an input line, a DLQ message),
so a caller can report it by line. Nothing here runs in a Lambda function, so it lives with the
CLI, not in the shared layer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from rapport.adapters import eventbridge_batch, sqs_batch
from rapport.adapters.aws import client
from rapport.adapters.entry_batches import BatchOutcome, RetryPolicy
from rapport.contract import RapportEvent
from rapport.errors import InvalidEvent
from rapport.validation import parse_event
from rapport_cli.jsonl import InputLine

Source = TypeVar("Source")

_LISTED_FAILURES = 20
#: Source and DetailType on the bus for a body whose own ``source`` or ``type`` cannot be one:
#: it still goes on the bus, as a broken producer's event would (and no rule routes it).
_UNUSABLE_SOURCE = "rapport.local.unusable-source"
_UNUSABLE_TYPE = "unusable-type"


@dataclass(frozen=True)
class Refusal(Generic[Source]):
    """One body that was not sent, and why."""

    source: Source
    event_id: str | None
    error_code: str
    message: str
    #: the queue or bus refused it (or kept failing to accept it) after batching; False when the
    #: publisher refused it before sending
    by_target: bool = False
    #: the queue or bus kept failing for a reason that may pass: sending it again may work
    transient: bool = False


@dataclass
class PublishResult(Generic[Source]):
    #: message id (for the bus: EventBridge's event id) -> the source of the body it carries
    sent: dict[str, Source] = field(default_factory=dict)
    #: entries re-sent after a transient failure
    retried: int = 0
    refused: list[Refusal[Source]] = field(default_factory=list)

    @property
    def unsent(self) -> list[Refusal[Source]]:
        """The bodies the queue or bus itself did not accept."""
        return [refusal for refusal in self.refused if refusal.by_target]


class PublishError(Exception):
    """Some events were not sent; ``result.refused`` names every one of them and why."""

    def __init__(self, result: PublishResult[Any]) -> None:
        self.result = result
        listed = "; ".join(
            f"{refusal.event_id or '(no id)'}: {refusal.error_code}: {refusal.message}"
            for refusal in result.refused[:_LISTED_FAILURES]
        )
        if len(result.refused) > _LISTED_FAILURES:
            listed += f"; and {len(result.refused) - _LISTED_FAILURES} more"
        super().__init__(
            f"{len(result.refused)} event(s) not sent ({len(result.sent)} sent): {listed}"
        )


class Target(Protocol):
    """Where a ``Publisher`` sends: the events queue (``QueueTarget``) or the bus
    (``BusTarget``)."""

    #: names it in messages: the queue URL, the bus name or ARN
    name: str
    #: the service, in messages
    service: str
    #: the error code of a body the service refuses
    refused_code: str

    def entry(self, body: str, event: RapportEvent | None) -> tuple[Any, int]:
        """The entry that carries ``body`` (``event`` when it was validated) and its size in
        the batch; raises ``InvalidEvent`` when the service would refuse it."""
        ...

    def fits(self, entries: int, batch_bytes: int, entry_bytes: int) -> bool:
        """Whether one more entry of ``entry_bytes`` fits a batch already holding ``entries``."""
        ...

    def send(self, entries: Sequence[Any], retry: RetryPolicy) -> BatchOutcome:
        """Send one batch, re-sending only the entries that failed transiently."""
        ...


class QueueTarget:
    """The events queue: each body is one SQS message. ``max_message_bytes`` (the queue's
    ``MaximumMessageSize``) refuses a larger body before sending; without it SQS judges."""

    service = "SQS"
    refused_code = "rejected_by_queue"

    def __init__(
        self, queue_url: str, *, sqs: Any = None, max_message_bytes: int | None = None
    ) -> None:
        self.name = queue_url
        self._sqs = sqs if sqs is not None else client("sqs")
        self._max_bytes = max_message_bytes

    def entry(self, body: str, event: RapportEvent | None) -> tuple[str, int]:
        size = len(body.encode("utf-8"))
        event_id = event.id if event else None
        if self._max_bytes is not None and size > self._max_bytes:
            raise InvalidEvent(
                self.refused_code,
                f"The message is {size} bytes; SQS accepts at most {self._max_bytes}",
                event_id,
            )
        _refuse_queue_characters(body, event)
        return body, size

    def fits(self, entries: int, batch_bytes: int, entry_bytes: int) -> bool:
        return sqs_batch.fits_in_batch(entries, batch_bytes, entry_bytes)

    def send(self, entries: Sequence[str], retry: RetryPolicy) -> BatchOutcome:
        return sqs_batch.send_batch(self._sqs, self.name, entries, retry)


class BusTarget:
    """The event bus (its name, or its ARN from another account): each body is one PutEvents
    entry with the body as ``Detail``, the event's ``type`` as ``DetailType`` and its ``source``
    as ``Source`` (docs/events.md)."""

    service = "EventBridge"
    refused_code = "rejected_by_bus"

    def __init__(self, bus: str, *, events: Any = None) -> None:
        self.name = bus
        self._events = events if events is not None else client("events")

    def entry(
        self, body: str, event: RapportEvent | None
    ) -> tuple[eventbridge_batch.BusEntry, int]:
        entry = self._valid_entry(body, event) if event else self._raw_entry(body)
        if entry.size > eventbridge_batch.MAX_BATCH_BYTES:
            raise InvalidEvent(
                self.refused_code,
                f"The entry is {entry.size} bytes; EventBridge accepts at most "
                f"{eventbridge_batch.MAX_BATCH_BYTES}",
                event.id if event else None,
            )
        return entry, entry.size

    def _valid_entry(self, body: str, event: RapportEvent) -> eventbridge_batch.BusEntry:
        problem = eventbridge_batch.source_problem(event.source)
        if problem is not None:
            raise InvalidEvent(self.refused_code, f"source: {problem}", event.id)
        _refuse_queue_characters(body, event)  # the rule delivers the body to the events queue
        return eventbridge_batch.BusEntry(source=event.source, detail_type=event.type, detail=body)

    def _raw_entry(self, body: str) -> eventbridge_batch.BusEntry:
        """What a platform following docs/events.md puts on the bus for an unchecked body."""
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise InvalidEvent(
                self.refused_code, "EventBridge takes only a JSON object as an event's Detail"
            )
        source, kind = document.get("source"), document.get("type")
        return eventbridge_batch.BusEntry(
            source=source
            if isinstance(source, str) and eventbridge_batch.source_problem(source) is None
            else _UNUSABLE_SOURCE,
            detail_type=kind
            if isinstance(kind, str) and 1 <= len(kind) <= eventbridge_batch.MAX_DETAIL_TYPE_CHARS
            else _UNUSABLE_TYPE,
            detail=body,
        )

    def fits(self, entries: int, batch_bytes: int, entry_bytes: int) -> bool:
        return eventbridge_batch.fits_in_batch(entries, batch_bytes, entry_bytes)

    def send(
        self, entries: Sequence[eventbridge_batch.BusEntry], retry: RetryPolicy
    ) -> BatchOutcome:
        return eventbridge_batch.put_batch(self._events, self.name, entries, retry)


class Publisher(Generic[Source]):
    """Checks bodies one at a time and sends them in batches as the batches fill.

    ``target`` is a ``QueueTarget`` or a ``BusTarget``; a string is the events queue's URL.
    Push-based, so a platform can hand over events as they happen and a file of any length can
    be streamed. Call ``flush`` at the end so the last batch is sent. ``on_batch`` is called
    with each batch's size once it is sent (``rapport run`` drains the queue there, as Lambda
    would be doing all along).
    """

    def __init__(
        self,
        target: str | Target,
        *,
        validate: bool = True,
        retry: RetryPolicy | None = None,
        on_batch: Callable[[int], None] = lambda _size: None,
    ) -> None:
        self.target: Target = QueueTarget(target) if isinstance(target, str) else target
        self.result: PublishResult[Source] = PublishResult()
        self._validate = validate
        self._retry = retry or RetryPolicy()
        self._on_batch = on_batch
        self._batch: list[tuple[Source, str | None, Any]] = []  # (source, event id, entry)
        self._batch_bytes = 0

    def add(self, event: str | Mapping[str, Any], source: Source) -> Refusal[Source] | None:
        """Queue one event for sending, or refuse it (recorded in ``result.refused`` and
        returned) when the contract (with ``validate``) or the target would reject it.

        A JSON string is sent exactly as given; a mapping is serialised to compact JSON.
        """
        try:
            body = event if isinstance(event, str) else _to_json(event)
            parsed = parse_event(body) if self._validate else None
            entry, size = self.target.entry(body, parsed)
        except InvalidEvent as exc:
            return self._refuse(Refusal(source, exc.event_id, exc.error_code, exc.message))
        if not self.target.fits(len(self._batch), self._batch_bytes, size):
            self.flush()
        self._batch.append((source, parsed.id if parsed else None, entry))
        self._batch_bytes += size
        return None

    def add_line(self: Publisher[InputLine], line: InputLine) -> Refusal[InputLine] | None:
        """Queue one input line as ``add`` does, with the line as its source; a line that is
        not UTF-8 is refused."""
        if line.encoding_error is not None:
            return self._refuse(
                Refusal(
                    line, None, "invalid_encoding", f"The line is not UTF-8 ({line.encoding_error})"
                )
            )
        return self.add(line.text, line)

    def flush(self) -> PublishResult[Source]:
        """Send what is queued; entries the target does not accept are recorded in
        ``result.refused``, not raised."""
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            outcome = self.target.send([entry for _, _, entry in batch], self._retry)
            for index, message_id in outcome.message_ids.items():
                self.result.sent[message_id] = batch[index][0]
            self.result.retried += outcome.retried
            self.result.refused.extend(
                Refusal(
                    batch[index][0],
                    batch[index][1],
                    failure.code,
                    failure.message,
                    by_target=True,
                    transient=not failure.sender_fault,
                )
                for index, failure in sorted(outcome.failures.items())
            )
            self._on_batch(len(batch))
        return self.result

    def _refuse(self, refusal: Refusal[Source]) -> Refusal[Source]:
        self.result.refused.append(refusal)
        return refusal


def publish(
    events: Iterable[str | Mapping[str, Any]],
    target: str | Target,
    *,
    retry: RetryPolicy | None = None,
) -> PublishResult[None]:
    """Validate and send every event; every valid one is sent even when others are not.

    ``target`` is as for ``Publisher``. Raises ``PublishError`` at the end, naming each event
    that the contract rejected or the target did not accept, with the reason.
    """
    publisher: Publisher[None] = Publisher(target, retry=retry)
    for event in events:
        publisher.add(event, None)
    result = publisher.flush()
    if result.refused:
        raise PublishError(result)
    return result


def _refuse_queue_characters(body: str, event: RapportEvent | None) -> None:
    if sqs_batch.has_forbidden_characters(body):
        raise InvalidEvent(
            QueueTarget.refused_code,
            f"The {'event' if event else 'line'} contains characters SQS does not accept",
            event.id if event else None,
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
