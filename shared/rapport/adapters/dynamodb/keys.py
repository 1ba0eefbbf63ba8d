"""The single-table key design (see docs/data-model.md): a member's data is one partition."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rapport.timeutil import sortable

MEMBER_PREFIX = "MEMBER#"
REQUEST_PREFIX = "REQUEST#"
PROFILE_SK = "PROFILE"
DIGEST_PREFIX = "DIGEST#"
#: Links in a member's partition to the quarantined payloads that name them.
NAMED_PREFIX = "NAMED#"
#: The sparse index on ``member_ref``: the requests a member received.
MEMBER_INDEX = "MemberIndex"
#: The sparse index on (``pk``, ``events_until``): a member's requests with events late enough.
HISTORY_INDEX = "HistoryIndex"


def member_pk(member_id: str) -> str:
    return f"{MEMBER_PREFIX}{member_id}"


def member_of(pk: str) -> str:
    return pk.removeprefix(MEMBER_PREFIX)


def request_sk(request_id: str) -> str:
    return f"{REQUEST_PREFIX}{request_id}"


def request_of(sk: str) -> str:
    return sk.removeprefix(REQUEST_PREFIX)


def digest_sk(week_start: date) -> str:
    return f"{DIGEST_PREFIX}{week_start.isoformat()}"


def digest_week(sk: str) -> date:
    return date.fromisoformat(sk.removeprefix(DIGEST_PREFIX))


def quarantine_pk_for_day(day: date) -> str:
    """Quarantine is partitioned by UTC day, so a flood of bad input is never one hot partition."""
    return f"QUARANTINE#{day.isoformat()}"


def quarantine_pk(enqueued_at: datetime) -> str:
    return quarantine_pk_for_day(enqueued_at.astimezone(UTC).date())


def quarantine_sk(enqueued_at: datetime, message_id: str) -> str:
    """Also the quarantine id operators use: it starts with the instant, so it names its day."""
    return f"{sortable(enqueued_at)}#{message_id}"


def named_sk(quarantine_id: str) -> str:
    return f"{NAMED_PREFIX}{quarantine_id}"


def quarantine_day(quarantine_id: str) -> date | None:
    try:
        return date.fromisoformat(quarantine_id[:10])
    except ValueError:
        return None
