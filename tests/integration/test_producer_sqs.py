"""The publisher against a moto server over HTTP, with partial batch failures injected.

Failures are injected with a botocore ``before-call`` hook on the client the publisher is given: a
handler that returns ``(http_response, parsed)`` replaces the HTTP call. The hook really sends
the entries it lets through (with a second, unhooked client), so the queue ends up holding what
SQS would hold after a real partial failure.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from rapport.adapters.sqs_batch import RetryPolicy
from rapport_cli.local.stack import LocalStack
from rapport_cli.publisher import PublishError, QueueTarget, publish
from tests.support.events import body, sent

pytestmark = pytest.mark.integration

#: decides, per call number and entry, whether the entry fails and with which ``Failed`` fields
Injector = Callable[[int, dict[str, str]], dict[str, Any] | None]


class PartialFailures:
    """A before-call hook that fails chosen entries and really sends the others."""

    def __init__(self, inject: Injector) -> None:
        self.inject = inject
        self.calls: list[list[dict[str, str]]] = []
        self._real = boto3.client("sqs")

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])
        entries: list[dict[str, str]] = request["Entries"]
        self.calls.append(entries)
        failed = []
        passed = []
        for entry in entries:
            failure = self.inject(len(self.calls), entry)
            if failure is None:
                passed.append(entry)
            else:
                failed.append({"Id": entry["Id"], **failure})
        successful = []
        if passed:
            response = self._real.send_message_batch(QueueUrl=request["QueueUrl"], Entries=passed)
            assert not response.get("Failed")
            successful = response["Successful"]
        return AWSResponse(params["url"], 200, {}, None), {
            "Successful": successful,
            "Failed": failed,
        }


def hooked_client(hook: PartialFailures) -> Any:
    sqs = boto3.client("sqs")
    sqs.meta.events.register("before-call.sqs.SendMessageBatch", hook)
    return sqs


def received_bodies(queue_url: str) -> Counter[str]:
    sqs = boto3.client("sqs")
    bodies: Counter[str] = Counter()
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
    ).get("Messages", []):
        bodies.update(message["Body"] for message in messages)
    return bodies


def no_wait() -> RetryPolicy:
    return RetryPolicy(sleep=lambda _seconds: None)


TRANSIENT = {"Code": "InternalError", "Message": "try again", "SenderFault": False}


def test_every_event_arrives_exactly_once(stack: LocalStack) -> None:
    url = stack.events_queue.url
    bodies = [body(sent(f"req-{number}")) for number in range(25)]

    result = publish(bodies, QueueTarget(url, sqs=boto3.client("sqs")))

    assert len(result.sent) == 25
    assert received_bodies(url) == Counter(bodies)


def test_after_a_partial_failure_only_the_failed_entries_are_sent_again(
    stack: LocalStack,
) -> None:
    url = stack.events_queue.url
    bodies = [body(sent(f"req-{number}")) for number in range(10)]
    flaky = {bodies[1], bodies[6]}
    hook = PartialFailures(
        lambda call, entry: TRANSIENT if call == 1 and entry["MessageBody"] in flaky else None
    )

    result = publish(bodies, QueueTarget(url, sqs=hooked_client(hook)), retry=no_wait())

    assert [len(entries) for entries in hook.calls] == [10, 2]
    assert {entry["MessageBody"] for entry in hook.calls[1]} == flaky
    assert (len(result.sent), result.retried) == (10, 2)
    assert received_bodies(url) == Counter(bodies)


def test_an_entry_that_keeps_failing_is_named_and_the_rest_arrive_once(
    stack: LocalStack,
) -> None:
    url = stack.events_queue.url
    bodies = [body(sent(f"req-{number}")) for number in range(12)]
    stuck = body(sent("req-stuck", event_id="evt-stuck"))
    hook = PartialFailures(
        lambda _call, entry: TRANSIENT if entry["MessageBody"] == stuck else None
    )

    with pytest.raises(PublishError) as raised:
        publish([*bodies, stuck], QueueTarget(url, sqs=hooked_client(hook)), retry=no_wait())

    assert [failure.event_id for failure in raised.value.result.refused] == ["evt-stuck"]
    assert "evt-stuck: InternalError: try again (still failing after 5 attempts)" in str(
        raised.value
    )
    assert len(raised.value.result.sent) == 12
    assert received_bodies(url) == Counter(bodies)


def test_a_sender_fault_is_reported_at_once_and_never_retried(stack: LocalStack) -> None:
    url = stack.events_queue.url
    bodies = [body(sent(f"req-{number}")) for number in range(3)]
    refused = {"Code": "InvalidMessageContents", "Message": "refused", "SenderFault": True}
    hook = PartialFailures(
        lambda _call, entry: refused if entry["MessageBody"] == bodies[0] else None
    )

    with pytest.raises(PublishError) as raised:
        publish(bodies, QueueTarget(url, sqs=hooked_client(hook)), retry=no_wait())

    assert len(hook.calls) == 1
    assert [failure.error_code for failure in raised.value.result.refused] == [
        "InvalidMessageContents"
    ]
    assert received_bodies(url) == Counter(bodies[1:])
