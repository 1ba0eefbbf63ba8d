"""A batch of messages, its writes in parallel, with exactly the serial path's results.

Every write an event causes lands in one item: its request's, or its member's profile (the
``EventStore`` port's contract), and a quarantine lands in the message's own item. So the batch
is split into groups by that item; a group runs in batch order on one worker, and groups share
nothing. Nothing relies on the store serialising concurrent writes to one request or profile
(moto does not): no two writes to one are ever in flight together. (A message SQS delivers twice
in one batch is two records whose quarantine entries share a key; those puts are conditional,
so the second is refused whatever the order.)

Identical events (same dedupe key and fingerprint) always fall in one group. Before any call,
each repeat is tied to the first copy; when that copy ends stored or duplicate, the repeat is a
duplicate without a call, which is what the serial path answers (from its recent-events cache).
Otherwise the repeat is applied like any record, again as the serial path would.

A record is only started while ``may_start()`` holds; one not started is reported as such, for
SQS to redeliver. Results come back by position, so what a caller logs and reports follows the
batch's order whatever the threads did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, wait
from datetime import timedelta
from typing import NamedTuple

from rapport.contract import PreferencesUpdated
from rapport.ingest import (
    Checked,
    Disposition,
    InboundMessage,
    IngestResult,
    check,
    settle,
)
from rapport.ingest.ports import EventStore

#: What became of one record: its result, the error that failed it (SQS redelivers it), or
#: None when there was no time left to start it (SQS redelivers it too).
RecordOutcome = IngestResult | Exception | None

_SETTLES_REPEATS = (Disposition.STORED, Disposition.DUPLICATE)


class _Step(NamedTuple):
    position: int
    message: InboundMessage
    checked: Checked
    #: The position of an earlier identical event in the batch, if any.
    repeat_of: int | None


def _item(position: int, checked: Checked) -> tuple[str, ...]:
    """The item every write of this record lands in, as the store's port defines it."""
    stored = checked.stored
    if stored is None:  # refused before any write: only its own quarantine item
        return ("message", str(position))
    event = stored.event
    if isinstance(event, PreferencesUpdated):
        return ("member", event.data.member_id)
    return ("request", event.data.sender_id, event.data.request_id)


def _groups(steps: Sequence[_Step]) -> list[list[_Step]]:
    groups: dict[tuple[str, ...], list[_Step]] = {}
    for step in steps:
        groups.setdefault(_item(step.position, step.checked), []).append(step)
    return list(groups.values())


def _steps(
    messages: Sequence[InboundMessage | Exception],
    future_tolerance: timedelta,
    outcomes: list[RecordOutcome],
) -> list[_Step]:
    """Check every message and tie each repeat to its first copy, before any call."""
    steps: list[_Step] = []
    first_copy: dict[tuple[str, str], int] = {}
    for position, message in enumerate(messages):
        if isinstance(message, Exception):  # the record could not even be read
            outcomes[position] = message
            continue
        checked = check(message, future_tolerance)
        repeat_of = None
        if checked.stored is not None:
            identity = (checked.stored.key, checked.stored.fingerprint)
            if (first := first_copy.setdefault(identity, position)) != position:
                repeat_of = first
        steps.append(_Step(position, message, checked, repeat_of))
    return steps


def ingest_batch(
    messages: Sequence[InboundMessage | Exception],
    store: EventStore,
    *,
    future_tolerance: timedelta,
    may_start: Callable[[], bool],
    executor: Executor | None = None,
    workers: int = 1,
) -> list[RecordOutcome]:
    """Each message's outcome, by position. Without an executor, one record after another in
    batch order (the serial path); with one, ``workers`` tasks on it share out the item groups
    (the executor should have at least that many threads)."""
    outcomes: list[RecordOutcome] = [None] * len(messages)

    def run(steps: Sequence[_Step]) -> None:
        for step in steps:
            if not may_start():
                return
            outcomes[step.position] = _settle(step, outcomes, store)

    steps = _steps(messages, future_tolerance, outcomes)
    if executor is None:
        run(steps)
        return outcomes
    groups = iter(_groups(steps))
    taking = threading.Lock()

    def work() -> None:
        """Take groups until none is left: a task per worker, not per group, since each
        hand-off to a thread costs more CPU than a record's own processing."""
        while True:
            with taking:
                group = next(groups, None)
            if group is None:
                return
            run(group)

    tasks = [executor.submit(work) for _ in range(workers)]
    wait(tasks)  # all of them, even if one raised: none may still write after the return
    for task in tasks:
        task.result()
    return outcomes


def _settle(step: _Step, outcomes: Sequence[RecordOutcome], store: EventStore) -> RecordOutcome:
    if step.repeat_of is not None:
        first = outcomes[step.repeat_of]  # settled earlier by this same worker
        if isinstance(first, IngestResult) and first.disposition in _SETTLES_REPEATS:
            return IngestResult(Disposition.DUPLICATE, first.event_id, first.event_type)
    try:
        return settle(step.message, step.checked, store)
    except Exception as error:  # transient, by the core's contract: redelivered
        return error
