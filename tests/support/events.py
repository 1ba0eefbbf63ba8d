"""Build contract events for tests without repeating envelopes everywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rapport.contract import (
    EventModel,
    PreferencesUpdated,
    RequestAccepted,
    RequestDeclined,
    RequestExpired,
    RequestSent,
    RequestWithdrawn,
    envelope,
)

SOURCE = "https://platform.example/connections"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
#: The answers a test names by their kind, as in ``answer("declined")``.
ANSWERS: dict[str, EventModel] = {
    "accepted": RequestAccepted,
    "declined": RequestDeclined,
    "withdrawn": RequestWithdrawn,
    "expired": RequestExpired,
}


def _event(
    model: EventModel, event_id: str, time: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return envelope(model, event_id=event_id, source=SOURCE, time=time.isoformat(), data=data)


def sent(
    request_id: str = "req-1",
    sender_id: str = "m-sender",
    *,
    at: datetime = T0,
    note: str | None = None,
    context: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "request_id": request_id,
        "sender_id": sender_id,
        "recipient": {"member_id": f"r-{request_id}"},
        "note": note,
    }
    if context is not None:
        data["context"] = context
    return _event(RequestSent, event_id or f"sent-{sender_id}-{request_id}", at, data)


def answer(
    kind: str,
    request_id: str = "req-1",
    sender_id: str = "m-sender",
    *,
    at: datetime = T0 + timedelta(days=2),
    note: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"request_id": request_id, "sender_id": sender_id}
    if note is not None:
        data["note"] = note
    return _event(ANSWERS[kind], event_id or f"{kind}-{sender_id}-{request_id}", at, data)


def preferences(
    member_id: str = "m-sender",
    *,
    at: datetime = T0,
    event_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    data = {"member_id": member_id, "email": f"{member_id}@example.com", **fields}
    return _event(PreferencesUpdated, event_id or f"prefs-{member_id}-{at.isoformat()}", at, data)


def body(event: dict[str, Any]) -> str:
    return json.dumps(event)
