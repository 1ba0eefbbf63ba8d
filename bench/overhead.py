"""handler_overhead_ratio: CPU time of ``process_events`` per event, with DynamoDB replaced by an
in-process fake, over the CPU time of validating the same bodies with the pydantic models alone.
Information only since issue 18 retired its target (the fake leaves the AWS SDK out; bench/peer.py
counts it).

Run in a fresh interpreter by ``bench.run`` (``python -m bench.overhead STREAM [BATCH_SIZE]``,
by default the event source's ``BatchSize`` in infra/template.yaml); prints JSON.

The handler runs exactly as Lambda runs it: SQS event-source batches through
``lambda_handler`` (Powertools batch processing, structured logs and EMF metrics written to
/dev/null, as Lambda writes them to its log pipe), the real ``DynamoEventStore`` building every
request, and only the DynamoDB client swapped for ``FakeDynamoDB`` (conditional writes in a dict;
``tests.support.fakes``, where the port contract tests keep it honest).
Each repetition starts a new container's state (empty table, empty recent-events cache); handler
and floor passes alternate, and the medians are compared, so machine load affects both alike.
"""

# Imports inside functions are deliberate: each benchmark imports what it measures itself.
# ruff: noqa: PLC0415

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from bench.common import (
    ROOT,
    Context,
    event_source_batch_size,
    function_environment,
    median,
    sqs_records,
)
from rapport_cli.local.template import LogicalId
from tests.support.fakes import FakeDynamoDB

REPETITIONS = 9


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_process_events", ROOT / "functions" / "process_events" / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    bodies = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
    os.environ.update(function_environment("process_events"))
    result_stream = sys.stdout
    # Powertools binds its handlers to sys.stdout when the logger is made: logs and EMF go here.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    app = load_handler()

    from rapport.adapters.dynamodb import event_store, quarantine
    from rapport.contract import EVENT_MODELS

    fake = FakeDynamoDB()
    # The store's only ways out to AWS: every DynamoDB request goes to the fake instead.
    for module in (event_store, quarantine):
        setattr(module, "client", lambda _service: fake)  # noqa: B010
    batch_size = (
        int(sys.argv[2]) if len(sys.argv) > 2 else event_source_batch_size("process_events")
    )
    batches = list(sqs_records(bodies, batch_size))
    models = [EVENT_MODELS[json.loads(body)["type"]] for body in bodies]
    context = Context(function_name=LogicalId.PROCESS_EVENTS)

    from rapport.adapters.dynamodb.event_store import DynamoEventStore
    from rapport.ingest import InboundMessage, _apply, ingest
    from rapport.ingest.ports import StoredEvent
    from rapport.validation import parse_event

    enqueued_at = datetime(2026, 11, 1, tzinfo=UTC)

    def handler_pass() -> None:
        nonlocal fake
        fake = FakeDynamoDB()
        app._processor.cache_clear()  # a new container: empty recent-events cache
        for event in batches:
            response = app.lambda_handler(event, context)
            assert not response["batchItemFailures"], response

    def floor_pass() -> None:
        for model, body in zip(models, bodies, strict=True):
            model.model_validate_json(body)

    # The handler's work built up stage by stage, each stage a whole pass over the events, so
    # the table in docs/performance.md can say where the time above the floor goes.
    def parse_pass() -> None:
        for body in bodies:
            parse_event(body)

    def fingerprint_pass() -> None:
        for body in bodies:
            StoredEvent.of(parse_event(body))

    def store_pass() -> None:
        nonlocal fake
        fake = FakeDynamoDB()
        store = DynamoEventStore("bench-table")
        for body in bodies:
            _apply(store, StoredEvent.of(parse_event(body)))

    def ingest_pass() -> None:
        nonlocal fake
        fake = FakeDynamoDB()
        store = DynamoEventStore("bench-table")
        for number, body in enumerate(bodies):
            ingest(InboundMessage(str(number), body, enqueued_at), store)

    passes = {
        "floor": floor_pass,
        "parse_event": parse_pass,
        "plus_fingerprint": fingerprint_pass,
        "plus_store_and_fake": store_pass,
        "ingest": ingest_pass,
        "handler": handler_pass,
    }
    for warm_up in passes.values():  # first-use imports, store, models' caches
        warm_up()
    times: dict[str, list[float]] = {name: [] for name in passes}
    order = list(passes)
    for _ in range(REPETITIONS):
        order = order[1:] + order[:1]  # each pass runs in every position: load hits all alike
        for name in order:
            started = time.process_time()
            passes[name]()
            times[name].append(time.process_time() - started)
    per_event = {name: median(values) / len(bodies) * 1e6 for name, values in times.items()}
    handler, floor = per_event["handler"], per_event["floor"]
    result = {
        "events": len(bodies),
        "batch_size": batch_size,
        "repetitions": REPETITIONS,
        "handler_us_per_event": handler,
        "floor_us_per_event": floor,
        "ratio": handler / floor,
        "stages_us_per_event": per_event,
        "fake_writes_last_pass": fake.writes,
    }
    print(json.dumps(result), file=result_stream)


if __name__ == "__main__":
    main()
