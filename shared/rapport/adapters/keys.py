"""The single-table key design (see docs/data-model.md): a member's data is one partition."""

from __future__ import annotations

from datetime import datetime

from rapport.timeutil import sortable

EVENT_ATTRIBUTE_PREFIX = "ev_"
REQUEST_PREFIX = "REQUEST#"
PROFILE_SK = "PROFILE"


def member_pk(member_id: str) -> str:
    return f"MEMBER#{member_id}"


def request_sk(request_id: str) -> str:
    return f"{REQUEST_PREFIX}{request_id}"


def event_attribute(key: str) -> str:
    return f"{EVENT_ATTRIBUTE_PREFIX}{key}"


def quarantine_pk(enqueued_at: datetime) -> str:
    """Quarantine is partitioned by day so a flood of bad input never forms one hot partition."""
    return f"QUARANTINE#{enqueued_at.date().isoformat()}"


def quarantine_sk(enqueued_at: datetime, message_id: str) -> str:
    return f"{sortable(enqueued_at)}#{message_id}"
