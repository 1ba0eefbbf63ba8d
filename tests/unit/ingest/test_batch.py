"""A batch's writes in parallel give exactly what the serial path gives (``rapport.ingest.batch``).

Against the in-memory store: the same outcome for every record, the same table, the same calls
per record, whatever the batch holds; repeats settled before any call; no record started once
time is up, and every unstarted record reported rather than lost.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from rapport.ingest import DEFAULT_FUTURE_TOLERANCE, Disposition, InboundMessage, IngestResult
from rapport.ingest.batch import RecordOutcome, ingest_batch
from rapport.ingest.ports import QuarantineEntry, StoredEvent, WriteOutcome
from tests.support.batches import (
    ENQUEUED_AT,
    InjectedTransientError,
    batches,
    comparable,
    never_late,
)
from tests.support.events import T0, answer, body, sent
from tests.support.examples import examples
from tests.support.fakes import MemoryEventStore

WORKERS = 8


class CountingStore(MemoryEventStore):
    """The in-memory store, counting calls by event (or quarantined message); the first write of
    each flaky event fails as a throttled one would. Checks that no two calls for one item are
    ever in flight at once: the store may not be relied on to serialise them."""

    def __init__(self, flaky: frozenset[str] | set[str] = frozenset()) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()  # by event id or quarantined message
        self._flaky = flaky
        self._failed: set[tuple[tuple[str, ...], str]] = set()
        self._lock = threading.Lock()
        self._in_flight: set[tuple[str, ...]] = set()
        self.overlaps = 0

    def _enter(self, item: tuple[str, ...], name: str) -> None:
        with self._lock:
            self.calls[name] += 1
            if item in self._in_flight:
                self.overlaps += 1
            self._in_flight.add(item)
            # Per item: one id may name events of two items (two members' "p-same").
            first_of_flaky = name in self._flaky and (item, name) not in self._failed
            self._failed.add((item, name))
        os.sched_yield()  # let another worker run while this item's call is in flight
        if first_of_flaky:
            self._leave(item)
            raise InjectedTransientError(name)

    def _leave(self, item: tuple[str, ...]) -> None:
        with self._lock:
            self._in_flight.discard(item)

    def apply_request_event(self, stored: StoredEvent) -> WriteOutcome:
        data = stored.event.data
        item = ("request", data.sender_id, data.request_id)  # type: ignore[union-attr]
        self._enter(item, stored.event.id)
        try:
            return super().apply_request_event(stored)
        finally:
            self._leave(item)

    def apply_preferences(
        self, stored: StoredEvent, next_digest_due: datetime | None
    ) -> WriteOutcome:
        item = ("member", stored.event.data.member_id)  # type: ignore[union-attr]
        self._enter(item, stored.event.id)
        try:
            return super().apply_preferences(stored, next_digest_due)
        finally:
            self._leave(item)

    def quarantine(self, entry: QuarantineEntry) -> None:
        item = ("quarantine", entry.message_id)
        self._enter(item, f"quarantine:{entry.message_id}")
        try:
            super().quarantine(entry)
        finally:
            self._leave(item)


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    """The workers, switching threads every microsecond rather than every 5 ms, so that two
    calls for one item would overlap if the batch ever let them."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    with ThreadPoolExecutor(WORKERS) as executor:
        yield executor
    sys.setswitchinterval(interval)


def _run(
    messages: list[InboundMessage],
    flaky: set[str],
    executor: ThreadPoolExecutor | None,
) -> tuple[list[RecordOutcome], CountingStore]:
    store = CountingStore(flaky)
    outcomes = ingest_batch(
        messages,
        store,
        future_tolerance=DEFAULT_FUTURE_TOLERANCE,
        may_start=never_late,
        executor=executor,
        workers=WORKERS,
    )
    return outcomes, store


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batch=batches())
def test_any_batch_in_parallel_ends_exactly_as_it_does_serially(
    pool: ThreadPoolExecutor, batch: tuple[list[InboundMessage], set[str]]
) -> None:
    messages, flaky = batch
    serial, serial_store = _run(messages, flaky, None)
    parallel, parallel_store = _run(messages, flaky, pool)

    assert comparable(parallel) == comparable(serial)
    assert all(outcome is not None for outcome in parallel)  # nothing left unstarted
    assert parallel_store.table == serial_store.table
    assert parallel_store.calls == serial_store.calls
    assert parallel_store.overlaps == 0


def _messages(*texts: str) -> list[InboundMessage]:
    return [InboundMessage(f"msg-{n}", text, ENQUEUED_AT) for n, text in enumerate(texts)]


def test_repeats_in_a_batch_are_duplicates_without_a_call(pool: ThreadPoolExecutor) -> None:
    decline = body(answer("declined", note="Not now"))
    messages = _messages(body(sent()), decline, body(sent()), decline, body(sent()))
    outcomes, store = _run(messages, set(), pool)

    assert [o.disposition for o in outcomes if isinstance(o, IngestResult)] == [
        Disposition.STORED,
        Disposition.STORED,
        Disposition.DUPLICATE,
        Disposition.DUPLICATE,
        Disposition.DUPLICATE,
    ]
    assert store.calls == Counter({"sent-m-sender-req-1": 1, "declined-m-sender-req-1": 1})


def test_a_repeat_of_a_record_that_failed_is_tried_again(pool: ThreadPoolExecutor) -> None:
    """As in the serial path: the first copy's throttled write says nothing about the event."""
    messages = _messages(body(sent()), body(sent()))
    outcomes, store = _run(messages, {"sent-m-sender-req-1"}, pool)

    assert isinstance(outcomes[0], InjectedTransientError)
    assert isinstance(outcomes[1], IngestResult)
    assert outcomes[1].disposition is Disposition.STORED
    assert store.calls["sent-m-sender-req-1"] == 2


class Budget:
    """``may_start`` that allows ``starts`` records, from any thread, then refuses."""

    def __init__(self, starts: int) -> None:
        self.left = starts
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            self.left -= 1
            return self.left >= 0


@pytest.mark.parametrize("starts", [0, 1, 7, 19])
def test_no_record_starts_once_time_is_up_and_none_is_lost(
    pool: ThreadPoolExecutor, starts: int
) -> None:
    texts = [body(sent(f"req-{n % 6}", f"m-{n % 3}", event_id=f"e-{n}")) for n in range(20)]
    store = CountingStore()
    outcomes = ingest_batch(
        _messages(*texts),
        store,
        future_tolerance=DEFAULT_FUTURE_TOLERANCE,
        may_start=Budget(starts),
        executor=pool,
        workers=WORKERS,
    )

    settled = [outcome for outcome in outcomes if outcome is not None]
    assert len(settled) == starts
    assert all(isinstance(o, IngestResult) and o.disposition is Disposition.STORED for o in settled)
    # What was not started left no trace: only the settled events are in the table.
    stored = {event.id for request in store.table.requests.values() for event in request.events}
    assert stored == {o.event_id for o in settled if isinstance(o, IngestResult)}


def test_serially_time_runs_out_in_batch_order() -> None:
    texts = [body(sent(f"req-{n}", event_id=f"e-{n}")) for n in range(5)]
    outcomes = ingest_batch(
        _messages(*texts),
        CountingStore(),
        future_tolerance=DEFAULT_FUTURE_TOLERANCE,
        may_start=Budget(3),
    )
    assert [outcome is None for outcome in outcomes] == [False, False, False, True, True]


def test_a_record_that_cannot_be_read_fails_alone(pool: ThreadPoolExecutor) -> None:
    unreadable = KeyError("SentTimestamp")
    message = _messages(body(sent(at=T0 + timedelta(hours=1))))[0]
    outcomes = ingest_batch(
        [unreadable, message],
        CountingStore(),
        future_tolerance=DEFAULT_FUTURE_TOLERANCE,
        may_start=never_late,
        executor=pool,
        workers=WORKERS,
    )
    assert outcomes[0] is unreadable
    assert isinstance(outcomes[1], IngestResult)
    assert outcomes[1].disposition is Disposition.STORED
