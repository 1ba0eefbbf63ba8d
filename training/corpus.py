"""Assemble the reason corpus: written notes plus request facts, split once into train/dev/test.

The notes in ``data/reasons/raw/*.jsonl`` were written for the corpus, each with the codes it
states (strongest first, or none), its language and its category (docs/classification.md). This
adds what a case needs beyond the note, deterministically from the note itself: the sent request's
note and context and the outcome, and from those the expected codes of a note that states no
reason (the derived reason the request facts give). Each note goes to one split by a hash of its
folded text, so the same note can never sit in two splits, and re-running changes nothing.

Run ``python -m training.corpus`` (``make corpus``); ``--check`` fails if the committed splits are
not what the raw notes give.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rapport.codes import ReasonCode

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "reasons"
RAW = DATA / "raw"
#: Notes in languages the reader is never trained on: only ever used to test that it abstains.
UNTRAINED = RAW / "untrained_languages.jsonl"
SPLITS = ("train", "dev", "test")
#: Out of 20 hash buckets: 14 train, 3 dev, 3 test (70/15/15).
_BUCKETS = {"train": range(14), "dev": range(14, 17), "test": range(17, 20)}

_PERSONAL_NOTES = (
    "Hi! I enjoyed your talk at the product summit and would love to stay in touch.",
    "Hello, fellow PMP here. Your post on agile risk registers was spot on.",
    "We were both at the Berlin meetup last month; great to connect here.",
    "Saw your article on data governance. Would love to compare notes some time.",
    "Hey! We have a few mutual friends from the alumni group.",
    "Your case study on hospital scheduling helped my team a lot, thank you.",
)
_GENERIC_NOTES = (
    "I'd like to add you to my professional network.",
    "Hi, I came across your profile and would like to connect.",
    "Let's connect!",
)
_GROUPS = ("PMI Chapter", "Women in Data", "Product Leaders Forum", "Healthcare IT Network")
_CREDENTIALS = ("PMP", "PRINCE2", "CSM")
_EMPLOYERS = ("Acme Corp", "Globex")
_SCHOOLS = ("INSEAD", "University of Leeds")


class RawNote(BaseModel):
    """One written note and what it states."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    note: str
    codes: list[ReasonCode]
    language: str = Field(min_length=2, max_length=8)
    category: str = Field(min_length=2, max_length=32)


def folded(note: str) -> str:
    """The note as compared for duplicates: NFKC, case folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", note).casefold().split())


def _digest(note: str) -> bytes:
    return hashlib.sha256(folded(note).encode("utf-8")).digest()


def split_of(note: str) -> str:
    bucket = int.from_bytes(_digest(note)[:8], "big") % 20
    return next(name for name, buckets in _BUCKETS.items() if bucket in buckets)


def _context(rng: random.Random) -> dict[str, Any]:
    """Some common ground, or none (a third of requests have none)."""
    if rng.random() < 0.34:
        return {}
    choices: list[tuple[str, Any]] = [
        ("mutual_connections", rng.randint(1, 40)),
        ("shared_groups", [rng.choice(_GROUPS)]),
        ("shared_credentials", [rng.choice(_CREDENTIALS)]),
        ("shared_employers", [rng.choice(_EMPLOYERS)]),
        ("shared_schools", [rng.choice(_SCHOOLS)]),
        ("prior_interaction", rng.choice(["met_in_person", "met_virtually", "messaged"])),
    ]
    return dict(rng.sample(choices, rng.randint(1, 2)))


def _derived(sender_note: str | None, context: dict[str, Any], outcome: str) -> ReasonCode:
    """The derived reason of a note that states none (DESIGN §3, docs/classification.md)."""
    if not context:
        return ReasonCode.NO_COMMON_GROUND
    if sender_note is None:
        return ReasonCode.NO_NOTE
    return ReasonCode.NO_DECISION if outcome == "no_response" else ReasonCode.UNKNOWN


def case_of(raw: RawNote, source: str) -> dict[str, Any]:
    """The full labelled case of one note: request facts and outcome drawn from its own hash."""
    rng = random.Random(_digest(raw.note))  # noqa: S311 (reproducible facts, not secrets)
    codes = list(dict.fromkeys(raw.codes))
    outcome = "no_response" if ReasonCode.NO_DECISION in codes else "declined"
    context = {} if ReasonCode.NO_COMMON_GROUND in codes else _context(rng)
    if ReasonCode.NO_NOTE in codes or rng.random() < 0.4:
        sender_note = None
    elif ReasonCode.GENERIC_NOTE in codes:
        sender_note = rng.choice(_GENERIC_NOTES)
    else:
        sender_note = rng.choice(_PERSONAL_NOTES)
    expected = codes or [_derived(sender_note, context, outcome)]
    return {
        "id": _digest(raw.note).hex()[:12],
        "note": raw.note,
        "request": {"note": sender_note, "context": context},
        "outcome": outcome,
        "expected": [str(code) for code in expected],
        #: What the note itself states (empty: the expected code is derived from the facts).
        "stated": [str(code) for code in codes],
        "language": raw.language,
        "category": raw.category,
        "source": source,
    }


def read_raw(path: Path) -> Iterator[RawNote]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield RawNote.model_validate_json(line)
                except ValueError as exc:
                    raise SystemExit(f"{path}:{number}: {exc}") from None


def raw_files() -> list[Path]:
    return sorted(path for path in RAW.glob("*.jsonl") if path != UNTRAINED)


def assemble(files: Iterable[Path]) -> dict[str, list[dict[str, Any]]]:
    """Every distinct note of ``files`` as a case, by split; a repeated note is kept once."""
    splits: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLITS}
    seen: set[str] = set()
    for path in files:
        for raw in read_raw(path):
            key = folded(raw.note)
            if key in seen or not key:
                continue
            seen.add(key)
            splits[split_of(raw.note)].append(case_of(raw, path.stem))
    for cases in splits.values():
        cases.sort(key=lambda case: case["id"])
    return splits


#: Languages of the untrained-language notes whose notes may tune the unseen-language threshold;
#: the others are only ever used to test it, so the test is on languages nothing was tuned on.
UNSEEN_DEV_LANGUAGES = frozenset({"ru", "ko", "pl", "sv", "id", "el"})


def untrained_cases() -> dict[str, list[dict[str, Any]]]:
    """The untrained-language notes as cases, split by language into dev and test."""
    cases: dict[str, list[dict[str, Any]]] = {"unseen_dev": [], "unseen_test": []}
    for raw in read_raw(UNTRAINED):
        name = "unseen_dev" if raw.language in UNSEEN_DEV_LANGUAGES else "unseen_test"
        cases[name].append(case_of(raw, UNTRAINED.stem))
    return cases


def render(cases: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(case, ensure_ascii=False) + "\n" for case in cases)


def outputs() -> dict[Path, str]:
    """Every file this module writes, with its content."""
    files = {DATA / f"{name}.jsonl": render(cases) for name, cases in assemble(raw_files()).items()}
    for name, cases in untrained_cases().items():
        files[DATA / f"{name}.jsonl"] = render(cases)
    return files


def summary(splits: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, cases in splits.items():
        labels = Counter(case["expected"][0] for case in cases)
        languages = Counter(case["language"] for case in cases)
        lines.append(
            f"{name}: {len(cases)} cases; labels {dict(labels)}; languages {dict(languages)}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the splits are stale")
    args = parser.parse_args(argv)
    files = outputs()
    stale = [
        path for path, text in files.items() if not path.exists() or path.read_text("utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run make corpus)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    print(summary(assemble(raw_files())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
