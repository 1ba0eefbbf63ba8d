"""Digests: read capacity of one member's digest alone and beside 100x other members' data, and
the time to build and render one digest for a member with 500 requests in the week.

Reads: the member's events (from the ingest stream) are stored with the real ``ingest`` and
``DynamoEventStore`` in a fresh table; a second table gets the same plus 100 copies of that
member's items under other member ids of the same length (so exactly 100x the bytes). The real
``send_digest`` handler then sends the member's digest from each table. Read capacity is computed
from what each read returned with DynamoDB's documented sizing (item size = attribute names plus
values; 4 KB units per GetItem item or per Query page; strongly consistent = 1 unit, eventually
consistent = 0.5), because moto reports a fixed ``ConsumedCapacity`` whatever the size.

History: the same member's digest from a table that also holds 100, and one that holds 5,000, of
their requests older than the digest's windows, written with the real store at the time they
happened (its clock injected: that is when such requests were written). The email sent from
each (unsubscribe links aside, which carry each stack's key) must be the same.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import boto3

from bench.common import median, sqs_records
from rapport.adapters.aws import reset_clients, session
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import (
    DigestItem,
    ProfileItem,
    digest_key,
    item_size,
    profile_key,
    string,
)
from rapport.adapters.dynamodb.retention import Retention
from rapport.contract import (
    EventModel,
    RequestAccepted,
    RequestDeclined,
    RequestEvent,
    RequestSent,
    RequestWithdrawn,
    envelope,
)
from rapport.digest.insights import build_insights, earliest_needed
from rapport.digest.jobs import DigestJob
from rapport.digest.render import render_digest
from rapport.digest.schedule import last_complete_week
from rapport.ingest import InboundMessage, ingest
from rapport.validation import validate_document
from rapport_cli.local.lambda_runtime import FunctionHost
from rapport_cli.local.server import moto_server, sent_raw_messages
from rapport_cli.local.stack import deploy
from rapport_cli.local.template import LogicalId

MEMBER = "m-000001"
COPIES = 100
HISTORY_SIZES = (100, 5_000)
#: How far back the older requests reach, ending a few days before the digest's windows.
HISTORY_SPAN = timedelta(days=300)
#: The older requests are kept longer than the default 400 days, so all of them are still live
#: (read and paid for by a whole-partition read) whenever the bench runs.
HISTORY_RETENTION = timedelta(days=3650)
RENDER_REQUESTS = 500
RENDER_REPETITIONS = 5


class ReadCapacity:
    """Read capacity units of every DynamoDB read, from botocore's hooks."""

    def __init__(self) -> None:
        self.units = 0.0
        self.items_read = 0
        self.bytes_read = 0
        self.calls: dict[str, int] = {}
        self._consistent: list[bool] = []

    def attach(self) -> ReadCapacity:
        events = session().events
        events.register("before-parameter-build.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)
        return self

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self._consistent.append(bool(params.get("ConsistentRead")))

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consistent = self._consistent.pop() if self._consistent else False
        per_unit = 1.0 if consistent else 0.5
        if model.name == "GetItem":
            items = [parsed["Item"]] if "Item" in parsed else []
            sizes = [math.ceil(item_size(item) / 4096) or 1 for item in items] or [1]
            units = sum(sizes) * per_unit
        elif model.name == "Query":
            items = parsed.get("Items", [])
            units = max(1, math.ceil(sum(item_size(item) for item in items) / 4096)) * per_unit
        else:
            return
        self.calls[model.name] = self.calls.get(model.name, 0) + 1
        self.units += units
        self.items_read += len(items)
        self.bytes_read += sum(item_size(item) for item in items)


def _member_lines(stream: Path) -> list[str]:
    return [
        line for line in stream.read_text(encoding="utf-8").splitlines() if f'"{MEMBER}"' in line
    ]


def _clone_items(dynamodb: Any, source_table: str, target_table: str) -> int:
    """Write ``COPIES`` copies of the member's items under other ids of the same length."""
    items = dynamodb.query(
        TableName=source_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": string(keys.member_pk(MEMBER))},
    )["Items"]
    text = json.dumps(items)
    written = 0
    for copy in range(1, COPIES + 1):
        other = f"c{copy:03d}0001"  # same length as the member id: the same bytes per item
        assert len(other) == len(MEMBER)
        clones = json.loads(text.replace(MEMBER, other))
        for start in range(0, len(clones), 25):
            request = {
                target_table: [
                    {"PutRequest": {"Item": item}} for item in clones[start : start + 25]
                ]
            }
            while request:
                request = dynamodb.batch_write_item(RequestItems=request)["UnprocessedItems"]
        written += len(clones)
    return written


def _fixed(instant: datetime) -> datetime:
    return instant


def _write_history(table: str, count: int, until: datetime) -> None:
    """``count`` requests of the member, all their events before ``until``, each written with
    the real store as it would have been when it happened (enqueue and write clocks a minute
    after the event), two in three answered within a day."""
    step = HISTORY_SPAN / count
    start = until - timedelta(days=3) - HISTORY_SPAN
    for index in range(count):
        sent_at = start + step * index
        ref = {"request_id": f"old-{index:05d}", "sender_id": MEMBER}
        documents: list[tuple[EventModel, datetime, dict[str, Any]]] = [
            (RequestSent, sent_at, {**ref, "recipient": {"member_id": f"p-{index}"}, "note": None})
        ]
        if index % 3:
            answer: EventModel = RequestAccepted if index % 3 == 1 else RequestDeclined
            documents.append((answer, sent_at + timedelta(hours=index % 24), ref))
        for model, at, data in documents:
            written = at + timedelta(minutes=1)
            store = DynamoEventStore(table, Retention(HISTORY_RETENTION, partial(_fixed, written)))
            line = json.dumps(
                envelope(
                    model,
                    event_id=f"{model.event_type()}-old-{index}",
                    source="https://platform.example/connections",
                    time=at.isoformat(),
                    data=data,
                )
            )
            ingest(InboundMessage(f"old-{index}", line, written), store)


def _sent_email(endpoint: str, table: str, job: DigestJob) -> str:
    """The text and HTML parts of the email sent for ``job``, unsubscribe links masked."""
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName=table, Key=digest_key(MEMBER, job.week_start))["Item"]
    record = DigestItem.decode(item).record
    assert record is not None, "the digest was recorded as sent"
    raw = sent_raw_messages(endpoint)[record["message_id"]]
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    parts = [
        str(part.get_content())
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    ]
    return re.sub(r"https?://[^\s\"'<>]*token=[^\s\"'<>&]+", "<unsubscribe>", "\n".join(parts))


def _digest_reads(
    stack: Any,
    lines: list[str],
    now: datetime,
    clone_from: str | None,
    older_requests: int = 0,
) -> dict[str, Any]:
    table = stack.table
    dynamodb = boto3.client("dynamodb")
    reset_clients()
    store = DynamoEventStore(table)
    for index, line in enumerate(lines):
        ingest(InboundMessage(f"bench-{index}", line, now), store)
    others = _clone_items(dynamodb, clone_from, table) if clone_from else 0
    profile = ProfileItem.decode(
        dynamodb.get_item(TableName=table, Key=profile_key(MEMBER))["Item"]
    )
    job = DigestJob(
        member_id=MEMBER, week_start=last_complete_week(now, profile.timezone), as_of=now
    )
    if older_requests:
        _write_history(table, older_requests, earliest_needed(job.week_start, profile.timezone))
    host = FunctionHost(stack.functions, io.StringIO())
    reset_clients()
    capacity = ReadCapacity().attach()
    (event,) = sqs_records([job.to_message()], batch_size=1)
    response = host.invoke(LogicalId.SEND_DIGEST, event)
    if response["batchItemFailures"]:
        raise RuntimeError(f"the digest was not sent: {response}")
    reset_clients()
    partition = ReadCapacity().attach()
    partition_requests = len(DynamoDigestStore(table).member_requests(MEMBER))
    table_items = sum(
        page["Count"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
    )
    return {
        "read_capacity_units": capacity.units,
        "items_read": capacity.items_read,
        "bytes_read": capacity.bytes_read,
        "read_calls": capacity.calls,
        "items_in_table": table_items,
        "other_members_items": others,
        "older_requests": older_requests,
        "whole_partition_read": {
            "read_capacity_units": partition.units,
            "query_pages": partition.calls.get("Query", 0),
            "requests": partition_requests,
        },
        "job": job,
    }


def measure_reads(stream: Path, now: datetime) -> dict[str, Any]:
    lines = _member_lines(stream)
    with moto_server():
        region = "us-east-1"
        alone_stack = deploy(boto3.session.Session(), region, f"alone{uuid.uuid4().hex[:6]}")
        alone = _digest_reads(alone_stack, lines, now, None)
        crowded_stack = deploy(boto3.session.Session(), region, f"crowd{uuid.uuid4().hex[:6]}")
        crowded = _digest_reads(crowded_stack, lines, now, clone_from=alone_stack.table)
    for run in (alone, crowded):
        del run["job"]
    return {
        "member": MEMBER,
        "member_events": len(lines),
        "alone": alone,
        "with_100x_others": crowded,
        "ratio": crowded["read_capacity_units"] / alone["read_capacity_units"],
    }


def measure_history_reads(stream: Path, now: datetime) -> dict[str, Any]:
    """The member's digest beside 100 and beside 5,000 of their requests older than its windows:
    read capacity of each, and whether the two emails are the same."""
    lines = _member_lines(stream)
    runs: dict[str, dict[str, Any]] = {}
    emails: list[str] = []
    with moto_server() as endpoint:
        for size in HISTORY_SIZES:
            stack = deploy(boto3.session.Session(), "us-east-1", f"hist{uuid.uuid4().hex[:6]}")
            run = _digest_reads(stack, lines, now, None, older_requests=size)
            emails.append(_sent_email(endpoint, stack.table, run.pop("job")))
            runs[f"older_{size}"] = run
    small, large = (runs[f"older_{size}"] for size in HISTORY_SIZES)
    return {
        "member": MEMBER,
        "member_events": len(lines),
        **runs,
        "same_email": len(set(emails)) == 1,
        "email_sha256": hashlib.sha256(emails[0].encode()).hexdigest(),
        "ratio": large["read_capacity_units"] / small["read_capacity_units"],
        "whole_partition_ratio": (
            large["whole_partition_read"]["read_capacity_units"]
            / small["whole_partition_read"]["read_capacity_units"]
        ),
    }


_NOTES = (
    "I only connect with people I've met in person or virtually.",
    "Sorry, I don't accept requests from recruiters.",
    "Have we met? I don't recognise your name.",
    "Not my field, good luck!",
    None,
)


def _week_of_requests(week_start: datetime, rng: random.Random) -> list[list[RequestEvent]]:
    requests: list[list[RequestEvent]] = []
    for index in range(RENDER_REQUESTS):
        sent_at = week_start + timedelta(minutes=17 * index)
        ref = {"request_id": f"req-{index:05d}", "sender_id": "m-render"}

        def event(
            model: EventModel, at: datetime, data: dict[str, Any], number: int = index
        ) -> RequestEvent:
            document = envelope(
                model,
                event_id=f"{model.event_type()}-{number}",
                source="https://platform.example/connections",
                time=at.isoformat(),
                data=data,
            )
            parsed = validate_document(document)
            assert not isinstance(parsed, type(None))
            return parsed  # type: ignore[return-value]

        events = [
            event(
                RequestSent,
                sent_at,
                {
                    **ref,
                    "recipient": {"member_id": f"p-{index}", "headline": "Engineer"},
                    "note": rng.choice((None, "Loved your talk at the PMP chapter meetup")),
                    "context": {
                        "mutual_connections": rng.randint(0, 12),
                        "shared_groups": rng.choice(([], ["PMI Chapter"])),
                    },
                },
            )
        ]
        roll = rng.random()
        answered = sent_at + timedelta(hours=rng.randint(1, 40))
        if roll < 0.3:
            events.append(event(RequestAccepted, answered, ref))
        elif roll < 0.7:
            events.append(event(RequestDeclined, answered, {**ref, "note": rng.choice(_NOTES)}))
        elif roll < 0.8:
            events.append(event(RequestWithdrawn, answered, ref))
        requests.append(events)
    return requests


def measure_render() -> dict[str, Any]:
    rng = random.Random(500)
    week_start_date = datetime(2026, 11, 9, tzinfo=UTC)
    requests = _week_of_requests(week_start_date, rng)
    as_of = week_start_date + timedelta(days=7, hours=9)

    def once() -> float:
        started = time.perf_counter()
        insights = build_insights(
            "m-render", requests, week_start_date.date(), "UTC", as_of, first_digest=False
        )
        render_digest(insights, "UTC", "https://unsubscribe.example/?token=t")
        return time.perf_counter() - started

    once()  # warm up: templates compiled, classifier rules loaded
    times = [once() for _ in range(RENDER_REPETITIONS)]
    return {
        "requests_in_week": RENDER_REQUESTS,
        "repetitions": RENDER_REPETITIONS,
        "median_ms": median(times) * 1000,
    }
