"""Least privilege, proven: every handler is driven through every path the other tests cover,
its AWS calls are recorded with botocore hooks, and they must equal what its role grants its
code in the translated template — nothing called that is not granted, nothing granted unused."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from rapport.adapters.aws import client, reset_clients
from rapport.adapters.dynamodb.items import EXPIRES_AT, RequestItem, number
from rapport.digest import tokens
from rapport_cli.local.call_log import CallLog
from rapport_cli.local.event_source import drain
from rapport_cli.local.lambda_runtime import FunctionHost
from rapport_cli.local.stack import LocalStack
from rapport_cli.local.template import LogicalId
from tests.support.events import answer, body, preferences, sent
from tests.support.iam import code_actions, drift, statements, translated_template

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _drain(stack: LocalStack, host: FunctionHost, queue: str, function: str) -> None:
    drain(
        boto3.client("sqs"),
        stack.queues[queue],
        host.handler(function),
        function_name=function,
        batch_size=5,
        region="us-east-1",
    )


def _url_event(method: str, token: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": f"token={token}",
        "queryStringParameters": {"token": token},
        "headers": {},
        "requestContext": {"http": {"method": method, "path": "/"}},
        "body": "List-Unsubscribe=One-Click",
        "isBase64Encoded": False,
    }


def _exercise_every_path(stack: LocalStack, calls: CallLog) -> None:
    host = FunctionHost(stack.functions, io.StringIO(), calls)
    sqs = boto3.client("sqs")
    member = "m-least-privilege"
    decline = answer("declined", "r1", member, at=NOW - timedelta(days=5), note="Not now")
    bodies = [
        body(preferences(member, at=NOW - timedelta(days=40), email="lp@example.com")),
        body(preferences(member, at=NOW - timedelta(days=50), email="older@example.com")),
        body(sent("r1", member, at=NOW - timedelta(days=6))),
        body(decline),
        body(decline),  # duplicate
        body({**decline, "data": {**decline["data"], "note": "changed"}}),  # conflict
        "not json",  # quarantined
    ]
    # A request past its retention that TTL has not deleted yet: its remains are cleared first.
    boto3.client("dynamodb").put_item(
        TableName=stack.table,
        Item={**RequestItem(member, "r-expired").encode(), EXPIRES_AT: number(1)},
    )
    bodies.append(body(sent("r-expired", member, at=NOW - timedelta(days=3))))
    for text in bodies:
        sqs.send_message(QueueUrl=stack.events_queue.url, MessageBody=text)
    _drain(stack, host, LogicalId.EVENTS_QUEUE, LogicalId.PROCESS_EVENTS)

    host.invoke(LogicalId.SCHEDULE_DIGESTS, {"scheduled_time": NOW.isoformat()})
    job = json.loads(
        sqs.receive_message(QueueUrl=stack.digest_queue.url, VisibilityTimeout=0)["Messages"][0][
            "Body"
        ]
    )
    sqs.send_message(QueueUrl=stack.digest_queue.url, MessageBody=json.dumps(job))
    failures = {"left": 1}

    def fail_once(**_: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ClientError({"Error": {"Code": "Throttling", "Message": "x"}}, "SendEmail")

    host.handler(LogicalId.SEND_DIGEST)
    client("sesv2").meta.events.register("before-parameter-build.sesv2.SendEmail", fail_once)
    _drain(
        stack, host, LogicalId.DIGEST_QUEUE, LogicalId.SEND_DIGEST
    )  # fail, retry, then duplicate

    secret = stack.functions[LogicalId.UNSUBSCRIBE].environment["UNSUBSCRIBE_SECRET_ID"]
    key = str(boto3.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])
    token = tokens.sign(member, datetime.now(UTC), key.encode())
    for method in ("GET", "POST"):
        assert host.invoke(LogicalId.UNSUBSCRIBE, _url_event(method, token))["statusCode"] == 200


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return translated_template()


def test_each_function_is_granted_exactly_what_its_code_calls(
    stack: LocalStack, template: dict[str, Any]
) -> None:
    reset_clients()
    calls = CallLog().attach()
    _exercise_every_path(stack, calls)
    assert set(calls.by_function) == set(stack.functions)
    for function, observed in calls.by_function.items():
        result = drift(code_actions(template, function), observed)
        assert result.called_not_granted == set(), f"{function} calls without permission"
        assert result.granted_not_called == set(), f"{function} is granted more than it uses"


def test_drift_is_reported_both_ways() -> None:
    granted = {"dynamodb:UpdateItem", "dynamodb:PutItem"}
    assert drift(granted, ["dynamodb:UpdateItem", "dynamodb:PutItem"]).exact
    added = drift(granted, ["dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:Scan"])
    assert added.called_not_granted == {"dynamodb:Scan"}
    unused = drift(granted, ["dynamodb:UpdateItem"])
    assert unused.granted_not_called == {"dynamodb:PutItem"}
    assert drift({"sqs:SendMessage"}, ["sqs:SendMessageBatch"]).exact


def test_no_wildcard_actions_and_wildcard_resources_only_where_aws_requires(
    template: dict[str, Any],
) -> None:
    functions = [
        name
        for name, spec in template["Resources"].items()
        if spec["Type"] == "AWS::Lambda::Function"
    ]
    assert functions
    for function in functions:
        for statement in statements(template, function):
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert all("*" not in action for action in actions), statement
            if statement["Resource"] == "*":
                assert statement["Sid"] == "RuntimeTracing"  # X-Ray has no resource-level ARNs
