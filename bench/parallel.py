"""Wall time per batch of process_events, serial against parallel, at a fixed DynamoDB latency.

The real handler and the real botocore client: every DynamoDB request is built, signed and
serialised by botocore, then answered in-process by a ``before-send`` hook that waits
``latency`` (a sleep, which releases the GIL as a socket wait does) and answers from
``FakeDynamoDB`` (conditional writes in a dict), with the status and JSON body DynamoDB would
send. So the figure holds botocore's CPU under the GIL, which bounds what threads can overlap,
and nothing of moto's. Each worker count gets a fresh container (store, recent-events cache,
pool) and a fresh table, on the same batches; the DynamoDB calls each run made are reported, so
the runs can be seen to have done the same work.

``python -m bench.parallel [STREAM.jsonl]`` prints one JSON line; ``batch_wall_ms`` is the
function another benchmark can call in its own process.
"""

# Imports inside functions are deliberate: each benchmark imports what it measures itself.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import (
    INGEST_STREAM,
    ROOT,
    Context,
    event_source_batch_size,
    function_environment,
    generate_stream,
    median,
    sqs_records,
)
from tests.support.fakes import FakeDynamoDB

LATENCY_S = 0.005
WORKER_COUNTS = (1, 8, 16)
#: 2 November 2026, after the generated streams end: ``sqs_records`` stamps 26 October, which
#: would quarantine the stream's last week as ``time_in_future`` (and measure quarantines).
_ENQUEUED_MS = 1_793_577_600_000
_CONDITION_FAILED = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"


class _Body:
    """The raw body botocore reads an answer from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class _SlowDynamoDB:
    """A ``before-send`` hook: the request answered by ``FakeDynamoDB`` after ``latency``."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.fake = FakeDynamoDB()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HeadersDict
        from botocore.exceptions import ClientError

        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).split(".")[-1]
        params = json.loads(request.body)
        time.sleep(self.latency)
        with self._lock:
            self.calls += 1
        method = {"UpdateItem": self.fake.update_item, "PutItem": self.fake.put_item}[operation]
        try:
            status, answer = 200, method(**params)
        except ClientError as error:
            status = 400
            answer = {"__type": _CONDITION_FAILED, "message": "The conditional request failed"}
            if "Item" in error.response:
                answer["Item"] = error.response["Item"]
        headers = HeadersDict(
            {"x-amzn-requestid": "bench", "content-type": "application/x-amz-json-1.0"}
        )
        return AWSResponse(request.url, status, headers, _Body(json.dumps(answer).encode()))


def _handler() -> ModuleType:
    import importlib.util

    path = ROOT / "functions" / "process_events" / "app.py"
    spec = importlib.util.spec_from_file_location("bench_parallel_process_events", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def batch_wall_ms(
    bodies: Sequence[str],
    workers: int,
    latency: float = LATENCY_S,
    batch_size: int = 100,
) -> dict[str, Any]:
    """Median wall time per batch of ``batch_size`` through process_events with ``workers``,
    every DynamoDB call taking ``latency``; and the DynamoDB calls the run made. Changes this
    process's environment and stdout (the handler's logs and metrics go to /dev/null)."""
    os.environ.update(function_environment("process_events"))
    os.environ.update(
        {
            "INGEST_WORKERS": str(workers),
            "AWS_ENDPOINT_URL": "http://dynamodb.bench.invalid",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    from rapport.adapters.aws import reset_clients, session
    from rapport_cli.local.template import LogicalId

    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    reset_clients()
    slow = _SlowDynamoDB(latency)
    session().events.register("before-send.dynamodb", slow)
    app = _handler()  # a new container: its own store, cache and pool
    context = Context(function_name=LogicalId.PROCESS_EVENTS)
    walls: list[float] = []
    for event in sqs_records(bodies, batch_size):
        for record in event["Records"]:  # enqueued after the stream's last event, not before
            record["attributes"]["SentTimestamp"] = str(_ENQUEUED_MS)
        started = time.perf_counter()
        response = app.lambda_handler(event, context)
        walls.append((time.perf_counter() - started) * 1000)
        assert not response["batchItemFailures"], response
    reset_clients()
    return {"batch_wall_ms": round(median(walls), 1), "dynamodb_calls": slow.calls}


def main() -> None:
    if len(sys.argv) > 1:
        bodies = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
    else:
        with tempfile.TemporaryDirectory() as work:
            stream = generate_stream(Path(work) / "ingest.jsonl", **INGEST_STREAM)  # type: ignore[arg-type]
            bodies = stream.path.read_text(encoding="utf-8").splitlines()
    out = sys.stdout
    batch_size = event_source_batch_size("process_events")
    runs = {str(n): batch_wall_ms(bodies, n, batch_size=batch_size) for n in WORKER_COUNTS}
    result = {
        "latency_ms": LATENCY_S * 1000,
        "batch_size": batch_size,
        "messages": len(bodies),
        "runs": runs,
        "speedup": {
            workers: round(runs["1"]["batch_wall_ms"] / run["batch_wall_ms"], 2)
            for workers, run in runs.items()
        },
    }
    print(json.dumps(result), file=out)


if __name__ == "__main__":
    main()
