"""Lambda's SQS event-source mapping, emulated against a real (moto) queue.

Batches of up to ``batch_size`` records (gathered, as Lambda's poller does, from as many
``ReceiveMessage`` calls of at most 10 messages as it takes), partial batch responses
(``batchItemFailures``), a whole batch returned when the function raises, redelivery of failed
records, and dead-lettering by the queue's own redrive policy once ``maxReceiveCount`` is
reached. Two liberties are taken: a failed record is made visible again at once instead of after
the visibility timeout, so a local run never sleeps, and batches are not capped at Lambda's 6 MB
invocation payload (local streams are far smaller).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport_cli.local.lambda_runtime import Handler, LocalContext
from rapport_cli.local.stack import LocalQueue


@dataclass
class DrainResult:
    invocations: int = 0
    #: Message ids whose processing succeeded (deleted from the queue).
    succeeded: set[str] = field(default_factory=set)
    failed_attempts: int = 0

    def add(self, other: DrainResult) -> None:
        self.invocations += other.invocations
        self.succeeded |= other.succeeded
        self.failed_attempts += other.failed_attempts


#: What the record's body is made of the received message: the message's body, unless what
#: delivered it to the queue must be completed first (``rapport_cli.local.bus``).
BodyOf = Callable[[Mapping[str, Any]], str]


def as_received(message: Mapping[str, Any]) -> str:
    return str(message["Body"])


def _record(
    message: dict[str, Any], queue: LocalQueue, region: str, body_of: BodyOf
) -> dict[str, Any]:
    body = body_of(message)
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": region,
    }


def _failed_ids(response: Any, batch_ids: set[str]) -> set[str]:
    """Lambda's reading of a partial batch response; anything malformed fails the whole batch."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        return batch_ids
    failures = response.get("batchItemFailures") or []
    ids = {item.get("itemIdentifier") for item in failures if isinstance(item, dict)}
    if None in ids or "" in ids or not ids <= batch_ids:
        return batch_ids
    return {str(item) for item in ids}


def _queue_is_empty(sqs: Any, queue: LocalQueue) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=names)["Attributes"]
    return all(int(attributes.get(name, 0)) == 0 for name in names)


def drain(
    sqs: Any,
    queue: LocalQueue,
    handler: Handler,
    *,
    function_name: str,
    batch_size: int,
    region: str,
    on_success: Callable[[int], None] = lambda _count: None,
    body_of: BodyOf = as_received,
) -> DrainResult:
    """Deliver everything in ``queue`` to ``handler`` until nothing is left to deliver."""
    result = DrainResult()
    while True:
        messages = _receive_batch(sqs, queue, batch_size)
        if not messages:
            if _queue_is_empty(sqs, queue):
                return result
            raise RuntimeError(f"{queue.logical_id}: messages are in flight but none is visible")
        batch_ids = {message["MessageId"] for message in messages}
        event = {"Records": [_record(message, queue, region, body_of) for message in messages]}
        result.invocations += 1
        try:
            failed = _failed_ids(
                handler(event, LocalContext(function_name=function_name)), batch_ids
            )
        except Exception:  # a function error returns the whole batch to the queue, as in Lambda
            failed = batch_ids
        done = [message for message in messages if message["MessageId"] not in failed]
        retry = [message for message in messages if message["MessageId"] in failed]
        if done:
            for chunk in _chunks(done):
                deleted = sqs.delete_message_batch(
                    QueueUrl=queue.url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(chunk)
                    ],
                )
                if deleted.get("Failed"):  # Lambda's poller would retry; here a broken run
                    raise RuntimeError(f"{queue.logical_id}: SQS did not delete processed messages")
            result.succeeded.update(message["MessageId"] for message in done)
            on_success(len(done))
        if retry:
            result.failed_attempts += len(retry)
            make_visible(sqs, queue.url, retry)


def make_visible(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Return received messages to the queue at once, for the next receive to get them."""
    for chunk in _chunks(messages):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {
                    "Id": str(index),
                    "ReceiptHandle": message["ReceiptHandle"],
                    "VisibilityTimeout": 0,
                }
                for index, message in enumerate(chunk)
            ],
        )


#: The most messages one ReceiveMessage, DeleteMessageBatch or ChangeMessageVisibilityBatch takes.
_SQS_BATCH_LIMIT = 10


def _receive_batch(sqs: Any, queue: LocalQueue, batch_size: int) -> list[dict[str, Any]]:
    """Up to ``batch_size`` visible messages, received 10 at a time until a receive comes back
    short (the queue has run dry for now)."""
    messages: list[dict[str, Any]] = []
    while len(messages) < batch_size:
        wanted = min(_SQS_BATCH_LIMIT, batch_size - len(messages))
        received = sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=queue.visibility_timeout,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        messages.extend(received)
        if len(received) < wanted:
            break
    return messages


def _chunks(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [
        messages[start : start + _SQS_BATCH_LIMIT]
        for start in range(0, len(messages), _SQS_BATCH_LIMIT)
    ]
