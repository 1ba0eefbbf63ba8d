"""A request's state as a pure function of the set of its events and an instant.

Because the state is computed from the *set* of events (never from the order they arrived in),
any arrival order and any number of redeliveries give the same answer. The outcome is evaluated
"as of" an instant: events later than it are not yet known, and an unanswered request becomes
``no_response`` once its response window has passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapport.codes import DEFAULT_RESPONSE_WINDOW_DAYS, Outcome
from rapport.contract import (
    RequestAccepted,
    RequestDeclined,
    RequestEvent,
    RequestExpired,
    RequestFacts,
    RequestSent,
    RequestWithdrawn,
)
from rapport.reasons import Classification, classify

DEFAULT_RESPONSE_WINDOW = timedelta(days=DEFAULT_RESPONSE_WINDOW_DAYS)


class RequestHistory(list[RequestEvent]):
    """A request's stored events, and the reasons its decline had if the recipient was erased.

    Erasing a recipient removes their words from the sender's request; the sender keeps what the
    words meant (the reason codes), so their digests and patterns do not change.
    """

    def __init__(
        self, events: Iterable[RequestEvent] = (), kept_reasons: Classification | None = None
    ) -> None:
        super().__init__(events)
        self.kept_reasons = kept_reasons


_TERMINAL_OUTCOME: dict[type[RequestEvent], Outcome] = {
    RequestAccepted: Outcome.ACCEPTED,
    RequestDeclined: Outcome.DECLINED,
    RequestWithdrawn: Outcome.WITHDRAWN,
    RequestExpired: Outcome.NO_RESPONSE,
}
# Breaks ties between answers stamped with the same instant, so the result never depends on order.
_TIE_RANK = {Outcome.ACCEPTED: 0, Outcome.DECLINED: 1, Outcome.WITHDRAWN: 2, Outcome.NO_RESPONSE: 3}


@dataclass(frozen=True)
class Resolution:
    """A request's outcome as of an instant, without its reasons."""

    sender_id: str
    request_id: str
    outcome: Outcome
    #: When the outcome was reached: the answer's time, or when the response window closed.
    decided_at: datetime | None
    sent: RequestSent | None
    answer: RequestEvent | None
    #: The reasons of a decline whose note was erased with its writer (``RequestHistory``).
    kept_reasons: Classification | None


@dataclass(frozen=True)
class RequestStatus(Resolution):
    """A resolution with the reasons for it."""

    classification: Classification


def _answer_order(event: RequestEvent) -> tuple[datetime, int, str, str]:
    return (event.time, _TIE_RANK[_TERMINAL_OUTCOME[type(event)]], event.source, event.id)


def _sent_order(event: RequestSent) -> tuple[datetime, str, str]:
    return (event.time, event.source, event.id)


def resolve(
    events: Iterable[RequestEvent],
    now: datetime,
    response_window: timedelta = DEFAULT_RESPONSE_WINDOW,
) -> Resolution:
    """Fold one request's events (all with the same sender and request id) into its outcome."""
    every = list(events)
    if not every:
        raise ValueError("a request needs at least one event")
    identity = every[0].data
    known = [event for event in every if event.time <= now]
    sents = [event for event in known if isinstance(event, RequestSent)]
    answers = [event for event in known if not isinstance(event, RequestSent)]
    sent = min(sents, key=_sent_order) if sents else None
    answer = min(answers, key=_answer_order) if answers else None

    outcome, decided_at = Outcome.PENDING, None
    if answer is not None:
        outcome, decided_at = _TERMINAL_OUTCOME[type(answer)], answer.time
    # A late real answer stands; an unanswered or platform-expired request closes with the window.
    window_closes = sent.time + response_window if sent is not None else None
    if (
        window_closes is not None
        and window_closes <= now
        and (answer is None or (outcome is Outcome.NO_RESPONSE and answer.time > window_closes))
    ):
        outcome, decided_at = Outcome.NO_RESPONSE, window_closes
    return Resolution(
        sender_id=identity.sender_id,
        request_id=identity.request_id,
        outcome=outcome,
        decided_at=decided_at,
        sent=sent,
        answer=answer,
        kept_reasons=events.kept_reasons if isinstance(events, RequestHistory) else None,
    )


def explain(resolution: Resolution) -> RequestStatus:
    """Add the reasons: the recipient's decline note and the sent request's facts."""
    answer, sent = resolution.answer, resolution.sent
    if not isinstance(answer, RequestDeclined):
        decline_note = None
    elif resolution.kept_reasons is not None:
        return RequestStatus(**vars(resolution), classification=resolution.kept_reasons)
    else:
        decline_note = answer.data.note
    return RequestStatus(
        **vars(resolution),
        classification=classify(decline_note, request_facts(sent), resolution.outcome),
    )


def request_facts(sent: RequestSent | None) -> RequestFacts | None:
    """What a reason can be derived from, besides the decline note: the sent data is its
    ``RequestFacts``."""
    return sent.data if sent else None


def request_status(
    events: Iterable[RequestEvent],
    now: datetime,
    response_window: timedelta = DEFAULT_RESPONSE_WINDOW,
) -> RequestStatus:
    """A request's outcome as of ``now`` and the reasons for it."""
    return explain(resolve(events, now, response_window))
