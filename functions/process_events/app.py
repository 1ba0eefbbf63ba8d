"""process_events: SQS batches of CloudEvents in, request state in DynamoDB out.

Each record is stored, recognised as a duplicate, or quarantined; only transient AWS errors fail a
record, so SQS redelivers just that one (``ReportBatchItemFailures``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from rapport.adapters.dynamodb_store import DynamoEventStore
from rapport.adapters.retention import Retention
from rapport.ingest import Disposition, InboundMessage, ingest
from rapport.settings import TableSettings, load

#: The environment this function needs (checked against the template by the tests).
SETTINGS = TableSettings
logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_METRIC_NAMES = {
    Disposition.STORED: "EventsStored",
    Disposition.DUPLICATE: "EventsDuplicate",
    Disposition.QUARANTINED: "EventsQuarantined",
}


@cache
def _store() -> DynamoEventStore:
    """Built on first use, then kept for the life of the container."""
    settings = load(SETTINGS)
    return DynamoEventStore(settings.table_name, Retention(settings.retention))


def handle_record(record: SQSRecord) -> str:
    sent_ms = int(record.attributes.sent_timestamp)
    message = InboundMessage(
        message_id=record.message_id,
        body=record.body,
        enqueued_at=datetime.fromtimestamp(sent_ms / 1000, tz=UTC),
    )
    logger.append_keys(message_id=record.message_id)
    result = ingest(message, _store())
    metrics.add_metric(name=_METRIC_NAMES[result.disposition], unit=MetricUnit.Count, value=1)
    # Ids and codes only: notes, names and addresses never reach the logs.
    logger.info(
        "event processed",
        extra={
            "disposition": result.disposition.value,
            "event_id": result.event_id,
            "event_type": result.event_type,
            "error_code": result.error_code,
            "receive_count": record.attributes.approximate_receive_count,
        },
    )
    return result.disposition.value


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
