"""Classifications per second on one core, over the evaluation corpus (not a timed test).

Run from the repository root with the project's venv: ``python bench/bench_classify.py``.

Method: the test split of the reason corpus (notes of every kind and language, with their request
facts and outcomes) is classified end to end through the public ``classify()``: the rules and the
learned reader both read every note, results included. The rules are compiled and the model loaded
before timing starts (as in a warm Lambda); that first-use cost is reported on its own. No result
is cached, so every call reads its note from scratch (only per-word and per-token lookups are
cached, as in production). Each repetition classifies the split several times over; the median of
the repetitions is reported, by wall clock and by CPU time (``time.process_time``), which other
load on the machine disturbs less.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rapport.codes import Outcome
from rapport.contract import RequestFacts
from rapport.reasons import classify
from rapport.reasons.evaluation import CaseInput
from rapport.reasons.learned import packaged_model_bytes

CORPUS = Path(__file__).resolve().parent.parent / "data" / "reasons" / "test.jsonl"
TARGET_PER_SECOND = 2_000

Case = tuple[str | None, RequestFacts | None, Outcome]


def load_cases(path: Path) -> list[Case]:
    with path.open(encoding="utf-8") as lines:
        inputs = [CaseInput.model_validate_json(line) for line in lines if line.strip()]
    return [(case.note, case.request, case.outcome) for case in inputs]


def repetition(cases: list[Case], passes: int) -> tuple[float, float]:
    """Classify the corpus ``passes`` times; return (wall, CPU) classifications per second."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(passes):
        for note, request, outcome in cases:
            classify(note, request, outcome)
    calls = passes * len(cases)
    return calls / (time.perf_counter() - wall), calls / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=9, help="timed repetitions (default 9)")
    parser.add_argument(
        "--passes", type=int, default=3, help="passes over the split per repetition"
    )
    args = parser.parse_args()
    cases = load_cases(CORPUS)
    started = time.perf_counter()
    classify(*cases[0])
    compile_seconds = time.perf_counter() - started
    model_bytes = len(packaged_model_bytes())
    repetition(cases, passes=2)  # warm up: token cache, CPU caches
    rates = [repetition(cases, args.passes) for _ in range(args.repetitions)]
    wall = statistics.median(rate for rate, _ in rates)
    cpu = statistics.median(rate for _, rate in rates)
    low, high = min(rate for rate, _ in rates), max(rate for rate, _ in rates)
    print(
        f"{len(cases)} test-split cases x {args.passes} passes, median of {args.repetitions} "
        f"repetitions, one core (rules compiled and model loaded once first: "
        f"{compile_seconds:.2f} s; model file {model_bytes / 1e6:.2f} MB)"
    )
    for label, rate in (("wall clock", wall), ("CPU time  ", cpu)):
        verdict = "meets" if rate >= TARGET_PER_SECOND else "BELOW"
        print(
            f"  {label}: {rate:>8,.0f} classifications/s "
            f"({1e6 / rate:.1f} µs each; {verdict} the {TARGET_PER_SECOND:,}/s target)"
        )
    print(f"  wall-clock spread over repetitions: {low:,.0f} to {high:,.0f}/s")


if __name__ == "__main__":
    main()
