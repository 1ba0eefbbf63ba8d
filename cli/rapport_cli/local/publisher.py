"""Publish input lines to the events queue, as a platform would, one message per line.

A line that is not a valid event is still published (the pipeline quarantines it). A line SQS
itself refuses never reaches the pipeline, so it is recorded here with its line number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport.adapters.sqs_batch import (
    RetryPolicy,
    fits_in_batch,
    has_forbidden_characters,
    send_batch,
)

# A local moto queue has no transient failures worth waiting for: retry at once.
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
    #: message id -> the line it carries
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


def _batches(lines: Iterable[InputLine]) -> Iterator[list[InputLine]]:
    batch: list[InputLine] = []
    size = 0
    for line in lines:
        line_size = len(line.text.encode("utf-8"))
        if batch and not fits_in_batch(len(batch), size, line_size):
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += line_size
    if batch:
        yield batch


def _send(sqs: Any, queue_url: str, batch: list[InputLine], result: PublishResult) -> None:
    """Send one batch, retrying only the entries that failed for a transient reason."""
    outcome = send_batch(sqs, queue_url, [line.text for line in batch], _RETRY)
    for index, message_id in outcome.message_ids.items():
        result.published[message_id] = batch[index]
    kept_failing = 0
    for index, failure in outcome.failures.items():
        if failure.sender_fault:
            result.refused.append(RefusedLine(batch[index], "rejected_by_queue", failure.message))
        else:
            kept_failing += 1
    if kept_failing:
        raise RuntimeError(f"SQS kept failing to accept {kept_failing} message(s)")


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
    """Publish every line; ``between_chunks`` runs after every ``chunk_lines`` sent lines (the
    local runner drains the queue there, as Lambda would be doing all along)."""
    result = PublishResult()

    def sendable() -> Iterator[InputLine]:
        for item in read_lines(paths, result):
            on_line()
            refusal = (
                item if isinstance(item, RefusedLine) else _sqs_refusal(item, max_message_bytes)
            )
            if refusal is not None:
                result.refused.append(refusal)
            else:
                assert isinstance(item, InputLine)
                yield item

    since_chunk = 0
    for batch in _batches(sendable()):
        _send(sqs, queue_url, batch, result)
        since_chunk += len(batch)
        if since_chunk >= chunk_lines:
            between_chunks()
            since_chunk = 0
    return result
