"""The one path from a member's requests to a digest's subject and bodies.

``send_digest`` and ``rapport preview`` both build through :func:`compose_digest`, so a preview
is the email that would be sent for the same requests, instant and first-digest flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rapport.contract import RequestEvent
from rapport.digest.insights import DigestInsights, build_insights
from rapport.digest.render import RenderedDigest, render_digest
from rapport.state import DEFAULT_RESPONSE_WINDOW


@dataclass(frozen=True)
class ComposedDigest:
    insights: DigestInsights
    rendered: RenderedDigest


def compose_digest(
    member_id: str,
    requests: Sequence[Sequence[RequestEvent]],
    week_start: date,
    timezone: str,
    as_of: datetime,
    *,
    unsubscribe_url: str,
    window: timedelta = DEFAULT_RESPONSE_WINDOW,
    first_digest: bool = False,
) -> ComposedDigest:
    """The digest of ``week_start`` as known at ``as_of`` (the scheduler run that asked for it)."""
    insights = build_insights(
        member_id,
        requests,
        week_start,
        timezone,
        as_of,
        window=window,
        first_digest=first_digest,
    )
    return ComposedDigest(insights, render_digest(insights, timezone, unsubscribe_url))
