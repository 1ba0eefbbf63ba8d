"""What a member's week says, computed from that member's requests only (pure, no I/O).

Every figure is honest about sample size: rates come with a 95% Wilson interval; comparisons look
back ``COMPARISON_WEEKS`` weeks, are tested only with at least ``MIN_SIDE`` decided requests on
each side, and a difference is only stated when Fisher's exact test, Holm-adjusted over the
digest's comparisons, and Newcombe's interval for the difference both say so
(``rapport.digest.statistics``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from rapport.codes import Outcome, ReasonCode
from rapport.contract import RequestDeclined, RequestEvent, RequestSent
from rapport.digest.advice import ADVICE, DEFAULT_ADVICE
from rapport.digest.excerpts import excerpt, flatten, shorten
from rapport.digest.schedule import week_bounds, zone_of
from rapport.digest.statistics import fisher_exact, holm, newcombe_interval, wilson_interval
from rapport.reasons.model import CONFIDENT
from rapport.state import DEFAULT_RESPONSE_WINDOW, RequestStatus, Resolution, explain, resolve

TREND_WEEKS = 8
#: Comparisons need more requests than 8 weeks give most members: they look back half a year.
COMPARISON_WEEKS = 26
#: Decided requests each side of a comparison needs before it is tested. Fisher's test is valid
#: at any size; the minimum is for the sentence, which asks someone to change how they write
#: requests: at 10 a side one request still moves a rate by 10 points, and its 95% range can span
#: half the scale (24-76% at 5 of 10). The same point below which a rate is a "small sample".
MIN_SIDE = 10
#: Family-wise level of the comparisons in one digest (Holm-adjusted p-values are compared to it).
ALPHA = 0.05
STALE_PENDING_AGE = timedelta(days=14)
MAX_QUOTES = 2
TOP_REASONS = 3
QUOTE_LENGTH = 160
EVIDENCE_LENGTH = 120


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
    #: Of ``count``, how many a recipient's note stated with confidence; the rest are guesses.
    stated: int
    #: Whole-word excerpts of the notes that stated it, around the words that did.
    evidence: tuple[str, ...]
    #: How the reason was worked out when no note stated it (``ADVICE[code].inferred``).
    inferred: str | None = None

    @property
    def guessed(self) -> int:
        return self.count - self.stated


@dataclass(frozen=True)
class Trait:
    """Something a request had or lacked, worded so each sentence about it reads right."""

    key: str
    #: Subject of "… were accepted more often": "Requests with a personal note".
    requests_with: str
    #: The other side after its figures: "… vs 3 of 14 (21%) without one".
    others: str
    #: After "So far it has made no clear difference whether you …": "wrote a personal note".
    whether_you: str
    has: Callable[[RequestSent], bool] = field(compare=False, repr=False)


def _has_note(sent: RequestSent) -> bool:
    return bool((sent.data.note or "").strip())


def _met_before(sent: RequestSent) -> bool:
    return sent.data.context.prior_interaction != "none"


def _shares_group(sent: RequestSent) -> bool:
    return bool(sent.data.context.shared_groups or sent.data.context.shared_credentials)


def _has_mutuals(sent: RequestSent) -> bool:
    return sent.data.context.mutual_connections >= 1


#: What a sender can change, from the reasons requests fail (``no_note``, ``met_only`` and
#: ``doesnt_recognize``, ``no_common_ground``), in the order the digest names them.
TRAITS: tuple[Trait, ...] = (
    Trait(
        key="note",
        requests_with="Requests with a personal note",
        others="without one",
        whether_you="wrote a personal note",
        has=_has_note,
    ),
    Trait(
        key="met",
        requests_with="Requests to people you had met or messaged before",
        others="to people you had not",
        whether_you="had met or messaged the person before",
        has=_met_before,
    ),
    Trait(
        key="group",
        requests_with="Requests with a shared group or credential",
        others="without one",
        whether_you="shared a group or credential",
        has=_shares_group,
    ),
    Trait(
        key="mutual",
        requests_with="Requests with mutual connections",
        others="without any",
        whether_you="had mutual connections",
        has=_has_mutuals,
    ),
)


@dataclass(frozen=True)
class Comparison:
    """Acceptance with and without one trait, over the comparison window, and what a test says.

    ``p_value`` is Fisher's exact two-sided test; ``adjusted_p`` is Holm's adjustment over the
    comparisons of the same digest that had enough data; ``difference`` is Newcombe's 95%
    interval for the with-rate minus the without-rate. All three are None without enough data.
    """

    trait: Trait
    with_side: RateEstimate
    without_side: RateEstimate
    p_value: float | None = None
    adjusted_p: float | None = None
    difference: tuple[float, float] | None = None

    @property
    def enough_data(self) -> bool:
        return self.with_side.decided >= MIN_SIDE and self.without_side.decided >= MIN_SIDE

    @property
    def differs(self) -> bool:
        """True only when the adjusted exact test rejects "no difference" at ``ALPHA`` and the
        interval for the difference excludes 0: never on fewer than ``MIN_SIDE`` a side."""
        if not self.enough_data or self.adjusted_p is None or self.difference is None:
            return False
        low, high = self.difference
        return self.adjusted_p < ALPHA and (low > 0 or high < 0)

    @property
    def accepted_more_often(self) -> bool:
        """Whether requests with the trait did better (compare with ``differs``)."""
        return (self.with_side.rate or 0.0) > (self.without_side.rate or 0.0)


@dataclass(frozen=True)
class StalePending:
    sent_at: datetime
    age_days: int
    recipient_headline: str | None
    recipient_industry: str | None = None
    recipient_seniority: str | None = None


@dataclass(frozen=True)
class DigestInsights:
    member_id: str
    week: WeekCounts
    week_end: date
    trend: tuple[WeekCounts, ...]
    trend_acceptance: RateEstimate
    #: The most frequent identified reasons among the trend window's unaccepted requests.
    top_reasons: tuple[ReasonSummary, ...]
    #: Unaccepted requests in the trend window (declined or unanswered): what reasons explain.
    not_accepted: int
    #: Of those, how many no reason could be identified for.
    unexplained: int
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


def comparison_window(week_start: date, timezone: str) -> tuple[datetime, datetime]:
    """The ``COMPARISON_WEEKS`` local weeks that end with the digest's week, as UTC instants."""
    first, _ = week_bounds(week_start - timedelta(weeks=COMPARISON_WEEKS - 1), timezone)
    _, end = week_bounds(week_start, timezone)
    return first, end


def earliest_needed(
    week_start: date, timezone: str, window: timedelta = DEFAULT_RESPONSE_WINDOW
) -> datetime:
    """The earliest event time that can matter to the digest of ``week_start``.

    Every figure counts requests sent, decided or still open within the windows the digest shows
    (the longest starts ``max(TREND_WEEKS, COMPARISON_WEEKS)`` weeks back). A request decided in
    them has its answer there, or was sent at most one response window before (an unanswered
    request is decided when its window closes); one still open was sent within the window before.
    So a request whose events are all earlier than this instant changes nothing, and a read may
    skip it; a request it keeps must come with all its events, as its facts are in the sent one.
    """
    weeks = max(TREND_WEEKS, COMPARISON_WEEKS)
    first, _ = week_bounds(week_start - timedelta(weeks=weeks - 1), timezone)
    return first - window


def _compare(trait: Trait, decided: Sequence[Resolution]) -> Comparison:
    def estimate(items: list[Resolution]) -> RateEstimate:
        return RateEstimate(sum(item.outcome is Outcome.ACCEPTED for item in items), len(items))

    having = [item for item in decided if item.sent is not None and trait.has(item.sent)]
    lacking = [item for item in decided if item.sent is not None and not trait.has(item.sent)]
    with_side, without_side = estimate(having), estimate(lacking)
    comparison = Comparison(trait, with_side, without_side)
    if not comparison.enough_data:
        return comparison
    counts = (with_side.accepted, with_side.decided, without_side.accepted, without_side.decided)
    return replace(comparison, p_value=fisher_exact(*counts), difference=newcombe_interval(*counts))


def _comparisons(
    requests: Sequence[Sequence[RequestEvent]],
    week_start: date,
    timezone: str,
    judged_at: datetime,
    window: timedelta,
) -> tuple[Comparison, ...]:
    """Each trait's comparison over the requests decided (withdrawn ones aside) in the
    comparison window, as known at ``judged_at``; the tests made are adjusted together."""
    start, end = comparison_window(week_start, timezone)
    decided = [
        item
        for item in (resolve(events, judged_at, window) for events in requests)
        if item.sent is not None
        and item.outcome not in (Outcome.PENDING, Outcome.WITHDRAWN)
        and _in(item.decided_at, start, end)
    ]
    compared = [_compare(trait, decided) for trait in TRAITS]
    tested = [index for index, item in enumerate(compared) if item.p_value is not None]
    adjusted = holm([compared[index].p_value or 0.0 for index in tested])
    for index, p_value in zip(tested, adjusted, strict=True):
        compared[index] = replace(compared[index], adjusted_p=p_value)
    return tuple(compared)


def _stated(status: RequestStatus) -> bool:
    """Whether the recipient's note said this reason, confidently enough to state it as theirs."""
    classification = status.classification
    return (classification.confidence or 0.0) >= CONFIDENT and any(
        item.source == "note" and item.code is classification.primary_reason
        for item in classification.evidence
    )


def _evidence(status: RequestStatus) -> list[str]:
    """The note's words that gave the primary reason, each in its sentence."""
    note = status.answer.data.note if isinstance(status.answer, RequestDeclined) else None
    code = status.classification.primary_reason
    return [
        excerpt(note or item.text, item.text, EVIDENCE_LENGTH)
        for item in status.classification.evidence
        if item.code is code and item.source == "note"
    ]


def _top_reasons(explained: Sequence[RequestStatus]) -> tuple[ReasonSummary, ...]:
    """The most frequent identified primary reasons, each with up to two pieces of evidence.

    Confident statements are quoted first; a reason no note stated confidently is a guess and is
    counted apart, so the digest never presents a guess as what someone said.
    """
    identified = [
        status
        for status in explained
        if status.classification.primary_reason not in (None, ReasonCode.UNKNOWN)
    ]
    counts = Counter(status.classification.primary_reason for status in identified)
    summaries = []
    for code, count in counts.most_common(TOP_REASONS):
        assert code is not None
        mine = sorted(
            (status for status in identified if status.classification.primary_reason is code),
            key=lambda status: not _stated(status),
        )
        evidence = dict.fromkeys(quote for status in mine for quote in _evidence(status))
        summaries.append(
            ReasonSummary(
                code=code,
                label=ADVICE[code].label,
                count=count,
                stated=sum(map(_stated, mine)),
                evidence=tuple(evidence)[:MAX_QUOTES],
                inferred=ADVICE[code].inferred,
            )
        )
    return tuple(summaries)


def _recipient_words(
    explained: Sequence[RequestStatus], reasons: Sequence[ReasonSummary]
) -> tuple[str, ...]:
    """The most recent decline notes the reasons did not already quote, shortened at a word
    (escaping is the template's job)."""
    quoted = [quote.strip("…") for reason in reasons for quote in reason.evidence]
    notes = [
        (status.decided_at, status.answer.data.note)
        for status in explained
        if isinstance(status.answer, RequestDeclined)
        and (status.answer.data.note or "").strip()
        and not any(quote in flatten(status.answer.data.note or "") for quote in quoted)
    ]
    notes.sort(key=lambda pair: pair[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
    return tuple(shorten(note or "", QUOTE_LENGTH) for _, note in notes[:MAX_QUOTES])


def _dominant_reason(
    explained: Sequence[RequestStatus], week_start: datetime, week_end: datetime
) -> ReasonCode | None:
    """This week's most common reason, or the trend window's when this week had none.

    An identified reason wins over "unknown", which only leads when nothing else is known.
    """
    this_week = [status for status in explained if _in(status.decided_at, week_start, week_end)]
    for pool in (this_week, explained):
        counts = Counter(
            status.classification.primary_reason
            for status in pool
            if status.classification.primary_reason is not None
        )
        identified = Counter(
            {code: n for code, n in counts.items() if code is not ReasonCode.UNKNOWN}
        )
        if identified or counts:
            return (identified or counts).most_common(1)[0][0]
    return None


def _stale_pending(
    requests: Sequence[Sequence[RequestEvent]], as_of: datetime, window: timedelta, timezone: str
) -> tuple[StalePending, ...]:
    """Requests open for ``STALE_PENDING_AGE`` or more; their age is counted in the member's
    calendar days, so two sent on the same local day read as the same number of days ago."""
    zone = zone_of(timezone)
    today = as_of.astimezone(zone).date()
    stale = []
    for events in requests:
        item = resolve(events, as_of, window)
        if (
            item.outcome is Outcome.PENDING
            and item.sent is not None
            and as_of - item.sent.time >= STALE_PENDING_AGE
        ):
            recipient = item.sent.data.recipient
            stale.append(
                StalePending(
                    item.sent.time,
                    (today - item.sent.time.astimezone(zone).date()).days,
                    recipient.headline,
                    recipient.industry,
                    recipient.seniority,
                )
            )
    return tuple(sorted(stale, key=lambda entry: entry.sent_at))


def _canonical_order(events: Sequence[RequestEvent]) -> tuple[datetime, str]:
    return min(event.time for event in events), events[0].data.request_id


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
    """Everything the digest shows for ``week_start``, from one member's requests.

    The requests are put in one canonical order first (when first seen, then id), so ties among
    reasons and quotes fall the same way whether they come from the table or from a file.
    """
    requests = sorted(requests, key=_canonical_order)
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
    top_reasons = _top_reasons(explained)
    advice = ADVICE[dominant] if dominant is not None else DEFAULT_ADVICE
    return DigestInsights(
        member_id=member_id,
        week=trend[-1],
        week_end=week_start + timedelta(days=7),
        trend=trend,
        trend_acceptance=RateEstimate(
            sum(item.outcome is Outcome.ACCEPTED for item in decided), len(decided)
        ),
        top_reasons=top_reasons,
        not_accepted=len(explained),
        unexplained=sum(
            status.classification.primary_reason in (None, ReasonCode.UNKNOWN)
            for status in explained
        ),
        recipient_words=_recipient_words(explained, top_reasons),
        comparisons=_comparisons(requests, week_start, timezone, judged_at, window),
        stale_pending=_stale_pending(requests, as_of, window, timezone),
        suggestion=advice.suggestion,
        reflection=advice.reflection,
        dominant_reason=dominant,
        first_digest=first_digest,
    )
