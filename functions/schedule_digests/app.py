"""schedule_digests: run hourly by EventBridge Scheduler; one digest job per member due now.

Importing this module does no work beyond the logger and metrics: the store, the queue and the
fan-out are imported on the first run (see docs/performance.md, cold start).
"""

# Imports inside functions are deliberate: this module is imported at cold start, and what
# only the first invocation needs is imported then (docs/performance.md).
# ruff: noqa: PLC0415

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from rapport.settings import SchedulerSettings

logger = Logger()
metrics = Metrics()


#: The ``rapport.settings`` model of the environment this function needs; the tests check
#: that the template sets every variable it requires. A name, so importing stays cheap.
SETTINGS = "SchedulerSettings"


def _settings() -> SchedulerSettings:
    from rapport.settings import SchedulerSettings, load

    return load(SchedulerSettings)


def _scheduled_time(event: dict[str, Any]) -> datetime:
    """The schedule passes ``<aws.scheduler.scheduled-time>``, so retries reuse the same instant."""
    from rapport.contract import parse_rfc3339

    scheduled = event.get("scheduled_time") if isinstance(event, dict) else None
    return parse_rfc3339(scheduled) if scheduled else datetime.now(UTC)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
    from rapport.adapters.dynamodb.retention import Retention
    from rapport.adapters.sqs_jobs import SqsJobQueue
    from rapport.digest.fanout import fan_out

    settings = _settings()
    now = _scheduled_time(event)
    enqueued = fan_out(
        now,
        DynamoDigestStore(settings.table_name, Retention(settings.retention)),
        SqsJobQueue(settings.digest_queue_url),
    )
    metrics.add_metric(name="DigestJobsEnqueued", unit=MetricUnit.Count, value=enqueued)
    logger.info("digest jobs enqueued", extra={"enqueued": enqueued, "as_of": now.isoformat()})
    return {"enqueued": enqueued, "as_of": now.isoformat()}
