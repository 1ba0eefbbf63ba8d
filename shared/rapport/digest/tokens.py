"""Signed, expiring unsubscribe tokens (HMAC-SHA256), so a link works with one click and cannot
be forged, altered or reused after it expires."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

TOKEN_LIFETIME = timedelta(days=60)


@dataclass(frozen=True)
class SigningKeys:
    """The key new links are signed with and, once the key has been rotated, the one before it.

    A link signed with either verifies, so the links in digests already sent keep working after
    a rotation, until the next one (docs/operations.md).
    """

    current: bytes
    previous: bytes | None = None

    def verifying(self) -> tuple[bytes, ...]:
        return (self.current,) if self.previous is None else (self.current, self.previous)


class InvalidToken(Exception):
    """The token is malformed, forged, altered or expired; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, key: bytes) -> str:
    return _encode(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def sign(member_id: str, issued_at: datetime, key: bytes) -> str:
    expires = int((issued_at + TOKEN_LIFETIME).timestamp())
    payload = _encode(json.dumps({"m": member_id, "e": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_signature(payload, key)}"


def verify(token: str, keys: SigningKeys, now: datetime) -> str:
    """The member id the token was issued for; raises ``InvalidToken`` otherwise."""
    payload, _, signature = token.partition(".")
    if not payload or not signature or not payload.isascii() or not signature.isascii():
        raise InvalidToken("malformed")
    if not any(
        hmac.compare_digest(signature, _signature(payload, key)) for key in keys.verifying()
    ):
        raise InvalidToken("bad_signature")
    try:
        claims = json.loads(_decode(payload))
        member_id, expires = claims["m"], claims["e"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidToken("malformed") from None
    if not isinstance(member_id, str) or not isinstance(expires, int):
        raise InvalidToken("malformed")
    if now.timestamp() >= expires:
        raise InvalidToken("expired")
    return member_id
