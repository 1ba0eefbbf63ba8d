"""send_digest: one job per member-week in, exactly one email per member-week out."""

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

from rapport.adapters.digest_store import DynamoDigestStore
from rapport.adapters.retention import Retention
from rapport.adapters.secrets import signing_key
from rapport.adapters.ses_mailer import SesMailer
from rapport.digest.delivery import DeliverySettings, DeliveryStatus, deliver
from rapport.digest.jobs import job_from_message
from rapport.settings import DigestSettings, load

#: The environment this function needs (checked against the template by the tests).
SETTINGS = DigestSettings
logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_METRIC_NAMES = {
    DeliveryStatus.SENT: "DigestsSent",
    DeliveryStatus.ALREADY_SENT: "DigestsAlreadySent",
    DeliveryStatus.NOT_SUBSCRIBED: "DigestsNotSubscribed",
}


@cache
def _dependencies() -> tuple[DynamoDigestStore, SesMailer, DeliverySettings]:
    """Built on first use, then kept for the life of the container."""
    settings = load(SETTINGS)
    return (
        DynamoDigestStore(settings.table_name, Retention(settings.retention)),
        SesMailer(settings.ses_configuration_set),
        DeliverySettings(
            sender=settings.sender_address,
            unsubscribe_url=settings.unsubscribe_url,
            signing_key=signing_key(settings.unsubscribe_secret_id),
            response_window=settings.response_window,
        ),
    )


def handle_record(record: SQSRecord) -> str:
    job = job_from_message(record.body)
    store, mailer, settings = _dependencies()
    logger.append_keys(member_id=job.member_id, week_start=job.week_start.isoformat())
    try:
        delivery = deliver(job, store, mailer, settings, datetime.now(UTC))
    except Exception:
        metrics.add_metric(name="DigestFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=_METRIC_NAMES[delivery.status], unit=MetricUnit.Count, value=1)
    logger.info("digest job done", extra={"status": delivery.status.value})
    return delivery.status.value


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
