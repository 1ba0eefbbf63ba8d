"""The learned reader: linear models over n-grams, read from a data file with the stdlib alone.

``training/train.py`` fits two multinomial logistic regressions with scikit-learn on the corpus's
train split (one over reasons, with ``none`` for notes that state no reason, one over languages)
and exports them to ``reader.bin``. The Lambda needs neither scikit-learn nor numpy: a note's score
for a label is its bias plus the sum of the label's weights over the note's known features,
divided by the square root of their number (the L2-normalised binary vectors it was trained on).
Weights are stored as int8 with one scale per label, which keeps the file small; on loading, each
feature's weights for every label are packed into one integer (32 bits a label), so a note costs
one ``sum``.

File layout: a JSON header line (labels, biases, scales, the reader's thresholds and calibration),
then the vocabulary as UTF-8 lines, then each label's int8 weights, heads in header order.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any, NamedTuple

from rapport.reasons.features import (
    coverage_units,
    pair_features,
    prepare,
    word_features,
    words_of,
)

MODEL_FILE = "reader.bin"
NO_REASON_LABEL = "none"
#: Where a note divides into pieces that can be quoted on their own (sentences, then clauses).
_SENTENCES = re.compile(r"[^.!?;\n。！？；؟]+[.!?;。！？；؟]*")
_CLAUSES = re.compile(r"[^,，、،]+[,，、،]*")


class ModelError(ValueError):
    """The model file is missing, truncated or inconsistent."""


#: Bytes per label in a feature's packed row: 32 bits, so a sum unpacks as one unsigned array,
#: and even every feature of the vocabulary at weight 255 cannot carry into the next label.
_FIELD_BYTES = 4
_MAX_FEATURES = (1 << 32) // 256
#: int8 weight (two's complement byte) -> weight + 128, so packed fields never go negative.
_TO_UNSIGNED = bytes((byte + 128) % 256 for byte in range(256))


@dataclass(frozen=True, slots=True)
class Head:
    """One multinomial linear model: its labels and where their fields sit in a packed row."""

    labels: tuple[str, ...]
    biases: tuple[float, ...]
    scales: tuple[float, ...]
    #: Index of this head's first label among the packed fields.
    first_field: int

    def scores(self, sums: Sequence[int], known: int) -> list[float]:
        """Raw scores per label from the summed weights of a note's ``known`` features."""
        if not known:
            return list(self.biases)
        norm = math.sqrt(known)
        first = self.first_field
        return [
            bias + sums[first + offset] * scale / norm
            for offset, (bias, scale) in enumerate(zip(self.biases, self.scales, strict=True))
        ]

    def probabilities(self, sums: Sequence[int], known: int) -> dict[str, float]:
        return dict(zip(self.labels, _softmax(self.scores(sums, known)), strict=True))


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


class Reading(NamedTuple):
    """What the learned reader makes of one note."""

    #: Per reason label (the codes, and ``none`` for a note that states no reason).
    probabilities: Mapping[str, float]
    #: The likeliest language.
    language: str
    #: Share of the note's words (character pairs in Chinese and Japanese) seen in training:
    #: low for a language the model was not trained on; None when the note has no words at all.
    coverage: float | None


class LearnedReader:
    """Reads notes with the exported model; the features of each word are looked up once."""

    def __init__(
        self,
        *,
        vocabulary: Mapping[str, int],
        rows: Sequence[int],
        reason_weights: Mapping[str, array[int]],
        reasons: Head,
        languages: Head,
        symbols: Mapping[str, tuple[str, ...]],
        settings: Mapping[str, Any],
    ) -> None:
        self.vocabulary = vocabulary
        #: Per feature, every label's weight (+128) packed into one integer, 32 bits a label, so
        #: one ``sum`` over a note's features adds all labels of both heads at once.
        self.rows = rows
        #: Per reason label, its int8 weights as stored: evidence scores pieces of a note on two
        #: labels alone.
        self.reason_weights = reason_weights
        self.fields = len(reasons.labels) + len(languages.labels)
        self.reasons = reasons
        self.languages = languages
        self.symbols = symbols
        #: The reader's thresholds and calibration, fitted on the dev split (training/train.py).
        self.settings = settings
        #: Words and word pairs repeat across notes: their known features are cached (bounded).
        self._known_of_word = lru_cache(maxsize=65536)(self._indices_of_word)
        self._known_of_pair = lru_cache(maxsize=65536)(self._indices_of_pair)

    def with_settings(self, settings: Mapping[str, Any]) -> LearnedReader:
        """The same model with other thresholds (training tries several on dev); the word
        caches are shared, since they depend on the vocabulary alone."""
        reader = LearnedReader(
            vocabulary=self.vocabulary,
            rows=self.rows,
            reason_weights=self.reason_weights,
            reasons=self.reasons,
            languages=self.languages,
            symbols=self.symbols,
            settings=settings,
        )
        reader._known_of_word = self._known_of_word
        reader._known_of_pair = self._known_of_pair
        return reader

    def _indices(self, features: list[str]) -> tuple[int, ...]:
        lookup = self.vocabulary.get
        return tuple(index for feature in features if (index := lookup(feature)) is not None)

    def _indices_of_word(self, word: str) -> tuple[int, ...]:
        return self._indices(word_features(word))

    def _indices_of_pair(self, first: str, second: str) -> tuple[int, ...]:
        return self._indices(pair_features(first, second))

    def _known(self, words: list[str]) -> set[int]:
        """The vocabulary indices of the features of ``note_features``, each counted once."""
        return set().union(
            *map(self._known_of_word, set(words)),
            *(self._known_of_pair(*pair) for pair in set(pairwise(words))),
        )

    def _sums(self, words: list[str]) -> tuple[list[int], int]:
        """Each label's summed int8 weights over the known features, and their number.

        The same features as ``note_features``: each distinct feature counts once.
        """
        known = self._known(words)
        total = sum(map(self.rows.__getitem__, known))
        offset = 128 * len(known)
        fields = array("I", total.to_bytes(self.fields * _FIELD_BYTES, "little"))
        return [field - offset for field in fields], len(known)

    def read(self, note: str) -> Reading:
        words = words_of(prepare(note, self.symbols))
        sums, known = self._sums(words)
        languages = self.languages.scores(sums, known)
        units = coverage_units(words)
        return Reading(
            probabilities=self.reasons.probabilities(sums, known),
            language=self.languages.labels[languages.index(max(languages))],
            coverage=sum(map(self.vocabulary.__contains__, units)) / len(units) if units else None,
        )

    def evidence(self, note: str, label: str, max_chars: int) -> tuple[int, int]:
        """Where ``note`` most says ``label`` rather than no reason: the span of a sentence, or of
        a clause when the sentence is longer than ``max_chars``.

        Each piece is scored by the margin of ``label`` over ``none`` on its own features; the
        caller quotes the span as written (cutting it at a word boundary if still too long).
        """
        best = self._strongest(note, _pieces(note, _SENTENCES), label)
        if best[1] - best[0] > max_chars:
            clauses = [
                (best[0] + start, best[0] + end)
                for start, end in _pieces(note[best[0] : best[1]], _CLAUSES)
            ]
            best = self._strongest(note, clauses, label)
        return best

    def _strongest(self, note: str, pieces: list[tuple[int, int]], label: str) -> tuple[int, int]:
        if len(pieces) == 1:
            return pieces[0]
        return max(pieces, key=lambda piece: self._margin(note[piece[0] : piece[1]], label))

    def _margin(self, text: str, label: str) -> float:
        """How much more ``text`` alone says ``label`` than no reason (their score difference),
        from those two labels' own weights: no need to unpack every label."""
        known = self._known(words_of(prepare(text, self.symbols)))
        reasons = self.reasons
        first, second = reasons.labels.index(label), reasons.labels.index(NO_REASON_LABEL)
        margin = reasons.biases[first] - reasons.biases[second]
        if known:
            weights = self.reason_weights
            spread = sum(map(weights[label].__getitem__, known)) * reasons.scales[first]
            spread -= sum(map(weights[NO_REASON_LABEL].__getitem__, known)) * reasons.scales[second]
            margin += spread / math.sqrt(len(known))
        return margin


def _pieces(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Spans of the non-blank pieces of ``text``, trimmed of surrounding whitespace."""
    spans = []
    for match in pattern.finditer(text):
        piece = match.group()
        stripped = piece.strip()
        if stripped:
            start = match.start() + piece.index(stripped)
            spans.append((start, start + len(stripped)))
    return spans or [(0, len(text))]


def _head(header: Mapping[str, Any], first_field: int) -> Head:
    labels = tuple(header["labels"])
    head = Head(
        labels=labels,
        biases=tuple(float(value) for value in header["biases"]),
        scales=tuple(float(value) for value in header["scales"]),
        first_field=first_field,
    )
    if not (len(head.biases) == len(head.scales) == len(labels)):
        raise ModelError("a head's labels, biases and scales differ in number")
    return head


def _packed_rows(blob: bytes, start: int, size: int, fields: int) -> list[int]:
    """Per feature, its ``fields`` int8 weights (stored label by label) packed into one int."""
    if len(blob) != start + size * fields:
        raise ModelError("the model's weights do not match its header")
    width = fields * _FIELD_BYTES
    interleaved = bytearray(size * width)
    for field in range(fields):
        row = blob[start + field * size : start + (field + 1) * size]
        interleaved[field * _FIELD_BYTES :: width] = row.translate(_TO_UNSIGNED)
    view = memoryview(interleaved)
    return [
        int.from_bytes(view[offset : offset + width], "little")
        for offset in range(0, len(interleaved), width)
    ]


def load_reader(blob: bytes, symbols: Mapping[str, tuple[str, ...]]) -> LearnedReader:
    """Parse a model file's bytes; raises :class:`ModelError` when they do not hold a model."""
    try:
        header_end = blob.index(b"\n")
        header = json.loads(blob[:header_end])
        vocabulary_end = header_end + 1 + int(header["vocabulary_bytes"])
        words = blob[header_end + 1 : vocabulary_end].decode("utf-8").split("\n")
        if len(words) != int(header["vocabulary_size"]):
            raise ModelError("the vocabulary size does not match the header")
        reasons = _head(header["reasons"], 0)
        languages = _head(header["languages"], len(reasons.labels))
        fields = len(reasons.labels) + len(languages.labels)
        rows = _packed_rows(blob, vocabulary_end, len(words), fields)
        reason_weights = {
            label: array("b", blob[start : start + len(words)])
            for label, start in zip(
                reasons.labels, range(vocabulary_end, len(blob), len(words)), strict=False
            )
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"not a Rapport reader model: {exc}") from exc
    if len(words) >= _MAX_FEATURES:
        raise ModelError("the vocabulary is too large for 32-bit packed sums")
    if NO_REASON_LABEL not in reasons.labels:
        raise ModelError(f"the reason head has no {NO_REASON_LABEL!r} label")
    return LearnedReader(
        vocabulary=dict(zip(words, range(len(words)), strict=True)),
        rows=rows,
        reason_weights=reason_weights,
        reasons=reasons,
        languages=languages,
        symbols=symbols,
        settings=header["settings"],
    )


@cache
def packaged_model_bytes() -> bytes:
    """The packaged model, read once per process (on first use, never at import)."""
    return resources.files("rapport.reasons").joinpath(MODEL_FILE).read_bytes()
