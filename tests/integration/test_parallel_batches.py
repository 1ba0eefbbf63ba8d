"""A batch's writes in parallel against moto over HTTP, where nothing serialises writes to one item.

The local runtime's moto server applies DynamoDB requests one at a time (atomicity, as DynamoDB
gives it per item). Here a plain ``ThreadedMotoServer`` reads, checks and writes an item with no
lock, so the parallel path can only match the serial one if it never has two writes to one item
in flight: the grouping, not the store, has to guarantee it. Then the process_events handler
itself, with several workers: partial batch failures in batch order, the time reserve, and one
log line and one metric flush per batch from the handler's own thread.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings

from rapport.adapters.aws import client, reset_clients
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import (
    PK,
    SK,
    EventEntry,
    event_attribute,
    event_entries,
    request_key,
    text,
)
from rapport.adapters.dynamodb.retention import Retention
from rapport.identity import dedupe_key
from rapport.ingest import DEFAULT_FUTURE_TOLERANCE, InboundMessage
from rapport.ingest.batch import RecordOutcome, ingest_batch
from rapport_cli.local.lambda_runtime import Handler, LocalContext
from rapport_cli.local.server import aws_endpoint
from rapport_cli.local.stack import LocalStack, deploy
from tests.support.batches import ENQUEUED_AT, batches, comparable, never_late
from tests.support.events import SOURCE, body, sent
from tests.support.examples import examples
from tests.support.local_aws import throttle
from tests.support.table import find, scan

pytestmark = pytest.mark.integration

WORKERS = 8
WRITES = ("UpdateItem", "PutItem", "DeleteItem")


@pytest.fixture
def unlocked_moto(moto_endpoint: str) -> Iterator[str]:
    """A second moto server in this process, without the local runtime's DynamoDB lock (moto
    keeps one state per process, so it sees the same backends; each run has its own table)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the server's unlocked check-then-write races within microseconds
    try:
        with aws_endpoint(f"http://{host}:{port}"):
            yield moto_endpoint
    finally:
        sys.setswitchinterval(interval)
        server.stop()
        reset_clients()


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(WORKERS) as executor:
        yield executor


def _fresh_table() -> str:
    stack = deploy(boto3.session.Session(), "us-east-1", f"p{uuid.uuid4().hex[:12]}")
    return stack.table


@dataclass
class _Calls:
    """Every DynamoDB write, by operation and item; the first write of each flaky event (per
    item) fails as throttled, before it reaches the server."""

    flaky_attributes: set[str]
    writes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    failed: set[tuple[str, str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        item = params.get("Key") or params["Item"]
        where = (model.name, text(item, PK), text(item, SK))
        attribute = params.get("ExpressionAttributeNames", {}).get("#ev")
        with self.lock:
            self.writes[where] += 1
            first = (where[1], where[2], attribute or "") not in self.failed
            if attribute in self.flaky_attributes and first:
                self.failed.add((where[1], where[2], attribute))
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "injected"}}, model.name
                )


def _normalised(table: str) -> list[str]:
    """The table's items with what differs between two equal runs taken out: the write tokens
    (random per write). Both runs' stores read one fixed clock, so every stamp made from it
    (expiry, the history index's bound) must agree."""
    items = []
    for item in scan(table):
        kept = dict(item)
        for name, entry in event_entries(item).items():
            kept[name] = EventEntry(entry.fingerprint, None, entry.canonical).encode()
        items.append(json.dumps(kept, sort_keys=True))
    return sorted(items)


def _run(
    messages: list[InboundMessage], flaky: set[str], executor: ThreadPoolExecutor | None
) -> tuple[list[RecordOutcome], list[str], Counter[tuple[str, str, str]]]:
    table = _fresh_table()
    calls = _Calls({event_attribute(dedupe_key(SOURCE, event_id)) for event_id in flaky})
    dynamodb = client("dynamodb")
    for operation in WRITES:
        dynamodb.meta.events.register(f"before-parameter-build.dynamodb.{operation}", calls)
    try:
        outcomes = ingest_batch(
            messages,
            DynamoEventStore(table, Retention(clock=lambda: ENQUEUED_AT)),
            future_tolerance=DEFAULT_FUTURE_TOLERANCE,
            may_start=never_late,
            executor=executor,
            workers=WORKERS,
        )
    finally:
        for operation in WRITES:
            dynamodb.meta.events.unregister(f"before-parameter-build.dynamodb.{operation}", calls)
    return outcomes, _normalised(table), calls.writes


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=batches(max_size=40))
def test_any_batch_in_parallel_on_unlocked_moto_ends_as_it_does_serially(
    unlocked_moto: str, pool: ThreadPoolExecutor, batch: tuple[list[InboundMessage], set[str]]
) -> None:
    del unlocked_moto
    messages, flaky = batch
    serial, serial_table, serial_writes = _run(messages, flaky, None)
    parallel, parallel_table, parallel_writes = _run(messages, flaky, pool)

    assert comparable(parallel) == comparable(serial)
    assert parallel_table == serial_table
    assert parallel_writes == serial_writes


# --- the handler, with workers ----------------------------------------------------------------


@pytest.fixture
def parallel_handler(process_events: Handler, monkeypatch: pytest.MonkeyPatch) -> Handler:
    """process_events with four workers (the local stack deploys one); settings are read on the
    handler's first invocation."""
    monkeypatch.setenv("INGEST_WORKERS", "4")
    return process_events


def _records(stack: LocalStack, *texts: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{position:02d}",
                "receiptHandle": "rh",
                "body": text,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1793610000000"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": stack.events_queue.arn,
            }
            for position, text in enumerate(texts)
        ]
    }


def test_failed_records_are_reported_in_batch_order(
    stack: LocalStack, parallel_handler: Handler
) -> None:
    texts = [body(sent(f"req-{n}")) for n in range(12)]
    flaky = {keys.request_sk(f"req-{n}") for n in (1, 4, 5, 10)}
    throttle("UpdateItem", lambda params: text(params["Key"], SK) in flaky)
    response = parallel_handler(_records(stack, *texts), LocalContext("process-events"))

    failed = [f"m-{n:02d}" for n in (1, 4, 5, 10)]
    assert response == {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}


@dataclass
class _Deadline(LocalContext):
    """A context with time for ``starts`` record starts, whichever thread asks."""

    starts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_remaining_time_in_millis(self) -> int:
        with self.lock:
            self.starts -= 1
            return 30_000 if self.starts >= 0 else 0


def test_with_workers_no_record_starts_after_the_reserve_and_none_is_lost(
    stack: LocalStack, parallel_handler: Handler
) -> None:
    texts = [body(sent(f"req-{n}")) for n in range(10)]
    event = _records(stack, *texts)
    response = parallel_handler(event, _Deadline("process-events", starts=6))

    failed = [entry["itemIdentifier"] for entry in response["batchItemFailures"]]
    assert len(failed) == 4
    assert failed == sorted(failed)  # in batch order
    stored = {
        request_id
        for n in range(10)
        if find(stack.table, request_key("m-sender", request_id := f"req-{n}"))
    }
    started = {
        json.loads(record["body"])["data"]["request_id"]
        for record in event["Records"]
        if record["messageId"] not in failed
    }
    assert stored == started  # what was not started left nothing behind


def test_with_workers_the_batch_logs_and_counts_once_with_its_request_id(
    stack: LocalStack, parallel_handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    service_logger = logging.getLogger("rapport")
    captured = io.StringIO()
    capture = logging.StreamHandler(captured)
    capture.setFormatter(service_logger.handlers[0].formatter)
    service_logger.addHandler(capture)
    context = LocalContext("process-events")
    texts = [body(sent(f"req-{n}")) for n in range(8)] + ["{broken"]
    try:
        parallel_handler(_records(stack, *texts), context)
    finally:
        service_logger.removeHandler(capture)

    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    (summary,) = [line for line in lines if line["message"] == "batch processed"]
    assert (summary["stored"], summary["quarantined"]) == (8, 1)
    assert {line["function_request_id"] for line in lines} == {context.aws_request_id}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    (flush,) = [entry for entry in emf if "EventsStored" in entry]
    assert (flush["EventsStored"], flush["EventsQuarantined"]) == ([8.0], [1.0])
