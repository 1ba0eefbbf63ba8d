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
from botocore.config import Config
from moto.core.models import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.ses.models import ses_backends

from rapport.adapters.aws import session as shared_session
from rapport.adapters.dynamodb_store import QuarantinedEvent, count_events, request_events
from rapport.adapters.retention import Retention
from rapport.settings import ReadSettings
from rapport.state import request_status
from rapport.timeutil import iso_utc
from rapport.validation import InvalidEvent, parse_event
from rapport_cli.jsonl import json_line
from rapport_cli.local.call_log import DYNAMODB_WRITES, CallLog
from rapport_cli.local.digests import digest_records, write_digests
from rapport_cli.local.event_source import DrainResult, drain
from rapport_cli.local.faults import FaultInjector, FaultPlan, immediate_retries
from rapport_cli.local.lambda_runtime import FunctionHost
from rapport_cli.local.publisher import InputLine, PublishResult, publish, read_lines
from rapport_cli.local.server import moto_server
from rapport_cli.local.stack import LocalStack, deploy

EVENTS_QUEUE = "EventsQueue"
DIGEST_QUEUE = "DigestJobsQueue"
INGEST_FUNCTION = "ProcessEventsFunction"
TABLE = "RapportTable"

# The runner plays the platform (publishing) and Lambda's SQS poller, which in AWS keep retrying
# far longer than a function's SDK does: more attempts, so injected faults test the functions.
_RUNNER_CONFIG = Config(retries={"mode": "standard", "max_attempts": 9})


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
    #: API calls made by each function, by ``service:Operation``.
    function_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    digest_files: list[Path] = field(default_factory=list)
    digest_jobs_dead_lettered: int = 0
    #: With ``--inject-faults``: per service, attempts seen and faults injected by kind.
    faults: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def dynamodb_writes_per_stored_event(self) -> float | None:
        ingest_calls = self.function_calls.get(INGEST_FUNCTION, {})
        writes = sum(
            count
            for action, count in ingest_calls.items()
            if action.startswith("dynamodb:") and action.split(":", 1)[1] in DYNAMODB_WRITES
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
            stream.write(json_line(row) + "\n")


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
    digest_jobs: DrainResult | None = None
    digest_jobs_dead: int = 0
    sent_messages: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, dict[str, int]] = field(default_factory=dict)


def _drain_through(
    host: FunctionHost, stack: LocalStack, queue_id: str, *, sqs: Any, progress: Progress
) -> DrainResult:
    function, source = stack.function_for_queue(queue_id)
    return drain(
        sqs,
        stack.queues[queue_id],
        host.handler(function.logical_id),
        function_name=function.logical_id,
        batch_size=source.batch_size,
        region=os.environ["AWS_DEFAULT_REGION"],
        on_success=progress.advance,
    )


def _sent_messages(region: str) -> dict[str, bytes]:
    """What SES accepted, read from moto's in-process backend (the server runs in this process)."""
    backend = ses_backends[ACCOUNT_ID][region]
    return {
        message.id: message.raw_data.encode("utf-8")
        for message in backend.sent_messages
        if hasattr(message, "raw_data")
    }


def _operate(
    event_files: Sequence[Path],
    log_path: Path,
    progress: Progress,
    digests_at: datetime | None,
    faults: FaultPlan | None = None,
) -> _Observed:
    """Deploy, publish every line, drain the queue through the handler, optionally run the
    digest schedule and workers, then read back everything the run left behind.

    With ``faults``, every call after the deployment may fail: the functions' calls (the shared
    session) and the runner's own (publishing, polling, reading back)."""
    with (
        moto_server(),
        log_path.open("w", encoding="utf-8") as log,
        immediate_retries() if faults else contextlib.nullcontext(),
    ):
        region = os.environ["AWS_DEFAULT_REGION"]
        session = boto3.session.Session()
        stack: LocalStack = deploy(session, region)
        injector = FaultInjector(faults) if faults else None
        if injector is not None:
            injector.attach(session.events).attach(shared_session().events)
        sqs = session.client("sqs", config=_RUNNER_CONFIG)
        dynamodb = session.client("dynamodb", config=_RUNNER_CONFIG)
        calls = CallLog().attach()
        host = FunctionHost(stack.functions, log, calls)
        queue = stack.queues[EVENTS_QUEUE]
        max_bytes = int(
            sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["MaximumMessageSize"])[
                "Attributes"
            ]["MaximumMessageSize"]
        )

        # Lines are published and drained chunk by chunk, as Lambda consumes a queue while it
        # fills: a long input never piles up in the queue (moto's SQS works in time that grows
        # with the square of the queue's length, so a 2,000-line run takes 27 s instead of 77 s).
        progress.phase("events", 0)
        drained = DrainResult()

        def drain_events() -> None:
            drained.add(_drain_through(host, stack, EVENTS_QUEUE, sqs=sqs, progress=progress))

        published = publish(
            sqs, queue.url, event_files, max_message_bytes=max_bytes, between_chunks=drain_events
        )
        drain_events()

        digest_jobs, digest_jobs_dead = None, 0
        if digests_at is not None:
            progress.phase("digests", 0)
            for function in stack.scheduled_functions():
                payload = (function.schedule_input or "{}").replace(
                    "<aws.scheduler.scheduled-time>", iso_utc(digests_at)
                )
                host.invoke(function.logical_id, json.loads(payload))
            digest_jobs = _drain_through(host, stack, DIGEST_QUEUE, sqs=sqs, progress=progress)
            dead_queue = stack.queues[DIGEST_QUEUE].dead_letter_logical_id or ""
            digest_jobs_dead = len(_drain_all(sqs, stack.queues[dead_queue].url))

        progress.phase("exporting", 0)
        function, _ = stack.function_for_queue(EVENTS_QUEUE)
        return _Observed(
            published=published,
            drained=drained,
            dead_letters=_drain_all(sqs, stack.queues[queue.dead_letter_logical_id or ""].url),
            items=[item for item in _scan(dynamodb, stack.tables[TABLE]) if Retention().live(item)],
            settings=ReadSettings.model_validate(function.environment),
            calls=calls,
            digest_jobs=digest_jobs,
            digest_jobs_dead=digest_jobs_dead,
            sent_messages=_sent_messages(region),
            faults=injector.report() if injector else {},
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


def _summarise(observed: _Observed, handler_quarantined: int, digests_sent: int) -> Summary:
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
        digests_sent=digests_sent,
    )


def run(
    event_files: Sequence[Path],
    out_dir: Path,
    now: datetime | None = None,
    progress: Progress | None = None,
    faults: FaultPlan | None = None,
) -> RunReport:
    """Run the pipeline on ``event_files`` and write the DESIGN §4 outputs into ``out_dir``.

    ``faults`` makes that fraction of each service's calls fail with a retryable error (see
    ``rapport_cli.local.faults``); what was injected is in the report and ``faults.json``."""
    missing = [str(path) for path in event_files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"no such events file: {', '.join(missing)}")
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    observed = _operate(
        event_files, out_dir / "logs" / "functions.jsonl", progress or Progress(), now, faults
    )
    digests = write_digests(
        digest_records(observed.items), observed.sent_messages, out_dir / "digests"
    )
    if len(digests) != len(observed.sent_messages):
        raise AccountingError(
            f"SES accepted {len(observed.sent_messages)} message(s) but {len(digests)} digest(s) "
            "were recorded as sent"
        )
    now = now or latest_event_time(event_files) or datetime.now().astimezone()

    requests = [
        _request_row(item, now, observed.settings)
        for item in observed.items
        if item.get("kind", {}).get("S") == "request"
    ]
    quarantine = _quarantine_rows(observed)
    summary = _summarise(observed, handler_quarantined=len(quarantine), digests_sent=len(digests))
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
    if faults is not None:
        (out_dir / "faults.json").write_text(
            json.dumps({"seed": faults.seed, "services": observed.faults}, indent=2) + "\n"
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
        function_calls={
            function: dict(calls) for function, calls in observed.calls.by_function.items()
        },
        digest_files=digests,
        digest_jobs_dead_lettered=observed.digest_jobs_dead,
        faults=observed.faults,
    )
