"""Which stored requests a digest must read, and the bound on event times that finds them.

A digest needs every request with an event at or after ``earliest_needed`` (and no other). One
blind write per event cannot keep a request's latest event time (an update expression has no
``max``, and events arrive in any order), but it can keep an upper bound on it: the ingest
refuses an event timed more than its tolerance after the queue received it, so every event a
request holds is timed at most ``tolerance`` after the clock of the write that stored it. Each
write sets ``written_at + tolerance + CLOCK_MARGIN``; writes happen in clock order, so the last
one's value bounds every event in the item, and an index on it finds a superset of what the
digest needs. ``needed`` then keeps exactly the needed requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from rapport.contract import RequestEvent

#: Room for the clocks of the queue (which stamps the enqueue time) and of the writer to differ.
CLOCK_MARGIN = timedelta(hours=1)

_Request = TypeVar("_Request", bound=Sequence[RequestEvent])


def events_until(written_at: datetime, future_tolerance: timedelta) -> datetime:
    """An instant no event stored by a write at ``written_at``, or before it, is timed after."""
    return written_at + future_tolerance + CLOCK_MARGIN


def needed(requests: Iterable[_Request], since: datetime) -> list[_Request]:
    """The requests with an event at or after ``since``: what a digest bounded there reads."""
    return [events for events in requests if max(event.time for event in events) >= since]
