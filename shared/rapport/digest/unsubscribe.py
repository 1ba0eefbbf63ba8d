"""One-click unsubscribe (RFC 8058): a valid token turns the member's digests off, nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from rapport.digest import tokens


class DigestPreferences(Protocol):
    def disable_digests(self, member_id: str, at: datetime) -> None: ...


def unsubscribe(token: str, key: bytes, now: datetime, preferences: DigestPreferences) -> str:
    """Disable the token's member's digests; raises ``tokens.InvalidToken`` before any change."""
    member_id = tokens.verify(token, key, now)
    preferences.disable_digests(member_id, now)
    return member_id
