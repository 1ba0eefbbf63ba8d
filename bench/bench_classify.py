"""Classifications per second on one core, over the evaluation corpus (not a timed test).

Run from the repository root with the project's venv: ``python bench/bench_classify.py``.
The rules are compiled before timing starts (as in a warm Lambda); every call then classifies a
note from scratch, since nothing is cached per note.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rapport.reasons import classify
from rapport.reasons.evaluation import CaseInput

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "reasons" / "corpus.jsonl"
TARGET_PER_SECOND = 20_000


def load_cases(path: Path) -> list[CaseInput]:
    with path.open(encoding="utf-8") as lines:
        return [CaseInput.model_validate_json(line) for line in lines if line.strip()]


def measure(cases: list[CaseInput], minimum_seconds: float) -> tuple[int, float]:
    """Classify the corpus repeatedly for at least ``minimum_seconds``; return (calls, seconds)."""
    calls = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < minimum_seconds:
        for case in cases:
            classify(case.note, case.request, case.outcome)
        calls += len(cases)
        elapsed = time.perf_counter() - started
    return calls, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timing (default 3)")
    args = parser.parse_args()
    cases = load_cases(CORPUS)
    measure(cases, minimum_seconds=0.2)  # warm up: compile rules, fill CPU caches
    best = 0.0
    for _ in range(3):
        calls, elapsed = measure(cases, minimum_seconds=args.seconds / 3)
        best = max(best, calls / elapsed)
    verdict = "meets" if best >= TARGET_PER_SECOND else "BELOW"
    print(
        f"{best:,.0f} classifications/s on one core ({len(cases)} corpus cases, best of 3; "
        f"{verdict} the {TARGET_PER_SECOND:,}/s target)"
    )


if __name__ == "__main__":
    main()
