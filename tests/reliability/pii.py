"""Personal data that must never reach a log line, and the check that looks for it.

What members trust Rapport with is in events: notes (the sender's and the recipient's words),
email addresses and recipients' headlines (names and roles). Logs may carry ids and codes only.
The check looks for every such string, as written and as a JSON log line would escape it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

#: Shorter strings are too likely to occur by chance ("Thanks", "No") to mean a leak.
MIN_LENGTH = 8


def _strings_of(document: Any) -> Iterable[str]:
    if not isinstance(document, dict):
        return
    data = document.get("data")
    if not isinstance(data, dict):
        return
    for key in ("note", "email"):
        if isinstance(data.get(key), str):
            yield data[key]
    recipient = data.get("recipient")
    if isinstance(recipient, dict):
        for key in ("headline", "industry", "seniority"):
            if isinstance(recipient.get(key), str):
                yield recipient[key]


def personal_strings(bodies: Iterable[str]) -> set[str]:
    """Notes, addresses and headlines in any body that decodes as JSON, valid event or not."""
    found: set[str] = set()
    for body in bodies:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            continue
        for raw in _strings_of(document):
            text = raw.strip()
            if len(text) >= MIN_LENGTH and len(set(text)) > 2:
                found.add(text)
    return found


#: Long texts are also looked for by their beginning, so a truncated note is caught too.
PREFIX_LENGTH = 24


def _forms(text: str) -> set[str]:
    """How the text would look in a log line: raw, or escaped by a JSON encoder; whole, or
    its beginning."""
    pieces = {text, text[:PREFIX_LENGTH]} if len(set(text[:PREFIX_LENGTH])) > 4 else {text}
    forms = set()
    for piece in pieces:
        forms |= {piece, json.dumps(piece)[1:-1], json.dumps(piece, ensure_ascii=False)[1:-1]}
    return forms


def leaks(log_text: str, personal: Iterable[str]) -> list[str]:
    """The personal strings that appear in the logs (empty when none does)."""
    return sorted(text for text in personal if any(form in log_text for form in _forms(text)))
