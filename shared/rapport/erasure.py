"""What erasing a member leaves of the requests they *received*, which belong to their senders.

The sender keeps their own facts: that they sent the request, when, with which note and
context, how it ended and why (the reason codes). What was the recipient's goes: their id, their
headline, industry and seniority, and the words of their decline. The reasons are read from
those words once more before they go, and kept without the quotes, so the sender's digests and
patterns stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.codes import Outcome
from rapport.contract import LATEST_TIME, Recipient, RequestDeclined, RequestEvent, RequestSent
from rapport.reasons import Classification, classify
from rapport.state import RequestHistory, request_facts, resolve

#: Stands for an erased recipient wherever the contract needs an id.
ERASED_MEMBER = "[erased]"


@dataclass(frozen=True)
class RedactedRequest:
    #: The events whose stored form changes, redacted, by their position in the history.
    redacted: dict[int, RequestEvent]
    kept_reasons: Classification | None


def _without_recipient(event: RequestEvent, member_id: str) -> RequestEvent:
    if isinstance(event, RequestSent) and event.data.recipient.member_id == member_id:
        data = event.data.model_copy(update={"recipient": Recipient(member_id=ERASED_MEMBER)})
        return event.model_copy(update={"data": data})
    if isinstance(event, RequestDeclined) and event.data.note is not None:
        return event.model_copy(update={"data": event.data.model_copy(update={"note": None})})
    return event


def _reasons_without_quotes(history: RequestHistory) -> Classification | None:
    """The reasons of the decline that decides the request, minus evidence quoting its note."""
    resolution = resolve(history, LATEST_TIME)
    decline = resolution.answer
    if not isinstance(decline, RequestDeclined) or decline.data.note is None:
        return None
    reasons = classify(decline.data.note, request_facts(resolution.sent), Outcome.DECLINED)
    kept = tuple(evidence for evidence in reasons.evidence if evidence.source != "note")
    return reasons.model_copy(update={"evidence": kept, "language": None})


def redact_recipient(history: RequestHistory, member_id: str) -> RedactedRequest:
    """The part of recipient ``member_id`` taken out of one request they received, the sender's
    part and its reasons kept."""
    redacted = {
        index: changed
        for index, event in enumerate(history)
        if (changed := _without_recipient(event, member_id)) != event
    }
    kept = history.kept_reasons or _reasons_without_quotes(history)
    return RedactedRequest(redacted, kept)
