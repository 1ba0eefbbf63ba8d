"""SQS behind the ``JobQueue`` port: ten jobs per ``SendMessageBatch``, failed entries retried."""

from __future__ import annotations

from rapport.adapters.aws import client
from rapport.digest.jobs import DigestJob

_ATTEMPTS = 4


class JobsNotEnqueued(RuntimeError):
    """Some jobs could not be enqueued; the scheduler run fails and is retried."""


class SqsJobQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def enqueue(self, jobs: list[DigestJob]) -> None:
        pending = {str(index): job for index, job in enumerate(jobs)}
        for _ in range(_ATTEMPTS):
            response = client("sqs").send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": entry_id, "MessageBody": job.to_message()}
                    for entry_id, job in pending.items()
                ],
            )
            for success in response.get("Successful", []):
                pending.pop(success["Id"], None)
            permanent = [item for item in response.get("Failed", []) if item.get("SenderFault")]
            if permanent:
                raise JobsNotEnqueued(
                    f"SQS refused {len(permanent)} job(s): {permanent[0].get('Code')}"
                )
            if not pending:
                return
        raise JobsNotEnqueued(f"{len(pending)} job(s) still failing after {_ATTEMPTS} attempts")
