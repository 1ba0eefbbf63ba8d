"""One textual form for instants, so stored times sort lexicographically in time order."""

from datetime import UTC, datetime

_SORTABLE = "%Y-%m-%dT%H:%M:%S.%fZ"


def sortable(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime(_SORTABLE)


def iso_utc(instant: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, seconds precision unless sub-second parts exist."""
    text = instant.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
