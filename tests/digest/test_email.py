"""The digest email: real MIME, one-click unsubscribe headers, and untrusted text kept inert."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest

from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.digest.email_message import REWRITTEN, UNBUILDABLE, build_email
from rapport.digest.insights import build_insights
from rapport.digest.ports import Undeliverable
from rapport.digest.render import render_digest
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
    assert message["Subject"].startswith("Your week: 3 sent, 0 accepted, 3 declined")


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
    assert refused.value.reason == reason
