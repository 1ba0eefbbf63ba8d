"""Every address the contract accepts reaches the digest's ``To:`` header byte for byte.

The digest is built with the stdlib (``email.policy.SMTP``), whose header machinery decodes RFC
2047 encoded-words, folds long lines and re-quotes odd local parts. An address it rewrites could
send a member's digest elsewhere, so the contract refuses those (``unsafe_email``) and this
property checks the rest against the real parsers: the serialised header holds the address
verbatim, and both ``email.message_from_bytes`` and ``email.utils.getaddresses`` read back exactly
the address that was stored.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.contract import PreferencesUpdated
from rapport.digest.email_message import build_email
from rapport.digest.render import RenderedDigest
from rapport.errors import InvalidEvent, Undeliverable
from rapport.validation import parse_event
from tests.support.events import body, preferences
from tests.support.examples import examples

_DIGEST = RenderedDigest(subject="Your week", text="Hello", html="<p>Hello</p>")
_FOLD = re.compile(rb"\r\n(?=[ \t])")
_ATEXT = "a-zA-Z0-9!#$%&'*+/=?^_`{|}~-"
# Broader than the contract on purpose (dots anywhere, like the WHATWG grammar), so that the
# property also meets addresses the contract must refuse.
_LOOSE_ADDRESS = rf"[.{_ATEXT}]{{1,64}}@[a-zA-Z0-9-]{{1,20}}(\.[a-zA-Z0-9-]{{1,20}}){{0,8}}"
_HOSTILE_PIECES = ["=?", "?=", "=?utf-8?q?", "=40", "\r\n", "\n", "\x00", "\x85", "\u2028", " "]


def _accepted(address: str) -> str | None:
    """The stored address if the contract accepts ``address``, else None."""
    try:
        event = parse_event(body(preferences(email=address)))
    except InvalidEvent:
        return None
    assert isinstance(event, PreferencesUpdated)
    return event.data.email


def _digest_to(address: str) -> bytes:
    """The raw digest message the pipeline would send to ``address``."""
    return build_email(
        _DIGEST,
        sender="digest@rapport.example",
        recipient=address,
        unsubscribe_url="https://rapport.example/unsubscribe?t=x",
        sent_at=datetime(2026, 11, 16, 9, tzinfo=UTC),
    )


def _to_header(raw: bytes) -> bytes:
    """The unfolded value of the message's ``To:`` header, as bytes on the wire."""
    headers = _FOLD.sub(b"", raw.split(b"\r\n\r\n", 1)[0])
    [value] = [line[3:].strip() for line in headers.split(b"\r\n") if line.startswith(b"To:")]
    return value


def _assert_carried_unchanged(address: str) -> None:
    raw = _digest_to(address)
    encoded = address.encode("ascii")
    header = _to_header(raw)
    assert header == encoded
    assert encoded in raw
    assert b"=?" not in header
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert [mailbox.addr_spec for mailbox in parsed["To"].addresses] == [address]
    assert email.utils.getaddresses([header.decode("ascii")]) == [("", address)]


@st.composite
def _candidates(draw: st.DrawFn) -> str:
    """Plausible addresses, some with a piece a header would decode or act on spliced in."""
    address = draw(st.emails() | st.from_regex(_LOOSE_ADDRESS, fullmatch=True))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(address)))
        address = address[:at] + draw(st.sampled_from(_HOSTILE_PIECES)) + address[at:]
    return address


@settings(max_examples=examples(400), deadline=None)
@given(_candidates())
def test_every_accepted_address_survives_the_to_header(address: str) -> None:
    stored = _accepted(address)
    if stored is not None:
        assert stored == address
        _assert_carried_unchanged(stored)


@pytest.mark.parametrize(
    "address",
    [
        "ann@example.com",
        "ann.lee+digests@mail.example.co.uk",
        "x?=@example.com",
        "o'brien@example.ie",
        "!#$%&'*+/=^_`{|}~-?@example.com",
        "a" * 64 + "@" + ".".join(["b" * 58] * 3) + ".example",  # long: the header folds
        "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h@example.com",
    ],
)
def test_known_good_addresses_are_accepted_and_carried_unchanged(address: str) -> None:
    assert _accepted(address) == address
    _assert_carried_unchanged(address)


@pytest.mark.parametrize(
    "address",
    [
        "=?utf-8?q?victim=40other.example?=@example.com",
        "=?utf-8?q?a=0D=0ABcc=3A_x=40evil.example?=@example.com",
    ],
)
def test_encoded_words_would_be_decoded_so_they_are_refused(address: str) -> None:
    # The second line of defence: the digest is never built for such an address (stored
    # before the contract refused it), since its header would decode to another recipient.
    with pytest.raises(Undeliverable):
        _digest_to(address)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(body(preferences(email=address)))
    assert caught.value.error_code == "unsafe_email"
