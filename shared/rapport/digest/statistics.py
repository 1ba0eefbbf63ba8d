"""Small-sample statistics for proportions (pure, stdlib only).

A digest speaks about a handful of requests, so the methods here are the ones that stay honest
at small counts and at rates of 0 or 1: Wilson's score interval for one rate, Newcombe's hybrid
score interval for the difference of two (Newcombe 1998, method 10, built from the two Wilson
intervals), Fisher's exact test computed with exact integers, and Holm's step-down adjustment
for a digest that tests several comparisons at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The two-sided 95% normal quantile.
Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``successes / trials``.

    Unlike the textbook Wald interval it never leaves [0, 1], is not empty at 0 or ``trials``
    successes, and keeps close to its nominal coverage for the small counts of one member.
    """
    _check(successes, trials)
    n, p = trials, successes / trials
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    # At 0 or n successes a bound is exactly 0 or 1; rounding would leave it a hair inside.
    low = 0.0 if successes == 0 else max(0.0, (centre - spread) / denominator)
    high = 1.0 if successes == trials else min(1.0, (centre + spread) / denominator)
    return low, high


def newcombe_interval(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p_a - p_b`` (1998, method 10, no continuity
    correction).

    Each side's Wilson interval gives how far its rate may plausibly sit below and above its
    estimate; the bounds of the difference combine those distances in quadrature. It stays within
    [-1, 1], is defined at 0 and n successes, and covers close to 95% where the Wald interval for a
    difference covers far less.
    """
    p_a = successes_a / _check(successes_a, trials_a)
    p_b = successes_b / _check(successes_b, trials_b)
    low_a, high_a = wilson_interval(successes_a, trials_a, z)
    low_b, high_b = wilson_interval(successes_b, trials_b, z)
    difference = p_a - p_b
    below = math.hypot(p_a - low_a, high_b - p_b)
    above = math.hypot(high_a - p_a, p_b - low_b)
    return max(-1.0, difference - below), min(1.0, difference + above)


def fisher_exact(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> float:
    """The two-sided p-value of Fisher's exact test for the 2×2 table of the two sides.

    Conditioning on the margins, the successes of side a follow a hypergeometric distribution;
    the p-value sums the probabilities of every table no more likely than the observed one.
    Weights are exact integers, so "no more likely" needs no floating-point tolerance, and the
    test never rejects more often than its level, whatever the counts: the safe choice when a
    sentence in someone's inbox depends on it.
    """
    _check(successes_a, trials_a)
    _check(successes_b, trials_b)
    successes = successes_a + successes_b
    low = max(0, successes - trials_b)
    high = min(trials_a, successes)
    # w(x) = C(trials_a, x) * C(trials_b, successes - x), stepped exactly from x = low upwards.
    weight = math.comb(trials_a, low) * math.comb(trials_b, successes - low)
    weights = [weight]
    for x in range(low, high):
        weight = (
            weight * (trials_a - x) * (successes - x) // ((x + 1) * (trials_b - successes + x + 1))
        )
        weights.append(weight)
    observed = weights[successes_a - low]
    tail = sum(weight for weight in weights if weight <= observed)
    return min(1.0, tail / sum(weights))


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm's step-down adjusted p-values, in the order given.

    Testing several traits in one digest multiplies the chances of a false "difference"; comparing
    adjusted p-values with 0.05 keeps the chance of any false one at 5% (family-wise), and is
    uniformly more powerful than Bonferroni.
    """
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return tuple(adjusted)


def _check(successes: int, trials: int) -> int:
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    return trials
