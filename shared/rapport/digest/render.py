"""Turn insights into the digest's subject, plain text and email-safe HTML.

Templates are Jinja2 with autoescaping on for HTML: recipients' notes are untrusted text and
can never become markup. Numbers and sentences are prepared here so templates stay simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from rapport.digest.insights import (
    COMPARISON_WEEKS,
    MIN_SIDE,
    Comparison,
    DigestInsights,
    RateEstimate,
    WeekCounts,
)


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("rapport.digest", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def _rate_sentence(week: WeekCounts, trend: RateEstimate) -> str:
    interval = trend.interval
    if interval is None:
        over_time = "No request over the last 8 weeks has been decided yet."
    else:
        over_time = (
            f"Over the last 8 weeks, {trend.accepted} of {trend.decided} decided requests were "
            f"accepted ({_percent(trend.rate)}; 95% range {_percent(interval[0])}–"
            f"{_percent(interval[1])})."
        )
        if trend.decided < 10:
            over_time += " That is a small sample, so read it as a rough guide."
    if week.acceptance.decided:
        decided = week.acceptance.decided
        verb = "was" if week.accepted == 1 else "were"
        this_week = f"This week {week.accepted} of {decided} decided requests {verb} accepted."
        return f"{this_week} {over_time}"
    return over_time


def _counts(side: RateEstimate) -> str:
    return f"{side.accepted} of {side.decided} ({_percent(side.rate)})"


def _or(items: list[str]) -> str:
    """ "a", "a or b", "a, b, or c": the serial comma keeps an "or" inside an item apart."""
    if len(items) < 3:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def _comparison_lines(comparisons: tuple[Comparison, ...]) -> list[str]:
    """At most one line per difference a test supports, with its counts, and one line for the
    rest: comparisons that could be tested but showed none, or, when none could, why not."""
    lines = [
        f"{item.trait.requests_with} were accepted "
        f"{'more' if item.accepted_more_often else 'less'} often: {_counts(item.with_side)} vs "
        f"{_counts(item.without_side)} {item.trait.others}."
        for item in comparisons
        if item.differs
    ]
    unclear = [
        item.trait.whether_you for item in comparisons if item.enough_data and not item.differs
    ]
    if unclear:
        lines.append(f"So far it has made no clear difference whether you {_or(unclear)}.")
    if not lines:
        lines.append(
            "Not enough decided requests yet to compare what works: it takes "
            f"{MIN_SIDE} on each side, such as {MIN_SIDE} with a note and {MIN_SIDE} without."
        )
    return lines


def _trend_rows(trend: tuple[WeekCounts, ...]) -> list[dict[str, Any]]:
    most = max((week.sent for week in trend), default=0) or 1
    rows = []
    for week in trend:
        accepted = min(week.accepted, week.sent)
        rows.append(
            {
                "label": week.week_start.strftime("%d %b"),
                "width": max(1, round(100 * week.sent / most)) if week.sent else 1,
                "accepted_width": round(100 * accepted / week.sent) if week.sent else 0,
                "other_width": 100 - round(100 * accepted / week.sent) if week.sent else 100,
                "summary": f"{week.sent} sent · {week.accepted} accepted",
            }
        )
    return rows


def subject_for(insights: DigestInsights) -> str:
    """Figures a reader can check against each other: the rate is accepted over decided
    (accepted, declined or unanswered), which is not the number sent this week."""
    week = insights.week
    decided = week.acceptance.decided
    if not decided:
        return f"Your week: {week.sent} sent · none decided yet"
    return (
        f"Your week: {week.sent} sent · {week.accepted} of {decided} decided accepted"
        f" ({_percent(week.acceptance_rate)})"
    )


def week_span(first: date, last: date) -> str:
    """A week's days as people write them: "9–15 Nov 2026", "30 Nov – 6 Dec 2026",
    "28 Dec 2026 – 3 Jan 2027" (both days included; never an exclusive end read as an 8th)."""
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def render_digest(insights: DigestInsights, timezone: str, unsubscribe_url: str) -> RenderedDigest:
    week = insights.week
    subject = subject_for(insights)
    context = {
        "insights": insights,
        "subject": subject,
        "timezone": timezone,
        "unsubscribe_url": unsubscribe_url,
        "week_label": week_span(week.week_start, insights.week_end - timedelta(days=1)),
        "headline": (
            f"{week.sent} request{'s' if week.sent != 1 else ''} sent, "
            f"{week.accepted} accepted this week"
        ),
        "figures": [
            ("sent", week.sent),
            ("accepted", week.accepted),
            ("declined", week.declined),
            ("no response", week.no_response),
            ("withdrawn", week.withdrawn),
            ("pending", week.pending),
        ],
        "rate_sentence": _rate_sentence(week, insights.trend_acceptance),
        "trend_rows": _trend_rows(insights.trend),
        "comparisons_heading": f"What seems to make a difference, last {COMPARISON_WEEKS} weeks",
        "comparison_lines": _comparison_lines(insights.comparisons),
    }
    environment = _environment()
    return RenderedDigest(
        subject=subject,
        text=environment.get_template("digest.txt.j2").render(context),
        html=environment.get_template("digest.html.j2").render(context),
    )
