"""An in-process DynamoDB behind the real botocore client, so the SDK's cost is counted.

``InProcessDynamoDB.attach(client)`` registers a ``before-send`` hook on a botocore DynamoDB
client: botocore still validates the parameters, serialises the request, resolves the endpoint,
signs it, runs its retry handler on the answer and parses the response; only the HTTP round trip
is replaced by a call to ``tests.support.fakes.FakeDynamoDB`` (one per table name), answered as
DynamoDB's JSON protocol answers, errors included. The JSON body *is* DynamoDB's typed item
format, so the fake gets exactly what DynamoDB would.

Thread-safe: the tables are behind one lock, and the injected latency is slept outside it, so
calls from a thread pool overlap as network round trips do.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError

from rapport.adapters.dynamodb.items import PK, SK, text
from rapport_cli.local.call_log import DYNAMODB_WRITES
from tests.support.fakes import FakeDynamoDB

_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_OPERATIONS = {
    "GetItem": "get_item",
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "DeleteItem": "delete_item",
}


class IdempotencyTable(FakeDynamoDB):
    """A table for Powertools' ``DynamoDBPersistenceLayer`` too: its claim (a ``PutItem`` that
    may replace an expired record) and its ``DeleteItem`` after a failed function."""

    def put_item(self, **request: Any) -> dict[str, Any]:
        existing = self.items.get(_key(request["Item"]))
        if existing is not None and _powertools_claim_allowed(request, existing):
            request = {
                name: value for name, value in request.items() if name != "ConditionExpression"
            }
        return super().put_item(**request)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        self.writes += 1
        self.items.pop(_key(request["Key"]), None)
        return {}


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return text(item, PK), text(item, SK)


def _number(values: dict[str, Any], name: str) -> int | None:
    value = values.get(name)
    return None if value is None else int(next(iter(value.values())))


def _powertools_claim_allowed(request: dict[str, Any], existing: dict[str, Any]) -> bool:
    """The other branches of Powertools' claim condition: the record has expired, or it is
    in progress past its in-progress expiry (a Lambda that timed out)."""
    condition = request.get("ConditionExpression", "")
    if "#expiry < :now" not in condition:
        return False
    names, values = request["ExpressionAttributeNames"], request["ExpressionAttributeValues"]
    expiry = _number(existing, names["#expiry"])
    if expiry is not None and expiry < (_number(values, ":now") or 0):
        return True
    status = existing.get(names["#status"])
    in_progress_expiry = _number(existing, names["#in_progress_expiry"])
    return (
        status == values[":inprogress"]
        and in_progress_expiry is not None
        and in_progress_expiry < (_number(values, ":now_in_millis") or 0)
    )


class _Body:
    """What ``AWSResponse`` reads a body from (urllib3's ``stream``)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data.read()


class InProcessDynamoDB:
    """DynamoDB tables in memory, answering the real client's signed HTTP requests."""

    def __init__(self, latency_seconds: float = 0.0) -> None:
        self.latency_seconds = latency_seconds
        self.tables: dict[str, FakeDynamoDB] = {}
        self.calls: Counter[str] = Counter()
        #: CPU spent answering (the fake and its JSON), so it can be told apart from the SDK's.
        self.answer_cpu_seconds = 0.0
        self._lock = threading.Lock()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send.dynamodb", self._send)
        return client

    def reset(self) -> None:
        """Empty tables and counters: a new deployment's state."""
        with self._lock:
            self.tables.clear()
            self.calls.clear()
            self.answer_cpu_seconds = 0.0

    @property
    def writes(self) -> int:
        return sum(count for operation, count in self.calls.items() if operation in DYNAMODB_WRITES)

    def _send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        started = time.thread_time()
        operation = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        params = json.loads(request.body or b"{}")
        with self._lock:
            self.calls[operation] += 1
            table = self.tables.setdefault(params["TableName"], IdempotencyTable())
            try:
                status, answer = 200, getattr(table, _OPERATIONS[operation])(**params)
            except ClientError as error:
                status, answer = 400, _error_body(error.response)
        body = json.dumps(answer).encode()
        headers = {
            "x-amzn-RequestId": "bench",
            "x-amz-crc32": str(zlib.crc32(body)),
            "Content-Type": "application/x-amz-json-1.0",
        }
        response = AWSResponse(request.url, status, headers, _Body(body))
        with self._lock:
            self.answer_cpu_seconds += time.thread_time() - started
        if self.latency_seconds:
            time.sleep(self.latency_seconds)  # outside the lock: parallel calls overlap
        return response


def _error_body(response: dict[str, Any]) -> dict[str, Any]:
    """A ``ClientError``'s response as DynamoDB's JSON protocol sends it."""
    error = response["Error"]
    extra = {name: value for name, value in response.items() if name not in {"Error"}}
    return {"__type": _ERROR_PREFIX + error["Code"], "message": error["Message"], **extra}
