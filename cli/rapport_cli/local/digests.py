"""Write the digests a local run sent: the MIME message exactly as SES received it, its HTML part,
and the DESIGN §4 figures recorded with its claim."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import string
from collections.abc import Iterable, Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from rapport.adapters.dynamodb.items import ClaimStatus, DigestItem, Kind, kind_of
from rapport.digest.ports import DigestFigures

#: Characters a file name keeps as they are. Only lower-case letters: macOS and Windows treat names
#: that differ by case alone as one file, so an upper-case letter is encoded like any other.
_VERBATIM = frozenset(string.ascii_lowercase + string.digits + "-")
#: What any file system takes (255 bytes), less the longest suffix a digest file gets.
MAX_STEM_BYTES = 255 - len(".html")
#: Starts the hash that ends a member id too long to encode in full (``~`` itself is encoded).
_HASH_MARK = "~"
DESIGN_FIELDS = tuple(figure.name for figure in dataclasses.fields(DigestFigures))


def html_part(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("html",))
    # MIME lines end in CRLF on the wire; the file on disk uses the platform's newlines.
    return "" if body is None else str(body.get_content()).replace("\r\n", "\n")


def _encoded(text: str) -> list[str]:
    """Each character as it is if verbatim, else as its UTF-8 bytes, ``%XX`` each."""
    return [
        char
        if char in _VERBATIM
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in text
    ]


def file_stem(member_id: str, week_start: str) -> str:
    """``<member>_<week>``, an injective function of the pair that every file system takes.

    A member id may hold any printable character, so everything but lower-case letters, digits
    and hyphens is percent-encoded (``_``, ``.``, ``%`` and upper case included): two pairs never
    share a name, even on a case-insensitive file system. An id whose encoding would make the
    name longer than 255 bytes keeps a readable prefix and ends in ``~`` and a SHA-256 prefix
    (128 bits) of the whole id, which makes a collision as unlikely as a hash collision.
    """
    week = "".join(_encoded(week_start))
    member = _encoded(member_id)
    room = MAX_STEM_BYTES - len(week) - 1
    if sum(map(len, member)) > room:
        digest = hashlib.sha256(member_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        room -= len(_HASH_MARK) + len(digest)
        prefix: list[str] = []
        for piece in member:  # whole characters only, so the prefix reads as the id begins
            room -= len(piece)
            if room < 0:
                break
            prefix.append(piece)
        member = [*prefix, _HASH_MARK, digest]
    return f"{''.join(member)}_{week}"


def digest_records(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records of digests marked sent, from table items."""
    claims = [DigestItem.decode(item) for item in items if kind_of(item) is Kind.DIGEST]
    return [
        dict(claim.record)
        for claim in claims
        if claim.status is ClaimStatus.SENT and claim.record is not None
    ]


def write_digests(
    records: list[dict[str, Any]], sent_messages: Mapping[str, bytes], directory: Path
) -> list[Path]:
    """One .eml, .html and .json per sent digest; every record must match a message SES got."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for record in records:
        raw = sent_messages[record["message_id"]]
        # Suffixes are appended, never set with ``with_suffix``: the stem may contain dots.
        stem = file_stem(record["member_id"], record["week_start"])
        (directory / f"{stem}.eml").write_bytes(raw)
        (directory / f"{stem}.html").write_text(html_part(raw), encoding="utf-8")
        figures = {name: record[name] for name in DESIGN_FIELDS}
        (directory / f"{stem}.json").write_text(
            json.dumps(figures, indent=2) + "\n", encoding="utf-8"
        )
        written.append(directory / f"{stem}.eml")
    return written
