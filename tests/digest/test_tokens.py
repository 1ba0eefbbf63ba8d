"""Unsubscribe tokens: only an unaltered, unexpired token signed with our key is accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.digest.tokens import TOKEN_LIFETIME, InvalidToken, sign, verify

KEY = b"k" * 64
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _reason(token: str, key: bytes = KEY, now: datetime = NOW) -> str:
    with pytest.raises(InvalidToken) as caught:
        verify(token, key, now)
    return caught.value.reason


def test_a_fresh_token_names_its_member() -> None:
    assert verify(sign("m-priya", NOW, KEY), KEY, NOW + timedelta(days=3)) == "m-priya"


def test_a_token_expires() -> None:
    token = sign("m-priya", NOW, KEY)
    assert verify(token, KEY, NOW + TOKEN_LIFETIME - timedelta(seconds=1)) == "m-priya"
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
