"""Erasing a recipient from a sender's request: their part goes, the sender's facts and reasons
stay."""

from __future__ import annotations

from datetime import timedelta

from rapport.codes import Outcome, ReasonCode
from rapport.contract import RequestDeclined, RequestSent
from rapport.erasure import ERASED_MEMBER, redact_recipient
from rapport.state import RequestHistory, request_status
from rapport.validation import validate_document
from tests.support.events import T0, answer, sent

NOW = T0 + timedelta(days=30)
WORDS = "Sorry, I only connect with people I have met in person."


def _history(decline_note: str | None = WORDS) -> RequestHistory:
    request = sent("req-1", "m-sender", note="Fellow PMP here", context={"mutual_connections": 0})
    request["data"]["recipient"] = {
        "member_id": "m-recipient",
        "headline": "Senior PM | PMP",
        "industry": "Healthcare",
        "seniority": "senior",
    }
    declined = answer("declined", "req-1", "m-sender", note=decline_note)
    return RequestHistory(validate_document(event) for event in (request, declined))  # type: ignore[misc]


def _applied(history: RequestHistory) -> RequestHistory:
    redaction = redact_recipient(history, "m-recipient")
    events = [redaction.redacted.get(index, event) for index, event in enumerate(history)]
    return RequestHistory(events, redaction.kept_reasons)


def test_the_recipient_and_their_words_go() -> None:
    redacted = _applied(_history())
    sent_event = next(event for event in redacted if isinstance(event, RequestSent))
    declined = next(event for event in redacted if isinstance(event, RequestDeclined))
    assert sent_event.data.recipient.model_dump() == {
        "member_id": ERASED_MEMBER,
        "headline": None,
        "industry": None,
        "seniority": None,
    }
    assert declined.data.note is None
    dumped = " ".join(event.model_dump_json() for event in redacted)
    for theirs in ("m-recipient", "Senior PM", "Healthcare", "met in person"):
        assert theirs not in dumped


def test_the_senders_facts_and_reasons_stay() -> None:
    before = request_status(_history(), NOW)
    after = request_status(_applied(_history()), NOW)
    assert before.classification.primary_reason is ReasonCode.MET_ONLY
    assert (after.outcome, after.decided_at) == (before.outcome, before.decided_at)
    assert after.sent is not None
    assert before.sent is not None
    assert (after.sent.data.note, after.sent.data.context) == (
        before.sent.data.note,
        before.sent.data.context,
    )
    kept, was = after.classification, before.classification
    assert (kept.primary_reason, kept.reasons, kept.confidence) == (
        was.primary_reason,
        was.reasons,
        was.confidence,
    )
    assert [evidence for evidence in kept.evidence if evidence.source == "note"] == []
    assert [e for e in was.evidence if e.source == "request"] == list(kept.evidence)
    assert kept.language is None


def test_redacting_twice_changes_nothing_more() -> None:
    once = _applied(_history())
    again = redact_recipient(once, "m-recipient")
    assert again.redacted == {}
    assert again.kept_reasons == once.kept_reasons


def test_a_decline_without_words_keeps_no_reasons_to_replace_them() -> None:
    redaction = redact_recipient(_history(decline_note=None), "m-recipient")
    assert redaction.kept_reasons is None
    assert list(redaction.redacted) == [0]  # only the recipient in the sent event
    status = request_status(_applied(_history(decline_note=None)), NOW)
    assert status.outcome is Outcome.DECLINED
