"""Quotes are whole words of what was written, within their length, around the part that matters."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from rapport.digest.excerpts import ELLIPSIS, excerpt, flatten, shorten

WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzé'’,.!?()", min_size=1, max_size=14),
    min_size=1,
    max_size=60,
)


def _whole_words_of(quote: str, text: str) -> bool:
    """Every word of ``quote`` (ellipses aside) is a word of ``text``, in order, contiguous."""
    inner = quote.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS).split()
    words = flatten(text).split()
    return any(words[at : at + len(inner)] == inner for at in range(len(words) - len(inner) + 1))


@example(words=["aaa", "bbbbbbbbbbbbb,", "cc"], limit=20)
@given(WORDS, st.integers(min_value=20, max_value=200))
def test_shorten_keeps_whole_words_within_the_limit(words: list[str], limit: int) -> None:
    text = " ".join(words)
    short = shorten(text, limit)
    assert len(short) <= limit
    if len(text) <= limit:
        assert short == text
    else:
        assert short.endswith(ELLIPSIS)
        kept = short.removesuffix(ELLIPSIS).split()
        # Whole words only: each kept word is the text's word at that place; the last one may
        # lose trailing punctuation before the ellipsis, and a lone word that cannot fit is cut.
        if len(kept) > 1:
            assert kept[:-1] == words[: len(kept) - 1]
            assert kept[-1] == words[len(kept) - 1].rstrip(" ,;:-–—")


@given(WORDS, st.data(), st.integers(min_value=40, max_value=160))
def test_an_excerpt_is_whole_words_around_the_matched_part(
    words: list[str], data: st.DataObject, limit: int
) -> None:
    text = " ".join(words)
    first = data.draw(st.integers(min_value=0, max_value=len(words) - 1))
    last = data.draw(st.integers(min_value=first, max_value=min(len(words) - 1, first + 3)))
    part = " ".join(words[first : last + 1])
    quote = excerpt(text, part, limit)
    assert len(quote) <= limit
    assert _whole_words_of(quote, text)
    if len(part) + 2 * len(ELLIPSIS) < limit:
        assert part in quote


def test_punctuation_inside_a_word_does_not_end_a_sentence() -> None:
    # Hypothesis found it: "?" in "?a" right before the matched "a" was read as a sentence end.
    assert excerpt("? ? ? ? ?a a", "a", 40) == "?a a"  # each "? " ends a sentence; "?a" is a word
    assert excerpt("Hi. Why?not me", "not", 40) == "Why?not me"


def test_a_single_matched_word_is_quoted_in_its_sentence() -> None:
    note = "Thanks for reaching out. Please don't send me a template, say why you write. Best, Ana"
    assert excerpt(note, "template", 80) == "Please don't send me a template, say why you write."


def test_a_long_sentence_is_cut_at_words_on_both_sides_with_the_match_kept() -> None:
    note = (
        "Honestly I am getting far too many of these messages every single week and I never "
        "accept requests from recruiters because my inbox is already overflowing with offers"
    )
    quote = excerpt(note, "recruiters", 60)
    assert quote.startswith(ELLIPSIS)
    assert quote.endswith(ELLIPSIS)
    assert "recruiters" in quote
    assert _whole_words_of(quote, note)


def test_a_span_that_ends_inside_a_word_takes_the_whole_word() -> None:
    note = "x " * 80 + "six mutual connections and nothing else in common at all " + "y " * 80
    quote = excerpt(note, "mutual connectio", 40)
    assert "connections" in quote
    assert "connectio…" not in quote


def test_a_part_not_in_the_text_is_only_shortened() -> None:
    assert excerpt("something else", "the request had no note", 80) == "the request had no note"
