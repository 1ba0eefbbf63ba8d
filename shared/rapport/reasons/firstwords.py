"""Which words a rule's match can start with, so a note only tries the rules it could fire.

Trying every rule at every word of a note is the classifier's main cost. A rule regex almost always
starts with literal words or small alternations of words ("only", "do not", "(?:keep|limit)"), so
the possible leading words can be read off the parsed regex; the classifier then tries a rule only
at positions holding them. Up to two leading words are used, because single words such as "not"
or "i" start too many rules. When not even the first word can be determined (a character class or
a repetition first), :func:`leading_words` returns None and the rule is searched everywhere,
which is slower but equally correct. For those rules :func:`required_text` finds strings every
match contains one of, so the search is skipped for notes holding none of them.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

#: The stdlib regex parser: private, hence loaded defensively (a failure means "search everywhere").
_PARSER: Any = importlib.import_module("re._parser")
_MAX_ALTERNATIVES = 5000
_ZERO_WIDTH = frozenset({"ASSERT", "ASSERT_NOT", "AT"})

Words = tuple[str, ...]
_State = tuple[Words, str]


class _Undetermined(Exception):
    """Not even the first word of a match can be enumerated."""


class _Walk:
    """Enumerates leading word sequences of a parsed regex, up to ``depth`` words."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def truncate(self, states: set[_State]) -> set[Words]:
        """Keep the complete words of each state; fail if a state has none yet."""
        if any(not words for words, _ in states):
            raise _Undetermined
        return {words for words, _ in states}

    def walk(self, items: Any, states: set[_State]) -> tuple[set[Words], set[_State]]:
        """Extend states through ``items``; return (finished sequences, open states)."""
        done: set[Words] = set()
        for op, argument in items:
            name = str(op)
            if name == "LITERAL":
                states = self.literal(chr(argument), states, done)
            elif name == "BRANCH":
                extended: set[_State] = set()
                for branch in argument[1]:
                    branch_done, branch_states = self.walk(branch, states)
                    done |= branch_done
                    extended |= branch_states
                states = extended
            elif name == "SUBPATTERN":
                sub_done, states = self.walk(argument[-1], states)
                done |= sub_done
            elif name in ("MAX_REPEAT", "MIN_REPEAT") and argument[1] == 1:
                body_done, body_states = self.walk(argument[2], states)
                done |= body_done
                states = body_states | (states if argument[0] == 0 else set())
            elif name not in _ZERO_WIDTH:
                return done | self.truncate(states), set()
            if not states:
                break
            if len(states) + len(done) > _MAX_ALTERNATIVES:
                return done | self.truncate(states), set()
        return done, states

    def literal(self, character: str, states: set[_State], done: set[Words]) -> set[_State]:
        if character != " ":
            return {(words, prefix + character) for words, prefix in states}
        advanced = set()
        for words, prefix in states:
            if len(words) + 1 >= self.depth:
                done.add((*words, prefix))
            else:
                advanced.add(((*words, prefix), ""))
        return advanced


def leading_words(regex: str, depth: int = 2) -> frozenset[Words] | None:
    """Word sequences (1 to ``depth`` words) every match of ``regex`` starts with; None if unknown.

    A one-word sequence means the match is one word long or its second word is not enumerable.
    """
    walker = _Walk(depth)
    try:
        done, states = walker.walk(_PARSER.parse(regex), {((), "")})
        done |= {(*words, prefix) if prefix else words for words, prefix in states}
    except Exception:  # _Undetermined, or a parser that changed shape in a new Python
        return None
    if not done or any(not words or "" in words for words in done):
        return None
    return frozenset(done)


def _required(items: Any) -> frozenset[str] | None:
    """For a sequence of parsed items: the most selective requirement among its mandatory parts.

    A run of literal characters must appear as written; a branch requires one of its branches'
    requirements; a group, or a repeat that occurs at least once, requires its body's. Anything
    else (classes, optional parts, assertions) requires nothing and ends a literal run.
    """
    candidates: list[frozenset[str]] = []
    run = ""
    for op, argument in items:
        name = str(op)
        if name == "LITERAL":
            run += chr(argument)
            continue
        if run:
            candidates.append(frozenset({run}))
            run = ""
        found = None
        if name == "BRANCH":
            branches = [_required(branch) for branch in argument[1]]
            known = [strings for strings in branches if strings]
            if len(known) == len(branches):
                found = frozenset[str]().union(*known)
        elif name == "SUBPATTERN" and not argument[1] & re.IGNORECASE:
            found = _required(argument[-1])
        elif name in ("MAX_REPEAT", "MIN_REPEAT") and argument[0] >= 1:
            found = _required(argument[2])
        if found:
            candidates.append(found)
    if run:
        candidates.append(frozenset({run}))
    return max(candidates, key=lambda strings: min(map(len, strings)), default=None)


def required_text(regex: str) -> frozenset[str] | None:
    """Strings of which every match of ``regex`` contains at least one; None if none are known."""
    try:
        parsed = _PARSER.parse(regex)
        if parsed.state.flags & re.IGNORECASE:
            return None
        return _required(parsed)
    except Exception:  # a parser that changed shape in a new Python: search every note
        return None
