"""The learned reader's view of a note: character and word n-grams, the same in training and here.

Training (``training/train.py``) and the Lambda both call :func:`note_features`, so the model can
never be fed features it was not trained on. The text is prepared to keep what carries meaning in
any language: case folded, width and compatibility forms unified (NFKC), emoji spelled out as words
(``text.symbol_words``), letters repeated three or more times squeezed (never digits), whitespace
collapsed. Character n-grams of 2 to 5 characters inside each padded word (and, in Chinese and
Japanese, single characters) carry spelling, morphology and scripts without spaces; word unigrams
and bigrams, and character 3-6-grams across the space between two words, carry phrasing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from itertools import pairwise

from rapport.reasons.text import APOSTROPHES, ELONGATED, symbol_words

_WORD = re.compile(r"\w+(?:'\w+)*")
#: Symbols spelled out as words; "#" is not one of them (a hashtag's words stay as they are).
_SYMBOL = re.compile(r"[^\w\s.,!?;:'\"()\-–—/&%@*+=<>\[\]{}。、，！？；：「」『』（）·…#]")
_CHAR_SIZES = (2, 3, 4, 5)
_CROSS_SIZES = (3, 4, 5, 6)

#: Prefixes keep the kinds of feature apart in one vocabulary.
WORD_PREFIX = "w "
BIGRAM_PREFIX = "b "
CROSS_PREFIX = "x "
CHARACTER_PREFIX = "u "


def prepare(note: str, symbols: Mapping[str, tuple[str, ...]]) -> str:
    """The note as the model reads it: folded, emoji spelled out, repeats squeezed."""
    text = unicodedata.normalize("NFKC", note).casefold().translate(APOSTROPHES)
    if _SYMBOL.search(text):
        text = _SYMBOL.sub(lambda match: f" {' '.join(symbol_words(match[0], symbols))} ", text)
    return ELONGATED.sub(r"\1\1", text)


def words_of(prepared: str) -> list[str]:
    """The words of prepared text (a run of Chinese or Japanese characters is one word)."""
    return _WORD.findall(prepared)


#: Scripts written without spaces between words: a run of them is read in character pairs.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def coverage_units(words: list[str]) -> list[str]:
    """The features that say whether the model knows the note's language: its words, and in
    scripts without spaces (Chinese, Japanese) the character pairs of each run."""
    units: list[str] = []
    for word in words:
        if _UNSPACED.search(word):
            units.extend(word[start : start + 2] for start in range(len(word) - 1))
        else:
            units.append(WORD_PREFIX + word)
    return units


def word_features(word: str) -> list[str]:
    """A word's own features: the word, its character 2-5-grams padded with spaces, and in
    Chinese and Japanese each character (one character is often a whole word there)."""
    padded = f" {word} "
    length = len(padded)
    features = [WORD_PREFIX + word]
    for size in _CHAR_SIZES:
        if size > length:
            break
        features.extend(padded[start : start + size] for start in range(length - size + 1))
    if _UNSPACED.search(word):
        features.extend(CHARACTER_PREFIX + char for char in word if _UNSPACED.match(char))
    return features


def pair_features(first: str, second: str) -> list[str]:
    """Two neighbouring words' features: the word bigram, and the character 3-6-grams that
    cross the space between them ("t me", "no rec"), which carry phrasing across spellings."""
    joined = f"{first} {second}"
    boundary = len(first)
    features = [BIGRAM_PREFIX + joined]
    for size in _CROSS_SIZES:
        first_start = max(0, boundary - size + 2)
        last_start = min(boundary - 1, len(joined) - size)
        features.extend(
            CROSS_PREFIX + joined[start : start + size]
            for start in range(first_start, last_start + 1)
        )
    return features


def note_features(prepared: str) -> set[str]:
    """Distinct features of prepared text: every word's and every neighbouring pair's."""
    words = words_of(prepared)
    features: set[str] = set()
    for word in set(words):
        features.update(word_features(word))
    for pair in set(pairwise(words)):
        features.update(pair_features(*pair))
    return features
