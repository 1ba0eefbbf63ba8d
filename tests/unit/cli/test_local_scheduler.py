"""A scheduled run locally: failed runs retried as Lambda retries an asynchronous invocation, in
simulated time, and a run that never succeeds reported instead of raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rapport_cli.local.scheduler import run_scheduled
from rapport_cli.local.stack import AsyncRetries, LocalFunction
from rapport_cli.local.template import LogicalId, load_template

SCHEDULED = datetime(2026, 11, 16, 18, tzinfo=UTC)


class FlakyHost:
    """Stands in for ``FunctionHost``: the first ``failures`` invocations raise."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.events: list[dict[str, Any]] = []

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        del logical_id
        self.events.append(event)
        if len(self.events) <= self.failures:
            raise RuntimeError(f"attempt {len(self.events)} failed")
        return {"enqueued": 1}


def _function(retries: AsyncRetries | None = None) -> LocalFunction:
    return LocalFunction(
        logical_id=LogicalId.SCHEDULE_DIGESTS,
        code_dir=Path("."),
        handler="app.lambda_handler",
        environment={},
        sources=(),
        schedule_input='{"scheduled_time": "<aws.scheduler.scheduled-time>"}',
        async_retries=retries or AsyncRetries(),
    )


def test_a_run_that_fails_twice_succeeds_on_lambdas_last_retry_three_minutes_later() -> None:
    host = FlakyHost(failures=2)
    run = run_scheduled(host, _function(), SCHEDULED)
    assert (run.succeeded, run.attempts, run.elapsed) == (True, 3, timedelta(minutes=3))
    # Every attempt asks for the same instant, so a retry computes the same weeks.
    assert host.events == [{"scheduled_time": "2026-11-16T18:00:00Z"}] * 3


def test_a_run_that_always_fails_is_reported_after_every_retry_not_raised() -> None:
    run = run_scheduled(FlakyHost(failures=99), _function(), SCHEDULED)
    assert (run.succeeded, run.attempts) == (False, 3)
    assert run.error == "RuntimeError: attempt 3 failed"


@pytest.mark.parametrize(
    ("retries", "attempts"),
    [
        (AsyncRetries(maximum_retry_attempts=0), 1),
        (AsyncRetries(maximum_event_age=timedelta(seconds=90)), 2),  # the 2nd retry is at 180 s
    ],
)
def test_the_functions_async_retry_config_bounds_the_attempts(
    retries: AsyncRetries, attempts: int
) -> None:
    run = run_scheduled(FlakyHost(failures=99), _function(retries), SCHEDULED)
    assert (run.succeeded, run.attempts) == (False, attempts)


def test_the_retry_config_is_read_from_the_template_properties_or_lambdas_defaults() -> None:
    assert AsyncRetries.from_properties({}) == AsyncRetries(2, timedelta(hours=6))
    configured = {"EventInvokeConfig": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60}}
    assert AsyncRetries.from_properties(configured) == AsyncRetries(1, timedelta(seconds=60))


def test_the_template_declares_the_retries_the_local_run_follows() -> None:
    """Declared, not left to Lambda's defaults (6 hours): a failed run stops being retried
    before the next hourly run starts."""
    properties = load_template()["Resources"][LogicalId.SCHEDULE_DIGESTS]["Properties"]
    assert AsyncRetries.from_properties(properties) == AsyncRetries(2, timedelta(seconds=3300))
