"""A request's outcome as of an instant (DESIGN §3), and its independence from arrival order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rapport.codes import Outcome, ReasonCode
from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.state import request_status
from rapport.validation import parse_event
from tests.support.events import T0, answer, body, sent

DAY = timedelta(days=1)


def _events(*raw: dict[str, Any]) -> list[RequestEvent]:
    parsed = [parse_event(body(event)) for event in raw]
    return [event for event in parsed if not isinstance(event, PreferencesUpdated)]


def _outcome(now: datetime, *raw: dict[str, Any], window: timedelta = 21 * DAY) -> Outcome:
    return request_status(_events(*raw), now, window).outcome


def test_a_fresh_request_is_pending() -> None:
    assert _outcome(T0 + DAY, sent()) is Outcome.PENDING


def test_each_answer_gives_its_outcome() -> None:
    now = T0 + 5 * DAY
    assert _outcome(now, sent(), answer("accepted")) is Outcome.ACCEPTED
    assert _outcome(now, sent(), answer("declined")) is Outcome.DECLINED
    assert _outcome(now, sent(), answer("withdrawn")) is Outcome.WITHDRAWN
    assert _outcome(now, sent(), answer("expired")) is Outcome.NO_RESPONSE


def test_the_window_closes_exactly_21_days_after_sending() -> None:
    assert _outcome(T0 + 21 * DAY - timedelta(seconds=1), sent()) is Outcome.PENDING
    status = request_status(_events(sent()), T0 + 21 * DAY)
    assert status.outcome is Outcome.NO_RESPONSE
    assert status.decided_at == T0 + 21 * DAY


def test_the_window_is_configurable() -> None:
    assert _outcome(T0 + 8 * DAY, sent(), window=7 * DAY) is Outcome.NO_RESPONSE
    assert _outcome(T0 + 8 * DAY, sent(), window=14 * DAY) is Outcome.PENDING


def test_events_after_the_instant_are_not_yet_known() -> None:
    events = (sent(), answer("accepted", at=T0 + 3 * DAY))
    assert _outcome(T0 + 2 * DAY, *events) is Outcome.PENDING
    assert _outcome(T0 + 3 * DAY, *events) is Outcome.ACCEPTED


def test_the_earliest_answer_wins() -> None:
    events = (
        sent(),
        answer("withdrawn", at=T0 + 4 * DAY),
        answer("accepted", at=T0 + 2 * DAY),
    )
    assert _outcome(T0 + 9 * DAY, *events) is Outcome.ACCEPTED


def test_a_late_real_answer_stands_after_the_window() -> None:
    events = (sent(), answer("declined", at=T0 + 30 * DAY))
    assert _outcome(T0 + 25 * DAY, *events) is Outcome.NO_RESPONSE
    status = request_status(_events(*events), T0 + 31 * DAY)
    assert status.outcome is Outcome.DECLINED
    assert status.decided_at == T0 + 30 * DAY


def test_a_platform_expiry_after_the_window_is_dated_at_the_window() -> None:
    status = request_status(_events(sent(), answer("expired", at=T0 + 40 * DAY)), T0 + 41 * DAY)
    assert status.outcome is Outcome.NO_RESPONSE
    assert status.decided_at == T0 + 21 * DAY


def test_an_answer_without_its_sent_event_still_counts() -> None:
    status = request_status(_events(answer("declined", note="Sorry")), T0 + 3 * DAY)
    assert status.outcome is Outcome.DECLINED
    assert status.sent is None


def test_only_declines_and_no_responses_carry_reasons() -> None:
    now = T0 + 5 * DAY
    accepted = request_status(_events(sent(), answer("accepted")), now)
    assert accepted.classification.primary_reason is None
    assert accepted.classification.reasons == ()
    declined = request_status(_events(sent(), answer("declined")), now)
    assert declined.classification.primary_reason is not None
    assert ReasonCode.NO_NOTE in declined.classification.reasons


# Any permutation and duplication of a request's events gives the same status.
_OFFSETS = st.integers(min_value=0, max_value=40 * 24)  # hours after T0


@st.composite
def _request_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    events = [sent(at=T0, note=draw(st.one_of(st.none(), st.just("Hello from the PMI chapter"))))]
    for index, kind in enumerate(
        draw(
            st.lists(st.sampled_from(["accepted", "declined", "withdrawn", "expired"]), max_size=4)
        )
    ):
        at = T0 + timedelta(hours=draw(_OFFSETS))
        events.append(answer(kind, at=at, event_id=f"{kind}-{index}", note=None))
    return events


@given(
    history=_request_histories(),
    data=st.data(),
    now_hours=st.integers(min_value=0, max_value=60 * 24),
)
def test_any_order_and_any_redelivery_give_the_same_status(
    history: list[dict[str, Any]], data: st.DataObject, now_hours: int
) -> None:
    now = T0 + timedelta(hours=now_hours)
    expected = request_status(_events(*history), now)
    deliveries = data.draw(
        st.lists(st.sampled_from(history), min_size=0, max_size=3 * len(history))
    )
    shuffled = data.draw(st.permutations(history + deliveries))
    assert request_status(_events(*shuffled), now) == expected
