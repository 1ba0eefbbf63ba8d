"""moto's EventBridge with the template's bus and rule, over HTTP: it routes on the CloudEvent's
type, and delivers the whole EventBridge event, ignoring the target's ``InputPath`` — which the
local runtime therefore applies itself (``rapport_cli.local.bus``). If a moto upgrade starts
honouring ``InputPath``, the first test fails: then stop applying it locally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from rapport.adapters.sqs_batch import RetryPolicy
from rapport.contract import EVENT_MODELS
from rapport_cli.local.bus import BusDelivery
from rapport_cli.local.stack import LocalStack
from rapport_cli.local.template import LogicalId
from rapport_cli.publisher import BusTarget, publish
from tests.support.events import body, sent

pytestmark = pytest.mark.integration

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "events" / "samples").glob("*.json"))


def _bus(stack: LocalStack) -> str:
    return stack.buses[stack.route_to(LogicalId.EVENTS_QUEUE).bus_logical_id].name


def _messages(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = stack.events_queue.url
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
    ).get("Messages", []):
        messages.extend(batch)
    return messages


def _publish(stack: LocalStack, bodies: list[str]) -> None:
    publish(bodies, BusTarget(_bus(stack)), retry=RetryPolicy(sleep=lambda _s: None))


def test_the_template_gives_moto_the_rule_and_its_input_path_which_moto_ignores(
    stack: LocalStack,
) -> None:
    route = stack.route_to(LogicalId.EVENTS_QUEUE)
    assert route.input_path == "$.detail"
    [target] = boto3.client("events").list_targets_by_rule(
        Rule=route.rule_name, EventBusName=_bus(stack)
    )["Targets"]
    assert target["InputPath"] == "$.detail"  # kept...
    event = body(sent("req-moto"))

    _publish(stack, [event])

    [message] = _messages(stack)
    delivered = json.loads(message["Body"])  # ...but the whole EventBridge event is delivered
    assert {"version", "id", "detail-type", "source", "detail"} <= set(delivered)
    assert delivered["detail"] == json.loads(event)
    assert (delivered["detail-type"], delivered["source"]) == (
        "rapport.connection_request.sent",
        json.loads(event)["source"],
    )


def test_applied_locally_the_input_path_gives_the_handler_the_cloudevent(
    stack: LocalStack,
) -> None:
    events = [sample.read_text(encoding="utf-8") for sample in SAMPLES]
    _publish(stack, events)
    delivery = BusDelivery(stack.route_to(LogicalId.EVENTS_QUEUE).input_path)

    bodies = [delivery.body_of(message) for message in _messages(stack)]

    assert sorted(json.loads(text)["id"] for text in bodies) == sorted(
        json.loads(text)["id"] for text in events
    )
    by_id = {json.loads(text)["id"]: json.loads(text) for text in events}
    for text in bodies:
        assert json.loads(text) == by_id[json.loads(text)["id"]]
        assert "\n" not in text  # compact, like the JSON EventBridge writes


def test_the_rule_routes_every_contract_type_and_nothing_else(stack: LocalStack) -> None:
    events = [json.loads(sample.read_text(encoding="utf-8")) for sample in SAMPLES]
    assert {event["type"] for event in events} == set(EVENT_MODELS)
    viewed = {**sent("req-viewed", event_id="evt-viewed"), "type": "rapport.request.viewed"}
    entries = [
        {
            "EventBusName": _bus(stack),
            "Source": event["source"],
            "DetailType": event["type"],
            "Detail": json.dumps(event),
        }
        for event in [*events, viewed]
    ]

    answer = boto3.client("events").put_events(Entries=entries[:10])

    assert answer["FailedEntryCount"] == 0
    routed = [json.loads(message["Body"])["detail"] for message in _messages(stack)]
    assert sorted(event["id"] for event in routed) == sorted(event["id"] for event in events)
