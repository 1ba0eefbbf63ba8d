"""Ingest: DynamoDB requests per stored event, and events per second through ``rapport run``.

The stream comes from the project's generator (fixed seed) with 10% of events delivered twice and
10% displaced up to five lines later. It goes through ``rapport_cli.local.runner.run``: a moto
server, the template's queues and table, the real ``process_events`` handler under SQS
event-source semantics. Calls are counted with botocore ``before-call`` hooks on the session
every client comes from (``CallLog``), per function; ``stored`` is the number of distinct events
in the table at the end (ground truth, not the handler's word).

The local runtime is one container, so every redelivery reaches the container that stored the
original and is answered by its recent-events cache. The second run disables that cache
(``RecentEvents(capacity=0)``): every redelivery then costs one failed conditional write, which
is what a redelivery to another container costs in AWS. That is the worst case.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rapport.adapters.dynamodb.event_store as event_store
from bench.common import Stream
from rapport.adapters.dynamodb.recent_events import RecentEvents
from rapport_cli.local.call_log import DYNAMODB_WRITES
from rapport_cli.local.runner import run
from rapport_cli.local.template import LogicalId

DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


@contextlib.contextmanager
def recent_events_capacity(capacity: int) -> Iterator[None]:
    """Stores made inside the block get a recent-events cache of ``capacity`` entries."""
    original = vars(event_store)["RecentEvents"]
    # The store builds its cache with ``RecentEvents()``: give it one of this capacity instead.
    setattr(event_store, "RecentEvents", functools.partial(RecentEvents, capacity))  # noqa: B010
    try:
        yield
    finally:
        setattr(event_store, "RecentEvents", original)  # noqa: B010


def _check_zero_capacity_cache() -> None:
    cache = RecentEvents(capacity=0)
    cache.remember("k", "f")
    if cache.fingerprint("k") is not None:
        raise AssertionError("RecentEvents(capacity=0) still remembers events")


def _one_run(stream: Stream, out_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    report = run([stream.path], out_dir)
    elapsed = time.perf_counter() - started
    calls = report.function_calls.get(LogicalId.PROCESS_EVENTS, {})
    by_operation = {
        action.split(":", 1)[1]: count
        for action, count in calls.items()
        if action.startswith("dynamodb:")
    }
    writes = sum(count for name, count in by_operation.items() if name in DYNAMODB_WRITES)
    reads = sum(count for name, count in by_operation.items() if name in DYNAMODB_READS)
    summary = report.summary
    return {
        "summary": summary.as_dict(),
        "dynamodb_calls": by_operation,
        "writes": writes,
        "reads": reads,
        "writes_per_stored_event": writes / summary.stored,
        "reads_per_event": reads / summary.received,
        "seconds": elapsed,
        "events_per_second": summary.received / elapsed,
    }


def measure(stream: Stream) -> dict[str, Any]:
    _check_zero_capacity_cache()
    with tempfile.TemporaryDirectory(prefix="rapport-bench-ingest-") as out:
        measured = _one_run(stream, Path(out) / "cached")
        with recent_events_capacity(0):
            uncached = _one_run(stream, Path(out) / "uncached")
    return {
        "stream": {
            "lines": stream.lines,
            "events": stream.events,
            "duplicates": stream.duplicates,
            "reordered": stream.reordered,
        },
        "measured": measured,
        "cache_disabled": uncached,
    }
