"""Random SQS batches for the serial-versus-parallel property tests (``rapport.ingest.batch``).

A batch is drawn with replacement from a small pool of bodies, so it holds what makes parallel
writes hard: the same event twice, a request's events in any order, conflicting duplicates (same
source and id, other content), two recipients for one request, preferences of one member older
and newer, and bodies refused before any write. Some events are flaky: their first write fails
as a transient error would, so the batch reports them for redelivery.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from rapport.ingest import InboundMessage, IngestResult
from rapport.ingest.batch import RecordOutcome
from tests.support.events import T0, answer, body, preferences, sent

ENQUEUED_AT = T0 + timedelta(days=30)


class InjectedTransientError(Exception):
    """A throttling error's stand-in: not ``Rejected``, so the record fails and is redelivered."""


def _other_recipient(request_id: str, sender_id: str) -> dict[str, Any]:
    event = sent(request_id, sender_id, event_id=f"resent-{sender_id}-{request_id}")
    event["data"]["recipient"]["member_id"] = "r-someone-else"
    return event


def _pool() -> list[str]:
    bodies: list[str] = []
    for sender in ("m-ann", "m-bob"):
        for request in ("req-1", "req-2"):
            bodies += [
                body(sent(request, sender)),
                body(answer("accepted", request, sender)),
                body(answer("declined", request, sender, note="Not now")),
                # Same source and id as the decline above, other content: a conflict.
                body(answer("declined", request, sender, note="Never")),
                body(answer("withdrawn", request, sender, at=T0 + timedelta(days=1))),
            ]
        bodies += [body(_other_recipient("req-1", sender))]
    for member in ("m-ann", "m-cat"):
        for hours in (0, 5, 9):
            bodies.append(
                body(preferences(member, at=T0 + timedelta(hours=hours), digest_hour=hours))
            )
        bodies.append(body(preferences(member, at=T0, event_id="p-same", digest_enabled=False)))
    far_future = sent("req-9", "m-ann", at=ENQUEUED_AT + timedelta(days=3))
    return [*bodies, body(far_future), "{broken", json.dumps({"specversion": "1.0"})]


POOL = _pool()


def event_id_of(text: str) -> str | None:
    """The id a pool body names, if it is JSON with one."""
    try:
        return str(json.loads(text)["id"])
    except (ValueError, KeyError, TypeError):
        return None


FLAKY_CANDIDATES = sorted({i for t in POOL if (i := event_id_of(t)) is not None})


@st.composite
def batches(draw: st.DrawFn, max_size: int = 30) -> tuple[list[InboundMessage], set[str]]:
    """A batch of messages (bodies drawn with replacement, so with repeats), and the ids of the
    events whose first write fails."""
    texts = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=max_size))
    flaky = draw(st.sets(st.sampled_from(FLAKY_CANDIDATES), max_size=3))
    messages = [
        InboundMessage(f"msg-{position:03d}", text, ENQUEUED_AT)
        for position, text in enumerate(texts)
    ]
    return messages, flaky


def comparable(outcomes: list[RecordOutcome]) -> list[object]:
    """Outcomes as they can be compared across runs: a result, an error's type, or None."""
    return [
        outcome if isinstance(outcome, IngestResult) or outcome is None else type(outcome)
        for outcome in outcomes
    ]


def never_late() -> bool:
    return True
