"""Unsubscribe tokens: only an unaltered, unexpired token signed with our current or previous
key is accepted; the keys are cached and fetched again when they are old or a link needs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.adapters.secrets import KEY_MAX_AGE, SigningKeyCache
from rapport.digest.tokens import TOKEN_LIFETIME, InvalidToken, SigningKeys, sign, verify
from rapport.digest.unsubscribe import RECHECK_INTERVAL, member_of

KEY = b"k" * 64
KEYS = SigningKeys(KEY)
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _reason(token: str, keys: SigningKeys = KEYS, now: datetime = NOW) -> str:
    with pytest.raises(InvalidToken) as caught:
        verify(token, keys, now)
    return caught.value.reason


def test_a_fresh_token_names_its_member() -> None:
    assert verify(sign("m-priya", NOW, KEY), KEYS, NOW + timedelta(days=3)) == "m-priya"


def test_a_token_expires() -> None:
    token = sign("m-priya", NOW, KEY)
    assert verify(token, KEYS, NOW + TOKEN_LIFETIME - timedelta(seconds=1)) == "m-priya"
    assert _reason(token, now=NOW + TOKEN_LIFETIME) == "expired"


def test_a_token_signed_with_another_key_is_forged() -> None:
    assert _reason(sign("m-priya", NOW, b"other key")) == "bad_signature"


def test_changing_the_member_breaks_the_signature() -> None:
    token = sign("m-priya", NOW, KEY)
    other_payload = sign("m-other", NOW, KEY).split(".")[0]
    assert _reason(f"{other_payload}.{token.split('.')[1]}") == "bad_signature"


@pytest.mark.parametrize("token", ["", "abc", ".", "abc.", ".abc", "é.é", "a.b.c"])
def test_malformed_tokens_are_refused(token: str) -> None:
    assert _reason(token) in {"malformed", "bad_signature"}


def test_a_token_signed_with_the_previous_key_verifies_and_one_older_does_not() -> None:
    old, older = b"o" * 64, b"p" * 64
    rotated = SigningKeys(current=KEY, previous=old)
    assert verify(sign("m-priya", NOW, old), rotated, NOW) == "m-priya"
    assert verify(sign("m-priya", NOW, KEY), rotated, NOW) == "m-priya"
    assert _reason(sign("m-priya", NOW, older), rotated) == "bad_signature"


class FakeSecret:
    """Stands in for Secrets Manager: a list of versions, the last one current."""

    def __init__(self) -> None:
        self.versions = [b"key-1"]
        self.fetches = 0

    def rotate(self) -> None:
        self.versions.append(f"key-{len(self.versions) + 1}".encode())

    def fetch(self, secret_id: str) -> SigningKeys:
        assert secret_id == "secret"
        self.fetches += 1
        previous = self.versions[-2] if len(self.versions) > 1 else None
        return SigningKeys(self.versions[-1], previous)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta.total_seconds()


def _cache(secret: FakeSecret, clock: Clock) -> SigningKeyCache:
    return SigningKeyCache("secret", clock=clock, fetch=secret.fetch)


def test_the_keys_are_fetched_once_then_again_after_their_max_age() -> None:
    secret, clock = FakeSecret(), Clock()
    cache = _cache(secret, clock)
    assert cache.keys() == SigningKeys(b"key-1")
    secret.rotate()
    clock.advance(KEY_MAX_AGE - timedelta(seconds=1))
    assert cache.keys() == SigningKeys(b"key-1")
    assert secret.fetches == 1
    clock.advance(timedelta(seconds=1))
    assert cache.keys() == SigningKeys(b"key-2", previous=b"key-1")
    assert secret.fetches == 2


def test_a_link_signed_with_a_key_newer_than_the_cache_verifies_after_a_recheck() -> None:
    secret, clock = FakeSecret(), Clock()
    cache = _cache(secret, clock)
    cache.keys()
    secret.rotate()  # a digest sent by a container that already has the new key
    token = sign("m-priya", NOW, b"key-2")
    clock.advance(RECHECK_INTERVAL)
    assert member_of(token, cache, NOW) == "m-priya"
    assert secret.fetches == 2


def test_forged_links_fetch_the_keys_at_most_once_per_recheck_interval() -> None:
    secret, clock = FakeSecret(), Clock()
    cache = _cache(secret, clock)
    forged = sign("m-priya", NOW, b"not our key")
    for _ in range(5):
        with pytest.raises(InvalidToken):
            member_of(forged, cache, NOW)
    assert secret.fetches == 1
    clock.advance(RECHECK_INTERVAL)
    with pytest.raises(InvalidToken):
        member_of(forged, cache, NOW)
    assert secret.fetches == 2


def test_an_expired_or_malformed_link_does_not_fetch_the_keys_again() -> None:
    secret, clock = FakeSecret(), Clock()
    cache = _cache(secret, clock)
    clock.advance(RECHECK_INTERVAL)
    for token in ("garbage", sign("m-priya", NOW - TOKEN_LIFETIME, b"key-1")):
        with pytest.raises(InvalidToken):
            member_of(token, cache, NOW)
    assert secret.fetches == 1
