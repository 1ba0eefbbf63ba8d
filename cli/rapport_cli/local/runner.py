"""``rapport run``: the whole pipeline on this machine, with the DESIGN §4 outputs.

Counting is done from ground truth, not from what the handler says about itself: ``stored`` is
the number of distinct events in the table, ``quarantined`` the quarantine records plus the lines
SQS refused, ``dead_lettered`` what sits in the dead-letter queue. ``duplicates`` are the messages
processed successfully that added nothing, and the books must balance or the run fails. The
digests SES accepted must be exactly the digests recorded as sent.

Events go in as a platform sends them: straight to the events queue (``via="sqs"``), or put on
the event bus, whose rule delivers them to the same queue (``via="eventbridge"``; see
``rapport_cli.local.bus`` for what the local runtime completes there).

By default the run talks to moto in this process (``rapport_cli.local.server.in_process_moto``):
botocore builds and parses every request, moto answers it without a socket, and everything is
gone at the end (with injected faults, through a moto server of its own on loopback). With
``endpoint_url`` it builds its resources in a moto server that is already running and leaves
them there, under names of their own (environment ``local-<8 hex digits>``),
so runs never touch each other's data or anything else the server holds; ``stack.json`` says
where they are.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from rapport.adapters.aws import reset_clients
from rapport.adapters.aws import session as shared_session
from rapport.adapters.dynamodb.items import Kind, ProfileItem, QuarantineItem, count_events, kind_of
from rapport.adapters.dynamodb.request_history import request_events
from rapport.adapters.dynamodb.retention import Retention
from rapport.adapters.entry_batches import RetryPolicy
from rapport.contract import parse_rfc3339
from rapport.settings import ReadSettings
from rapport.state import request_status
from rapport_cli.jsonl import InputLine, InputLines, json_line
from rapport_cli.local.bus import BusDelivery
from rapport_cli.local.call_log import DYNAMODB_WRITES, CallLog
from rapport_cli.local.digests import digest_records, write_digests
from rapport_cli.local.event_source import DrainResult, as_received, drain, make_visible
from rapport_cli.local.faults import FaultInjector, FaultPlan, immediate_retries
from rapport_cli.local.lambda_runtime import FunctionHost
from rapport_cli.local.moto_seams import queries_read_their_partition, queue_retention_read_directly
from rapport_cli.local.scheduler import ScheduledRun, run_scheduled
from rapport_cli.local.server import LocalAws, http_moto, in_process_moto
from rapport_cli.local.stack import LocalStack, deploy
from rapport_cli.local.template import LogicalId
from rapport_cli.publisher import BusTarget, Publisher, PublishResult, QueueTarget, Target

#: The ways events go in: ``rapport run --via``.
VIA_SQS = "sqs"
VIA_EVENTBRIDGE = "eventbridge"
VIAS = (VIA_SQS, VIA_EVENTBRIDGE)

# The runner plays the platform (publishing) and Lambda's SQS poller, which in AWS keep retrying
# far longer than a function's SDK does: more attempts (free while faults are injected, since
# backoff is then zero), so injected faults test the functions, not the runner's own reads.
_RUNNER_CONFIG = Config(retries={"mode": "standard", "max_attempts": 20})
# A local moto server has no transient failures worth waiting for: entries are re-sent at once.
_PUBLISH_RETRY = RetryPolicy(attempts=5, base_delay=0.0, max_delay=0.0)
#: Lines sent between two drains of the events queue.
_CHUNK_LINES = 50
#: Everything a run writes in its directory: a run replaces exactly these, never anything else.
OUTPUT_FILES = (
    "summary.json",
    "stack.json",
    "requests.jsonl",
    "quarantine.jsonl",
    "dead_letters.jsonl",
    "faults.json",
    "logs/functions.jsonl",
)
DIGESTS_DIR = "digests"
_DIGEST_SUFFIXES = (".eml", ".html", ".json")


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
    digest_jobs_dead_lettered: int = 0
    #: Scheduled runs that failed every attempt Lambda makes (the next scheduled run catches up).
    schedule_invocations_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class Progress:
    """Callbacks a front end uses to show progress; all optional. A phase says whether
    ``advance`` counts anything in it (records drained) or it is just a step (exporting)."""

    phase: Callable[[str, bool], None] = lambda _name, _counted: None
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
    #: With ``--inject-faults``: per service, attempts seen and faults injected by kind.
    faults: dict[str, dict[str, int]] = field(default_factory=dict)
    schedule_runs: list[ScheduledRun] = field(default_factory=list)
    #: The outputs of an earlier run in ``out_dir`` were replaced.
    replaced_earlier_run: bool = False
    #: The earliest ``time`` among the stored events: a "now" before it sees none of them.
    first_event_time: datetime | None = None

    @property
    def digest_jobs_dead_lettered(self) -> int:
        return self.summary.digest_jobs_dead_lettered

    @property
    def dynamodb_writes_per_stored_event(self) -> float | None:
        ingest_calls = self.function_calls.get(LogicalId.PROCESS_EVENTS, {})
        writes = sum(
            count
            for action, count in ingest_calls.items()
            if action.startswith("dynamodb:") and action.split(":", 1)[1] in DYNAMODB_WRITES
        )
        return writes / self.summary.stored if self.summary.stored else None


def stored_times(items: Sequence[Mapping[str, Any]]) -> list[datetime]:
    """The ``time`` of the events the run stored (requests' events and members' latest
    preferences): the latest is the default "now", so a quarantined event never sets it."""
    times = [
        event.time
        for item in items
        if kind_of(item) is Kind.REQUEST
        for event in request_events(item)
    ]
    times += [
        parse_rfc3339(ProfileItem.decode(item).preferences_time)
        for item in items
        if kind_of(item) is Kind.PROFILE
    ]
    return times


class OutDirInUse(ValueError):
    """The output directory holds files that are not a run's outputs."""


def holds_earlier_run(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds the outputs of an earlier run (False if it is new or empty);
    :class:`OutDirInUse` if it holds anything else, which is not a run's to delete."""
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return False
    if not any((out_dir / name).is_file() for name in OUTPUT_FILES):
        raise OutDirInUse(f"{out_dir} is not empty and holds no earlier run")
    return True


def claim_out_dir(out_dir: Path) -> bool:
    """Make ``out_dir`` hold this run's outputs alone, so two runs' digests never mix: the
    outputs of an earlier run there are removed (True if there were any)."""
    earlier = holds_earlier_run(out_dir)
    if earlier:
        for name in OUTPUT_FILES:
            (out_dir / name).unlink(missing_ok=True)
        digests = out_dir / DIGESTS_DIR
        if digests.is_dir():
            for path in digests.iterdir():
                if path.suffix in _DIGEST_SUFFIXES and path.is_file():
                    path.unlink()
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    return earlier


def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    """The whole local table; fine for a local export, never used on a hot path."""
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        yield from page["Items"]


def _dead_letters(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """What waits in a dead-letter queue, left there for ``rapport dlq``: every message is
    received once (hidden until all are), then made visible again."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
    ).get("Messages", []):
        messages.extend(batch)
    make_visible(sqs, queue_url, messages)
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

    published: PublishResult[InputLine]
    blank_lines: int
    drained: DrainResult
    dead_letters: list[dict[str, Any]]
    items: list[dict[str, Any]]
    settings: ReadSettings
    calls: CallLog
    schedule_runs: list[ScheduledRun] = field(default_factory=list)
    digest_jobs_dead: int = 0
    #: What SES accepted during the run, by message id.
    sent_messages: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, dict[str, int]] = field(default_factory=dict)


def _drain_through(
    host: FunctionHost,
    stack: LocalStack,
    queue_id: str,
    *,
    sqs: Any,
    progress: Progress,
    delivery: BusDelivery | None = None,
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
        body_of=delivery.body_of if delivery else as_received,
    )


def _resource_names(stack: LocalStack, endpoint: str, environment: str) -> dict[str, str]:
    """``stack.json``: the physical names an operator passes to ``rapport quarantine``,
    ``rapport dlq`` and ``rapport member`` to explore the run."""
    return {
        "endpoint_url": endpoint,
        "region": os.environ["AWS_DEFAULT_REGION"],
        "environment": environment,
        "table": stack.table,
        "events_queue_url": stack.events_queue.url,
        "events_dlq_url": stack.dead_letter_queue(LogicalId.EVENTS_QUEUE).url,
        "digest_queue_url": stack.digest_queue.url,
        "digest_dlq_url": stack.dead_letter_queue(LogicalId.DIGEST_QUEUE).url,
        "event_bus_name": stack.buses[stack.route_to(LogicalId.EVENTS_QUEUE).bus_logical_id].name,
    }


@contextlib.contextmanager
def _local_aws(endpoint_url: str | None, *, faults: bool) -> Iterator[LocalAws]:
    """The run's AWS: a server that is already running (left as it is), else moto in this
    process, through its own server when faults are injected (see ``in_process_moto``), with
    the moto seams for the run (``rapport_cli.local.moto_seams``)."""
    if endpoint_url is not None:
        with http_moto(endpoint_url) as local_aws:
            yield local_aws
        return
    with (
        queue_retention_read_directly(),
        queries_read_their_partition(),
        http_moto(None) if faults else in_process_moto() as local_aws,
    ):
        yield local_aws


def _operate(
    event_files: Sequence[Path],
    out_dir: Path,
    progress: Progress,
    digests_at: datetime | None,
    *,
    faults: FaultPlan | None,
    endpoint_url: str | None,
    via: str,
) -> _Observed:
    """Deploy, publish every line (to the queue or the bus), drain the queue through the
    handler, optionally run the digest schedule and workers, then read back everything the run
    left behind.

    With ``faults``, every call after the deployment may fail: the functions' calls (the shared
    session) and the runner's own (publishing, polling, reading back)."""
    with (
        _local_aws(endpoint_url, faults=faults is not None) as local_aws,
        (out_dir / "logs" / "functions.jsonl").open("w", encoding="utf-8") as log,
        immediate_retries() if faults else contextlib.nullcontext(),
    ):
        region = os.environ["AWS_DEFAULT_REGION"]
        session = boto3.session.Session()
        environment = "local" if endpoint_url is None else f"local-{secrets.token_hex(4)}"
        stack: LocalStack = deploy(session, region, environment)
        # Written before anything runs, so even a run that breaks can be explored.
        (out_dir / "stack.json").write_text(
            json.dumps(_resource_names(stack, local_aws.endpoint, environment), indent=2) + "\n"
        )
        sent_before = set(local_aws.sent_raw_messages())
        injector = FaultInjector(faults) if faults else None
        if injector is not None:
            injector.attach(session.events)
        sqs = session.client("sqs", config=_RUNNER_CONFIG)
        dynamodb = session.client("dynamodb", config=_RUNNER_CONFIG)
        calls = CallLog()

        def new_container() -> None:
            """Fresh clients for the functions, as in a container of their own: a client's
            retry quota, drained by one function's faults, must not fail another function."""
            reset_clients()
            calls.attach()
            if injector is not None:
                injector.attach(shared_session().events)

        new_container()
        host = FunctionHost(stack.functions, log, calls)
        queue = stack.events_queue
        max_bytes = int(
            sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["MaximumMessageSize"])[
                "Attributes"
            ]["MaximumMessageSize"]
        )

        # Lines are published and drained chunk by chunk, as Lambda consumes a queue while it
        # fills: a long input never piles up in the queue (moto's SQS works in time that grows
        # with the square of the queue's length, so a 2,000-line run takes 27 s instead of 77 s).
        progress.phase("events", True)
        drained = DrainResult()
        route = stack.route_to(LogicalId.EVENTS_QUEUE)
        delivery = BusDelivery(route.input_path) if via == VIA_EVENTBRIDGE else None

        def drain_events() -> None:
            drained.add(
                _drain_through(
                    host,
                    stack,
                    LogicalId.EVENTS_QUEUE,
                    sqs=sqs,
                    progress=progress,
                    delivery=delivery,
                )
            )

        target: Target = (
            QueueTarget(queue.url, sqs=sqs, max_message_bytes=max_bytes)
            if delivery is None
            else BusTarget(
                stack.buses[route.bus_logical_id].name,
                events=session.client("events", config=_RUNNER_CONFIG),
            )
        )
        lines = InputLines(event_files)
        published = _publish(target, lines, drain_events)
        drain_events()
        if delivery is not None:
            published = delivery.settle(published)

        schedule_runs: list[ScheduledRun] = []
        digest_jobs_dead = 0
        if digests_at is not None:
            progress.phase("digests", True)
            for function in stack.scheduled_functions():
                new_container()
                schedule_runs.append(run_scheduled(host, function, digests_at))
            new_container()
            _drain_through(host, stack, LogicalId.DIGEST_QUEUE, sqs=sqs, progress=progress)
            digest_jobs_dead = len(
                _dead_letters(sqs, stack.dead_letter_queue(LogicalId.DIGEST_QUEUE).url)
            )

        progress.phase("exporting", False)
        function, _ = stack.function_for_queue(LogicalId.EVENTS_QUEUE)
        return _Observed(
            published=published,
            blank_lines=lines.blank_lines,
            drained=drained,
            dead_letters=_dead_letters(sqs, stack.dead_letter_queue(LogicalId.EVENTS_QUEUE).url),
            items=[item for item in _scan(dynamodb, stack.table) if Retention().live(item)],
            settings=ReadSettings.model_validate(function.environment),
            calls=calls,
            schedule_runs=schedule_runs,
            digest_jobs_dead=digest_jobs_dead,
            sent_messages={
                message_id: raw
                for message_id, raw in local_aws.sent_raw_messages().items()
                if message_id not in sent_before
            },
            faults=injector.report() if injector else {},
        )


def _publish(
    target: Target, lines: InputLines, drain: Callable[[], None]
) -> PublishResult[InputLine]:
    """Publish every line unchecked, as a platform would (the pipeline quarantines an invalid
    one), and ``drain`` the queue after every ``_CHUNK_LINES`` lines sent, as Lambda consumes a
    queue while it fills. A line the target refuses is quarantined as its ``refused_code``."""
    since_drain = 0

    def after_batch(size: int) -> None:
        nonlocal since_drain
        since_drain += size
        if since_drain >= _CHUNK_LINES:
            drain()
            since_drain = 0

    publisher: Publisher[InputLine] = Publisher(
        target, validate=False, retry=_PUBLISH_RETRY, on_batch=after_batch
    )
    for line in lines:
        publisher.add_line(line)
    result = publisher.flush()
    failing = sum(refusal.transient for refusal in result.refused)
    if failing:
        raise RuntimeError(f"{target.service} kept failing to accept {failing} line(s)")
    result.refused = [
        dataclasses.replace(refusal, error_code=target.refused_code)
        if refusal.by_target
        else refusal
        for refusal in result.refused
    ]
    return result


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
        if kind_of(item) is not Kind.QUARANTINE:
            continue
        record = QuarantineItem.decode(item)
        rows.append(
            {
                **_line_ref(observed.published.sent.get(record.message_id)),
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
        if kind_of(item) in (Kind.REQUEST, Kind.PROFILE)
    )
    duplicates = succeeded - stored - handler_quarantined
    if succeeded + dead != len(published.sent) or duplicates < 0:
        raise AccountingError(
            f"published {len(published.sent)}, succeeded {succeeded}, dead-lettered {dead}, "
            f"stored {stored}, quarantined {handler_quarantined}"
        )
    return Summary(
        received=len(published.sent) + len(published.refused),
        stored=stored,
        duplicates=duplicates,
        quarantined=handler_quarantined + len(published.refused),
        dead_lettered=dead,
        digests_sent=digests_sent,
        digest_jobs_dead_lettered=observed.digest_jobs_dead,
        schedule_invocations_failed=sum(not run.succeeded for run in observed.schedule_runs),
    )


def run(
    event_files: Sequence[Path],
    out_dir: Path,
    now: datetime | None = None,
    progress: Progress | None = None,
    *,
    faults: FaultPlan | None = None,
    endpoint_url: str | None = None,
    via: str = VIA_SQS,
) -> RunReport:
    """Run the pipeline on ``event_files`` and write the DESIGN §4 outputs into ``out_dir``.

    ``via`` is how the events go in: ``"sqs"`` (to the events queue) or ``"eventbridge"`` (on
    the event bus, whose rule delivers them to the queue).

    ``faults`` makes that fraction of each service's calls fail with a retryable error (see
    ``rapport_cli.local.faults``); what was injected is in the report and ``faults.json``.
    ``endpoint_url`` names a moto server already running, where the resources stay."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {', '.join(VIAS)}, not {via!r}")
    missing = [str(path) for path in event_files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"no such events file: {', '.join(missing)}")
    replaced = claim_out_dir(out_dir)
    observed = _operate(
        event_files,
        out_dir,
        progress or Progress(),
        now,
        faults=faults,
        endpoint_url=endpoint_url,
        via=via,
    )
    records = digest_records(observed.items)
    recorded = {record["message_id"] for record in records}
    if recorded != set(observed.sent_messages) or len(recorded) != len(records):
        raise AccountingError(
            f"SES accepted {len(observed.sent_messages)} message(s) but {len(records)} digest(s) "
            f"were recorded as sent ({len(recorded ^ set(observed.sent_messages))} unmatched)"
        )
    digests = write_digests(records, observed.sent_messages, out_dir / DIGESTS_DIR)
    times = stored_times(observed.items)
    now = now or max(times, default=None) or datetime.now().astimezone()

    requests = [
        _request_row(item, now, observed.settings)
        for item in observed.items
        if kind_of(item) is Kind.REQUEST
    ]
    quarantine = _quarantine_rows(observed)
    summary = _summarise(observed, handler_quarantined=len(quarantine), digests_sent=len(digests))
    quarantine += [
        {
            **_line_ref(refused.source),
            "event_id": None,
            "error_code": refused.error_code,
            "message": refused.message,
            "quarantine_id": None,
            "payload": refused.source.text,
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
                **_line_ref(observed.published.sent.get(message["MessageId"])),
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
        blank_lines=observed.blank_lines,
        invocations=observed.drained.invocations,
        retried_records=observed.drained.failed_attempts,
        outcomes=outcomes,
        function_calls={
            function: dict(calls) for function, calls in observed.calls.by_function.items()
        },
        digest_files=digests,
        faults=observed.faults,
        schedule_runs=observed.schedule_runs,
        replaced_earlier_run=replaced,
        first_event_time=min(times, default=None),
    )
