"""The digest email: real MIME, one-click unsubscribe headers, and untrusted text kept inert."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from functools import cache
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.digest.email_message import REWRITTEN, UNBUILDABLE, build_email
from rapport.digest.insights import DigestInsights, WeekCounts, build_insights
from rapport.digest.render import render_digest, subject_for, week_span
from rapport.errors import Undeliverable
from rapport.validation import parse_event
from tests.support.events import answer, body, sent

WEEK = date(2026, 11, 2)
AS_OF = datetime(2026, 11, 9, 9, tzinfo=UTC)
HOSTILE = [
    "<script>alert(1)</script> I only connect with people I've met",
    "<img src=x onerror=alert(2)> not interested",
    "{{ 7*7 }} {% for x in y %} template syntax",
]
LINK = "https://unsubscribe.example/?token=abc.def"


def _requests(notes: list[str] = HOSTILE) -> list[list[RequestEvent]]:
    requests = []
    for index, note in enumerate(notes):
        raw = [
            sent(f"r{index}", at=datetime(2026, 11, 2, 10, tzinfo=UTC)),
            answer("declined", f"r{index}", at=datetime(2026, 11, 3, 10, tzinfo=UTC), note=note),
        ]
        events = [parse_event(body(event)) for event in raw]
        requests.append([event for event in events if not isinstance(event, PreferencesUpdated)])
    return requests


def _message(recipient: str = "dana@example.com", notes: list[str] = HOSTILE) -> EmailMessage:
    insights = build_insights("m-dana", _requests(notes), WEEK, "UTC", AS_OF, first_digest=True)
    rendered = render_digest(insights, "UTC", LINK)
    raw = build_email(
        rendered,
        sender="digest@rapport.example",
        recipient=recipient,
        unsubscribe_url=LINK,
        sent_at=AS_OF,
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, Any]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_message_is_multipart_alternative_with_text_then_html() -> None:
    message = _message()
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())


def test_one_click_unsubscribe_headers_are_present() -> None:
    message = _message()
    assert message["List-Unsubscribe"] == f"<{LINK}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["From"] == "digest@rapport.example"
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "Your week: 3 sent · 0 of 3 decided accepted (0%)"


LONG_LINK = "https://abcdefghijklmnopqrstuvwxyz0123.lambda-url.eu-west-1.on.aws/?token=" + "t" * 160


def _raw_headers(link: str = LONG_LINK) -> dict[str, bytes]:
    """The message's headers as bytes on the wire, unfolded (RFC 5322 2.2.3), not decoded."""
    insights = build_insights("m-dana", _requests(), WEEK, "UTC", AS_OF, first_digest=True)
    raw = build_email(
        render_digest(insights, "UTC", link),
        sender="digest@rapport.example",
        recipient="dana@example.com",
        unsubscribe_url=link,
        sent_at=AS_OF,
    )
    head = re.sub(rb"\r\n(?=[ \t])", b"", raw.split(b"\r\n\r\n", 1)[0])
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998  # RFC 5322's hard limit
    return {
        name.decode("ascii"): value.strip()
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n"))
    }


def test_one_click_unsubscribe_headers_are_plain_on_the_wire() -> None:
    """RFC 2369/8058 as a mail provider reads them: the bytes, not a decoding parser's view."""
    headers = _raw_headers()
    assert headers["List-Unsubscribe"] == f"<{LONG_LINK}>".encode()
    assert headers["List-Unsubscribe-Post"] == b"List-Unsubscribe=One-Click"
    assert b"=?" not in headers["List-Unsubscribe"]


def test_every_header_is_well_formed_on_the_wire() -> None:
    headers = _raw_headers()
    assert headers["From"] == b"digest@rapport.example"
    assert headers["To"] == b"dana@example.com"
    assert headers["Date"] == b"Mon, 09 Nov 2026 09:00:00 +0000"
    assert re.fullmatch(rb"<[^<>@\s]+@rapport\.example>", headers["Message-ID"])
    assert headers["MIME-Version"] == b"1.0"
    assert all(value.isascii() for value in headers.values())
    # The subject is non-ASCII (an em dash): RFC 2047 encoded-words, decoding to the subject.
    subject = str(make_header(decode_header(headers["Subject"].decode("ascii"))))
    assert subject == "Your week: 3 sent · 0 of 3 decided accepted (0%)"
    assert subject == _message()["Subject"]


@pytest.mark.parametrize("note", HOSTILE)
def test_notes_cannot_inject_markup_into_the_html(note: str) -> None:
    html = _message(notes=[note]).get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    parser = _Elements()
    parser.feed(html)
    assert {tag for tag, _ in parser.tags}.isdisjoint({"script", "img"})
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)
    assert note in "".join(parser.text)  # shown as the text it is, not evaluated or rendered


def test_the_html_is_email_safe() -> None:
    html = _message().get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    parser = _Elements()
    parser.feed(html)
    tags = {tag for tag, _ in parser.tags}
    assert tags.isdisjoint({"script", "img", "link", "iframe", "object", "style"})
    assert "table" in tags
    hrefs = [attrs.get("href") for tag, attrs in parser.tags if tag == "a"]
    assert hrefs == [LINK]


def test_the_first_digest_explains_itself_and_how_to_stop() -> None:
    text = _message().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Welcome to Rapport" in text
    assert "unsubscribe" in text.lower()
    assert LINK in text


@pytest.mark.parametrize(
    ("recipient", "reason"),
    [
        ("dana@example.com\r\nBcc: victim@example.com", UNBUILDABLE),
        ("dana@example.com\nX: y", UNBUILDABLE),
        ("=?utf-8?q?a=0D=0ABcc=3A_x=40evil.example?=@example.com", UNBUILDABLE),
        ("=?utf-8?q?victim=40other.example?=@example.com", REWRITTEN),
        ("Dana <dana@example.com>", REWRITTEN),
        ("dana@example.com, eve@example.com", REWRITTEN),
    ],
)
def test_no_message_goes_to_an_address_other_than_the_members(recipient: str, reason: str) -> None:
    """Header injection, encoded-words the header would decode, a display name or a second
    address: the message is not built, and the reason says which."""
    with pytest.raises(Undeliverable) as refused:
        _message(recipient)
    assert refused.value.error_code == reason


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (date(2026, 11, 9), "9–15 Nov 2026"),
        (date(2026, 11, 30), "30 Nov – 6 Dec 2026"),
        (date(2026, 12, 28), "28 Dec 2026 – 3 Jan 2027"),
    ],
)
def test_the_week_is_named_by_its_seven_days(first: date, expected: str) -> None:
    assert week_span(first, first + timedelta(days=6)) == expected


def test_the_digest_names_its_week_without_an_eighth_day() -> None:
    message = _message()
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "week of 2–8 Nov 2026" in text  # WEEK is Monday 2 November
    assert "9 Nov" not in text


@cache
def _some_insights() -> DigestInsights:
    """Built once: each example only replaces the week's counts, and building is the slow part."""
    return build_insights("m-dana", _requests(), WEEK, "UTC", AS_OF)


@example(sent=0, accepted=23, declined=0, no_response=17)  # 57.5%: 58, not round()'s 57
@example(sent=0, accepted=1, declined=7, no_response=0)  # 12.5%: 13, not round()'s 12
@given(
    sent=st.integers(0, 30),
    accepted=st.integers(0, 30),
    declined=st.integers(0, 30),
    no_response=st.integers(0, 30),
)
def test_the_subjects_figures_add_up(
    sent: int, accepted: int, declined: int, no_response: int
) -> None:
    """The issue's "2 sent, 2 accepted, 0 declined — acceptance 67%" could not be worked out
    from its own numbers; now the rate's numerator and denominator are both in the subject."""
    week = WeekCounts(WEEK, sent, accepted, declined, 0, no_response)
    subject = subject_for(dataclasses.replace(_some_insights(), week=week))
    decided = accepted + declined + no_response
    if not decided:
        assert subject == f"Your week: {sent} sent · none decided yet"
        return
    match = re.fullmatch(
        r"Your week: (\d+) sent · (\d+) of (\d+) decided accepted \((\d+)%\)", subject
    )
    assert match is not None
    shown_sent, shown_accepted, shown_decided, percent = map(int, match.groups())
    assert (shown_sent, shown_accepted, shown_decided) == (sent, accepted, decided)
    assert percent == (200 * accepted + decided) // (2 * decided)  # half up, exactly
