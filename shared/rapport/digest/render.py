"""Turn insights into the digest's subject, plain text and email-safe HTML.

Templates are Jinja2 with autoescaping on for HTML: recipients' notes are untrusted text and
can never become markup. Numbers and sentences are prepared here so templates stay simple.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from rapport.digest.advice import ADVICE, WAITING_ADVICE
from rapport.digest.insights import (
    COMPARISON_WEEKS,
    MIN_SIDE,
    TREND_WEEKS,
    Comparison,
    DigestInsights,
    RateEstimate,
    ReasonSummary,
    StalePending,
    WeekCounts,
)
from rapport.digest.schedule import zone_of

WELCOME_TITLE = "Welcome to Rapport."
#: Said once, in a member's first digest: what it is, what it reads, and how to stop it.
WELCOME = (
    "Each week it reflects on the connection requests you sent: what happened, the likely "
    "reasons, and one thing to try next. It uses only what your networking platform shares about "
    "your own requests (when they were sent and answered, your note, what you have in common, "
    "and any note the recipient left). No one else sees it. To stop these emails, use the "
    "unsubscribe link at the end: one click is enough."
)
#: Requests still waiting that the digest lists by name; the rest are counted.
MAX_WAITING_LISTED = 5


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
    """Half up, as people round: 23 of 40 is 58%. ``round`` would give 57, as 0.575 * 100 is
    57.4999… in binary (and it rounds halves to even); a ratio of counts is never within 1e-9
    below a half without being one."""
    return "–" if value is None else f"{math.floor(value * 100 + 0.5 + 1e-9)}%"


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
                "label": f"{week.week_start.day} {week.week_start:%b}",
                "width": max(1, round(100 * week.sent / most)) if week.sent else 1,
                "accepted_width": round(100 * accepted / week.sent) if week.sent else 0,
                "other_width": 100 - round(100 * accepted / week.sent) if week.sent else 100,
                "summary": f"{week.sent} sent · {week.accepted} accepted",
            }
        )
    return rows


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _quoted(quotes: tuple[str, ...]) -> str:
    return "; ".join(f"“{quote}”" for quote in quotes)


def _reason_row(reason: ReasonSummary) -> dict[str, str]:
    """A reason as a member reads it: stated reasons quote the note, guesses say "possibly",
    and a reason worked out from the request says how instead of repeating its label."""
    title = ADVICE[reason.code].as_guess if reason.stated == 0 else reason.label
    count = _plural(reason.count, "request")
    if reason.stated and reason.guessed:
        count += f" ({reason.stated} said so, {reason.guessed} a guess)"
    if reason.evidence:
        said = "They wrote" if reason.stated else "Their note read"
        detail = f"{said}: {_quoted(reason.evidence)}"
    else:
        detail = reason.inferred or ""
    return {"title": title, "count": count, "detail": detail}


def _reasons_lead(insights: DigestInsights) -> str:
    """Counts the same requests as the 8-week rate above: decided but not accepted."""
    total = insights.not_accepted
    lead = (
        f"Over the last {TREND_WEEKS} weeks, {_plural(total, 'request')} "
        f"{'was' if total == 1 else 'were'} declined or went unanswered."
    )
    return lead + (" Most often:" if insights.top_reasons else "")


def _reasons_tail(insights: DigestInsights) -> list[str]:
    """What the listed reasons leave out, so their counts add up to the lead's."""
    lines = []
    listed = sum(reason.count for reason in insights.top_reasons)
    others = insights.not_accepted - insights.unexplained - listed
    if others:
        lines.append(f"{_plural(others, 'other')} had a less common reason.")
    if insights.unexplained:
        lines.append(
            "No reason could be identified for any of them."
            if insights.unexplained == insights.not_accepted
            else f"For {insights.unexplained} of them, no reason could be identified."
        )
    return lines


def _recipient(item: StalePending) -> str:
    about = ", ".join(part for part in (item.recipient_industry, item.recipient_seniority) if part)
    if item.recipient_headline:
        return item.recipient_headline + (f" ({about})" if about else "")
    return f"Someone in {about}" if about else "A recipient with no profile details"


def _waiting_rows(stale: tuple[StalePending, ...], timezone: str) -> list[str]:
    """Each waiting request told apart: who (headline, industry, seniority) and the local day
    it was sent, with the time when two would otherwise read the same."""
    zone = zone_of(timezone)
    listed = []
    for item in stale[:MAX_WAITING_LISTED]:
        local = item.sent_at.astimezone(zone)
        day = f"sent {local:%a} {local.day} {local:%b}"
        listed.append((_recipient(item), day, f"{local:%H:%M}", item.age_days))
    repeats = Counter((who, day) for who, day, _, _ in listed)
    return [
        f"{who} — {day}{f' at {clock}' if repeats[who, day] > 1 else ''}, {_plural(age, 'day')} ago"
        for who, day, clock, age in listed
    ]


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
        "reasons_heading": f"Why requests did not land, last {TREND_WEEKS} weeks",
        "reasons_lead": _reasons_lead(insights),
        "reason_rows": [_reason_row(reason) for reason in insights.top_reasons],
        "reasons_tail": _reasons_tail(insights),
        "waiting_rows": _waiting_rows(insights.stale_pending, timezone),
        "waiting_more": max(0, len(insights.stale_pending) - MAX_WAITING_LISTED),
        "waiting_advice": WAITING_ADVICE,
        "welcome_title": WELCOME_TITLE,
        "welcome": WELCOME,
    }
    environment = _environment()
    return RenderedDigest(
        subject=subject,
        text=environment.get_template("digest.txt.j2").render(context),
        html=environment.get_template("digest.html.j2").render(context),
    )
