"""process_events: SQS batches of CloudEvents in, request state in DynamoDB out.

Each record is stored, recognised as a duplicate, or quarantined; only transient AWS errors fail a
record, so SQS redelivers just that one (``ReportBatchItemFailures``). One log line per batch
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

from collections import Counter
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from rapport.adapters.dynamodb_store import DynamoEventStore
    from rapport.ingest import EventStore, InboundMessage, IngestResult
    from rapport.settings import TableSettings

logger = Logger()
metrics = Metrics()


#: The ``rapport.settings`` model of the environment this function needs; the tests check
#: that the template sets every variable it requires. A name, so importing stays cheap.
SETTINGS = "TableSettings"


def _settings() -> TableSettings:
    from rapport.settings import TableSettings, load

    return load(TableSettings)


#: Metric name for each disposition (``rapport.ingest.Disposition`` values).
_METRIC_NAMES = {
    "stored": "EventsStored",
    "duplicate": "EventsDuplicate",
    "quarantined": "EventsQuarantined",
}


@cache
def _store() -> DynamoEventStore:
    """Built on first use, then kept for the life of the container."""
    from rapport.adapters.dynamodb_store import DynamoEventStore
    from rapport.adapters.retention import Retention

    settings = _settings()
    return DynamoEventStore(settings.table_name, Retention(settings.retention))


@cache
def _ingest() -> tuple[Callable[[InboundMessage, EventStore], IngestResult], type[InboundMessage]]:
    """The ingest core (and with it the contract models), imported on first use."""
    from rapport.ingest import InboundMessage, ingest

    return ingest, InboundMessage


def _process(record: dict[str, Any]) -> IngestResult:
    ingest, inbound_message = _ingest()
    sent_ms = int(record["attributes"]["SentTimestamp"])
    message = inbound_message(
        message_id=record["messageId"],
        body=record["body"],
        enqueued_at=datetime.fromtimestamp(sent_ms / 1000, tz=UTC),
    )
    return ingest(message, _store())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each record on its own: a transient error fails only that record (a partial batch
    response), a permanent one is quarantined by the core, so the batch itself never fails."""
    failures: list[dict[str, str]] = []
    dispositions: Counter[str] = Counter()
    for record in event["Records"]:
        try:
            result = _process(record)
        except Exception:
            logger.exception("record failed; SQS will redeliver it", extra=_ids(record))
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        dispositions[result.disposition.value] += 1
        # Ids and codes only: notes, names and addresses never reach the logs.
        details = {
            **_ids(record),
            "disposition": result.disposition.value,
            "event_id": result.event_id,
            "event_type": result.event_type,
            "error_code": result.error_code,
        }
        log = logger.info if result.error_code else logger.debug
        log("event processed", extra=details)
    logger.info(
        "batch processed",
        extra={"records": len(event["Records"]), "failed": len(failures), **dispositions},
    )
    for disposition, count in dispositions.items():
        metrics.add_metric(name=_METRIC_NAMES[disposition], unit=MetricUnit.Count, value=count)
    return {"batchItemFailures": failures}


def _ids(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": record["messageId"],
        "receive_count": record["attributes"].get("ApproximateReceiveCount"),
    }
