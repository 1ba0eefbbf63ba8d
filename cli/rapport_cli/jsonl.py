"""JSON Lines in and out: input files read line by line, and one JSON document per line
written safely for every line-based reader.

``ensure_ascii=False`` keeps notes readable, but then U+0085 (NEL), U+2028 and U+2029 are
written raw: JSON allows them inside strings, yet ``str.splitlines()`` (all three) and JavaScript
(the last two) treat them as line breaks and would split a row in two. They are written as
``\\u`` escapes instead; JSON escapes every other line break itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from rapport_cli.errors import UserError

_LINE_SEPARATORS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(value: Any, **options: Any) -> str:
    """``value`` as one JSON line (no trailing newline); ``options`` go to ``json.dumps``."""
    # Outside strings JSON has no place for these characters, so escaping them is always valid.
    return json.dumps(value, ensure_ascii=False, **options).translate(_LINE_SEPARATORS)


#: A file larger than this is taken as JSON Lines without looking for one big document in it.
_DOCUMENT_BYTES = 16 * 1024 * 1024


def require_json_lines(path: Path) -> None:
    """Refuse a file that is JSON but not JSON Lines (a pretty-printed document, several of
    them, or an array), naming the command that converts it: read line by line, every one of
    its lines would be quarantined as a fragment."""
    with path.open("rb") as stream:
        head = stream.read(_DOCUMENT_BYTES + 1)
    text = head.decode("utf-8", "replace").lstrip()
    if len(head) > _DOCUMENT_BYTES or not text.startswith(("{", "[")):
        return
    try:
        first, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return
    spans_lines = "\n" in text[:end]
    if not spans_lines and (not isinstance(first, list) or text[end:].strip()):
        return  # a line of JSON Lines (an array on a line of its own is a malformed event)
    is_array = isinstance(first, list)
    what, program = ("a JSON array", "'.[]'") if is_array else ("pretty-printed JSON", ".")
    raise UserError(
        f"{path} is {what}, not JSON Lines (one event per line); "
        f"convert it with: jq -c {program} {path} > {path.stem}.jsonl"
    )


@dataclass(frozen=True)
class InputLine:
    """One non-blank line of an input file, numbered from 1 as an editor shows it."""

    file: str
    number: int
    #: the line without its line break (a line that is not UTF-8 has replacement characters)
    text: str
    #: why the line is not UTF-8, or None
    encoding_error: str | None = None


class InputLines:
    """Every non-blank line of every file, in order, read as it is needed (a file of any length
    streams); ``blank_lines`` counts the lines skipped so far."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self._paths = paths
        self.blank_lines = 0

    def __iter__(self) -> Iterator[InputLine]:
        for path in self._paths:
            with path.open("rb") as stream:
                yield from self.read(stream, str(path))

    def read(self, stream: BinaryIO, file: str) -> Iterator[InputLine]:
        """The non-blank lines of one open binary stream (a file, or stdin as ``<stdin>``)."""
        for number, raw in enumerate(stream, start=1):
            content = raw.rstrip(b"\r\n")
            if not content.strip():
                self.blank_lines += 1
                continue
            try:
                line = InputLine(file, number, content.decode("utf-8"))
            except UnicodeDecodeError as exc:
                text = content.decode("utf-8", "replace")
                line = InputLine(file, number, text, encoding_error=exc.reason)
            yield line
