"""One-click unsubscribe (RFC 8058): a valid token turns the member's digests off, nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta

from rapport.digest import tokens
from rapport.digest.ports import DigestPreferences, SigningKeySource

#: A link that verifies with neither cached key may be signed with a key rotated in since they
#: were fetched: the keys are fetched again, but at most this often, so forged links cannot
#: turn every request into a Secrets Manager call.
RECHECK_INTERVAL = timedelta(minutes=1)


def member_of(token: str, keys: SigningKeySource, now: datetime) -> str:
    """The member the token was issued for; raises ``tokens.InvalidToken`` otherwise."""
    cached = keys.keys()
    try:
        return tokens.verify(token, cached, now)
    except tokens.InvalidToken as problem:
        if problem.reason != "bad_signature":
            raise
        latest = keys.keys(max_age=RECHECK_INTERVAL)
        if latest == cached:
            raise
        return tokens.verify(token, latest, now)


def unsubscribe(
    token: str, keys: SigningKeySource, now: datetime, preferences: DigestPreferences
) -> str:
    """Disable the token's member's digests; raises ``tokens.InvalidToken`` before any change."""
    member_id = member_of(token, keys, now)
    preferences.disable_digests(member_id, now)
    return member_id
