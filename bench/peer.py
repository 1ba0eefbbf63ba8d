"""Rapport's ``process_events`` against the peer design, through the real botocore client.

The peer is what a competent engineer would write with the standard kit: Powertools'
``BatchProcessor`` (SQS) and ``process_partial_response``, the contract's pydantic models
(one discriminated ``TypeAdapter``), ``idempotent_function`` with ``DynamoDBPersistenceLayer``
keyed on the event id, and one ``PutItem`` of the validated event. Its idempotency record claims
the id with a conditional ``PutItem``, then saves the result with an ``UpdateItem``.

Both handlers get the same SQS event-source batches of the same bodies, in one interpreter, with
passes taking turns; both talk to DynamoDB through real botocore clients whose HTTP round trip is
answered in-process (``bench.transport``), so the SDK's CPU is in both figures. Each pass starts
a new container's state (empty tables, empty recent-events cache). Three measurements:

- writes per stored event: DynamoDB write requests of one pass ÷ distinct events stored;
- CPU per event (``time.process_time``, every thread), median of the repetitions, with and
  without the CPU the in-process DynamoDB spends answering (Lambda does not bill that part);
- wall time per batch (``time.perf_counter``) with ``--latency-ms`` slept per DynamoDB call,
  over the first ``--wall-batches`` batches of each pass, median over batches and repetitions.

``python -m bench.peer STREAM [--batch-size N] [--repetitions N] [--latency-ms MS]
[--wall-batches N] [--wall-repetitions N]``; prints JSON. ``--repetitions 0`` counts writes only.
"""

# Imports inside functions are deliberate: each benchmark imports what it measures itself.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    REGION,
    Context,
    event_source_batch_size,
    function_environment,
    median,
    sqs_records,
)
from bench.overhead import load_handler
from bench.transport import InProcessDynamoDB
from rapport_cli.local.template import LogicalId

#: The peer's tables: one for the events it stores, one for Powertools' idempotency records.
PEER_EVENTS_TABLE = "bench-peer-events"
PEER_IDEMPOTENCY_TABLE = "bench-peer-idempotency"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def peer_handler(dynamodb: Any) -> Handler:
    """The peer design's ``lambda_handler``, on ``dynamodb`` (a botocore DynamoDB client)."""
    from typing import Annotated

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from boto3.dynamodb.types import TypeSerializer
    from pydantic import Field, TypeAdapter

    from rapport.contract import RapportEvent

    logger = Logger(service="peer")
    metrics = Metrics(namespace="Peer", service="peer")
    processor = BatchProcessor(event_type=EventType.SQS)
    events: TypeAdapter[RapportEvent] = TypeAdapter(
        Annotated[RapportEvent, Field(discriminator="type")]
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=PEER_IDEMPOTENCY_TABLE, boto3_client=dynamodb, key_attr="pk", sort_key_attr="sk"
    )
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=3600)
    serializer = TypeSerializer()

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="event", config=config, persistence_store=persistence
    )
    def store(event: RapportEvent) -> dict[str, str]:
        item = {"pk": event.id, "sk": event.type, "event": event.model_dump_json()}
        dynamodb.put_item(
            TableName=PEER_EVENTS_TABLE,
            Item={name: serializer.serialize(value) for name, value in item.items()},
        )
        return {"id": event.id}

    def record_handler(record: SQSRecord) -> None:
        store(event=events.validate_json(record.body))

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config.register_lambda_context(context)
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        metrics.add_metric(
            name="EventsProcessed", unit=MetricUnit.Count, value=len(event["Records"])
        )
        return dict(response)

    return lambda_handler


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stream", type=Path)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--wall-batches", type=int, default=3)
    parser.add_argument("--wall-repetitions", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    bodies = args.stream.read_text(encoding="utf-8").splitlines()
    os.environ.update(function_environment("process_events"))
    # Requests are signed as in AWS: with placeholder credentials, never looked up elsewhere.
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    result_stream = sys.stdout
    # Powertools binds its handlers to sys.stdout when the logger is made: logs and EMF go here.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115

    import boto3

    from rapport.adapters.aws import client
    from rapport.ingest.ports import StoredEvent
    from rapport.validation import parse_event

    transport = InProcessDynamoDB()
    transport.attach(client("dynamodb"))  # the client Rapport's store uses
    app = load_handler()
    peer = peer_handler(transport.attach(boto3.client("dynamodb", region_name=REGION)))
    batch_size = args.batch_size or event_source_batch_size("process_events")
    batches = list(sqs_records(bodies, batch_size))
    context = Context(function_name=LogicalId.PROCESS_EVENTS)
    distinct = len({StoredEvent.of(parse_event(body)).key for body in bodies})

    def rapport_batch(event: dict[str, Any]) -> dict[str, Any]:
        return app.lambda_handler(event, context)  # type: ignore[no-any-return]

    def peer_batch(event: dict[str, Any]) -> dict[str, Any]:
        return peer(event, context)

    def new_container() -> None:
        transport.reset()
        app._processor.cache_clear()  # empty recent-events cache

    def run(handle: Callable[[dict[str, Any]], dict[str, Any]], count: int) -> list[float]:
        """One pass from a new container's state; the wall time of each batch."""
        new_container()
        walls = []
        for event in batches[:count]:
            started = time.perf_counter()
            response = handle(event)
            walls.append(time.perf_counter() - started)
            assert not response["batchItemFailures"], response
        return walls

    designs = {"rapport": rapport_batch, "peer": peer_batch}
    writes: dict[str, dict[str, Any]] = {}
    for name, handle in designs.items():  # also the warm-up: imports, models, clients
        run(handle, len(batches))
        stored = len(transport.tables[PEER_EVENTS_TABLE].items) if name == "peer" else distinct
        writes[name] = {
            "calls": dict(transport.calls),
            "writes": transport.writes,
            "stored_events": stored,
            "writes_per_stored_event": transport.writes / stored,
        }
    assert writes["peer"]["stored_events"] == distinct, writes

    cpu: dict[str, list[float]] = {name: [] for name in designs}
    answering: dict[str, list[float]] = {name: [] for name in designs}
    order = list(designs)
    for _ in range(args.repetitions):
        order.reverse()  # each design runs first as often as the other: load hits both alike
        for name in order:
            started = time.process_time()
            run(designs[name], len(batches))
            cpu[name].append(time.process_time() - started)
            answering[name].append(transport.answer_cpu_seconds)

    walls: dict[str, list[float]] = {name: [] for name in designs}
    transport.latency_seconds = args.latency_ms / 1000
    for _ in range(args.wall_repetitions if args.repetitions else 0):
        order.reverse()
        for name in order:
            walls[name].extend(run(designs[name], args.wall_batches))
    transport.latency_seconds = 0.0

    result: dict[str, Any] = {
        "messages": len(bodies),
        "distinct_events": distinct,
        "batch_size": batch_size,
        "repetitions": args.repetitions,
        "writes": writes,
    }
    if args.repetitions:
        us = {name: median(values) / len(bodies) * 1e6 for name, values in cpu.items()}
        client_us = {
            name: median(
                [total - answer for total, answer in zip(values, answering[name], strict=True)]
            )
            / len(bodies)
            * 1e6
            for name, values in cpu.items()
        }
        wall_ms = {name: median(values) * 1000 for name, values in walls.items()}
        result |= {
            "cpu_us_per_event": us,
            "client_cpu_us_per_event": client_us,
            "cpu_ratio": client_us["peer"] / client_us["rapport"],
            "cpu_ratio_with_answering": us["peer"] / us["rapport"],
            "latency_ms": args.latency_ms,
            "wall_batches": args.wall_batches,
            "wall_repetitions": args.wall_repetitions,
            "batch_wall_ms": wall_ms,
            "wall_ratio": wall_ms["peer"] / wall_ms["rapport"],
        }
    print(json.dumps(result), file=result_stream)


if __name__ == "__main__":
    main()
