"""Input lines of ``rapport classify`` and the metrics of ``--evaluate``, shared with the tests.

A case counts as correct when the primary reason is one of its acceptable codes; its first expected
code is its label for per-code recall. "Confident" means confidence >= ``CONFIDENT``: the
calibration promise is that confident predictions are wrong at most 5% of the time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from rapport.codes import Outcome, ReasonCode
from rapport.contract import Note, RequestFacts
from rapport.reasons.model import Classification

CONFIDENT = 0.8


class CaseInput(BaseModel):
    """One line of ``rapport classify``: the recipient's note, the request facts and the outcome."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    note: Note | None = None
    request: RequestFacts | None = None
    outcome: Outcome


class LabelledCase(CaseInput):
    """An evaluation line: the acceptable codes, preferred first."""

    expected: Annotated[list[ReasonCode], Field(min_length=1)]


class CodeMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    support: int
    predicted: int
    precision: float | None
    recall: float | None


class Mistake(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: The caller's identifier for the case (the CLI uses input line numbers).
    case: int
    expected: list[ReasonCode]
    predicted: ReasonCode | None
    confidence: float | None


class EvaluationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    cases: int
    correct: int
    accuracy: float
    macro_recall: float
    confident_threshold: float = CONFIDENT
    confident: int
    confident_wrong: int
    #: Share of confident predictions that are wrong (0 when nothing is confident).
    confident_wrong_rate: float
    per_code: dict[ReasonCode, CodeMetrics]
    mistakes: list[Mistake]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def evaluate(
    results: Iterable[tuple[int, Sequence[ReasonCode], Classification]],
    threshold: float = CONFIDENT,
) -> EvaluationReport:
    """Score ``(case id, acceptable codes, classification)`` triples."""
    cases = correct = confident = confident_wrong = 0
    support: Counter[ReasonCode] = Counter()
    recalled: Counter[ReasonCode] = Counter()
    predicted: Counter[ReasonCode] = Counter()
    precise: Counter[ReasonCode] = Counter()
    mistakes = []
    for case, expected, result in results:
        cases += 1
        label = expected[0]
        primary = result.primary_reason
        hit = primary in expected
        support[label] += 1
        if primary is not None:
            predicted[primary] += 1
        if hit:
            correct += 1
            recalled[label] += 1
            if primary is not None:
                precise[primary] += 1
        else:
            mistakes.append(
                Mistake(
                    case=case,
                    expected=list(expected),
                    predicted=primary,
                    confidence=result.confidence,
                )
            )
        if result.confidence is not None and result.confidence >= threshold:
            confident += 1
            confident_wrong += not hit
    per_code = {
        code: CodeMetrics(
            support=support[code],
            predicted=predicted[code],
            precision=_ratio(precise[code], predicted[code]),
            recall=_ratio(recalled[code], support[code]),
        )
        for code in ReasonCode
        if support[code] or predicted[code]
    }
    recalls = [metrics.recall for metrics in per_code.values() if metrics.recall is not None]
    return EvaluationReport(
        cases=cases,
        correct=correct,
        accuracy=_ratio(correct, cases) or 0.0,
        macro_recall=sum(recalls) / len(recalls) if recalls else 0.0,
        confident_threshold=threshold,
        confident=confident,
        confident_wrong=confident_wrong,
        confident_wrong_rate=_ratio(confident_wrong, confident) or 0.0,
        per_code=per_code,
        mistakes=mistakes,
    )
