"""One verdict per comparison of a report, Holm-adjusted over the report's comparisons.

Each comparison gets two p-values from its studentized estimate (`seeds_images`): "no
difference" (two-sided) and "a difference of at least ±margin" (equivalence, TOST). Holm's
step-down runs once, over the smaller of each comparison's two, so the k-th most convincing
comparison is judged at α/(m − k + 1) and the step-down stops at the first that fails. At its
level α_k a comparison is, in this order of precedence:

* *a_better* / *b_better*: the (1 − α_k) interval excludes 0;
* *equivalent*: the (1 − 2α_k) interval lies inside ±margin (90% at α_k = 0.05);
* *undecided* otherwise, with the reason.

Whatever the true difference, a claim at level α_k is wrong only if the true value lies
beyond one end of the (1 − 2α_k) interval (a "better" needs the wider, 1 − α_k, one), so
each comparison errs with probability at most α_k; tests/test_statistics_simulation.py
checks the family-wise error of 11 comparisons under the null, and the equivalence test's
error at a true difference equal to the margin.
"""

from __future__ import annotations

import numpy as np

from stages.statistics.mcnemar import holm
from stages.statistics.seeds_images import Estimate, interval, p_difference, p_equivalence

A_BETTER, B_BETTER, EQUIVALENT, UNDECIDED = "a_better", "b_better", "equivalent", "undecided"


def _points(value: float) -> str:
    return f"{100 * value:+.2f}"


def _reason(low: float, high: float, eq_low: float, eq_high: float, margin: float, level: float) -> str:
    """Why neither claim holds, in words (accuracy points)."""
    return (
        f"its {1 - level:.1%} interval [{_points(low)}, {_points(high)}] contains 0, and its "
        f"{1 - 2 * level:.1%} interval [{_points(eq_low)}, {_points(eq_high)}] is not inside "
        f"±{100 * margin:.2f}"
    )


def decide(estimates: list[Estimate], alpha: float, margin: float) -> list[dict]:
    """Per estimate (scalar `Estimate`s, differences as fractions; `margin` a fraction):
    {"verdict", "reason", "level" (α_k), "p_holm", "ci_low", "ci_high", "ci_level",
    "inside_margin"}; the interval is the one the verdict rests on."""
    p_diff = [float(p_difference(e)) for e in estimates]
    p_eq = [float(p_equivalence(e, margin)) for e in estimates]
    smallest = [min(a, b) for a, b in zip(p_diff, p_eq, strict=True)]
    adjusted = holm(smallest)
    order = sorted(range(len(estimates)), key=lambda i: smallest[i])
    levels = {i: alpha / (len(estimates) - rank) for rank, i in enumerate(order)}
    decisions = []
    for i, estimate in enumerate(estimates):
        level = levels[i]
        low, high = (float(v) for v in interval(estimate, 1 - level))
        eq_low, eq_high = (float(v) for v in interval(estimate, 1 - 2 * level))
        inside = -margin < eq_low and eq_high < margin
        decision = {"level": level, "p_holm": adjusted[i], "inside_margin": bool(inside), "reason": None}
        if adjusted[i] < alpha and p_diff[i] <= level:
            verdict = A_BETTER if float(estimate.value) > 0 else B_BETTER
            decision.update(verdict=verdict, ci_low=low, ci_high=high, ci_level=1 - level)
        elif adjusted[i] < alpha:
            decision.update(verdict=EQUIVALENT, ci_low=eq_low, ci_high=eq_high, ci_level=1 - 2 * level)
        else:
            reason = _reason(low, high, eq_low, eq_high, margin, level)
            if p_diff[i] <= level or p_eq[i] <= level:
                reason = "Holm's step-down stopped at a less convincing comparison before it"
            decision.update(verdict=UNDECIDED, ci_low=low, ci_high=high, ci_level=1 - level, reason=reason)
        decisions.append(decision)
    return decisions


def claims(estimates_value: np.ndarray, p_diff: np.ndarray, p_eq: np.ndarray, alpha: float) -> np.ndarray:
    """Vectorized verdicts for simulations: (replicates, m) arrays in, codes out (0 undecided,
    1 a_better, -1 b_better, 2 equivalent); Holm as in `decide`."""
    smallest = np.minimum(p_diff, p_eq)
    m = smallest.shape[-1]
    order = np.argsort(smallest, axis=-1)
    sorted_p = np.take_along_axis(smallest, order, axis=-1)
    thresholds = alpha / (m - np.arange(m))
    passed = np.cumprod(sorted_p < thresholds, axis=-1).astype(bool)  # step-down: stop at the first failure
    decided = np.zeros_like(passed)
    np.put_along_axis(decided, order, passed, axis=-1)
    level = np.empty_like(smallest)
    np.put_along_axis(level, order, np.broadcast_to(thresholds, smallest.shape), axis=-1)
    better = decided & (p_diff <= level)
    codes = np.where(better, np.sign(estimates_value), np.where(decided, 2, 0))
    return codes.astype(int)
