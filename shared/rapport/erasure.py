"""What erasing a member leaves of the requests they *received*, which belong to their senders.

The sender keeps their own facts: that they sent the request, when, with which note and
context, how it ended and why (the reason codes). What was the recipient's goes: their id, their
headline, industry and seniority, and the words of their decline. The reasons are read from
those words once more before they go, and kept without the quotes, so the sender's digests and
patterns stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapport.codes import Outcome
from rapport.contract import Recipient, RequestDeclined, RequestEvent, RequestSent
from rapport.reasons import Classification, classify
from rapport.state import RequestHistory, request_facts

#: Stands for an erased recipient wherever the contract needs an id.
ERASED_MEMBER = "[erased]"


@dataclass(frozen=True)
class RedactedRequest:
    #: The events whose stored form changes, redacted, by their position in the history.
    redacted: dict[int, RequestEvent]
    kept_reasons: Classification | None


def _without_recipient(event: RequestEvent) -> RequestEvent:
    if isinstance(event, RequestSent):
        data = event.data.model_copy(update={"recipient": Recipient(member_id=ERASED_MEMBER)})
        return event.model_copy(update={"data": data})
    if isinstance(event, RequestDeclined) and event.data.note is not None:
        return event.model_copy(update={"data": event.data.model_copy(update={"note": None})})
    return event


def _reasons_without_quotes(history: Sequence[RequestEvent]) -> Classification | None:
    """The reasons of the decline that decides the request, minus evidence quoting its note."""
    declines = [event for event in history if isinstance(event, RequestDeclined)]
    noted = [event for event in declines if event.data.note is not None]
    if not noted:
        return None
    decline = min(declines, key=lambda event: (event.time, event.source, event.id))
    sents = [event for event in history if isinstance(event, RequestSent)]
    sent = min(sents, key=lambda event: (event.time, event.source, event.id)) if sents else None
    reasons = classify(decline.data.note, request_facts(sent), Outcome.DECLINED)
    kept = tuple(evidence for evidence in reasons.evidence if evidence.source != "note")
    return reasons.model_copy(update={"evidence": kept, "language": None})


def redact_recipient(history: RequestHistory) -> RedactedRequest:
    """The recipient's part of one request taken out, the sender's part and its reasons kept."""
    redacted = {
        index: changed
        for index, event in enumerate(history)
        if (changed := _without_recipient(event)) != event
    }
    kept = history.kept_reasons or _reasons_without_quotes(history)
    return RedactedRequest(redacted, kept)
