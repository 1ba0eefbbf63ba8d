"""The digest as a real MIME message: multipart/alternative (text, then HTML) with RFC 8058
one-click unsubscribe headers, built with the stdlib so every header survives SES Raw sending."""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, make_msgid

from rapport.digest.render import RenderedDigest
from rapport.errors import Undeliverable

#: ``Undeliverable`` reasons: no message can carry this address as it is.
UNBUILDABLE = "message_not_buildable"
REWRITTEN = "recipient_rewritten_by_header"
_FOLD = re.compile(rb"\r\n(?=[ \t])")
#: Serialised with lines up to RFC 5322's 998 characters: at SMTP's 78, the email package folds a
#: long unsubscribe URL by RFC 2047-encoding it, and RFC 2369 headers must carry a plain <URL>
#: (mail providers look for it to offer one-click unsubscribe). The bodies were encoded when set,
#: at 76 characters a line, as quoted-printable requires.
_WIRE = SMTP.clone(max_line_length=998)


def build_email(
    rendered: RenderedDigest,
    *,
    sender: str,
    recipient: str,
    unsubscribe_url: str,
    sent_at: datetime,
) -> bytes:
    """The raw message, or ``Undeliverable`` when the recipient's address cannot be carried.

    The contract refuses such addresses at ingest; this is the second line, for data stored
    before: an address the header would decode (RFC 2047) goes to someone else, and one whose
    decoding holds CR or LF makes the email package refuse it. Either way no retry can help.
    """
    try:
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
        message.add_alternative(
            rendered.html, subtype="html", charset="utf-8", cte="quoted-printable"
        )
        raw = message.as_bytes(policy=_WIRE)
    except (ValueError, MessageError) as exc:
        raise Undeliverable(UNBUILDABLE, "No message can carry the address") from exc
    if not _addressed_to(raw, recipient):
        raise Undeliverable(REWRITTEN, "The header would carry another address")
    return raw


def _addressed_to(raw: bytes, recipient: str) -> bool:
    """Whether a mail reader sees exactly ``recipient`` in the To header, as written.

    The header may be folded (a long address moves to a line of its own); unfolding (RFC 5322
    2.2.3) must give the address back byte for byte, and a parser must read only that address.
    """
    headers = raw.split(b"\r\n\r\n", 1)[0]
    unfolded = _FOLD.sub(b"", headers).split(b"\r\n")
    values = [line[3:].strip() for line in unfolded if line[:3].lower() == b"to:"]
    parsed = message_from_bytes(headers, policy=default)["To"]
    addresses: tuple[Address, ...] = getattr(parsed, "addresses", ())
    return (
        values == [recipient.encode()]
        and len(addresses) == 1
        and addresses[0].addr_spec == recipient
    )
