"""Which members a message body names, read from the raw text so it works on any rejected input.

Erasure must find a quarantined payload whatever made it invalid: a duplicate key, a byte-order
mark, a body too large to decode, truncated JSON. So the body is never parsed as a document:
every ``"key": "value"`` pair in it is read on its own, and the values of the keys that hold a
member id (the sender's, the recipient's, a member's own) are the members it names.
"""

from __future__ import annotations

import json
import re

from rapport.contract import MAX_ID_LENGTH

#: The keys whose values are member ids, in every event type (``recipient.member_id`` included).
MEMBER_ID_KEYS = frozenset({"member_id", "sender_id"})
#: A payload naming more members than this is not any platform's event; the first ones are kept.
MAX_NAMED = 64

#: Bounds keep the scan linear on hostile bodies (an unclosed string would otherwise be rescanned
#: from every quote): a key is short, and a 128-character id is at most 1,536 escaped characters.
_KEY = r'"((?:[^"\\]|\\.){1,64})"'
_VALUE = r'\s*:\s*"((?:[^"\\]|\\.){1,1600})"'
#: Any key and its string value, so escaped spellings of a key (``member\u005fid``) count too.
_PAIR = re.compile(_KEY + _VALUE, re.DOTALL)
#: The keys as written, found wherever they are: a broken string earlier in the body (an
#: unclosed quote) can shift ``_PAIR`` off the real pairs, never this.
_PLAIN_KEY = re.compile('"(' + "|".join(sorted(MEMBER_ID_KEYS)) + ')"' + _VALUE, re.DOTALL)


def _decoded(literal: str) -> str | None:
    """A JSON string literal's text, or None if it is no valid literal or no storable text."""
    try:
        text = json.loads(f'"{literal}"')
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError):  # a bad escape, a raw control, a lone surrogate
        return None
    return str(text)


def members_named(body: str) -> tuple[str, ...]:
    """The member ids ``body`` names, in order of first appearance, without repeats."""
    named: dict[str, None] = {}
    matches = sorted(
        (*_PAIR.finditer(body), *_PLAIN_KEY.finditer(body)), key=lambda match: match.start()
    )
    for match in matches:
        if _decoded(match.group(1)) not in MEMBER_ID_KEYS:
            continue
        member_id = _decoded(match.group(2))
        if member_id and len(member_id) <= MAX_ID_LENGTH and member_id.strip():
            named.setdefault(member_id)
            if len(named) == MAX_NAMED:
                break
    return tuple(named)
