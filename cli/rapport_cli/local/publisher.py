"""Publish input lines as a platform would, one event per line: to the events queue (one message
a line) or to the event bus (one PutEvents entry a line).

A line that is not a valid event is still published (the pipeline quarantines it). A line the
queue or the bus itself refuses never reaches the pipeline, so it is recorded here with its line
number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport.adapters import eventbridge_batch
from rapport.adapters.eventbridge_batch import BusEntry, put_batch, source_problem
from rapport.adapters.sqs_batch import (
    BatchOutcome,
    RetryPolicy,
    fits_in_batch,
    has_forbidden_characters,
    send_batch,
)

# A local moto server has no transient failures worth waiting for: retry at once.
_RETRY = RetryPolicy(attempts=5, base_delay=0.0, max_delay=0.0)


@dataclass(frozen=True)
class InputLine:
    file: str
    number: int
    text: str


@dataclass(frozen=True)
class RefusedLine:
    line: InputLine
    error_code: str
    message: str


@dataclass
class PublishResult:
    #: message id -> the line it carries (for the bus: EventBridge's event id, until
    #: ``rapport_cli.local.bus.BusDelivery.settle`` tells which message carries each event)
    published: dict[str, InputLine] = field(default_factory=dict)
    refused: list[RefusedLine] = field(default_factory=list)
    blank_lines: int = 0


def read_lines(paths: Iterable[Path], result: PublishResult) -> Iterator[InputLine | RefusedLine]:
    """Every non-blank line of every file, numbered from 1 as an editor shows it."""
    for path in paths:
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, start=1):
                content = raw.rstrip(b"\r\n")
                if not content.strip():
                    result.blank_lines += 1
                    continue
                try:
                    text = content.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = InputLine(str(path), number, content.decode("utf-8", "replace"))
                    yield RefusedLine(
                        line, "invalid_encoding", f"The line is not UTF-8 ({exc.reason})"
                    )
                    continue
                yield InputLine(str(path), number, text)


def _sqs_refusal(line: InputLine, max_bytes: int) -> RefusedLine | None:
    size = len(line.text.encode("utf-8"))
    if size > max_bytes:
        return RefusedLine(
            line,
            "rejected_by_queue",
            f"The message is {size} bytes; SQS accepts at most {max_bytes}",
        )
    if has_forbidden_characters(line.text):
        return RefusedLine(
            line, "rejected_by_queue", "The line contains characters SQS does not accept"
        )
    return None


#: Source and DetailType of a line whose own ``source`` or ``type`` cannot be one: the line still
#: goes on the bus, as a broken producer's event would (and no rule routes it).
_UNUSABLE_SOURCE = "rapport.local.unusable-source"
_UNUSABLE_TYPE = "unusable-type"


def bus_entry(line: InputLine) -> BusEntry | RefusedLine:
    """The entry a platform following docs/events.md puts on the bus for ``line``: the line as
    ``Detail``, its ``type`` as ``DetailType`` and its ``source`` as ``Source``; or why
    EventBridge would refuse it."""
    try:
        document = json.loads(line.text)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        return RefusedLine(
            line, "rejected_by_bus", "EventBridge takes only a JSON object as an event's Detail"
        )
    source, kind = document.get("source"), document.get("type")
    entry = BusEntry(
        source=source
        if isinstance(source, str) and source_problem(source) is None
        else _UNUSABLE_SOURCE,
        detail_type=kind
        if isinstance(kind, str) and 1 <= len(kind) <= eventbridge_batch.MAX_DETAIL_TYPE_CHARS
        else _UNUSABLE_TYPE,
        detail=line.text,
    )
    if entry.size > eventbridge_batch.MAX_BATCH_BYTES:
        return RefusedLine(
            line,
            "rejected_by_bus",
            f"The entry is {entry.size} bytes; EventBridge accepts at most "
            f"{eventbridge_batch.MAX_BATCH_BYTES}",
        )
    return entry


@dataclass(frozen=True)
class _Prepared:
    line: InputLine
    entry: Any  # what the batch call sends for the line
    size: int


@dataclass(frozen=True)
class _Channel:
    """How lines go out: each line's entry and size (or why the service would refuse it), the
    batch limits, and one batch call."""

    prepare: Callable[[InputLine], _Prepared | RefusedLine]
    fits: Callable[[int, int, int], bool]
    send: Callable[[list[Any]], BatchOutcome]
    service: str
    refused_code: str


def _batches(lines: Iterable[_Prepared], channel: _Channel) -> Iterator[list[_Prepared]]:
    batch: list[_Prepared] = []
    size = 0
    for line in lines:
        if batch and not channel.fits(len(batch), size, line.size):
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += line.size
    if batch:
        yield batch


def _send(channel: _Channel, batch: list[_Prepared], result: PublishResult) -> None:
    """Send one batch, retrying only the entries that failed for a transient reason."""
    outcome = channel.send([prepared.entry for prepared in batch])
    for index, message_id in outcome.message_ids.items():
        result.published[message_id] = batch[index].line
    kept_failing = 0
    for index, failure in outcome.failures.items():
        if failure.sender_fault:
            result.refused.append(
                RefusedLine(batch[index].line, channel.refused_code, failure.message)
            )
        else:
            kept_failing += 1
    if kept_failing:
        raise RuntimeError(f"{channel.service} kept failing to accept {kept_failing} line(s)")


def _publish(
    channel: _Channel,
    paths: Iterable[Path],
    *,
    on_line: Callable[[], None],
    between_chunks: Callable[[], None],
    chunk_lines: int,
) -> PublishResult:
    result = PublishResult()

    def sendable() -> Iterator[_Prepared]:
        for item in read_lines(paths, result):
            on_line()
            prepared = item if isinstance(item, RefusedLine) else channel.prepare(item)
            if isinstance(prepared, RefusedLine):
                result.refused.append(prepared)
            else:
                yield prepared

    since_chunk = 0
    for batch in _batches(sendable(), channel):
        _send(channel, batch, result)
        since_chunk += len(batch)
        if since_chunk >= chunk_lines:
            between_chunks()
            since_chunk = 0
    return result


def publish(
    sqs: Any,
    queue_url: str,
    paths: Iterable[Path],
    *,
    max_message_bytes: int,
    on_line: Callable[[], None] = lambda: None,
    between_chunks: Callable[[], None] = lambda: None,
    chunk_lines: int = 50,
) -> PublishResult:
    """Publish every line to the queue; ``between_chunks`` runs after every ``chunk_lines`` sent
    lines (the local runner drains the queue there, as Lambda would be doing all along)."""

    def prepare(line: InputLine) -> _Prepared | RefusedLine:
        refusal = _sqs_refusal(line, max_message_bytes)
        return refusal or _Prepared(line, line.text, len(line.text.encode("utf-8")))

    channel = _Channel(
        prepare=prepare,
        fits=fits_in_batch,
        send=lambda bodies: send_batch(sqs, queue_url, bodies, _RETRY),
        service="SQS",
        refused_code="rejected_by_queue",
    )
    return _publish(
        channel, paths, on_line=on_line, between_chunks=between_chunks, chunk_lines=chunk_lines
    )


def publish_to_bus(
    events: Any,
    bus: str,
    paths: Iterable[Path],
    *,
    on_line: Callable[[], None] = lambda: None,
    between_chunks: Callable[[], None] = lambda: None,
    chunk_lines: int = 50,
) -> PublishResult:
    """Put every line on the bus with PutEvents, as ``publish`` sends to the queue; ``published``
    is keyed by EventBridge's event ids."""

    def prepare(line: InputLine) -> _Prepared | RefusedLine:
        entry = bus_entry(line)
        return entry if isinstance(entry, RefusedLine) else _Prepared(line, entry, entry.size)

    channel = _Channel(
        prepare=prepare,
        fits=eventbridge_batch.fits_in_batch,
        send=lambda entries: put_batch(events, bus, entries, _RETRY),
        service="EventBridge",
        refused_code="rejected_by_bus",
    )
    return _publish(
        channel, paths, on_line=on_line, between_chunks=between_chunks, chunk_lines=chunk_lines
    )
