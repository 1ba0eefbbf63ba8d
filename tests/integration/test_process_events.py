"""process_events against a moto server over HTTP: queue, handler and table from the template."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest

from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import SK, count_events, request_key, text
from rapport.adapters.dynamodb.request_history import request_events
from rapport.codes import Outcome, ReasonCode
from rapport.contract import RequestDeclined
from rapport.state import request_status
from rapport_cli.local.event_source import DrainResult, drain
from rapport_cli.local.lambda_runtime import Handler, LocalContext
from rapport_cli.local.stack import LocalStack
from tests.support.events import T0, answer, body, preferences, sent
from tests.support.local_aws import record_calls, throttle
from tests.support.table import all_quarantined, find, stored_profile

pytestmark = pytest.mark.integration


def _publish(stack: LocalStack, *bodies: str) -> list[str]:
    sqs = boto3.client("sqs")
    url = stack.events_queue.url
    return [sqs.send_message(QueueUrl=url, MessageBody=text)["MessageId"] for text in bodies]


def _drain(stack: LocalStack, handler: Handler, batch_size: int = 10) -> DrainResult:
    return drain(
        boto3.client("sqs"),
        stack.events_queue,
        handler,
        function_name="process-events",
        batch_size=batch_size,
        region="us-east-1",
    )


def _request(stack: LocalStack, request_id: str, sender: str = "m-sender") -> dict[str, Any]:
    """The stored request as DynamoDB returns it; empty if there is none."""
    return find(stack.table, request_key(sender, request_id)) or {}


def _sort_key(params: dict[str, Any]) -> str:
    """The sort key a recorded or intercepted call names."""
    return text(params["Key"], SK)


def _sqs_event(stack: LocalStack, *bodies: str) -> dict[str, Any]:
    """Receive the published messages as the Lambda event source would hand them over."""
    _publish(stack, *bodies)
    messages = boto3.client("sqs").receive_message(
        QueueUrl=stack.events_queue.url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
    )["Messages"]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": stack.events_queue.arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def test_a_request_is_stored_once_in_its_senders_partition(
    stack: LocalStack, process_events: Handler
) -> None:
    events = [sent(), answer("declined", note="I only connect with people I've met")]
    _publish(stack, *(body(event) for event in events), body(events[1]), body(events[0]))
    result = _drain(stack, process_events)

    assert len(result.succeeded) == 4
    item = _request(stack, "req-1")
    assert count_events(item) == 2
    status = request_status(request_events(item), T0 + timedelta(days=3))
    assert status.outcome is Outcome.DECLINED
    assert all_quarantined(stack.table) == []


def test_two_senders_may_use_the_same_request_id(
    stack: LocalStack, process_events: Handler
) -> None:
    _publish(stack, body(sent("req-9", "m-ann")), body(sent("req-9", "m-bob")))
    _drain(stack, process_events)
    for sender in ("m-ann", "m-bob"):
        item = _request(stack, "req-9", sender)
        assert [event.data.sender_id for event in request_events(item)] == [sender]


def test_invalid_and_conflicting_events_are_quarantined_with_their_payload(
    stack: LocalStack, process_events: Handler
) -> None:
    original = answer("declined", note="Not now")
    conflicting = answer("declined", note="Something else entirely")
    bodies = ["{broken", body(original), body(conflicting)]
    message_ids = _publish(stack, *bodies)
    result = _drain(stack, process_events)

    assert result.failed_attempts == 0
    quarantined = {entry.message_id: entry for entry in all_quarantined(stack.table)}
    assert set(quarantined) == {message_ids[0], message_ids[2]}
    assert quarantined[message_ids[0]].error_code == "invalid_json"
    assert quarantined[message_ids[0]].payload == "{broken"
    assert quarantined[message_ids[2]].error_code == "conflicting_duplicate"
    assert quarantined[message_ids[2]].payload == bodies[2]
    stored = request_events(_request(stack, "req-1"))
    assert [event.data.note for event in stored if isinstance(event, RequestDeclined)] == [
        "Not now"
    ]
    assert len(stored) == 1


def test_a_transient_error_fails_only_that_record(
    stack: LocalStack, process_events: Handler
) -> None:
    event = _sqs_event(stack, body(sent("req-a")), body(sent("req-b")), body(sent("req-c")))
    throttle("UpdateItem", lambda params: params["Key"] == request_key("m-sender", "req-b"))
    response = process_events(event, LocalContext(function_name="process-events"))

    failed_id = next(
        record["messageId"] for record in event["Records"] if "req-b" in record["body"]
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": failed_id}]}
    for request_id, expected in (("req-a", 1), ("req-b", 0), ("req-c", 1)):
        item = _request(stack, request_id)
        assert count_events(item) == expected


def test_a_batch_where_every_record_fails_does_not_raise(
    stack: LocalStack, process_events: Handler
) -> None:
    event = _sqs_event(stack, body(sent("req-a")), body(sent("req-b")))
    throttle("UpdateItem", lambda _params: True)
    response = process_events(event, LocalContext(function_name="process-events"))
    assert sorted(item["itemIdentifier"] for item in response["batchItemFailures"]) == sorted(
        record["messageId"] for record in event["Records"]
    )


@dataclass
class _RunningOutContext(LocalContext):
    """A context whose invocation has ``records_with_time`` record starts left in it."""

    records_with_time: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.records_with_time -= 1
        return 30_000 if self.records_with_time >= 0 else 0


def test_records_started_too_late_go_back_to_the_queue_unprocessed(
    stack: LocalStack, process_events: Handler
) -> None:
    event = _sqs_event(stack, body(sent("req-a")), body(sent("req-b")), body(sent("req-c")))
    calls = record_calls("UpdateItem")
    context = _RunningOutContext(function_name="process-events", records_with_time=1)
    response = process_events(event, context)

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": record["messageId"]} for record in event["Records"][1:]
        ]
    }
    assert len(calls) == 1  # the late records were not even started
    stored = [
        request_id for request_id in ("req-a", "req-b", "req-c") if _request(stack, request_id)
    ]
    assert stored == [json.loads(event["Records"][0]["body"])["data"]["request_id"]]


def test_the_event_source_gathers_batches_larger_than_one_receive(
    stack: LocalStack, process_events: Handler
) -> None:
    message_ids = _publish(stack, *(body(sent(f"req-{number}")) for number in range(27)))
    sizes: list[int] = []
    first_delivery = True

    def fail_the_first_batch(event: dict[str, Any], context: Any) -> Any:
        nonlocal first_delivery
        sizes.append(len(event["Records"]))
        if first_delivery:  # the whole batch goes back: more than one visibility call's worth
            first_delivery = False
            return {
                "batchItemFailures": [
                    {"itemIdentifier": record["messageId"]} for record in event["Records"]
                ]
            }
        return process_events(event, context)

    result = _drain(stack, fail_the_first_batch, batch_size=12)

    assert sizes == [12, 12, 12, 3]
    assert (result.failed_attempts, result.succeeded) == (12, set(message_ids))
    for number in range(27):
        item = _request(stack, f"req-{number}")
        assert count_events(item) == 1


def test_failed_records_are_redelivered_then_dead_lettered(
    stack: LocalStack, process_events: Handler
) -> None:
    attempts: dict[str, int] = {}

    def flaky_or_poison(params: dict[str, Any]) -> bool:
        request = _sort_key(params)
        attempts[request] = attempts.get(request, 0) + 1
        return request == keys.request_sk("req-poison") or (
            request == keys.request_sk("req-flaky") and attempts[request] <= 2
        )

    throttle("UpdateItem", flaky_or_poison)
    message_ids = _publish(stack, body(sent("req-flaky")), body(sent("req-poison")))
    result = _drain(stack, process_events)

    assert result.succeeded == {message_ids[0]}
    queue = stack.events_queue
    assert queue.max_receive_count == 5
    assert attempts[keys.request_sk("req-poison")] == queue.max_receive_count
    dead = boto3.client("sqs").receive_message(
        QueueUrl=stack.queues[queue.dead_letter_logical_id or ""].url,
        MaxNumberOfMessages=10,
    )["Messages"]
    assert [message["MessageId"] for message in dead] == [message_ids[1]]
    assert count_events(_request(stack, "req-flaky")) == 1


def test_the_latest_preferences_win_whatever_the_arrival_order(
    stack: LocalStack, process_events: Handler
) -> None:
    newer = preferences(at=T0 + timedelta(days=5), email="new@example.com", timezone="Asia/Kolkata")
    older = preferences(at=T0, email="old@example.com", timezone="Europe/Berlin")
    _publish(stack, body(newer), body(older), body(older), body(newer))
    result = _drain(stack, process_events)

    assert len(result.succeeded) == 4
    profile = stored_profile(stack.table, "m-sender")
    assert profile.email == "new@example.com"
    assert profile.timezone == "Asia/Kolkata"
    assert len(profile.events) == 2
    assert all_quarantined(stack.table) == []


def test_the_handler_logs_ids_and_codes_but_no_personal_data(
    stack: LocalStack, process_events: Handler
) -> None:
    note = "Sorry, I only connect with people I know personally"
    event = _sqs_event(
        stack, body(answer("declined", note=note)), body(preferences(email="dana@example.com"))
    )
    service_logger = logging.getLogger("rapport")
    captured = io.StringIO()
    capture = logging.StreamHandler(captured)
    capture.setFormatter(service_logger.handlers[0].formatter)  # the Powertools JSON formatter
    service_logger.addHandler(capture)
    try:
        process_events(event, LocalContext(function_name="process-events"))
    finally:
        service_logger.removeHandler(capture)

    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    records = [line for line in lines if line["message"] == "event processed"]
    (summary,) = [line for line in lines if line["message"] == "batch processed"]
    assert (summary["records"], summary["stored"], summary["failed"]) == (2, 2, 0)
    assert {line["disposition"] for line in records} == {"stored"}
    assert {line["event_type"] for line in records} == {
        "rapport.connection_request.declined",
        "rapport.member.preferences_updated",
    }
    text = captured.getvalue()
    assert "know personally" not in text
    assert "dana@example.com" not in text


def test_a_redelivery_to_the_same_container_costs_no_write(
    stack: LocalStack, process_events: Handler
) -> None:
    calls = record_calls("UpdateItem")
    event, original = answer("declined", note="No"), answer("declined", note="No")
    conflicting = answer("declined", note="Yes")
    _publish(stack, body(event), body(original), body(conflicting), body(preferences()))
    _publish(stack, body(preferences()))
    _drain(stack, process_events)
    updates = [_sort_key(params) for params in calls]
    assert updates.count(keys.request_sk("req-1")) == 1  # the redelivery is answered from memory
    assert updates.count(keys.PROFILE_SK) == 1
    assert [entry.error_code for entry in all_quarantined(stack.table)] == ["conflicting_duplicate"]


def test_a_late_sent_event_reclassifies_the_request_without_an_extra_write(
    stack: LocalStack, process_events: Handler
) -> None:
    calls = record_calls("UpdateItem")
    now = T0 + timedelta(days=3)
    _publish(stack, body(answer("declined", note="Sorry, not for me.")))
    _drain(stack, process_events)
    item = _request(stack, "req-1")
    before = request_status(request_events(item), now).classification
    assert before.primary_reason is ReasonCode.UNKNOWN  # nothing to go on yet

    _publish(stack, body(sent(note=None)))  # the sent event arrives after the decline
    _drain(stack, process_events)
    item = _request(stack, "req-1")
    after = request_status(request_events(item), now).classification
    assert set(after.reasons) >= {ReasonCode.NO_NOTE, ReasonCode.NO_COMMON_GROUND}
    assert len(calls) == 2  # one write per event: the reasons are derived when read
