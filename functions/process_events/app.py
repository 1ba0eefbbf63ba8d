"""process_events: SQS batches of CloudEvents in, request state in DynamoDB out.

Each record is stored, recognised as a duplicate, or quarantined; only transient AWS errors fail a
record, so SQS redelivers just that one (``ReportBatchItemFailures``), and so do records the
invocation has no time left to start (``TIME_RESERVE_MS``). One log line per batch
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
#: take 13 s with its retries (``rapport.adapters.aws.DYNAMODB_CONFIG``). Records left unstarted
#: go back to the queue as failures, instead of the whole batch after a timeout.
TIME_RESERVE_MS = 15_000

#: Metric name for each disposition (``rapport.ingest.Disposition`` values).
_METRIC_NAMES = {
    "stored": "EventsStored",
    "duplicate": "EventsDuplicate",
    "quarantined": "EventsQuarantined",
}


@cache
def _processor() -> Callable[[dict[str, Any]], IngestResult]:
    """The ingest core bound to this container's store, built on first use (imports, contract
    models, settings) and kept for the life of the container."""
    from rapport.adapters.dynamodb.event_store import DynamoEventStore
    from rapport.adapters.dynamodb.retention import Retention
    from rapport.ingest import InboundMessage, ingest

    settings = _settings()
    tolerance = settings.future_tolerance
    store = DynamoEventStore(
        settings.table_name, Retention(settings.retention), future_tolerance=tolerance
    )

    def process(record: dict[str, Any]) -> IngestResult:
        sent_ms = int(record["attributes"]["SentTimestamp"])
        enqueued_at = datetime.fromtimestamp(sent_ms / 1000, tz=UTC)
        message = InboundMessage(record["messageId"], record["body"], enqueued_at)
        return ingest(message, store, tolerance)

    return process


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each record on its own: a transient error fails only that record (a partial batch
    response), a permanent one is quarantined by the core. Only a broken configuration (no
    record could succeed) fails the invocation, and with it the whole batch."""
    failures: list[dict[str, str]] = []
    dispositions: Counter[str] = Counter()
    # A line per stored or duplicate record only when DEBUG is on; at INFO their details are
    # not even assembled, since that would cost more than a record's own processing.
    log_every_record = logger.log_level <= logging.DEBUG
    process = _processor()
    records = event["Records"]
    for position, record in enumerate(records):
        if context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
            unstarted = records[position:]
            logger.warning(
                "time nearly up; unstarted records go back to the queue",
                extra={"records": len(unstarted)},
            )
            failures.extend({"itemIdentifier": left["messageId"]} for left in unstarted)
            break
        try:
            result = process(record)
        except Exception:
            logger.exception("record failed; SQS will redeliver it", extra=_ids(record))
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        dispositions[result.disposition] += 1
        if result.error_code:
            logger.info("event processed", extra=_details(record, result))
        elif log_every_record:
            logger.debug("event processed", extra=_details(record, result))
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
