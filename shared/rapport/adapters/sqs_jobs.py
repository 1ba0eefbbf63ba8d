"""SQS behind the ``JobQueue`` port: ten jobs per ``SendMessageBatch``, failed entries retried."""

from __future__ import annotations

from rapport.adapters.aws import client
from rapport.adapters.sqs_batch import RetryPolicy, send_batch
from rapport.digest.jobs import DigestJob


class JobsNotEnqueued(RuntimeError):
    """Some jobs could not be enqueued; the scheduler run fails and the schedule retries it."""


class SqsJobQueue:
    def __init__(self, queue_url: str, retry: RetryPolicy | None = None) -> None:
        self.queue_url = queue_url
        self.retry = retry or RetryPolicy()

    def enqueue(self, jobs: list[DigestJob]) -> None:
        outcome = send_batch(
            client("sqs"), self.queue_url, [job.to_message() for job in jobs], self.retry
        )
        if outcome.failures:
            first = next(iter(outcome.failures.values()))
            raise JobsNotEnqueued(
                f"SQS did not accept {len(outcome.failures)} of {len(jobs)} job(s): {first.code}"
            )
