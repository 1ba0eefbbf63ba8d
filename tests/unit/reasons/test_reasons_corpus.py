"""The evaluation corpus and the held-out file: accuracy, per-code recall and calibration."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.codes import ReasonCode
from rapport.reasons import classify
from rapport.reasons.evaluation import EvaluationReport, LabelledCase, evaluate
from rapport.reasons.model import CONFIDENT

HERE = Path(__file__).resolve().parent


def _load(name: str) -> list[LabelledCase]:
    with (HERE / name).open(encoding="utf-8") as lines:
        return [LabelledCase.model_validate_json(line) for line in lines if line.strip()]


def _report(cases: list[LabelledCase]) -> EvaluationReport:
    return evaluate(
        (number, case.expected, classify(case.note, case.request, case.outcome))
        for number, case in enumerate(cases, start=1)
    )


@pytest.fixture(scope="module")
def corpus() -> list[LabelledCase]:
    return _load("corpus.jsonl")


@pytest.fixture(scope="module")
def heldout() -> list[LabelledCase]:
    return _load("heldout.jsonl")


def test_corpus_is_large_and_covers_every_code(corpus: list[LabelledCase]) -> None:
    assert len(corpus) >= 250
    labels = {case.expected[0] for case in corpus}
    assert labels == set(ReasonCode)


def test_corpus_accuracy_and_recall_per_code(corpus: list[LabelledCase]) -> None:
    report = _report(corpus)
    assert report.accuracy >= 0.90
    weak = {
        code: metrics.recall
        for code, metrics in report.per_code.items()
        if metrics.support and (metrics.recall or 0.0) < 0.80
    }
    assert weak == {}


def test_confident_predictions_are_right_95_percent_of_the_time(corpus: list[LabelledCase]) -> None:
    report = _report(corpus)
    assert report.confident >= len(corpus) // 3, "confidence must also be useful, not always low"
    assert report.confident_wrong_rate <= 0.05


def test_heldout_meets_the_unseen_target(heldout: list[LabelledCase]) -> None:
    assert len(heldout) >= 60
    report = _report(heldout)
    assert report.accuracy >= 0.85
    assert report.confident_wrong_rate <= 0.05


@pytest.mark.parametrize("name", ["corpus.jsonl", "heldout.jsonl"])
def test_every_result_is_well_formed(name: str) -> None:
    for case in _load(name):
        result = classify(case.note, case.request, case.outcome)
        assert result.confidence is not None
        assert 0.0 <= result.confidence <= 1.0
        assert result.reasons[0] == result.primary_reason
        assert len(set(result.reasons)) == len(result.reasons)
        for evidence in result.evidence:
            assert evidence.code in result.reasons
            if evidence.source == "note":
                assert evidence.text
                assert evidence.text in (case.note or "")


def test_unreadable_notes_are_never_confident(corpus: list[LabelledCase]) -> None:
    unreadable = [
        case
        for case in corpus
        if case.note is not None and ReasonCode.UNKNOWN in case.expected and case.note.strip()
    ]
    assert len(unreadable) >= 15
    for case in unreadable:
        result = classify(case.note, case.request, case.outcome)
        assert result.confidence is not None
        assert result.confidence < CONFIDENT
