"""The digest's comparisons: when a difference is stated, over which requests, and in what words.

What a member reads is checked on the rendered text and HTML, so wording, grammar and the
"one line when nothing clears the bar" rule are held where they are seen.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.digest.insights import (
    COMPARISON_WEEKS,
    MIN_SIDE,
    TRAITS,
    Comparison,
    DigestInsights,
    RateEstimate,
    build_insights,
    comparison_window,
    earliest_needed,
)
from rapport.digest.render import render_digest
from rapport.digest.statistics import fisher_exact, newcombe_interval
from rapport.validation import parse_event
from tests.support.events import answer, body, sent
from tests.support.examples import examples

WEEK = date(2026, 11, 2)  # a Monday
AS_OF = datetime(2026, 11, 16, 9, tzinfo=UTC)
LINK = "https://unsubscribe.example/?token=abc.def"
HEADING = f"What seems to make a difference, last {COMPARISON_WEEKS} weeks"


def _at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _request(*raw: dict[str, Any]) -> list[RequestEvent]:
    events = [parse_event(body(event)) for event in raw]
    return [event for event in events if not isinstance(event, PreferencesUpdated)]


def _decided(
    with_note: bool,
    accepted: bool,
    index: int,
    *,
    mutual: int = 0,
    decided_at: datetime | None = None,
) -> list[RequestEvent]:
    kind = "accepted" if accepted else "declined"
    note = "We met at the PMI chapter" if with_note else None
    request_id = f"{'n' if with_note else 'x'}{index}"
    decided_at = decided_at or _at(4)
    return _request(
        sent(
            request_id,
            at=decided_at - timedelta(days=15),
            note=note,
            context={"mutual_connections": mutual},
        ),
        answer(kind, request_id, at=decided_at),
    )


def _note_split(
    accepted_with: int, accepted_without: int, each: int, **options: Any
) -> list[list[RequestEvent]]:
    """``each`` requests with a note and ``each`` without, the first ones of each accepted."""
    return [_decided(True, i < accepted_with, i, **options) for i in range(each)] + [
        _decided(False, i < accepted_without, i, **options) for i in range(each)
    ]


def test_a_difference_is_stated_when_the_exact_test_says_so() -> None:
    clear = _note_split(MIN_SIDE + 2, 0, MIN_SIDE + 2)
    note = build_insights("m", clear, WEEK, "UTC", AS_OF).comparisons[0]
    assert note.trait.key == "note"
    assert note.enough_data
    assert note.differs
    assert note.accepted_more_often
    assert (note.with_side.rate, note.without_side.rate) == (1.0, 0.0)
    assert note.p_value is not None
    assert note.p_value < 1e-5

    close = _note_split(5, 4, MIN_SIDE)
    note = build_insights("m", close, WEEK, "UTC", AS_OF).comparisons[0]
    assert note.enough_data
    assert not note.differs
    assert note.p_value == 1.0


def test_overlapping_intervals_can_still_be_a_difference() -> None:
    # 14 of 20 vs 6 of 20: the two Wilson intervals overlap (0.48-0.85 and 0.15-0.52), yet
    # Fisher's exact test gives p = 0.026 and Newcombe's interval for the difference is 0.09-0.62.
    note = build_insights("m", _note_split(14, 6, 20), WEEK, "UTC", AS_OF).comparisons[0]
    low_with, _ = note.with_side.interval or (0.0, 0.0)
    _, high_without = note.without_side.interval or (0.0, 0.0)
    assert low_with < high_without
    assert note.p_value == pytest.approx(0.0256, abs=1e-4)
    assert note.difference == pytest.approx((0.0903, 0.6185), abs=1e-4)
    assert note.differs


def test_a_test_without_an_interval_to_match_states_nothing() -> None:
    # 4 of 29 vs 0 of 31: Fisher's p is 0.0487, but Newcombe's interval reaches just below 0.
    requests = [_decided(True, i < 4, i) for i in range(29)] + [
        _decided(False, False, i) for i in range(31)
    ]
    note = build_insights("m", requests, WEEK, "UTC", AS_OF).comparisons[0]
    assert note.adjusted_p == pytest.approx(0.0487, abs=1e-4)
    assert note.difference is not None
    assert note.difference[0] < 0
    assert not note.differs


def test_several_comparisons_share_one_five_percent() -> None:
    # The same requests, half of each side with mutual connections (accepted as often either way):
    # two comparisons are now tested, Holm doubles the smaller p-value, and 0.051 is not < 0.05.
    requests = [
        _decided(with_note, index < accepted, index, mutual=index % 2)
        for with_note, accepted in ((True, 14), (False, 6))
        for index in range(20)
    ]
    comparisons = build_insights("m", requests, WEEK, "UTC", AS_OF).comparisons
    note, mutual = comparisons[0], comparisons[3]
    assert mutual.trait.key == "mutual"
    assert (mutual.with_side.accepted, mutual.with_side.decided) == (10, 20)
    assert (mutual.without_side.accepted, mutual.without_side.decided) == (10, 20)
    assert note.p_value is not None
    assert note.p_value == pytest.approx(0.0256, abs=1e-4)
    assert note.adjusted_p == pytest.approx(2 * note.p_value)
    assert not note.differs
    # The traits nobody had were not tested, so they do not dilute the others.
    assert [item.adjusted_p is None for item in comparisons] == [False, True, True, False]


def test_no_comparison_with_fewer_than_ten_on_a_side() -> None:
    few = [_decided(True, True, i) for i in range(MIN_SIDE - 1)] + [
        _decided(False, False, i) for i in range(MIN_SIDE + 5)
    ]
    note = build_insights("m", few, WEEK, "UTC", AS_OF).comparisons[0]
    assert not note.enough_data
    assert not note.differs
    assert (note.p_value, note.adjusted_p, note.difference) == (None, None, None)


def test_comparisons_look_back_26_weeks_and_no_further() -> None:
    first, end = comparison_window(WEEK, "UTC")
    assert first == datetime(2026, 5, 11, tzinfo=UTC)  # the Monday 25 weeks before WEEK's
    assert end == datetime(2026, 11, 9, tzinfo=UTC)
    inside = _note_split(MIN_SIDE, 0, MIN_SIDE, decided_at=first)
    outside = [
        _decided(False, True, 100 + i, decided_at=first - timedelta(seconds=1)) for i in range(30)
    ]
    insights = build_insights("m", inside + outside, WEEK, "UTC", AS_OF)
    note = insights.comparisons[0]
    assert (note.with_side.decided, note.without_side.decided) == (MIN_SIDE, MIN_SIDE)
    assert note.differs
    # The 8-week figures do not reach that far back.
    assert insights.trend_acceptance.decided == 0
    assert COMPARISON_WEEKS == 26


# What a member reads.


def _section(insights: DigestInsights) -> tuple[list[str], list[str]]:
    """The comparison lines of the text part and of the HTML part, in order."""
    rendered = render_digest(insights, "UTC", LINK)
    text = rendered.text.split(HEADING + "\n", 1)[1].split("\n\n", 1)[0]
    html = rendered.html.split(HEADING + "</h2>", 1)[1].split("</td>", 1)[0]
    paragraphs = re.findall(r"<p[^>]*>(.*?)</p>", html, flags=re.DOTALL)
    return [line.removeprefix("- ") for line in text.splitlines()], paragraphs


def _with(*comparisons: Comparison) -> DigestInsights:
    return replace(build_insights("m", [], WEEK, "UTC", AS_OF), comparisons=comparisons)


def _compared(
    trait_key: str, with_side: tuple[int, int], without_side: tuple[int, int]
) -> Comparison:
    """A comparison as ``build_insights`` makes it, tested alone (so not Holm-adjusted)."""
    [trait] = [trait for trait in TRAITS if trait.key == trait_key]
    comparison = Comparison(trait, RateEstimate(*with_side), RateEstimate(*without_side))
    if not comparison.enough_data:
        return comparison
    counts = (*with_side, *without_side)
    p_value = fisher_exact(*counts)
    return replace(
        comparison, p_value=p_value, adjusted_p=p_value, difference=newcombe_interval(*counts)
    )


def test_without_enough_requests_the_section_is_one_line() -> None:
    text, html = _section(build_insights("m", [], WEEK, "UTC", AS_OF))
    expected = (
        "Not enough decided requests yet to compare what works: it takes 10 on each side, "
        "such as 10 with a note and 10 without."
    )
    assert text == [expected]
    assert html == [expected]


def test_the_section_states_its_period() -> None:
    rendered = render_digest(build_insights("m", [], WEEK, "UTC", AS_OF), "UTC", LINK)
    assert f"\n{HEADING}\n" in rendered.text
    assert f">{HEADING}</h2>" in rendered.html


@pytest.mark.parametrize(
    ("trait_key", "line"),
    [
        (
            "note",
            "Requests with a personal note were accepted more often: 9 of 12 (75%) vs "
            "3 of 14 (21%) without one.",
        ),
        (
            "met",
            "Requests to people you had met or messaged before were accepted more often: "
            "9 of 12 (75%) vs 3 of 14 (21%) to people you had not.",
        ),
        (
            "group",
            "Requests with a shared group or credential were accepted more often: 9 of 12 (75%) "
            "vs 3 of 14 (21%) without one.",
        ),
        (
            "mutual",
            "Requests with mutual connections were accepted more often: 9 of 12 (75%) vs "
            "3 of 14 (21%) without any.",
        ),
    ],
)
def test_a_difference_is_said_with_its_counts(trait_key: str, line: str) -> None:
    comparison = _compared(trait_key, (9, 12), (3, 14))
    assert comparison.differs
    text, html = _section(_with(comparison))
    assert text == [line]
    assert html == [line]


def test_a_trait_that_did_worse_is_said_so() -> None:
    text, _ = _section(_with(_compared("mutual", (2, 15), (11, 15))))
    assert text == [
        "Requests with mutual connections were accepted less often: 2 of 15 (13%) vs "
        "11 of 15 (73%) without any."
    ]


def test_enough_data_without_a_difference_is_one_short_line() -> None:
    one = _with(_compared("note", (5, 10), (4, 10)), _compared("mutual", (1, 3), (8, 17)))
    assert _section(one)[0] == [
        "So far it has made no clear difference whether you wrote a personal note."
    ]
    two = _with(_compared("note", (5, 10), (4, 10)), _compared("mutual", (6, 12), (8, 17)))
    assert _section(two)[0] == [
        "So far it has made no clear difference whether you wrote a personal note or had "
        "mutual connections."
    ]
    three = _with(
        _compared("note", (5, 10), (4, 10)),
        _compared("met", (6, 11), (5, 12)),
        _compared("mutual", (6, 12), (8, 17)),
    )
    assert _section(three)[0] == [
        "So far it has made no clear difference whether you wrote a personal note, had met or "
        "messaged the person before, or had mutual connections."
    ]


def test_differences_come_first_and_untested_traits_are_left_out() -> None:
    insights = _with(
        _compared("note", (5, 10), (4, 10)),
        _compared("met", (12, 14), (4, 20)),
        _compared("group", (3, 4), (9, 30)),  # too few with a shared group to test
        _compared("mutual", (6, 12), (8, 17)),
    )
    assert _section(insights)[0] == [
        "Requests to people you had met or messaged before were accepted more often: "
        "12 of 14 (86%) vs 4 of 20 (20%) to people you had not.",
        "So far it has made no clear difference whether you wrote a personal note or had "
        "mutual connections.",
    ]


def test_a_digest_never_says_not_enough_data_more_than_once() -> None:
    for insights in (
        build_insights("m", [], WEEK, "UTC", AS_OF),
        build_insights("m", _note_split(3, 1, 6), WEEK, "UTC", AS_OF),
        build_insights("m", _note_split(12, 0, 12), WEEK, "UTC", AS_OF),
    ):
        text = render_digest(insights, "UTC", LINK).text
        assert text.count("Not enough") <= 1
        assert "not enough data" not in text
        assert "makes a clear difference" not in text


def test_a_run_of_real_requests_reads_as_counted() -> None:
    text, _ = _section(build_insights("m", _note_split(14, 6, 20), WEEK, "UTC", AS_OF))
    assert text == [
        "Requests with a personal note were accepted more often: 14 of 20 (70%) vs "
        "6 of 20 (30%) without one."
    ]


# The windows the digest reads.

ZONES = ("UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Auckland")


@st.composite
def _histories(draw: st.DrawFn, bound: datetime) -> list[list[RequestEvent]]:
    """Requests sent from six weeks before ``bound`` to a year after, many close to it, some
    answered (a few very late), with or without a note and common ground."""
    requests = []
    for index in range(draw(st.integers(0, 14))):
        # Half of them within three days of the bound, where an off-by-one would show.
        near, anywhere = st.integers(-72, 72), st.integers(-6 * 7 * 24, 52 * 7 * 24)
        sent_at = bound + timedelta(hours=draw(st.one_of(near, anywhere)))
        raw = [
            sent(
                f"q{index}",
                at=sent_at,
                note=draw(st.sampled_from([None, "We met at the PMI chapter"])),
                context={
                    "mutual_connections": draw(st.integers(0, 3)),
                    "prior_interaction": draw(st.sampled_from(["none", "messaged"])),
                },
            )
        ]
        kind = draw(st.sampled_from([None, "accepted", "declined", "withdrawn", "expired"]))
        if kind is not None:
            delay = timedelta(hours=draw(st.one_of(st.integers(0, 72), st.integers(0, 300 * 24))))
            raw.append(answer(kind, f"q{index}", at=sent_at + delay))
        requests.append(_request(*raw))
    return requests


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), zone=st.sampled_from(ZONES), weeks_back=st.integers(0, 60))
def test_requests_before_the_earliest_needed_instant_change_nothing(
    data: st.DataObject, zone: str, weeks_back: int
) -> None:
    week = WEEK - timedelta(weeks=weeks_back)
    as_of = AS_OF - timedelta(weeks=weeks_back)
    bound = earliest_needed(week, zone)
    requests = data.draw(_histories(bound))
    kept = [events for events in requests if max(event.time for event in events) >= bound]
    assert build_insights("m", kept, week, zone, as_of) == build_insights(
        "m", requests, week, zone, as_of
    )


def test_the_earliest_needed_instant_covers_both_windows() -> None:
    first, _ = comparison_window(WEEK, "UTC")
    assert earliest_needed(WEEK, "UTC") == first - timedelta(days=21)
    assert earliest_needed(WEEK, "UTC", timedelta(days=7)) == first - timedelta(days=7)
    # Local weeks: a Monday in Auckland begins 12 hours before UTC's (NZST in May).
    assert earliest_needed(WEEK, "Pacific/Auckland") == first - timedelta(days=21, hours=12)
