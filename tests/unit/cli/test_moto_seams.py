"""The local runtime's two moto seams answer exactly as moto does without them.

moto in process (``mock_aws``) opens no socket, so these run with the unit tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.utils import unix_time
from moto.dynamodb.models.table import Table
from moto.sqs.models import SQSBackend

from rapport_cli.local import moto_seams
from rapport_cli.local.moto_seams import queries_read_their_partition, queue_retention_read_directly

_KEYS = ("PK", "SK", "G", "GS")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # moto recognises AWS's own host names: an endpoint set by an earlier test must not apply.
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield


def _table() -> Any:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in _KEYS],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "sparse",
                "KeySchema": [
                    {"AttributeName": "G", "KeyType": "HASH"},
                    {"AttributeName": "GS", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for number in range(60):
        item = {"PK": {"S": f"p{number % 4}"}, "SK": {"S": f"s{number:03d}"}}
        if number % 3:  # a sparse index: a third of the items are not in it
            item |= {"G": {"S": f"g{number % 2}"}, "GS": {"S": f"{number % 7}"}}
        dynamodb.put_item(TableName="t", Item=item)
    return dynamodb


def _queries(dynamodb: Any) -> list[Any]:
    """Queries with conditions, paging, direction, filters and projections, every page kept."""
    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}},
        {
            "KeyConditionExpression": "PK = :p AND begins_with(SK, :s)",
            "ExpressionAttributeValues": {":p": {"S": "p2"}, ":s": {"S": "s01"}},
            "ScanIndexForward": False,
            "Limit": 4,
        },
        {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
        {
            "IndexName": "sparse",
            "KeyConditionExpression": "G = :g AND GS <= :s",
            "ExpressionAttributeValues": {":g": {"S": "g1"}, ":s": {"S": "4"}, ":x": {"S": "p3"}},
            "FilterExpression": "PK <> :x",
            "ProjectionExpression": "PK, SK, GS",
            "Limit": 3,
        },
    ]
    pages = []
    for query in queries:
        paginator = dynamodb.get_paginator("query")
        pages.append([page["Items"] for page in paginator.paginate(TableName="t", **query)])
    return pages


@pytest.mark.usefixtures("aws")
def test_queries_return_what_moto_returns_without_the_seam() -> None:
    dynamodb = _table()
    expected = _queries(dynamodb)
    with queries_read_their_partition():
        seen = _queries(dynamodb)
    assert seen == expected
    assert [sum(map(len, pages)) for pages in expected][:3] == [15, 3, 0]  # real cases
    assert sum(map(len, expected[3])) > 0


@pytest.mark.usefixtures("aws")
def test_the_seam_restores_moto_and_hands_it_only_the_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dynamodb = _table()
    original = Table.query
    handed: list[int] = []
    real_view = moto_seams._QueriedItems

    class CountingView(real_view):  # type: ignore[misc, valid-type]
        def all_items(self) -> list[Any]:
            items: list[Any] = super().all_items()
            handed.append(len(items))
            return items

    monkeypatch.setattr(moto_seams, "_QueriedItems", CountingView)
    with queries_read_their_partition():
        dynamodb.query(
            TableName="t",
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": "p0"}},
        )
    assert handed == [15]  # of 60 items
    assert Table.query is original


@pytest.mark.usefixtures("aws")
def test_receives_keep_and_expire_messages_as_moto_does() -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    for number in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    from moto.sqs.models import sqs_backends

    backend = sqs_backends["123456789012"][os.environ["AWS_DEFAULT_REGION"]]
    messages = list(backend.get_queue("q")._messages)
    vars(messages[0])["sent_timestamp"] = int((unix_time() - 61) * 1000)  # past its retention
    check = SQSBackend.is_message_valid_based_on_retention_period
    expected = [check(backend, "q", message) for message in messages]
    with queue_retention_read_directly():
        seen = [backend.is_message_valid_based_on_retention_period("q", m) for m in messages]
    assert seen == expected == [False, True, True]
    assert SQSBackend.is_message_valid_based_on_retention_period is check
