"""Digest file names: one per (member id, week), even on a case-insensitive file system, and
always a name every file system takes."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from rapport.contract import MAX_ID_LENGTH
from rapport_cli.local.digests import file_stem

#: What a member id may be: 1 to 128 printable characters of any script (no control characters).
MEMBER_IDS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=MAX_ID_LENGTH,
)
#: Look-alikes that collided before: dots, separators, spaces, case, the escape itself.
TRICKY = st.sampled_from(
    ["john.doe", "john.smith", "john", "m a", "m_a", "m%5Fa", "M-A", "m-a", "m~a", "%", "."]
)
WEEKS = st.dates(min_value=date(1970, 1, 5), max_value=date(8999, 12, 25))
#: Portable: no separator, reserved or control character, no trailing dot or space.
PORTABLE = re.compile(r"[A-Za-z0-9%_~-]+")
SUFFIXES = (".eml", ".html", ".json", ".txt")


def _name(member_id: str, week: date) -> str:
    return file_stem(member_id, week.isoformat())


def test_the_names_that_used_to_collide_are_distinct() -> None:
    members = ["john.doe", "john.smith", "m a", "m_a", "M-A", "m-a"]
    names = {_name(member, date(2026, 11, 9)).casefold() for member in members}
    assert len(names) == len(members)


def test_a_plain_id_stays_readable() -> None:
    assert _name("m-priya", date(2026, 11, 9)) == "m-priya_2026-11-09"
    assert _name("john.doe", date(2026, 11, 9)) == "john%2Edoe_2026-11-09"


@given(
    st.tuples(st.one_of(TRICKY, MEMBER_IDS), WEEKS),
    st.tuples(st.one_of(TRICKY, MEMBER_IDS), WEEKS),
)
def test_distinct_pairs_get_distinct_names_even_ignoring_case(
    first: tuple[str, date], second: tuple[str, date]
) -> None:
    if first != second:
        assert _name(*first).casefold() != _name(*second).casefold()


@given(MEMBER_IDS, WEEKS)
def test_every_name_is_portable_and_fits_in_255_bytes(member_id: str, week: date) -> None:
    stem = _name(member_id, week)
    assert PORTABLE.fullmatch(stem), stem
    assert stem.endswith(f"_{week.isoformat()}")
    for suffix in SUFFIXES:
        assert len(f"{stem}{suffix}".encode()) <= 255


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=100))
def test_long_ids_keep_a_readable_prefix_and_differ_by_their_hash(member_id: str) -> None:
    week = date(2026, 11, 9)
    first_character = _name(member_id[0], week).removesuffix(f"_{week.isoformat()}")
    assert _name(member_id, week).startswith(first_character)
    assert _name(member_id, week) != _name(member_id + "x", week)
