"""The bench's in-process DynamoDB: the real botocore client's requests are answered from memory
as DynamoDB answers them, errors included, so what the bench counts is what the SDK does."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from bench.transport import InProcessDynamoDB
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import key, string

TABLE = "bench-table"
REQUEST = key(keys.member_pk("a"), keys.request_sk("1"))
PROFILE = key(keys.member_pk("a"), keys.PROFILE_SK)


@pytest.fixture
def transport() -> InProcessDynamoDB:
    return InProcessDynamoDB()


@pytest.fixture
def dynamodb(transport: InProcessDynamoDB, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # signed, never looked up
        monkeypatch.setenv(name, "testing")
    session = botocore.session.Session()
    return transport.attach(session.create_client("dynamodb", region_name="us-east-1"))


def test_a_put_item_is_read_back_by_get_item(dynamodb: Any, transport: InProcessDynamoDB) -> None:
    item = {**REQUEST, "note": string("hello")}
    dynamodb.put_item(TableName=TABLE, Item=item)

    answer = dynamodb.get_item(TableName=TABLE, Key=REQUEST)

    assert answer["Item"] == item
    assert "Item" not in dynamodb.get_item(
        TableName=TABLE, Key=key(keys.member_pk("b"), keys.request_sk("1"))
    )
    assert transport.calls == {"PutItem": 1, "GetItem": 2}
    assert transport.writes == 1


def test_a_failed_condition_is_dynamodbs_error_with_the_old_item(dynamodb: Any) -> None:
    item = {**REQUEST, "note": string("first")}
    dynamodb.put_item(TableName=TABLE, Item=item)

    with pytest.raises(ClientError) as failure:
        dynamodb.put_item(
            TableName=TABLE,
            Item={**REQUEST, "note": string("second")},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    assert isinstance(failure.value, dynamodb.exceptions.ConditionalCheckFailedException)
    assert failure.value.response["Item"] == item
    assert dynamodb.get_item(TableName=TABLE, Key=REQUEST)["Item"] == item


def test_the_sdk_validates_parameters_before_anything_is_sent(
    dynamodb: Any, transport: InProcessDynamoDB
) -> None:
    with pytest.raises(botocore.exceptions.ParamValidationError):
        dynamodb.put_item(TableName=TABLE)  # no Item

    assert not transport.calls


def test_tables_are_separate_and_reset_empties_them(
    dynamodb: Any, transport: InProcessDynamoDB
) -> None:
    dynamodb.put_item(TableName=TABLE, Item=PROFILE)

    assert "Item" not in dynamodb.get_item(TableName="other", Key=PROFILE)
    transport.reset()
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=PROFILE)
    assert transport.calls == {"GetItem": 1}


def _idempotency(dynamodb: Any, expires_after_seconds: int) -> Any:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
    )

    layer = DynamoDBPersistenceLayer(
        table_name="idempotency", boto3_client=dynamodb, key_attr="pk", sort_key_attr="sk"
    )
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=expires_after_seconds)
    layer.configure(config, function_name="peer")
    return layer


def test_powertools_idempotency_claims_once_and_returns_the_saved_result(dynamodb: Any) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyItemAlreadyExistsError,
    )

    layer = _idempotency(dynamodb, expires_after_seconds=3600)
    layer.save_inprogress(data={"id": "event-1"}, remaining_time_in_millis=30_000)
    layer.save_success(data={"id": "event-1"}, result={"stored": True})

    with pytest.raises(IdempotencyItemAlreadyExistsError) as again:
        layer.save_inprogress(data={"id": "event-1"}, remaining_time_in_millis=30_000)

    record = again.value.old_data_record
    assert record is not None
    assert record.status == "COMPLETED"
    assert record.response_json_as_dict() == {"stored": True}


def test_an_expired_idempotency_record_can_be_claimed_again(
    dynamodb: Any, transport: InProcessDynamoDB
) -> None:
    layer = _idempotency(dynamodb, expires_after_seconds=-60)  # expired as soon as it is saved
    layer.save_inprogress(data={"id": "event-1"}, remaining_time_in_millis=30_000)
    layer.save_success(data={"id": "event-1"}, result={"stored": True})

    layer.save_inprogress(
        data={"id": "event-1"}, remaining_time_in_millis=30_000
    )  # no error: the claim replaced the record

    assert transport.calls == {"PutItem": 2, "UpdateItem": 1}
