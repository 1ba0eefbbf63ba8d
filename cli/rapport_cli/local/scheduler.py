"""One run of a scheduled function, failed runs retried as they are in AWS.

EventBridge Scheduler invokes a Lambda function asynchronously: the schedule's ``RetryPolicy``
and ``DeadLetterConfig`` cover handing the invocation to Lambda, which cannot fail here (the
functions run in this process). A run that fails (a function error) is retried by Lambda's
asynchronous invocation, per the function's ``EventInvokeConfig`` or Lambda's defaults: two more
runs, one minute and then two minutes later, none once the event is older than its maximum age.
After that Lambda discards the event (the template gives the function no on-failure destination),
and the next scheduled run catches up. Every run gets the same input, the scheduled time
included, so a retry asks for the same digests. The waits are counted, never slept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from rapport.timeutil import iso_utc
from rapport_cli.local.stack import LocalFunction

#: The wait before Lambda's first retry of a failed asynchronous run; each later wait doubles.
FIRST_RETRY_DELAY = timedelta(minutes=1)
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


class Invoker(Protocol):
    """What runs a function (``FunctionHost``)."""

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class ScheduledRun:
    function: str
    scheduled_time: datetime
    attempts: int
    succeeded: bool
    #: Simulated time from the scheduled time to the last attempt.
    elapsed: timedelta
    #: The last attempt's error, if every attempt failed.
    error: str | None = None


def run_scheduled(host: Invoker, function: LocalFunction, scheduled_time: datetime) -> ScheduledRun:
    """Invoke ``function`` as its schedule would at ``scheduled_time``, retrying failed runs."""
    text = (function.schedule_input or "{}").replace(SCHEDULED_TIME, iso_utc(scheduled_time))
    policy = function.async_retries
    elapsed = timedelta(0)
    attempts = 0
    while True:
        attempts += 1
        try:
            host.invoke(function.logical_id, json.loads(text))
        except Exception as error:  # a function error, as Lambda sees it
            delay = FIRST_RETRY_DELAY * 2 ** (attempts - 1)
            if attempts > policy.maximum_retry_attempts or elapsed + delay > (
                policy.maximum_event_age
            ):
                return ScheduledRun(
                    function.logical_id,
                    scheduled_time,
                    attempts,
                    succeeded=False,
                    elapsed=elapsed,
                    error=f"{type(error).__name__}: {error}",
                )
            elapsed += delay
        else:
            return ScheduledRun(
                function.logical_id, scheduled_time, attempts, succeeded=True, elapsed=elapsed
            )
