"""The digest's statistics against published values, an independent implementation and their
defining properties."""

from __future__ import annotations

import itertools
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.digest.statistics import fisher_exact, holm, newcombe_interval, wilson_interval
from tests.support.examples import examples

# Newcombe (1998), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Statistics in Medicine 17: 873-890, Table II, method 10 (score
# interval, no continuity correction), to the paper's four decimals: (a), (b) and the edge cases
# (d)-(h) with 0 or n successes on a side.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_matches_newcombe_1998_table_ii(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    assert newcombe_interval(*counts) == pytest.approx(expected, abs=5e-5)


def test_newcombe_example_a_difference() -> None:
    # 56/70 - 48/80 is 0.8 - 0.6: the interval is around 0.2, asymmetric as the score method is.
    low, high = newcombe_interval(56, 70, 48, 80)
    assert low < 56 / 70 - 48 / 80 < high
    assert (56 / 70 - 48 / 80) - low > high - (56 / 70 - 48 / 80)


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat Med
        # 17: 857-872, Table I, method 3 (Wilson score, no continuity correction).
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0000, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_interval_matches_newcombe_1998_single_proportion(
    successes: int, trials: int, expected: tuple[float, float]
) -> None:
    assert wilson_interval(successes, trials) == pytest.approx(expected, abs=5e-5)


def test_fisher_exact_matches_fishers_tea_tasting() -> None:
    # Fisher (1935): 3 of 4 cups called right each way; the two-sided p-value is 34/70.
    assert fisher_exact(3, 4, 1, 4) == pytest.approx(34 / 70, abs=1e-12)
    # The most extreme table: 4 of 4 against 0 of 4 is 2 tables of 70.
    assert fisher_exact(4, 4, 0, 4) == pytest.approx(2 / 70, abs=1e-12)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [((0, 10, 0, 10), 1.0), ((10, 10, 10, 10), 1.0), ((5, 10, 5, 10), 1.0), ((1, 1, 0, 1), 1.0)],
)
def test_fisher_exact_sees_no_evidence_in_equal_or_tiny_tables(
    counts: tuple[int, int, int, int], expected: float
) -> None:
    assert fisher_exact(*counts) == expected


def _sides(max_trials: int = 60) -> st.SearchStrategy[tuple[int, int, int, int]]:
    return st.tuples(st.integers(1, max_trials), st.integers(1, max_trials)).flatmap(
        lambda sizes: st.tuples(
            st.integers(0, sizes[0]), st.just(sizes[0]), st.integers(0, sizes[1]), st.just(sizes[1])
        )
    )


@settings(max_examples=examples(300), deadline=None)
@given(_sides(200))
def test_fisher_exact_agrees_with_scipy(counts: tuple[int, int, int, int]) -> None:
    a, n, b, m = counts
    from scipy.stats import fisher_exact as scipy_fisher_exact  # seconds to import

    expected = scipy_fisher_exact([[a, n - a], [b, m - b]], alternative="two-sided").pvalue
    assert fisher_exact(*counts) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@settings(max_examples=examples(300), deadline=None)
@given(_sides())
def test_newcombe_interval_holds_the_estimate_within_minus_one_and_one(
    counts: tuple[int, int, int, int],
) -> None:
    a, n, b, m = counts
    low, high = newcombe_interval(*counts)
    assert -1.0 <= low <= a / n - b / m <= high <= 1.0


@settings(max_examples=examples(300), deadline=None)
@given(_sides())
def test_swapping_the_sides_mirrors_the_interval_and_keeps_the_p_value(
    counts: tuple[int, int, int, int],
) -> None:
    a, n, b, m = counts
    low, high = newcombe_interval(a, n, b, m)
    mirrored = newcombe_interval(b, m, a, n)
    assert mirrored == pytest.approx((-high, -low), abs=1e-12)
    assert fisher_exact(b, m, a, n) == pytest.approx(fisher_exact(a, n, b, m), rel=1e-12)
    # Counting failures instead of successes mirrors the difference too.
    assert newcombe_interval(n - a, n, m - b, m) == pytest.approx((-high, -low), abs=1e-12)


@settings(max_examples=examples(300), deadline=None)
@given(_sides())
def test_wilson_interval_holds_the_estimate_within_zero_and_one(
    counts: tuple[int, int, int, int],
) -> None:
    a, n, _, _ = counts
    low, high = wilson_interval(a, n)
    assert 0.0 <= low <= a / n <= high <= 1.0


def test_fisher_never_rejects_more_often_than_its_level() -> None:
    """Exact means conservative: under "no difference" at any common rate, tables with p < 0.05
    have total probability at most 0.05 (checked for 10 a side at rates from 0.1 to 0.9)."""
    n = 10
    rejecting = [
        (a, b)
        for a, b in itertools.product(range(n + 1), repeat=2)
        if fisher_exact(a, n, b, n) < 0.05
    ]
    for rate in (0.1, 0.3, 0.5, 0.7, 0.9):

        def probability(k: int, rate: float = rate) -> float:
            return comb(n, k) * rate**k * (1 - rate) ** (n - k)

        size = sum(probability(a) * probability(b) for a, b in rejecting)
        assert size <= 0.05


def test_holm_adjusts_step_down_and_keeps_the_order() -> None:
    # Holm (1979): sorted p-values times m, m-1, …, made monotone, capped at 1.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx((0.03, 0.06, 0.06))
    assert holm([0.2, 0.001]) == pytest.approx((0.2, 0.002))
    assert holm([0.5]) == (0.5,)
    assert holm([]) == ()
    assert holm([0.9, 0.8, 0.7]) == pytest.approx((1.0, 1.0, 1.0))


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.floats(0.0, 1.0), max_size=6))
def test_holm_never_lowers_a_p_value_nor_passes_bonferroni(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    for raw, value in zip(p_values, adjusted, strict=True):
        assert raw <= value <= min(1.0, len(p_values) * raw) + 1e-12


@pytest.mark.parametrize("counts", [(0, 0), (3, 2), (-1, 4)])
def test_counts_must_be_a_proportion(counts: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(*counts)
    with pytest.raises(ValueError, match="successes"):
        newcombe_interval(*counts, 1, 2)
    with pytest.raises(ValueError, match="successes"):
        fisher_exact(1, 2, *counts)
