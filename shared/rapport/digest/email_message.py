"""The digest as a real MIME message: multipart/alternative (text, then HTML) with RFC 8058
one-click unsubscribe headers, built with the stdlib so every header survives SES Raw sending."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from rapport.digest.render import RenderedDigest


def build_email(
    rendered: RenderedDigest,
    *,
    sender: str,
    recipient: str,
    unsubscribe_url: str,
    sent_at: datetime,
) -> bytes:
    """The raw message; header values with CR or LF are refused by the email package itself."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "rapport.invalid")
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps the message 7-bit clean, as SES expects of raw messages.
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()
