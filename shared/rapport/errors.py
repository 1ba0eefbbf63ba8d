"""The pipeline's one rule about failure: a ``Rejected`` input is permanent (quarantined, or its
digest week settled, never retried); a ``Transient`` failure may pass on a retry; anything else
propagates, so SQS redelivers the message and, if it keeps failing, dead-letters it.

The core raises and catches only these; adapters translate their SDK's errors into them in one
place (``rapport.adapters.errors``).
"""

from __future__ import annotations


class Rejected(Exception):
    """Permanent: no retry can change the answer. ``error_code`` is stable snake_case (operators
    and scripts match on it); ``message`` is for a person and never quotes field values."""

    def __init__(self, error_code: str, message: str, event_id: str | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.event_id = event_id


class InvalidEvent(Rejected):
    """The input breaks the event contract (DESIGN §2), so it is quarantined."""


class PermanentStoreError(Rejected):
    """The store can never accept this event (say, the request grew past the item limit)."""


class Undeliverable(Rejected):
    """The email service refused this message for good (say, a rejected address): retrying the
    same digest cannot help, so the week is settled without it."""


class Transient(Exception):
    """A failure a retry may fix (throttling, a server error, a timeout)."""
