"""Normalisation of free text into canonical words that remember where they came from.

Rules match a canonical form of the note (lower case, straight apostrophes, contractions expanded,
text-speak and common misspellings repaired, punctuation reduced to clause marks), but evidence must
quote the recipient's own words. Every canonical word therefore keeps the span of the original token
it came from, so a match in the canonical text maps back to an exact substring of the original note.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

#: Numbers with thousands separators, words (with inner apostrophes of any style), sentence
#: punctuation, clause punctuation, "#" before a number (a hashtag's "#" is no token), and any
#: other single symbol (emoji).
_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?!\d)|\w+(?:['’‘`´ʼ]\w+)*|[.!?;:…]+|[,—–()]|\s-\s|#(?=\d)|[^\w\s#]"
)
#: Apostrophes of every style, made straight (the rules and the learned reader alike).
APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
#: Letters (never digits: "28,000" must stay a number) repeated three or more times.
ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_CLAUSE_MARKS = frozenset(",—–()")
#: Unicode categories whose characters carry meaning of their own: other, math and currency
#: symbols (emoji are "So"). Quotes, brackets and modifiers ("Sk", "Mn") carry none.
_MEANINGFUL_SYMBOLS = frozenset({"So", "Sm", "Sc"})
#: Words repeated in many symbol names that say nothing about the symbol's meaning.
_NAME_NOISE = frozenset({"sign", "symbol", "with", "face", "for", "emoji", "black", "white"})
_SENTENCE_MARKS = frozenset(".!?;:…")

#: Clause punctuation in the canonical text.
SENTENCE_END = "."
CLAUSE_BREAK = ","

_NOT_STEMS = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}
_SUFFIXES = (("'ve", "have"), ("'re", "are"), ("'m", "am"), ("'ll", "will"), ("'d", "would"))
_IS_PRONOUNS = frozenset(
    {"it", "that", "what", "there", "here", "he", "she", "who", "where", "how", "this"}
)


def symbol_words(symbol: str, named: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """What one symbol means in words: the rules' own name for it, else its Unicode name.

    "🔢" reads "input numbers" and "🤖" "robot": an emoji often *is* the reason ("not gonna be a 🔢
    in your collection"), so it must not vanish. Marks without meaning of their own give nothing.
    """
    own = named.get(symbol)
    if own is not None:
        return own
    if unicodedata.category(symbol) not in _MEANINGFUL_SYMBOLS:
        return ()
    name = unicodedata.name(symbol, "").casefold().replace("-", " ")
    return tuple(word for word in name.split() if word not in _NAME_NOISE)


def _expand_contraction(word: str) -> list[str]:
    """``don't`` -> ``do not``, ``i've`` -> ``i have``; a possessive ``'s`` is kept as written."""
    if word.endswith("n't"):
        stem = word[:-3]
        return [_NOT_STEMS.get(stem, stem), "not"]
    for suffix, expansion in _SUFFIXES:
        if word.endswith(suffix):
            return [word[: -len(suffix)], expansion]
    if word.endswith("'s"):
        stem = word[:-2]
        if stem == "let":
            return ["let", "us"]
        if stem in _IS_PRONOUNS:
            return [stem, "is"]
    return [word]


#: One canonical word and the offsets of the token it came from.
WordAt = tuple[str, int, int]


class Lexicon:
    """How tokens become canonical words: repairs for text-speak and misspellings, from the rules.

    Words repeat heavily across notes, so the canonical words of each token, and of each
    whitespace-separated piece of text ("don't", "you.", "ppl,"), are cached (bounded): most
    pieces of a note are then read without running the tokeniser at all.
    """

    def __init__(
        self,
        replacements: Mapping[str, tuple[str, ...]],
        symbols: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        #: Canonical token -> replacement words, e.g. ``"ppl" -> ("people",)``.
        self.replacements = replacements
        #: Symbol -> the words it stands for, e.g. ``"#" -> ("number",)`` (before a number).
        self.symbols: Mapping[str, tuple[str, ...]] = symbols or {}
        self.canonical_words = lru_cache(maxsize=65536)(self._canonical_words)
        self.piece_words = lru_cache(maxsize=65536)(self.read)

    def read(self, text: str) -> tuple[WordAt, ...]:
        """The canonical words of ``text``, each with its token's offsets in ``text``."""
        return tuple(
            (word, match.start(), match.end())
            for match in _TOKEN.finditer(text)
            for word in self.canonical_words(match.group())
        )

    def _canonical_words(self, token: str) -> tuple[str, ...]:
        """The canonical words for one original token (a word or a punctuation mark)."""
        first = token[0]
        if not (first.isalnum() or first == "_"):
            if first in _SENTENCE_MARKS:
                return (SENTENCE_END,)
            if first in _CLAUSE_MARKS or first.isspace():
                return (CLAUSE_BREAK,)
            return symbol_words(first, self.symbols)
        word = ELONGATED.sub(r"\1\1", token.casefold().translate(APOSTROPHES))
        replacement = self.replacements.get(word)
        if replacement is not None:
            return replacement
        words = _expand_contraction(word) if "'" in word else [word]
        result: list[str] = []
        for part in words:
            result.extend(self.replacements.get(part, (part,)))
        return tuple(word for word in result if word)

    def canonical_text(self, text: str) -> str:
        """The canonical form of a phrase written in a rules file (no offsets needed)."""
        return normalise(text, self).text


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """Canonical words joined by single spaces, each mapped back to its original token span."""

    text: str
    words: tuple[str, ...]
    starts: tuple[int, ...]
    original_spans: tuple[tuple[int, int], ...]

    def word_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices of the first and last word overlapping ``text[start:end]``."""
        first = bisect_right(self.starts, start) - 1
        last = bisect_left(self.starts, end) - 1
        return max(first, 0), max(last, first, 0)

    def original_span(self, first_word: int, last_word: int) -> tuple[int, int]:
        """Offsets in the original text covering words ``first_word`` to ``last_word``."""
        return self.original_spans[first_word][0], self.original_spans[last_word][1]


def normalise(text: str, lexicon: Lexicon) -> NormalisedText:
    """Tokenise ``text`` and map each token to canonical words, keeping original offsets.

    Tokens never span whitespace, so the text is read piece by piece from the lexicon's cache;
    the one exception, a dash between spaces (a clause mark), makes the whole text one piece.
    """
    words: list[str] = []
    starts: list[int] = []
    spans: list[tuple[int, int]] = []
    position = 0
    offset = 0
    pieces = text.split()
    read: Callable[[str], tuple[WordAt, ...]] = lexicon.piece_words
    if "-" in pieces:
        pieces, read = [text], lexicon.read
    for piece in pieces:
        offset = text.find(piece, offset)
        for word, start, end in read(piece):
            words.append(word)
            starts.append(position)
            spans.append((offset + start, offset + end))
            position += len(word) + 1
        offset += len(piece)
    return NormalisedText(
        text=" ".join(words), words=tuple(words), starts=tuple(starts), original_spans=tuple(spans)
    )
