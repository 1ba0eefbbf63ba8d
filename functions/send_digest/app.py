"""send_digest: one job per member-week in, exactly one email per member-week out.

Importing this module does no work beyond the logger and metrics: the store, the renderer and the
mailer are imported with the container's dependencies on first use (docs/performance.md).
"""

# Imports inside functions are deliberate: this module is imported at cold start, and what
# only the first invocation needs is imported then (docs/performance.md).
# ruff: noqa: PLC0415

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
    from rapport.adapters.secrets import SigningKeyCache
    from rapport.adapters.ses_mailer import SesMailer
    from rapport.digest.delivery import DeliverySettings
    from rapport.settings import DigestSettings

logger = Logger()
metrics = Metrics()


#: The ``rapport.settings`` model of the environment this function needs; the tests check
#: that the template sets every variable it requires. A name, so importing stays cheap.
SETTINGS = "DigestSettings"


def _settings() -> DigestSettings:
    from rapport.settings import DigestSettings, load

    return load(DigestSettings)


#: Metric name for each ``rapport.digest.delivery.DeliveryStatus`` value.
_METRIC_NAMES = {
    "sent": "DigestsSent",
    "sent_unrecorded": "DigestsSentUnrecorded",
    "already_sent": "DigestsAlreadySent",
    "superseded": "DigestsSuperseded",
    "undeliverable": "DigestsUndeliverable",
    "not_subscribed": "DigestsNotSubscribed",
}


@cache
def _processor() -> BatchProcessor:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def _dependencies() -> tuple[DynamoDigestStore, SesMailer, DigestSettings, SigningKeyCache]:
    """Built on first use, then kept for the life of the container; the signing keys refresh
    themselves (rapport.adapters.secrets)."""
    from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
    from rapport.adapters.dynamodb.retention import Retention
    from rapport.adapters.secrets import SigningKeyCache
    from rapport.adapters.ses_mailer import SesMailer

    settings = _settings()
    return (
        DynamoDigestStore(settings.table_name, Retention(settings.retention)),
        SesMailer(settings.ses_configuration_set),
        settings,
        SigningKeyCache(settings.unsubscribe_secret_id),
    )


def _delivery_settings(settings: DigestSettings, signing_key: bytes) -> DeliverySettings:
    from rapport.digest.delivery import DeliverySettings

    return DeliverySettings(
        sender=settings.sender_address,
        unsubscribe_url=settings.unsubscribe_url,
        signing_key=signing_key,
        response_window=settings.response_window,
    )


def handle_record(record: SQSRecord) -> str:
    from rapport.digest.delivery import deliver
    from rapport.digest.jobs import job_from_message

    job = job_from_message(record.body)
    store, mailer, environment, keys = _dependencies()
    settings = _delivery_settings(environment, keys.keys().current)
    logger.append_keys(member_id=job.member_id, week_start=job.week_start.isoformat())
    try:
        delivery = deliver(job, store, mailer, settings, datetime.now(UTC))
    except Exception:
        metrics.add_metric(name="DigestFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=_METRIC_NAMES[delivery.status.value], unit=MetricUnit.Count, value=1)
    outcome = {"status": delivery.status.value}
    if delivery.reason is not None:
        outcome["reason"] = delivery.reason
    logger.info("digest job done", extra=outcome)
    return delivery.status.value


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(
        event=event, record_handler=handle_record, processor=_processor(), context=context
    )
