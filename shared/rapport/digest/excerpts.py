"""Quoting other people's words fairly: whole words only, and the part that matters kept.

A quote cut mid-word ("…6 mutual connectio…") or reduced to the one word a rule matched
("template") tells a reader less than the sentence it came from, so evidence is shown as the
sentence around the matched words, shortened at word boundaries when it is long.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?。！？](?=\s|$)|\n")


def flatten(text: str) -> str:
    """One line: runs of whitespace (newlines included) become one space."""
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut after its last whole word that fits ``limit`` characters."""
    flat = flatten(text)
    if len(flat) <= limit:
        return flat
    room = flat[: limit - len(ELLIPSIS) + 1]
    cut = room.rfind(" ")
    kept = room[:cut] if cut > 0 else room[: limit - len(ELLIPSIS)]
    return kept.rstrip(" ,;:-–—") + ELLIPSIS


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence(s) holding ``text[start:end]``."""
    begin = 0
    # Searched in the whole text: with ``endpos=start`` the ``$`` of the look-ahead would match
    # at ``start`` and take "?" in "?a" for the end of a sentence, cutting a word in two.
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            break
        begin = match.end()
    found = _SENTENCE_END.search(text, end)
    return begin, (found.end() if found else len(text))


def excerpt(text: str, part: str, limit: int) -> str:
    """``part`` of ``text`` in context: its sentence, or whole words either side of it.

    ``part`` is expected verbatim in ``text`` (classifier evidence is an exact span); when it is
    not, ``part`` alone is shortened. The result never exceeds ``limit`` characters. A whole
    sentence is quoted as it is; where words inside a sentence are left out, an ellipsis says so.
    """
    start = text.find(part) if part.strip() else -1
    if start < 0:
        return shorten(part or text, limit)
    end = start + len(part)
    begin, finish = _sentence_around(text, start, end)
    sentence = flatten(text[begin:finish])
    if len(sentence) <= limit:
        return sentence
    # Whole words only: a span that starts or ends inside a word takes the rest of that word.
    while start > begin and not text[start - 1].isspace():
        start -= 1
    while end < finish and not text[end].isspace():
        end += 1
    core = flatten(text[start:end])
    room = limit - len(core) - 2 * len(ELLIPSIS)
    if room <= 0:
        return shorten(core, limit)
    before = text[begin:start].split()
    after = text[end:finish].split()
    kept_before: list[str] = []
    kept_after: list[str] = []
    while True:  # alternate sides, after first: what follows a reason usually explains it
        grew = False
        if after and len(after[0]) + 1 <= room:
            room -= len(after[0]) + 1
            kept_after.append(after.pop(0))
            grew = True
        if before and len(before[-1]) + 1 <= room:
            room -= len(before[-1]) + 1
            kept_before.insert(0, before.pop())
            grew = True
        if not grew:
            break
    quoted = " ".join([*kept_before, core, *kept_after])
    return f"{ELLIPSIS if before else ''}{quoted}{ELLIPSIS if after else ''}"
