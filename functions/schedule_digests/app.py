"""schedule_digests: run hourly by EventBridge Scheduler; one digest job per member due now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from rapport.adapters.digest_store import DynamoDigestStore
from rapport.adapters.retention import Retention
from rapport.adapters.sqs_jobs import SqsJobQueue
from rapport.contract import parse_rfc3339
from rapport.digest.fanout import fan_out
from rapport.settings import SchedulerSettings, load

#: The environment this function needs (checked against the template by the tests).
SETTINGS = SchedulerSettings
logger = Logger()
metrics = Metrics()


def _scheduled_time(event: dict[str, Any]) -> datetime:
    """The schedule passes ``<aws.scheduler.scheduled-time>``, so retries reuse the same instant."""
    scheduled = event.get("scheduled_time") if isinstance(event, dict) else None
    return parse_rfc3339(scheduled) if scheduled else datetime.now(UTC)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load(SETTINGS)
    now = _scheduled_time(event)
    enqueued = fan_out(
        now,
        DynamoDigestStore(settings.table_name, Retention(settings.retention)),
        SqsJobQueue(settings.digest_queue_url),
    )
    metrics.add_metric(name="DigestJobsEnqueued", unit=MetricUnit.Count, value=enqueued)
    logger.info("digest jobs enqueued", extra={"enqueued": enqueued, "as_of": now.isoformat()})
    return {"enqueued": enqueued, "as_of": now.isoformat()}
