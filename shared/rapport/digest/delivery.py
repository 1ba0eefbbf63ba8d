"""send_digest's core: exactly one email per member-week.

The member-week is claimed with a conditional write before anything is sent. A claim is a lease:
if the worker dies before sending, the lease runs out and a retry may claim again. A failed send
releases the claim and fails the job so SQS retries it; a successful send is recorded, and every
later job for that member-week finds it sent and stops. The one window left is a crash between
SES accepting the message and the record being written; it is as small as two API calls.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rapport.digest import tokens
from rapport.digest.compose import compose_digest
from rapport.digest.email_message import build_email
from rapport.digest.insights import DigestInsights, earliest_needed
from rapport.digest.jobs import DigestJob
from rapport.digest.ports import ClaimOutcome, DigestFigures, DigestRepository, Mailer
from rapport.digest.schedule import next_due_after
from rapport.errors import Transient, Undeliverable
from rapport.state import DEFAULT_RESPONSE_WINDOW

CLAIM_LEASE = timedelta(minutes=5)


class DeliveryStatus(StrEnum):
    SENT = "sent"
    #: Sent, but the record of it could not be written even after retries (see docs/digests.md).
    SENT_UNRECORDED = "sent_unrecorded"
    ALREADY_SENT = "already_sent"
    #: A job for a week older than one already settled (a late redelivery or a redrive).
    SUPERSEDED = "superseded"
    UNDELIVERABLE = "undeliverable"
    NOT_SUBSCRIBED = "not_subscribed"


#: After SES accepted the message, recording it must not fail the job (a retry would send it
#: again), so ``Transient`` errors are retried here for a little while: seconds to wait between.
RECORD_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


class DigestInProgress(Exception):
    """Another worker holds this member-week's claim; retry later (SQS redelivers the job)."""


@dataclass(frozen=True)
class DeliverySettings:
    sender: str
    unsubscribe_url: str
    signing_key: bytes
    response_window: timedelta = DEFAULT_RESPONSE_WINDOW


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    insights: DigestInsights | None = None
    message_id: str | None = None
    #: Why an undeliverable digest was not sent (a code, never the address).
    reason: str | None = None


def digest_record(insights: DigestInsights) -> dict[str, Any]:
    """The DESIGN §4 figures of a sent digest, kept with its claim."""
    week = insights.week
    figures = DigestFigures(
        member_id=insights.member_id,
        week_start=week.week_start.isoformat(),
        sent=week.sent,
        accepted=week.accepted,
        declined=week.declined,
        withdrawn=week.withdrawn,
        no_response=week.no_response,
        pending=week.pending,
        acceptance_rate=week.acceptance_rate,
    )
    return dataclasses.asdict(figures)


def unsubscribe_link(settings: DeliverySettings, member_id: str, issued_at: datetime) -> str:
    token = tokens.sign(member_id, issued_at, settings.signing_key)
    separator = "&" if "?" in settings.unsubscribe_url else "?"
    return f"{settings.unsubscribe_url}{separator}token={token}"


def _recorded(action: Callable[[], None], sleep: Callable[[float], None]) -> bool:
    """Run ``action``, retrying transient failures; False if it never succeeded.

    Any other failure is not retried: it would fail the same way, and the email is already sent.
    """
    for delay in (*RECORD_RETRY_DELAYS, None):
        try:
            action()
        except Transient:
            if delay is None:
                return False
            sleep(delay)
        else:
            return True
    return False


def deliver(
    job: DigestJob,
    repository: DigestRepository,
    mailer: Mailer,
    settings: DeliverySettings,
    now: datetime,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    profile = repository.profile(job.member_id)
    if profile is None or not profile.digest_enabled:
        return Delivery(DeliveryStatus.NOT_SUBSCRIBED)
    if profile.last_settled_week is not None and job.week_start < profile.last_settled_week:
        return Delivery(DeliveryStatus.SUPERSEDED)
    next_due = next_due_after(profile.schedule, job.as_of)
    claim = repository.claim(job.member_id, job.week_start, now, CLAIM_LEASE)
    if claim.outcome is ClaimOutcome.ALREADY_SENT:
        repository.advance_schedule(profile, next_due, job.week_start, sent=False)
        return Delivery(DeliveryStatus.ALREADY_SENT)
    if claim.outcome is ClaimOutcome.IN_PROGRESS:
        raise DigestInProgress(f"the digest for week {job.week_start} is being sent")

    insights: DigestInsights | None = None
    try:  # from here on the claim is ours: released on any failure, so a retry can take it
        link = unsubscribe_link(settings, job.member_id, now)
        digest = compose_digest(
            job.member_id,
            repository.member_requests(
                job.member_id,
                since=earliest_needed(
                    job.week_start, profile.schedule.timezone, settings.response_window
                ),
            ),
            job.week_start,
            profile.schedule.timezone,
            job.as_of,
            unsubscribe_url=link,
            window=settings.response_window,
            first_digest=profile.digests_sent == 0,
        )
        insights = digest.insights
        raw = build_email(
            digest.rendered,
            sender=settings.sender,
            recipient=profile.email,
            unsubscribe_url=link,
            sent_at=now,
        )
        message_id = mailer.send_raw(settings.sender, profile.email, raw)
    except Undeliverable as refused:
        repository.record_undeliverable(job.member_id, job.week_start, claim, refused.error_code)
        repository.advance_schedule(profile, next_due, job.week_start, sent=False)
        return Delivery(DeliveryStatus.UNDELIVERABLE, insights, reason=refused.error_code)
    except Exception:
        repository.release(job.member_id, job.week_start, claim)
        raise
    record = digest_record(insights) | {"message_id": message_id, "sent_at": now.isoformat()}
    recorded = _recorded(
        lambda: repository.record_sent(job.member_id, job.week_start, claim, record), sleep
    ) and _recorded(
        lambda: repository.advance_schedule(profile, next_due, job.week_start, sent=True), sleep
    )
    status = DeliveryStatus.SENT if recorded else DeliveryStatus.SENT_UNRECORDED
    return Delivery(status, insights, message_id)
