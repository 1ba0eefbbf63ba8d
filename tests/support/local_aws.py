"""Fixtures for integration tests: boto3 against a real moto server over HTTP, resources from the
SAM template, and the real handlers loaded as Lambda loads them.

Loaded for every test (a plugin of the root conftest), so moto and the local runtime are imported
when a fixture first needs them: unit tests collect without them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from rapport.adapters.aws import client, reset_clients

if TYPE_CHECKING:
    from rapport_cli.local.lambda_runtime import Handler
    from rapport_cli.local.stack import LocalStack


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from rapport_cli.local.server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def stack(moto_endpoint: str) -> LocalStack:
    """A fresh, isolated copy of the template's resources for one test."""
    import boto3

    from rapport_cli.local.stack import deploy

    del moto_endpoint
    return deploy(
        boto3.session.Session(), os.environ["AWS_DEFAULT_REGION"], f"t{uuid.uuid4().hex[:12]}"
    )


@pytest.fixture
def process_events(stack: LocalStack) -> Iterator[Handler]:
    from rapport_cli.local.lambda_runtime import load_handler
    from rapport_cli.local.server import patched_environ
    from rapport_cli.local.template import LogicalId

    function = stack.functions[LogicalId.PROCESS_EVENTS]
    reset_clients()
    with patched_environ(function.environment):
        yield load_handler(
            function.code_dir, function.handler, f"process_events_{uuid.uuid4().hex}"
        )
    reset_clients()


def record_calls(operation: str) -> list[dict[str, Any]]:
    """The parameters of every ``operation`` call the handler's DynamoDB client makes from now."""
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client("dynamodb").meta.events.register(f"before-parameter-build.dynamodb.{operation}", hook)
    return seen


def throttle(operation: str, when: Callable[[dict[str, Any]], bool]) -> Callable[..., None]:
    """Make the handler's ``operation`` calls for which ``when(params)`` holds fail as throttled."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        if when(params):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded (injected)"}},
                operation,
            )

    client("dynamodb").meta.events.register(f"before-parameter-build.dynamodb.{operation}", hook)
    return hook


def deliver(handler: Handler, bodies: list[str], enqueued_at: datetime) -> None:
    """Hand ``bodies`` to a process_events handler as SQS would, ten per batch; every record
    must be settled (stored, duplicate or quarantined), none left for redelivery."""
    from rapport_cli.local.lambda_runtime import LocalContext

    sent_ms = str(int(enqueued_at.timestamp() * 1000))
    for start in range(0, len(bodies), 10):
        records = [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "rh",
                "body": text,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": sent_ms},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for text in bodies[start : start + 10]
        ]
        response = handler({"Records": records}, LocalContext(function_name="ProcessEvents"))
        assert response["batchItemFailures"] == []
