"""What a member reads, checked on the rendered text: reasons that explain rather than repeat,
guesses worded as guesses, counts that add up, advice given once, waiting requests told apart."""

from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rapport.codes import ReasonCode
from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.digest.advice import ADVICE, DEFAULT_ADVICE, WAITING_ADVICE
from rapport.digest.compose import compose_digest
from rapport.digest.insights import ReasonSummary
from rapport.digest.render import MAX_WAITING_LISTED, _reason_row
from rapport.validation import parse_event
from tests.support.events import answer, body, sent

WEEK = date(2026, 11, 9)
AS_OF = datetime(2026, 11, 16, 13, tzinfo=UTC)
LINK = "https://u.example/?token=t"
MET_ONLY = "Thanks for asking. I only connect with people I've met in person. Best of luck!"
COMMON = {"mutual_connections": 4, "shared_credentials": ["PMP"]}


def _at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _request(*raw: dict[str, Any]) -> list[RequestEvent]:
    events = [parse_event(body(event)) for event in raw]
    return [event for event in events if not isinstance(event, PreferencesUpdated)]


def _to(recipient: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    event["data"]["recipient"].update(recipient)
    return event


def _text(requests: list[list[RequestEvent]], timezone: str = "UTC") -> str:
    composed = compose_digest("m-sender", requests, WEEK, timezone, AS_OF, unsubscribe_url=LINK)
    return composed.rendered.text


def _declined(request_id: str, day: int, note: str | None, sent_note: str | None = "Hi") -> Any:
    return _request(
        sent(request_id, at=_at(day - 1), note=sent_note, context=COMMON),
        answer("declined", request_id, at=_at(day), note=note),
    )


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else None]


def test_a_reason_worked_out_from_the_request_is_explained_not_repeated() -> None:
    requests = [
        _request(sent(f"r{n}", at=_at(2 + n)), answer("declined", f"r{n}", at=_at(10 + n)))
        for n in range(2)
    ]
    reasons = _section(_text(requests), "Why requests did not land")
    label = ADVICE[ReasonCode.NO_COMMON_GROUND].label
    assert "Possibly because no common ground showed · 2 requests" in reasons
    assert "Worked out from the request: you had no mutual connections" in reasons
    assert reasons.lower().count(label.lower()) == 1
    assert "“" not in reasons  # nothing is put in quotes that nobody wrote


def test_a_stated_reason_quotes_the_notes_sentence_as_theirs() -> None:
    reasons = _section(_text([_declined("r1", 10, MET_ONLY)]), "Why requests did not land")
    assert "They connect only with people they have met · 1 request\n" in reasons
    assert "They wrote: “I only connect with people I've met in person.”" in reasons
    assert "Possibly" not in reasons


def test_guesses_are_worded_as_guesses_and_counted_apart() -> None:
    summary = ReasonSummary(ReasonCode.MET_ONLY, ADVICE[ReasonCode.MET_ONLY].label, 3, 2, ("x",))
    row = _reason_row(summary)
    assert row["title"] == "They connect only with people they have met"
    assert row["count"] == "3 requests (2 said so, 1 a guess)"
    guess = _reason_row(ReasonSummary(ReasonCode.SALES_PITCH, "", 2, 0, ("Buy now",)))
    assert guess["title"] == "Possibly because it read as a sales pitch"
    assert guess["detail"] == "Their note read: “Buy now”"


@pytest.mark.parametrize("code", list(ADVICE))
def test_every_reason_reads_as_a_guess(code: ReasonCode) -> None:
    guess = ADVICE[code].as_guess
    assert guess.startswith("Possibly because ")
    assert guess[len("Possibly because ")].islower()


def test_the_reasons_add_up_to_the_eight_week_figures() -> None:
    requests = [
        _declined("met1", 10, MET_ONLY),
        _declined("met2", 3, "Sorry, I only connect with people I have met."),
        _declined("odd1", 4, "Bananas are yellow on Tuesdays."),
        _declined("pitch", 5, "Not interested in your product demo, please stop pitching me."),
        _request(sent("quiet", at=_at(5, month=10), note="Hello", context=COMMON)),
        _request(sent("yes", at=_at(3), context=COMMON), answer("accepted", "yes", at=_at(4))),
        _request(sent("bare", at=_at(2)), answer("declined", "bare", at=_at(11))),
    ]
    text = _text(requests)
    rate = re.search(r"8 weeks, (\d+) of (\d+) decided requests were", text)
    assert rate is not None
    accepted, decided = map(int, rate.groups())
    reasons = _section(text, "Why requests did not land, last 8 weeks")
    [lead] = re.findall(r"Over the last 8 weeks, (\d+) requests? (?:was|were) declined", reasons)
    assert int(lead) == decided - accepted == 6
    listed = sum(int(n) for n in re.findall(r" · (\d+) requests?", reasons))
    others = re.search(r"(\d+) others? had a less common reason", reasons)
    unknown = re.search(r"For (\d+) of them, no reason could be identified", reasons)
    assert listed + sum(int(m.group(1)) for m in (others, unknown) if m) == int(lead)
    assert unknown is not None  # the banana note
    assert "No reason could be identified ·" not in reasons


def test_a_week_with_no_identified_reason_says_so_once() -> None:
    reasons = _section(
        _text([_declined("odd", 10, "Bananas are yellow on Tuesdays.")]), "Why requests"
    )
    assert "\nNo reason could be identified for any of them.\n" in reasons
    assert "Most often" not in reasons
    assert "“Bananas are yellow on Tuesdays.”" in reasons  # their words, unexplained, not lost


def test_quotes_are_shown_once() -> None:
    text = _text([_declined("met1", 10, MET_ONLY)])
    assert text.count("I only connect with people I've met in person.") == 1
    assert "Other notes they left" not in text


def _words(sentence: str) -> set[str]:
    return set(re.findall(r"[a-z']+", sentence.lower())) - {"a", "the", "and", "or", "to", "you"}


def test_no_two_pieces_of_advice_are_near_copies() -> None:
    sentences = [WAITING_ADVICE, DEFAULT_ADVICE.suggestion] + [
        advice.suggestion for advice in ADVICE.values()
    ]
    for one, other in itertools.combinations(sentences, 2):
        overlap = len(_words(one) & _words(other)) / len(_words(one) | _words(other))
        assert overlap < 0.4, (one, other)


def test_the_waiting_advice_and_the_suggestion_differ_when_silence_is_the_reason() -> None:
    requests = [
        _request(sent(f"q{n}", at=_at(10 + n, month=10), note="Hi", context=COMMON))
        for n in range(3)
    ] + [_request(sent("open", at=_at(30, month=10), note="Hi", context=COMMON))]
    text = _text(requests)
    suggestion = text.split("One thing to try next week: ")[1].split("\n")[0]
    assert suggestion == ADVICE[ReasonCode.NO_DECISION].suggestion
    assert WAITING_ADVICE in text
    assert suggestion != WAITING_ADVICE


def test_waiting_requests_can_be_told_apart() -> None:
    headline = "Senior Project Manager | PMP | Healthcare IT"
    waiting = [
        _to(
            {"headline": headline, "industry": "Healthcare", "seniority": "senior"},
            sent("a", at=_at(27, 9, 10)),
        ),
        _to({"headline": headline}, sent("b", at=_at(28, 9, 10))),
        _to({"headline": headline}, sent("c", at=_at(28, 15, 10))),
        sent("d", at=_at(29, 9, 10)),
        _to({"industry": "Retail"}, sent("e", at=_at(30, 9, 10))),
        sent("f", at=_at(31, 9, 10)),
        sent("g", at=_at(1, 9, 11)),
    ]
    text = _text([_request(event) for event in waiting], timezone="America/New_York")
    section = _section(text, "Waiting for more than two weeks")
    rows = [line for line in section.splitlines() if re.match(r"\d+\. ", line)]
    assert [row.split(". ", 1)[0] for row in rows] == [
        str(n) for n in range(1, MAX_WAITING_LISTED + 1)
    ]
    assert len({row.split(". ", 1)[1] for row in rows}) == len(rows)
    assert rows[0] == f"1. {headline} (Healthcare, senior) — sent Tue 27 Oct, 20 days ago"
    assert rows[1] == f"2. {headline} — sent Wed 28 Oct at 05:00, 19 days ago"
    assert rows[2] == f"3. {headline} — sent Wed 28 Oct at 11:00, 19 days ago"
    assert rows[3].startswith("4. A recipient with no profile details — sent Thu 29 Oct")
    assert rows[4].startswith("5. Someone in Retail — sent Fri 30 Oct")
    assert "…and 2 more, sent later." in section


def test_the_digest_does_not_depend_on_the_order_requests_arrive() -> None:
    requests = [
        _declined("met1", 10, MET_ONLY),
        _declined("met2", 3, "Sorry, I only connect with people I have met."),
        _declined("pitch", 5, "Not interested in your product demo, please stop pitching me."),
        _request(sent("quiet", at=_at(5, month=10), note="Hello", context=COMMON)),
        _request(sent("bare", at=_at(2)), answer("declined", "bare", at=_at(11))),
    ]
    expected = compose_digest("m", requests, WEEK, "UTC", AS_OF, unsubscribe_url=LINK).rendered
    shuffler = random.Random(7)
    for _ in range(5):
        shuffled = [shuffler.sample(events, len(events)) for events in requests]
        shuffler.shuffle(shuffled)
        again = compose_digest("m", shuffled, WEEK, "UTC", AS_OF, unsubscribe_url=LINK).rendered
        assert again == expected


def test_each_section_names_its_period() -> None:
    text = _text([_declined("met1", 10, MET_ONLY)])
    assert "Rapport · week of 9–15 Nov 2026" in text
    assert "The last 8 weeks" in text
    assert "Why requests did not land, last 8 weeks" in text
    trend = _section(text, "The last 8 weeks").splitlines()[1:]
    assert [row.split("  ")[1] for row in trend] == [
        f"{day.day} {day:%b}" for day in (WEEK - timedelta(weeks=back) for back in range(7, -1, -1))
    ]
