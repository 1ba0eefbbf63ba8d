"""Digest insights against hand-computed expectations (DESIGN §4 week counts and more)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rapport.codes import ReasonCode
from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.digest.insights import MIN_SIDE, RateEstimate, build_insights, week_counts
from rapport.validation import parse_event
from tests.support.events import answer, body, sent

WEEK = date(2026, 11, 2)  # a Monday
AS_OF = datetime(2026, 11, 16, 9, tzinfo=UTC)
MET_ONLY = "I only connect with people I've met in person"


def _at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _request(*raw: dict[str, Any]) -> list[RequestEvent]:
    events = [parse_event(body(event)) for event in raw]
    return [event for event in events if not isinstance(event, PreferencesUpdated)]


def _week_of_requests() -> list[list[RequestEvent]]:
    return [
        _request(sent("r1", at=_at(2)), answer("accepted", "r1", at=_at(3))),
        _request(
            sent("r2", at=_at(28, month=10)), answer("declined", "r2", at=_at(4), note=MET_ONLY)
        ),
        _request(sent("r3", at=_at(5)), answer("withdrawn", "r3", at=_at(6))),
        _request(sent("r4", at=_at(14, month=10))),  # window closes 4 November: no_response
        _request(sent("r5", at=_at(20, month=10)), answer("expired", "r5", at=_at(7))),
        _request(sent("r6", at=_at(8, 23)), answer("accepted", "r6", at=_at(10))),
        _request(sent("r7", at=_at(30, month=10))),  # still open at the week's end
        _request(sent("r8", at=_at(9, 0))),  # next week
    ]


def test_week_counts_follow_the_design_definitions() -> None:
    counts = week_counts(_week_of_requests(), WEEK, "UTC")
    assert (counts.sent, counts.accepted, counts.declined, counts.withdrawn) == (3, 1, 1, 1)
    assert (counts.no_response, counts.pending) == (2, 2)
    assert counts.acceptance_rate == pytest.approx(1 / 4)


def test_the_week_is_the_members_local_week() -> None:
    # Sunday 8 November 23:30 in New York is Monday 04:30 UTC: it belongs to the week of 2 Nov.
    late_sunday = datetime(2026, 11, 9, 4, 30, tzinfo=UTC)
    requests = [_request(sent("r1", at=late_sunday))]
    assert week_counts(requests, WEEK, "America/New_York").sent == 1
    assert week_counts(requests, WEEK, "UTC").sent == 0
    assert week_counts(requests, date(2026, 11, 9), "UTC").sent == 1


def test_acceptance_rate_is_none_without_decided_requests() -> None:
    counts = week_counts([_request(sent("r1", at=_at(3)))], WEEK, "UTC")
    assert counts.acceptance_rate is None
    assert counts.pending == 1


@pytest.mark.parametrize(
    ("accepted", "decided", "low", "high"),
    [(1, 4, 0.0456, 0.6994), (8, 10, 0.4902, 0.9433), (0, 12, 0.0, 0.2425), (12, 12, 0.7575, 1.0)],
)
def test_wilson_interval_matches_hand_computed_values(
    accepted: int, decided: int, low: float, high: float
) -> None:
    interval = RateEstimate(accepted, decided).interval
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=5e-4)


def test_the_trend_has_eight_weeks_ending_with_this_one() -> None:
    insights = build_insights("m-sender", _week_of_requests(), WEEK, "UTC", AS_OF)
    assert [week.week_start for week in insights.trend] == [
        WEEK - timedelta(weeks=back) for back in range(7, -1, -1)
    ]
    assert insights.trend[-1] == insights.week
    previous = insights.trend[-2]  # the week of 26 October
    assert previous.sent == 2  # r2 and r7
    assert previous.pending == 4  # r2, r4, r5 and r7 were all open on 2 November


def test_reasons_quote_the_recipients_own_words() -> None:
    insights = build_insights("m-sender", _week_of_requests(), WEEK, "UTC", AS_OF)
    [met_only] = [reason for reason in insights.top_reasons if reason.code is ReasonCode.MET_ONLY]
    assert met_only.evidence == (MET_ONLY,)
    assert (met_only.count, met_only.stated) == (1, 1)
    assert insights.recipient_words == ()  # quoted once, as the reason's evidence, not twice


def test_recipient_words_are_truncated_at_a_word() -> None:
    long_note = "Not for me right now, thanks. " + "Really truly. " * 60
    requests = [
        _request(sent("r1", at=_at(2)), answer("declined", "r1", at=_at(3), note=long_note))
    ]
    insights = build_insights("m-sender", requests, WEEK, "UTC", AS_OF)
    [words] = insights.recipient_words
    assert len(words) <= 160
    assert words.endswith("…")
    assert words[:-1].split()[-1] in {"Really", "truly."}


def test_the_suggestion_follows_the_dominant_reason() -> None:
    requests = [
        _request(
            sent(f"r{index}", at=_at(2), note="Hello", context={"shared_credentials": ["PMP"]}),
            answer("declined", f"r{index}", at=_at(3), note=MET_ONLY),
        )
        for index in range(3)
    ]
    insights = build_insights("m-sender", requests, WEEK, "UTC", AS_OF)
    assert insights.dominant_reason is ReasonCode.MET_ONLY
    assert "chapter event" in insights.suggestion
    assert "video call" in insights.suggestion
    assert insights.reflection


def _decided(with_note: bool, accepted: bool, index: int) -> list[RequestEvent]:
    kind = "accepted" if accepted else "declined"
    note = "We met at the PMI chapter" if with_note else None
    request_id = f"{'n' if with_note else 'x'}{index}"
    return _request(
        sent(request_id, at=_at(20, month=10), note=note),
        answer(kind, request_id, at=_at(4)),
    )


def test_a_comparison_is_only_stated_when_the_exact_test_says_so() -> None:
    clear = [_decided(True, True, i) for i in range(MIN_SIDE + 2)] + [
        _decided(False, False, i) for i in range(MIN_SIDE + 2)
    ]
    note = build_insights("m", clear, WEEK, "UTC", AS_OF).comparisons[0]
    assert note.enough_data
    assert note.differs
    assert (note.with_side.rate, note.without_side.rate) == (1.0, 0.0)

    close = [_decided(True, i % 2 == 0, i) for i in range(MIN_SIDE)] + [
        _decided(False, i % 3 == 0, i) for i in range(MIN_SIDE)
    ]
    note = build_insights("m", close, WEEK, "UTC", AS_OF).comparisons[0]
    assert note.enough_data
    assert not note.differs


def test_no_comparison_with_fewer_than_ten_on_a_side() -> None:
    few = [_decided(True, True, i) for i in range(MIN_SIDE - 1)] + [
        _decided(False, False, i) for i in range(MIN_SIDE + 5)
    ]
    note = build_insights("m", few, WEEK, "UTC", AS_OF).comparisons[0]
    assert not note.enough_data
    assert not note.differs


def test_requests_pending_for_more_than_two_weeks_are_listed() -> None:
    insights = build_insights("m-sender", _week_of_requests(), WEEK, "UTC", AS_OF)
    assert [(item.sent_at.date(), item.age_days) for item in insights.stale_pending] == [
        (date(2026, 10, 30), 17)  # calendar days: 30 October to 16 November
    ]


def test_the_first_digest_is_marked() -> None:
    assert build_insights("m", [], WEEK, "UTC", AS_OF, first_digest=True).first_digest
    empty = build_insights("m", [], WEEK, "UTC", AS_OF)
    assert empty.week.sent == 0
    assert empty.dominant_reason is None
    assert empty.suggestion


def test_an_answer_after_the_window_is_counted_once_across_the_weeks() -> None:
    # Sent 5 October, no answer when the window closed on 26 October, accepted on 4 November.
    requests = [_request(sent("late", at=_at(5, month=10)), answer("accepted", "late", at=_at(4)))]
    insights = build_insights("m", requests, WEEK, "UTC", AS_OF)
    decided = [week.accepted + week.declined + week.no_response for week in insights.trend]
    assert sum(decided) == 1
    assert insights.week.accepted == 1
    assert insights.trend_acceptance.decided == 1
    # Before the answer came, the same week read as a no-response: that is what it was then.
    earlier = week_counts(requests, date(2026, 10, 26), "UTC", as_of=_at(27, month=10))
    assert earlier.no_response == 1
