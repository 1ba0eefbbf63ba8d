"""Input lines of ``rapport classify`` and the metrics of ``--evaluate``, shared with the tests.

A case counts as correct when the primary reason is one of its acceptable codes; its first expected
code is its label for per-code recall. "Confident" means confidence >= ``CONFIDENT``: the
calibration promise is that confident predictions are wrong at most 5% of the time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from rapport.codes import Outcome, ReasonCode
from rapport.contract import Note, RequestFacts
from rapport.reasons.model import CONFIDENT, Classification


class CaseInput(BaseModel):
    """One line of ``rapport classify``: the recipient's note, the request facts and the outcome."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    note: Note | None = None
    request: RequestFacts | None = None
    outcome: Outcome


class LabelledCase(CaseInput):
    """An evaluation line: the acceptable codes, preferred first, and optionally what kind of
    note it is (reported per value: ``language`` such as "es", ``category`` such as "idiom")."""

    expected: Annotated[list[ReasonCode], Field(min_length=1)]
    language: str | None = None
    category: str | None = None


class CodeMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    support: int
    predicted: int
    precision: float | None
    recall: float | None


class GroupMetrics(BaseModel):
    """Accuracy within one language or one category of note."""

    model_config = ConfigDict(frozen=True)

    cases: int
    accuracy: float
    confident: int
    confident_wrong: int


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
    #: Per grouping ("language", "category"), per value: how cases of that kind fared.
    per_group: dict[str, dict[str, GroupMetrics]] = Field(default_factory=dict)
    mistakes: list[Mistake]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _group_metrics(tallies: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, GroupMetrics]]:
    return {
        grouping: {
            value: GroupMetrics(
                cases=cases, accuracy=right / cases, confident=confident, confident_wrong=wrong
            )
            for value, (cases, right, confident, wrong) in sorted(values.items())
        }
        for grouping, values in tallies.items()
    }


def evaluate(
    results: Iterable[tuple[int, Sequence[ReasonCode], Classification]],
    threshold: float = CONFIDENT,
    groups: Mapping[int, Mapping[str, str | None]] | None = None,
) -> EvaluationReport:
    """Score ``(case id, acceptable codes, classification)`` triples.

    ``groups`` maps a case id to the groups it belongs to (``{"language": "es"}``); a case without
    a language of its own is counted under the language the classifier detected.
    """
    cases = correct = confident = confident_wrong = 0
    tallies: dict[str, dict[str, list[int]]] = {}
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
        is_confident = result.confidence is not None and result.confidence >= threshold
        if is_confident:
            confident += 1
            confident_wrong += not hit
        own = dict((groups or {}).get(case, {}))
        own["language"] = own.get("language") or result.language
        for grouping, value in own.items():
            if value is not None:
                tally = tallies.setdefault(grouping, {}).setdefault(value, [0, 0, 0, 0])
                tally[0] += 1
                tally[1] += hit
                tally[2] += is_confident
                tally[3] += is_confident and not hit
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
        per_group=_group_metrics(tallies),
        mistakes=mistakes,
    )
