"""process_events: SQS batches of CloudEvents in, request state in DynamoDB out.

Each record is stored, recognised as a duplicate, or quarantined; only transient AWS errors fail a
record, so SQS redelivers just that one (``ReportBatchItemFailures``), and so do records the
invocation has no time left to start (``TIME_RESERVE_MS``). A batch's items are written in
parallel, each item's records in order by one worker (``rapport.ingest.batch``,
``INGEST_WORKERS``). One log line per batch
(counts by disposition) and one per quarantined or failed record; stored and duplicate records
are logged at DEBUG, since a line per record costs more than the record's own processing.

Importing this module does no work beyond the logger and metrics: the contract models and the
store are built on first use and kept for the life of the container (see
docs/performance.md, cold start).
"""

# Imports inside functions are deliberate: this module is imported at cold start, and what
# only the first invocation needs is imported then (docs/performance.md).
# ruff: noqa: PLC0415

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from rapport.ingest import IngestResult
    from rapport.ingest.batch import RecordOutcome
    from rapport.settings import IngestSettings

logger = Logger()
metrics = Metrics()


#: The ``rapport.settings`` model of the environment this function needs; the tests check
#: that the template sets every variable it requires. A name, so importing stays cheap.
SETTINGS = "IngestSettings"


def _settings() -> IngestSettings:
    from rapport.settings import IngestSettings, load

    return load(IngestSettings)


#: A record is only started while this much of the invocation is left: one DynamoDB call may
#: take 13 s with its retries (``rapport.adapters.aws.DYNAMODB_CONFIG``). Each worker checks
#: before each record it starts, and has a connection of its own, so what holds for one record
#: holds for every record in flight. Records left unstarted go back to the queue as failures,
#: instead of the whole batch after a timeout.
TIME_RESERVE_MS = 15_000

#: Metric name for each disposition (``rapport.ingest.Disposition`` values).
_METRIC_NAMES = {
    "stored": "EventsStored",
    "duplicate": "EventsDuplicate",
    "quarantined": "EventsQuarantined",
}


@cache
def _processor() -> Callable[[list[dict[str, Any]], Callable[[], bool]], list[RecordOutcome]]:
    """The batch core bound to this container's store and worker pool, built on first use
    (imports, contract models, settings) and kept for the life of the
    container."""
    from concurrent.futures import ThreadPoolExecutor

    from rapport.adapters.aws import client
    from rapport.adapters.dynamodb.event_store import DynamoEventStore
    from rapport.adapters.dynamodb.retention import Retention
    from rapport.ingest import InboundMessage
    from rapport.ingest.batch import ingest_batch

    settings = _settings()
    tolerance = settings.future_tolerance
    store = DynamoEventStore(
        settings.table_name, Retention(settings.retention), future_tolerance=tolerance
    )
    # botocore sessions are not thread-safe: the client is made here, before any worker needs it.
    client("dynamodb")
    pool = ThreadPoolExecutor(settings.workers) if settings.workers > 1 else None

    def message(record: dict[str, Any]) -> InboundMessage | Exception:
        try:
            sent_ms = int(record["attributes"]["SentTimestamp"])
            enqueued_at = datetime.fromtimestamp(sent_ms / 1000, tz=UTC)
            return InboundMessage(record["messageId"], record["body"], enqueued_at)
        except Exception as error:  # that record fails, not the batch
            return error

    def process(
        records: list[dict[str, Any]], may_start: Callable[[], bool]
    ) -> list[RecordOutcome]:
        messages = [message(record) for record in records]
        return ingest_batch(
            messages,
            store,
            future_tolerance=tolerance,
            may_start=may_start,
            executor=pool,
            workers=settings.workers,
        )

    return process


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each record on its own: a transient error fails only that record (a partial batch
    response), a permanent one is quarantined by the core. Only a broken configuration (no
    record could succeed) fails the invocation, and with it the whole batch.

    The workers only write; everything they report is logged, counted and returned here, on
    this thread, in the batch's order (Powertools' metrics are not thread-safe, and the log
    keeps its correlation ids and a deterministic order)."""
    failures: list[dict[str, str]] = []
    dispositions: Counter[str] = Counter()
    # A line per stored or duplicate record only when DEBUG is on; at INFO their details are
    # not even assembled, since that would cost more than a record's own processing.
    log_every_record = logger.log_level <= logging.DEBUG
    records = event["Records"]
    outcomes = _processor()(
        records, lambda: context.get_remaining_time_in_millis() >= TIME_RESERVE_MS
    )
    unstarted = 0
    for record, outcome in zip(records, outcomes, strict=True):
        if outcome is None or isinstance(outcome, Exception):
            failures.append({"itemIdentifier": record["messageId"]})
            if outcome is None:
                unstarted += 1
            else:
                logger.error(
                    "record failed; SQS will redeliver it", extra=_ids(record), exc_info=outcome
                )
            continue
        dispositions[outcome.disposition] += 1
        if outcome.error_code:
            logger.info("event processed", extra=_details(record, outcome))
        elif log_every_record:
            logger.debug("event processed", extra=_details(record, outcome))
    if unstarted:
        logger.warning(
            "time nearly up; unstarted records go back to the queue",
            extra={"records": unstarted},
        )
    logger.info(
        "batch processed",
        extra={"records": len(records), "failed": len(failures), **dispositions},
    )
    for disposition, count in dispositions.items():
        metrics.add_metric(name=_METRIC_NAMES[disposition], unit=MetricUnit.Count, value=count)
    return {"batchItemFailures": failures}


def _ids(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": record["messageId"],
        "receive_count": record["attributes"].get("ApproximateReceiveCount"),
    }


def _details(record: dict[str, Any], result: IngestResult) -> dict[str, Any]:
    """Ids and codes only: notes, names and addresses never reach the logs."""
    return {
        **_ids(record),
        "disposition": result.disposition.value,
        "event_id": result.event_id,
        "event_type": result.event_type,
        "error_code": result.error_code,
    }
