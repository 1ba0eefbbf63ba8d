"""The fast JSON path (jiter) may only ever agree with the reference decoder.

``decode_json`` tries jiter first and falls back to the reference decoder when jiter refuses, so
the two can only differ if jiter accepts a text the reference refuses, or reads it differently.
These tests look for exactly that, over generated texts (with fragments that break JSON, including
a raw lone surrogate, which jiter refuses as invalid UTF-8) and every body of the test corpora.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.contract import MAX_EVENT_BYTES
from rapport.errors import InvalidEvent
from rapport.validation import _decode_strictly, decode_json
from tests.reliability.corpus import load_cases
from tests.support.examples import examples

ROOT = Path(__file__).resolve().parents[3]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=16,
)
#: Fragments that break JSON, or make it ambiguous, in ways a strict decoder must notice.
_FRAGMENTS = [
    "NaN", "Infinity", "-Infinity", "\\ud800", "\\udfff", "\\ud83d\\ude00", '"a":1,"a":2', ",",
    "}", "]", "\x00", "\t", "\u2028", "\ufeff", "\\x41", "01", "1e999", "-", "tru", '"', "\ud800",
]  # fmt: skip


def _reference(text: str) -> tuple[str, Any]:
    return _outcome(_decode_strictly, text)


def _outcome(decode: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", decode(text)
    except InvalidEvent as problem:
        return "invalid", problem.error_code


def _same(left: Any, right: Any) -> bool:
    """Equal, and of the same JSON types all the way down (1 and 1.0 and True differ)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def _assert_agree(text: str) -> None:
    """``decode_json`` (jiter first) answers exactly as the reference decoder does."""
    reference = _reference(text)
    if len(text.encode("utf-8", "surrogatepass")) <= MAX_EVENT_BYTES:  # else refused for size
        decoded = _outcome(decode_json, text)
        assert decoded[0] == reference[0], (
            f"{text!r}: {decoded} where the reference says {reference}"
        )
        assert _same(decoded[1], reference[1]), f"jiter read {text!r} differently"


@settings(max_examples=examples(400), deadline=None)
@given(
    value=_values,
    indent=st.none() | st.integers(min_value=0, max_value=2),
    ensure_ascii=st.booleans(),
)
def test_valid_json_is_read_the_same_by_both(
    value: Any, indent: int | None, ensure_ascii: bool
) -> None:
    _assert_agree(json.dumps(value, indent=indent, ensure_ascii=ensure_ascii))


@settings(max_examples=examples(600), deadline=None)
@given(
    value=_values,
    fragment=st.sampled_from(_FRAGMENTS) | st.text(max_size=3),
    where=st.floats(min_value=0, max_value=1),
)
def test_broken_json_is_refused_by_both_or_read_the_same(
    value: Any, fragment: str, where: float
) -> None:
    text = json.dumps(value)
    cut = int(len(text) * where)
    _assert_agree(text[:cut] + fragment + text[cut:])


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 1}',
        '{"a": {"b": 1, "b": 2}}',
        '[{"x": 1}, {"y": {"z": [], "z": null}}]',
        '{"a" : 1, "a"\n:\t2}',
        '{"a\\u0041": 1, "aA": 2}',
    ],
)
def test_duplicate_keys_at_any_depth_and_in_any_spelling_are_invalid(text: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        decode_json(text)
    assert raised.value.error_code == "invalid_json"
    assert "more than once" in raised.value.message


def _corpus_bodies() -> list[str]:
    def lines(path: str) -> list[str]:
        return (ROOT / path).read_text("utf-8").splitlines()

    bodies = [case.body for case in load_cases()]
    return bodies + lines("tests/reliability/heldout.jsonl") + lines("events/streams/demo.jsonl")


def test_every_corpus_body_gets_the_same_answer_from_both() -> None:
    bodies = _corpus_bodies()
    assert len(bodies) > 300
    for text in bodies:
        _assert_agree(text)
