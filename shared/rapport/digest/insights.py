"""What a member's week says, computed from that member's requests only (pure, no I/O).

Every figure is honest about sample size: rates come with a 95% Wilson interval, comparisons are
shown only with at least ``MIN_SIDE`` decided requests on each side, and a difference is only
stated when the two intervals do not overlap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from rapport.codes import Outcome, ReasonCode
from rapport.contract import RequestDeclined, RequestEvent, RequestSent
from rapport.digest.advice import ADVICE, DEFAULT_ADVICE
from rapport.digest.schedule import week_bounds
from rapport.digest.statistics import wilson_interval
from rapport.state import DEFAULT_RESPONSE_WINDOW, RequestStatus, Resolution, explain, resolve

TREND_WEEKS = 8
MIN_SIDE = 10
STALE_PENDING_AGE = timedelta(days=14)
MAX_QUOTES = 2
QUOTE_LENGTH = 160


@dataclass(frozen=True)
class RateEstimate:
    accepted: int
    decided: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% Wilson score interval, sound for small samples and rates near 0 or 1."""
        return wilson_interval(self.accepted, self.decided) if self.decided else None


@dataclass(frozen=True)
class WeekCounts:
    week_start: date
    sent: int = 0
    accepted: int = 0
    declined: int = 0
    withdrawn: int = 0
    no_response: int = 0
    pending: int = 0

    @property
    def acceptance(self) -> RateEstimate:
        return RateEstimate(self.accepted, self.accepted + self.declined + self.no_response)

    @property
    def acceptance_rate(self) -> float | None:
        return self.acceptance.rate


@dataclass(frozen=True)
class ReasonSummary:
    code: ReasonCode
    label: str
    count: int
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    label: str
    with_label: str
    without_label: str
    with_side: RateEstimate
    without_side: RateEstimate

    @property
    def enough_data(self) -> bool:
        return self.with_side.decided >= MIN_SIDE and self.without_side.decided >= MIN_SIDE

    @property
    def differs(self) -> bool:
        """True only when the two 95% intervals do not overlap."""
        if not self.enough_data:
            return False
        low_with, high_with = self.with_side.interval or (0.0, 1.0)
        low_without, high_without = self.without_side.interval or (0.0, 1.0)
        return high_with < low_without or high_without < low_with


@dataclass(frozen=True)
class StalePending:
    sent_on: date
    age_days: int
    recipient_headline: str | None


@dataclass(frozen=True)
class DigestInsights:
    member_id: str
    week: WeekCounts
    week_end: date
    trend: tuple[WeekCounts, ...]
    trend_acceptance: RateEstimate
    top_reasons: tuple[ReasonSummary, ...]
    recipient_words: tuple[str, ...]
    comparisons: tuple[Comparison, ...]
    stale_pending: tuple[StalePending, ...]
    suggestion: str
    reflection: str
    dominant_reason: ReasonCode | None
    first_digest: bool = field(default=False)


def _in(instant: datetime | None, start: datetime, end: datetime) -> bool:
    return instant is not None and start <= instant < end


def week_counts(
    requests: Sequence[Sequence[RequestEvent]],
    week_start: date,
    timezone: str,
    window: timedelta = DEFAULT_RESPONSE_WINDOW,
    as_of: datetime | None = None,
) -> WeekCounts:
    """DESIGN §4 counts for one local week.

    A request counts where its outcome *as known at ``as_of``* was reached (default: the week's
    end), so across the weeks of one digest each request is decided once: an answer that came
    after the window closed counts in its own week, not also as a no-response earlier. Pending
    is, by definition, judged at the week's end.
    """
    start, end = week_bounds(week_start, timezone)
    week_end = end - timedelta(microseconds=1)
    judged_at = max(as_of, week_end) if as_of is not None else week_end
    counts: Counter[str] = Counter()
    for events in requests:
        final = resolve(events, judged_at, window)
        if final.sent is not None and _in(final.sent.time, start, end):
            counts["sent"] += 1
        if final.outcome is not Outcome.PENDING and _in(final.decided_at, start, end):
            counts[final.outcome.value] += 1
        at_end = final if judged_at == week_end else resolve(events, week_end, window)
        if at_end.outcome is Outcome.PENDING and at_end.sent is not None:
            counts["pending"] += 1
    return WeekCounts(week_start=week_start, **counts)


def _truncate(text: str, limit: int = QUOTE_LENGTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _comparison(
    label: str,
    sides: tuple[str, str],
    decided: Sequence[Resolution],
    has: Callable[[RequestSent], bool],
) -> Comparison:
    with_side = [item for item in decided if item.sent is not None and has(item.sent)]
    without_side = [item for item in decided if item.sent is not None and not has(item.sent)]

    def estimate(items: list[Resolution]) -> RateEstimate:
        return RateEstimate(sum(item.outcome is Outcome.ACCEPTED for item in items), len(items))

    return Comparison(label, sides[0], sides[1], estimate(with_side), estimate(without_side))


def _comparisons(decided: Sequence[Resolution]) -> tuple[Comparison, ...]:
    return (
        _comparison(
            "A personal note",
            ("with a note", "without"),
            decided,
            lambda sent: bool((sent.data.note or "").strip()),
        ),
        _comparison(
            "A shared group or credential",
            ("with a shared group or credential", "without"),
            decided,
            lambda sent: bool(
                sent.data.context.shared_groups or sent.data.context.shared_credentials
            ),
        ),
        _comparison(
            "Mutual connections",
            ("with mutual connections", "without"),
            decided,
            lambda sent: sent.data.context.mutual_connections >= 1,
        ),
    )


def _top_reasons(explained: Sequence[RequestStatus]) -> tuple[ReasonSummary, ...]:
    """The three most frequent primary reasons, each with up to two pieces of evidence."""
    counts = Counter(
        status.classification.primary_reason
        for status in explained
        if status.classification.primary_reason is not None
    )
    summaries = []
    for code, count in counts.most_common(3):
        evidence = dict.fromkeys(
            _truncate(item.text, 80)
            for status in explained
            if status.classification.primary_reason is code
            for item in status.classification.evidence
            if item.code is code
        )
        summaries.append(ReasonSummary(code, ADVICE[code].label, count, tuple(evidence)[:2]))
    return tuple(summaries)


def _recipient_words(explained: Sequence[RequestStatus]) -> tuple[str, ...]:
    """The most recent decline notes, truncated (escaping is the template's job)."""
    notes = [
        (status.decided_at, status.answer.data.note)
        for status in explained
        if isinstance(status.answer, RequestDeclined) and (status.answer.data.note or "").strip()
    ]
    notes.sort(key=lambda pair: pair[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
    return tuple(_truncate(note or "") for _, note in notes[:MAX_QUOTES])


def _dominant_reason(
    explained: Sequence[RequestStatus], week_start: datetime, week_end: datetime
) -> ReasonCode | None:
    """This week's most common reason, or the trend window's when this week had none."""
    this_week = [status for status in explained if _in(status.decided_at, week_start, week_end)]
    for pool in (this_week, explained):
        counts = Counter(
            status.classification.primary_reason
            for status in pool
            if status.classification.primary_reason is not None
        )
        if counts:
            return counts.most_common(1)[0][0]
    return None


def _stale_pending(
    requests: Sequence[Sequence[RequestEvent]], as_of: datetime, window: timedelta
) -> tuple[StalePending, ...]:
    stale = []
    for events in requests:
        item = resolve(events, as_of, window)
        if item.outcome is Outcome.PENDING and item.sent is not None:
            age = as_of - item.sent.time
            if age >= STALE_PENDING_AGE:
                headline = item.sent.data.recipient.headline
                stale.append(StalePending(item.sent.time.date(), age.days, headline))
    return tuple(sorted(stale, key=lambda entry: entry.sent_on))


def build_insights(
    member_id: str,
    requests: Sequence[Sequence[RequestEvent]],
    week_start: date,
    timezone: str,
    as_of: datetime,
    *,
    window: timedelta = DEFAULT_RESPONSE_WINDOW,
    first_digest: bool = False,
) -> DigestInsights:
    """Everything the digest shows for ``week_start``, from one member's requests."""
    trend = tuple(
        week_counts(requests, week_start - timedelta(weeks=back), timezone, window, as_of)
        for back in range(TREND_WEEKS - 1, -1, -1)
    )
    trend_start, _ = week_bounds(trend[0].week_start, timezone)
    week_start_utc, week_end = week_bounds(week_start, timezone)
    # Judged as the week counts are: what is known at as_of, decided within the trend window.
    judged_at = max(as_of, week_end - timedelta(microseconds=1))
    in_trend = [
        resolution
        for resolution in (resolve(events, judged_at, window) for events in requests)
        if _in(resolution.decided_at, trend_start, week_end)
    ]
    decided = [item for item in in_trend if item.outcome is not Outcome.WITHDRAWN]
    explained = [
        explain(item)
        for item in in_trend
        if item.outcome in (Outcome.DECLINED, Outcome.NO_RESPONSE)
    ]
    dominant = _dominant_reason(explained, week_start_utc, week_end)
    advice = ADVICE[dominant] if dominant is not None else DEFAULT_ADVICE
    return DigestInsights(
        member_id=member_id,
        week=trend[-1],
        week_end=week_start + timedelta(days=7),
        trend=trend,
        trend_acceptance=RateEstimate(
            sum(item.outcome is Outcome.ACCEPTED for item in decided), len(decided)
        ),
        top_reasons=_top_reasons(explained),
        recipient_words=_recipient_words(explained),
        comparisons=_comparisons(decided),
        stale_pending=_stale_pending(requests, as_of, window),
        suggestion=advice.suggestion,
        reflection=advice.reflection,
        dominant_reason=dominant,
        first_digest=first_digest,
    )
