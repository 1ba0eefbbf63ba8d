"""The unsubscribe signing keys, kept in Secrets Manager (never in code or template defaults).

The secret's ``AWSCURRENT`` version signs new links; its ``AWSPREVIOUS`` version, which Secrets
Manager keeps after a rotation, still verifies the links already sent. A function reads both on
first use and again once they are ``KEY_MAX_AGE`` old, so a rotation reaches every running
container within that time without a call per request (docs/operations.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from rapport.adapters.aws import client
from rapport.digest.tokens import SigningKeys

KEY_MAX_AGE = timedelta(minutes=15)


def _key(version: dict[str, Any]) -> bytes:
    return str(version["SecretString"]).encode("utf-8")


def signing_keys(secret_id: str) -> SigningKeys:
    """``AWSCURRENT`` and, once the secret has been rotated, ``AWSPREVIOUS``."""
    secrets = client("secretsmanager")
    current = _key(secrets.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT"))
    try:
        version = secrets.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")
    except secrets.exceptions.ResourceNotFoundException:  # never rotated
        return SigningKeys(current)
    return SigningKeys(current, _key(version))


class SigningKeyCache:
    """A secret's signing keys, fetched on first use and again when older than ``max_age``."""

    def __init__(
        self,
        secret_id: str,
        *,
        max_age: timedelta = KEY_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str], SigningKeys] = signing_keys,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age
        self._clock = clock
        self._fetch = fetch
        self._keys: SigningKeys | None = None
        self._fetched_at = 0.0

    def keys(self, max_age: timedelta | None = None) -> SigningKeys:
        """The keys, fetched again if they are older than ``max_age`` (default: the cache's)."""
        limit = (self._max_age if max_age is None else max_age).total_seconds()
        now = self._clock()
        if self._keys is None or now - self._fetched_at >= limit:
            self._keys = self._fetch(self._secret_id)
            self._fetched_at = now
        return self._keys
