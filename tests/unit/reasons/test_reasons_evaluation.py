"""Metrics of ``rapport classify --evaluate``, computed by hand on a tiny set."""

from __future__ import annotations

import pytest

from rapport.codes import ReasonCode
from rapport.reasons import Classification
from rapport.reasons.evaluation import evaluate

MET, SALES, UNKNOWN = ReasonCode.MET_ONLY, ReasonCode.SALES_PITCH, ReasonCode.UNKNOWN


def result(code: ReasonCode, confidence: float) -> Classification:
    return Classification(primary_reason=code, reasons=(code,), confidence=confidence)


def test_metrics() -> None:
    report = evaluate(
        [
            (1, [MET], result(MET, 0.95)),
            (2, [MET, SALES], result(SALES, 0.9)),
            (3, [SALES], result(MET, 0.85)),
            (4, [UNKNOWN], result(UNKNOWN, 0.15)),
        ]
    )
    assert report.cases == 4
    assert report.correct == 3
    assert report.accuracy == pytest.approx(0.75)
    met, sales = report.per_code[MET], report.per_code[SALES]
    assert (met.support, met.predicted, met.recall, met.precision) == (2, 2, 1.0, 0.5)
    assert (sales.support, sales.predicted, sales.recall, sales.precision) == (1, 1, 0.0, 1.0)
    assert report.macro_recall == pytest.approx((1.0 + 0.0 + 1.0) / 3)
    assert (report.confident, report.confident_wrong) == (3, 1)
    assert report.confident_wrong_rate == pytest.approx(1 / 3)
    assert [mistake.case for mistake in report.mistakes] == [3]


def test_nothing_confident_means_no_confident_errors() -> None:
    report = evaluate([(1, [MET], result(SALES, 0.5))])
    assert (report.confident, report.confident_wrong_rate, report.accuracy) == (0, 0.0, 0.0)
