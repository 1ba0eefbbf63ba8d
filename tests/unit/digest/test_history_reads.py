"""The window-bounded digest read: the set it reads is exactly the set the digest needs.

Each request event is written once, blind: the write sets ``events_until`` from the writer's
clock (``rapport.history``), the last write to land wins. The model below draws requests, their
events' times, an arbitrary landing order, enqueue times the ingest accepts (``time`` at most the
tolerance after the queue received the event), and writer clocks that lag the true instant by
clock error and time in flight; then the index read (``events_until >= since``) trimmed by
``needed`` must equal the requests with an event at or after ``since``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.history import CLOCK_MARGIN, events_until, needed
from rapport.ingest import DEFAULT_FUTURE_TOLERANCE
from rapport.validation import parse_event
from tests.support.events import ANSWERS, answer, body, sent
from tests.support.examples import examples

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _parsed(event: dict[str, Any]) -> RequestEvent:
    parsed = parse_event(body(event))
    assert not isinstance(parsed, PreferencesUpdated)
    return parsed


HOURS = 24 * 200


@st.composite
def _request(draw: st.DrawFn, index: int) -> tuple[list[RequestEvent], datetime]:
    """One request's events and the ``events_until`` its last landed write leaves."""
    count = draw(st.integers(1, 4))
    times = [EPOCH + timedelta(hours=draw(st.integers(0, HOURS))) for _ in range(count)]
    # Any mix: several sent events, several answers of one kind, answers before the sent one.
    kinds = draw(st.lists(st.sampled_from([None, *ANSWERS]), min_size=count, max_size=count))
    events = [
        _parsed(
            sent(f"q{index}", at=at, event_id=f"s{index}-{n}")
            if kind is None
            else answer(kind, f"q{index}", at=at, event_id=f"a{index}-{n}")
        )
        for n, (at, kind) in enumerate(zip(times, kinds, strict=True))
    ]
    order = draw(st.permutations(range(count)))
    landed = EPOCH - DEFAULT_FUTURE_TOLERANCE
    until = None
    for position in order:
        # Enqueued no earlier than the ingest allows for its time, at any point later (a
        # redelivery, a redrive weeks on); the write lands after the enqueue and after the
        # previous write (DynamoDB serialises writes to one item).
        enqueued = times[position] - DEFAULT_FUTURE_TOLERANCE + draw(st.sampled_from(_DELAYS))
        landed = max(landed, enqueued) + timedelta(seconds=draw(st.integers(0, 600)))
        # The writer read its clock before the write landed, and its clock may be off.
        lag = timedelta(seconds=draw(st.integers(0, int(CLOCK_MARGIN.total_seconds()))))
        until = events_until(landed - lag, DEFAULT_FUTURE_TOLERANCE)
    assert until is not None
    return events, until


_DELAYS = [timedelta(), timedelta(minutes=5), timedelta(days=1), timedelta(days=30)]


@st.composite
def _requests(draw: st.DrawFn) -> list[tuple[list[RequestEvent], datetime]]:
    return [draw(_request(index)) for index in range(draw(st.integers(0, 12)))]


@settings(max_examples=examples(300), deadline=None)
@given(requests=_requests(), since_hours=st.integers(-48, HOURS + 48))
def test_the_index_read_trimmed_is_exactly_the_requests_with_an_event_since(
    requests: list[tuple[list[RequestEvent], datetime]], since_hours: int
) -> None:
    since = EPOCH + timedelta(hours=since_hours)
    read = [events for events, until in requests if until >= since]
    wanted = [events for events, _ in requests if any(event.time >= since for event in events)]
    # Every request the digest needs is in what the index returns ...
    assert all(any(events is other for other in read) for events in wanted)
    # ... and trimming what it returns leaves exactly those, each with all its events.
    assert needed(read, since) == wanted


def test_needed_keeps_a_request_by_its_latest_event_and_drops_one_wholly_older() -> None:
    since = EPOCH + timedelta(days=10)
    old = [_parsed(sent("old", at=since - timedelta(seconds=1)))]
    late = [
        _parsed(sent("late", at=since - timedelta(days=5))),
        _parsed(answer("accepted", "late", at=since)),
    ]
    assert needed([old, late], since) == [late]
