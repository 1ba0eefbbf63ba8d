"""One JSON document per line, safe for every line-based reader.

``ensure_ascii=False`` keeps notes readable, but then U+0085 (NEL), U+2028 and U+2029 are
written raw: JSON allows them inside strings, yet ``str.splitlines()`` (all three) and JavaScript
(the last two) treat them as line breaks and would split a row in two. They are written as
``\\u`` escapes instead; JSON escapes every other line break itself.
"""

from __future__ import annotations

import json
from typing import Any

_LINE_SEPARATORS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(value: Any, **options: Any) -> str:
    """``value`` as one JSON line (no trailing newline); ``options`` go to ``json.dumps``."""
    # Outside strings JSON has no place for these characters, so escaping them is always valid.
    return json.dumps(value, ensure_ascii=False, **options).translate(_LINE_SEPARATORS)
