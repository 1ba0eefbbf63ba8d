"""How events are recognised: the dedupe key and the content fingerprint.

The dedupe key is CloudEvents' (``source``, ``id``). The fingerprint is taken over the validated
event, so a redelivery that differs only in ignored extensions, key order or the spelling of the
same instant is a duplicate, while any change to what Rapport applies is a conflict.
"""

from __future__ import annotations

import hashlib

from pydantic_core import to_json

from rapport.contract import RapportEvent


def dedupe_key(source: str, event_id: str) -> str:
    """A fixed-size key for (source, id), length-prefixed so no two pairs can collide."""
    material = f"{len(source)}:{source}|{event_id}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def event_key(event: RapportEvent) -> str:
    return dedupe_key(event.source, event.id)


def canonical_json(event: RapportEvent) -> bytes:
    """The event as Rapport keeps it: validated fields only, times in UTC (UTF-8 JSON)."""
    return to_json(event)


def fingerprint(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()[:32]
