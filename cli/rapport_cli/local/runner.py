"""``rapport run``: the whole pipeline on this machine, with the DESIGN §4 outputs.

Counting is done from ground truth, not from what the handler says about itself: ``stored`` is
the number of distinct events in the table, ``quarantined`` the quarantine records plus the lines
SQS refused, ``dead_lettered`` what sits in the dead-letter queue. ``duplicates`` are the messages
processed successfully that added nothing, and the books must balance or the run fails.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from rapport.adapters.dynamodb_store import QuarantinedEvent, count_events, request_events
from rapport.settings import ReadSettings
from rapport.state import request_status
from rapport.validation import InvalidEvent, parse_event
from rapport_cli.local.call_log import DYNAMODB_WRITES, CallLog
from rapport_cli.local.event_source import DrainResult, drain
from rapport_cli.local.lambda_runtime import load_handler
from rapport_cli.local.publisher import InputLine, PublishResult, publish, read_lines
from rapport_cli.local.server import moto_server, patched_environ
from rapport_cli.local.stack import LocalStack, deploy

EVENTS_QUEUE = "EventsQueue"
TABLE = "RapportTable"


class AccountingError(RuntimeError):
    """The run's figures do not add up: something was lost or counted twice."""


@dataclass(frozen=True)
class Summary:
    received: int
    stored: int
    duplicates: int
    quarantined: int
    dead_lettered: int
    digests_sent: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "dead_lettered": self.dead_lettered,
            "digests_sent": self.digests_sent,
        }


@dataclass
class Progress:
    """Callbacks a front end uses to show progress; all optional."""

    phase: Callable[[str, int], None] = lambda _name, _total: None
    advance: Callable[[int], None] = lambda _count: None


@dataclass(frozen=True)
class RunReport:
    summary: Summary
    now: datetime
    out_dir: Path
    blank_lines: int
    invocations: int
    retried_records: int
    outcomes: dict[str, int] = field(default_factory=dict)
    #: API calls made by the functions, by ``service.Operation``.
    function_calls: dict[str, int] = field(default_factory=dict)

    @property
    def dynamodb_writes_per_stored_event(self) -> float | None:
        writes = sum(
            count
            for name, count in self.function_calls.items()
            if name.startswith("dynamodb.") and name.split(".", 1)[1] in DYNAMODB_WRITES
        )
        return writes / self.summary.stored if self.summary.stored else None


def latest_event_time(paths: Sequence[Path]) -> datetime | None:
    """Default "now": the latest ``time`` among the valid events of the input."""
    latest: datetime | None = None
    for item in read_lines(paths, PublishResult()):
        if not isinstance(item, InputLine):
            continue
        try:
            event_time = parse_event(item.text).time
        except InvalidEvent:
            continue
        latest = event_time if latest is None else max(latest, event_time)
    return latest


def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    """The whole local table; fine for a local export, never used on a hot path."""
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        yield from page["Items"]


def _drain_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
    ).get("Messages", []):
        messages.extend(batch)
    return messages


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")


def _line_ref(line: InputLine | None) -> dict[str, Any]:
    return {"file": line.file if line else None, "line": line.number if line else None}


@dataclass(frozen=True)
class _Observed:
    """What a run leaves behind in the local AWS, read back before the server stops."""

    published: PublishResult
    drained: DrainResult
    dead_letters: list[dict[str, Any]]
    items: list[dict[str, Any]]
    settings: ReadSettings
    calls: CallLog


def _operate(event_files: Sequence[Path], log_dir: Path, progress: Progress) -> _Observed:
    """Deploy, publish every line, drain the queue through the handler, read back the results."""
    with moto_server():
        region = os.environ["AWS_DEFAULT_REGION"]
        session = boto3.session.Session()
        sqs, dynamodb = session.client("sqs"), session.client("dynamodb")
        stack: LocalStack = deploy(session, region)
        calls = CallLog().attach()
        queue = stack.queues[EVENTS_QUEUE]
        max_bytes = int(
            sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["MaximumMessageSize"])[
                "Attributes"
            ]["MaximumMessageSize"]
        )

        progress.phase("publishing", 0)
        published = publish(
            sqs,
            queue.url,
            event_files,
            max_message_bytes=max_bytes,
            on_line=lambda: progress.advance(1),
        )

        function, source = stack.function_for_queue(EVENTS_QUEUE)
        progress.phase("processing", len(published.published))
        log_path = log_dir / f"{function.logical_id}.jsonl"
        with (
            patched_environ(function.environment),
            log_path.open("w", encoding="utf-8") as log,
            contextlib.redirect_stdout(log),
        ):
            handler = load_handler(
                function.code_dir, function.handler, f"rapport_fn_{function.logical_id}"
            )
            drained = drain(
                sqs,
                queue,
                handler,
                function_name=function.logical_id,
                batch_size=source.batch_size,
                region=region,
                on_success=progress.advance,
            )
        progress.phase("exporting", 0)
        return _Observed(
            published=published,
            drained=drained,
            dead_letters=_drain_all(sqs, stack.queues[queue.dead_letter_logical_id or ""].url),
            items=list(_scan(dynamodb, stack.tables[TABLE])),
            settings=ReadSettings.model_validate(function.environment),
            calls=calls,
        )


def _request_row(item: dict[str, Any], now: datetime, settings: ReadSettings) -> dict[str, Any]:
    status = request_status(request_events(item), now, settings.response_window)
    classification = status.classification
    return {
        "sender_id": status.sender_id,
        "request_id": status.request_id,
        "outcome": status.outcome.value,
        "primary_reason": classification.primary_reason,
        "reasons": list(classification.reasons),
        "confidence": classification.confidence,
    }


def _quarantine_rows(observed: _Observed) -> list[dict[str, Any]]:
    rows = []
    for item in observed.items:
        if item.get("kind", {}).get("S") != "quarantine":
            continue
        record = QuarantinedEvent.from_item(item)
        rows.append(
            {
                **_line_ref(observed.published.published.get(record.message_id)),
                "event_id": record.event_id,
                "error_code": record.error_code,
                "message": record.message,
                "quarantine_id": record.quarantine_id,
                "payload": record.payload,
            }
        )
    return rows


def _summarise(observed: _Observed, handler_quarantined: int) -> Summary:
    """Balance the books from ground truth; refuse to report figures that do not add up."""
    published = observed.published
    succeeded = len(observed.drained.succeeded)
    dead = len(observed.dead_letters)
    stored = sum(
        count_events(item)
        for item in observed.items
        if item.get("kind", {}).get("S") in ("request", "profile")
    )
    duplicates = succeeded - stored - handler_quarantined
    if succeeded + dead != len(published.published) or duplicates < 0:
        raise AccountingError(
            f"published {len(published.published)}, succeeded {succeeded}, dead-lettered {dead}, "
            f"stored {stored}, quarantined {handler_quarantined}"
        )
    return Summary(
        received=len(published.published) + len(published.refused),
        stored=stored,
        duplicates=duplicates,
        quarantined=handler_quarantined + len(published.refused),
        dead_lettered=dead,
    )


def run(
    event_files: Sequence[Path],
    out_dir: Path,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Run the pipeline on ``event_files`` and write the DESIGN §4 outputs into ``out_dir``."""
    missing = [str(path) for path in event_files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"no such events file: {', '.join(missing)}")
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    observed = _operate(event_files, out_dir / "logs", progress or Progress())
    now = now or latest_event_time(event_files) or datetime.now().astimezone()

    requests = [
        _request_row(item, now, observed.settings)
        for item in observed.items
        if item.get("kind", {}).get("S") == "request"
    ]
    quarantine = _quarantine_rows(observed)
    summary = _summarise(observed, handler_quarantined=len(quarantine))
    quarantine += [
        {
            **_line_ref(refused.line),
            "event_id": None,
            "error_code": refused.error_code,
            "message": refused.message,
            "quarantine_id": None,
            "payload": refused.line.text,
        }
        for refused in observed.published.refused
    ]
    requests.sort(key=lambda row: (row["sender_id"], row["request_id"]))
    quarantine.sort(key=lambda row: (row["file"] or "", row["line"] or 0))
    (out_dir / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2) + "\n")
    _write_jsonl(out_dir / "requests.jsonl", requests)
    _write_jsonl(out_dir / "quarantine.jsonl", quarantine)
    _write_jsonl(
        out_dir / "dead_letters.jsonl",
        [
            {
                **_line_ref(observed.published.published.get(message["MessageId"])),
                "message_id": message["MessageId"],
            }
            for message in observed.dead_letters
        ],
    )
    outcomes: dict[str, int] = {}
    for row in requests:
        outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + 1
    return RunReport(
        summary=summary,
        now=now,
        out_dir=out_dir,
        blank_lines=observed.published.blank_lines,
        invocations=observed.drained.invocations,
        retried_records=observed.drained.failed_attempts,
        outcomes=outcomes,
        function_calls=dict(observed.calls.calls),
    )
