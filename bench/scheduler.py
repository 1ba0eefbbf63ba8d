"""scheduler_sqs_calls_per_member and its memory: one ``schedule_digests`` run over N due members.

``python -m bench.scheduler N`` (one fresh interpreter per size, so sizes cannot contaminate each
other) starts a moto server in a *separate process*, so the table and queue live outside the
process measured; deploys the template; seeds N due profiles with ``batch_write_item`` (the
attributes ``DynamoEventStore.apply_preferences`` writes); then imports the real handler, runs it
once with nobody due (clients, models and paginators loaded) and takes the peak RSS as the
baseline; runs it at ``now`` and reports the growth of the peak RSS (``VmHWM``, see
``_peak_rss_kib``) and the SQS requests counted with botocore hooks. SendMessageBatch requests
are built and signed by botocore, then answered in-process (every entry accepted) instead of by
moto: see ``_accept_batch``. Prints JSON.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from bench.common import ROOT, CallCounter, Context
from rapport.adapters.aws import client, reset_clients, session
from rapport.adapters.dynamodb.items import ProfileItem, string
from rapport.digest.schedule import all_due_shards, due_shard
from rapport.timeutil import iso_utc, sortable
from rapport_cli.local.stack import deploy
from rapport_cli.local.template import LogicalId

NOW = datetime(2026, 11, 16, 18, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(table: str, members: int) -> None:
    dynamodb = boto3.client("dynamodb")
    due = sortable(NOW - timedelta(hours=1))
    batch: list[dict[str, Any]] = []
    for index in range(members):
        member = f"s-{index:06d}"
        batch.append(
            {
                "PutRequest": {
                    "Item": ProfileItem(
                        member_id=member,
                        email=f"{member}@example.com",
                        timezone="UTC",
                        digest_day="monday",
                        digest_hour=8,
                        digest_enabled=True,
                        preferences_order=f"{due}#seed",
                        preferences_time=iso_utc(NOW - timedelta(days=30)),
                        next_due_at=due,
                        due_shard=due_shard(member),
                    ).encode()
                }
            }
        )
        if len(batch) == 25:
            request: dict[str, Any] = {table: batch}
            while request:
                request = dynamodb.batch_write_item(RequestItems=request)["UnprocessedItems"]
            batch = []
    if batch:
        dynamodb.batch_write_item(RequestItems={table: batch})


def _accept_batch(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
    """SQS accepting every entry, answered in-process after botocore has built the request.

    moto's SQS spends time proportional to the queue's length on every SendMessageBatch, which
    would make 10,000 members take longer than the whole suite may; what is measured here is how
    many requests the scheduler makes and its own memory, neither of which depends on who answers.
    """
    entries = json.loads(params["body"])["Entries"] if params.get("body") else []
    successful = [
        {"Id": entry["Id"], "MessageId": f"bench-{entry['Id']}", "MD5OfMessageBody": ""}
        for entry in entries
    ]
    return AWSResponse("https://sqs.bench", 200, {}, None), {"Successful": successful, "Failed": []}


def _one_page_bytes(table: str) -> int:
    """Peak Python allocation while fetching and parsing one full page of the due index."""
    tracemalloc.start()
    try:
        page = client("dynamodb").query(
            TableName=table,
            IndexName="DueIndex",
            KeyConditionExpression="due_shard = :shard AND next_due_at <= :now",
            ExpressionAttributeValues={
                ":shard": string(all_due_shards()[0]),
                ":now": string(sortable(NOW)),
            },
            Limit=500,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del page
    return int(peak)


def _peak_rss_kib() -> int:
    """This process's peak RSS. ``VmHWM`` belongs to the process's own address space, whereas
    Linux carries ``ru_maxrss`` over from the parent through fork and exec: a child of a large
    parent would report the parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # not Linux


def main(members: int) -> dict[str, Any]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        stack = deploy(boto3.session.Session(), "us-east-1", f"sched{members}")
        function = stack.functions[LogicalId.SCHEDULE_DIGESTS]
        _seed(stack.table, members)
        os.environ.update(function.environment)

        spec = importlib.util.spec_from_file_location(
            "bench_schedule_digests", ROOT / "functions" / "schedule_digests" / "app.py"
        )
        assert spec is not None
        assert spec.loader is not None
        app = importlib.util.module_from_spec(spec)
        reset_clients()
        counter = CallCounter()
        session().events.register("before-parameter-build", counter)
        session().events.register("before-call.sqs.SendMessageBatch", _accept_batch)
        logs = io.StringIO()
        with redirect_stdout(logs):
            spec.loader.exec_module(app)
            context = Context(function_name=LogicalId.SCHEDULE_DIGESTS)
            # Nobody is due a year earlier: loads clients, models and paginators, sends nothing.
            empty = app.lambda_handler(
                {"scheduled_time": iso_utc(NOW - timedelta(days=365))}, context
            )
            baseline = _peak_rss_kib()
            counter.calls.clear()
            started = time.perf_counter()
            result = app.lambda_handler({"scheduled_time": iso_utc(NOW)}, context)
            seconds = time.perf_counter() - started
        peak = _peak_rss_kib()
        page = _one_page_bytes(stack.table)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    sqs = counter.service("sqs:")
    return {
        "members": members,
        "enqueued": result["enqueued"],
        "warm_up_enqueued": empty["enqueued"],
        "sqs_calls": sqs,
        "dynamodb_calls": counter.service("dynamodb:"),
        "sqs_calls_per_member": sqs / result["enqueued"],
        "baseline_peak_rss_kib": baseline,
        "peak_rss_kib": peak,
        "peak_growth_kib": peak - baseline,
        "seconds": seconds,
        "one_page_peak_bytes": page,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
