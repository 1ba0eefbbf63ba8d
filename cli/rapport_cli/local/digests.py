"""Write the digests a local run sent: the MIME message exactly as SES received it, its HTML part,
and the DESIGN §4 figures recorded with its claim."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")
DESIGN_FIELDS = (
    "member_id",
    "week_start",
    "sent",
    "accepted",
    "declined",
    "withdrawn",
    "no_response",
    "pending",
    "acceptance_rate",
)


def html_part(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("html",))
    # MIME lines end in CRLF on the wire; the file on disk uses the platform's newlines.
    return "" if body is None else str(body.get_content()).replace("\r\n", "\n")


def file_stem(member_id: str, week_start: str) -> str:
    """A member id may hold any printable character; the file name keeps only safe ones."""
    return f"{_UNSAFE_FILENAME.sub('_', member_id)}_{week_start}"


def digest_records(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records of digests marked sent, from table items."""
    return [
        json.loads(item["record"]["S"])
        for item in items
        if item.get("kind", {}).get("S") == "digest" and item.get("status", {}).get("S") == "sent"
    ]


def write_digests(
    records: list[dict[str, Any]], sent_messages: Mapping[str, bytes], directory: Path
) -> list[Path]:
    """One .eml, .html and .json per sent digest; every record must match a message SES got."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for record in records:
        raw = sent_messages[record["message_id"]]
        stem = directory / file_stem(record["member_id"], record["week_start"])
        stem.with_suffix(".eml").write_bytes(raw)
        stem.with_suffix(".html").write_text(html_part(raw), encoding="utf-8")
        figures = {name: record[name] for name in DESIGN_FIELDS}
        stem.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        written.append(stem.with_suffix(".eml"))
    return written
