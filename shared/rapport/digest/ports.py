"""What the digest cores (fan-out, delivery, unsubscribe) need from the outside world, and the
records they exchange with it.

Kept apart from the delivery logic so adapters (and functions that only schedule or unsubscribe)
can import these without the renderer and its templates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from rapport.contract import RequestEvent
from rapport.digest.jobs import DigestJob
from rapport.digest.schedule import DigestSchedule
from rapport.digest.tokens import SigningKeys

# --- schedule_digests ----------------------------------------------------------------------


@dataclass(frozen=True)
class DueMember:
    member_id: str
    timezone: str


class DueMembers(Protocol):
    def due_at(self, now: datetime) -> Iterable[DueMember]: ...


class JobQueue(Protocol):
    def enqueue(self, jobs: list[DigestJob]) -> None: ...


# --- send_digest ---------------------------------------------------------------------------


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"
    ALREADY_SENT = "already_sent"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class MemberProfile:
    member_id: str
    email: str
    schedule: DigestSchedule
    digest_enabled: bool
    digests_sent: int
    preferences_order: str
    #: The latest week whose digest was settled (sent, or given up as undeliverable).
    last_settled_week: date | None = None


@dataclass(frozen=True)
class DigestFigures:
    """The DESIGN §4 figures of a sent digest: recorded with its claim, written by a local run."""

    member_id: str
    #: ISO date of the member's local Monday.
    week_start: str
    sent: int
    accepted: int
    declined: int
    withdrawn: int
    no_response: int
    pending: int
    acceptance_rate: float | None


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    token: str


class DigestRepository(Protocol):
    def profile(self, member_id: str) -> MemberProfile | None: ...

    def member_requests(
        self, member_id: str, since: datetime | None = None
    ) -> Sequence[Sequence[RequestEvent]]:
        """The member's requests with an event at or after ``since`` (all without it)."""
        ...

    def claim(self, member_id: str, week_start: date, now: datetime, lease: timedelta) -> Claim: ...

    def release(self, member_id: str, week_start: date, claim: Claim) -> None: ...

    def record_sent(
        self, member_id: str, week_start: date, claim: Claim, record: dict[str, Any]
    ) -> None: ...

    def record_undeliverable(
        self, member_id: str, week_start: date, claim: Claim, reason: str
    ) -> None: ...

    def advance_schedule(
        self, profile: MemberProfile, next_due: datetime, settled_week: date, sent: bool
    ) -> None: ...


class Mailer(Protocol):
    def send_raw(self, sender: str, recipient: str, raw: bytes) -> str: ...


# --- unsubscribe ---------------------------------------------------------------------------


class DigestPreferences(Protocol):
    def disable_digests(self, member_id: str, at: datetime) -> None: ...


class SigningKeySource(Protocol):
    def keys(self, max_age: timedelta | None = None) -> SigningKeys: ...
