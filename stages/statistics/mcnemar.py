"""Exact McNemar test of two revisions' predictions on the same test images, and Holm's step-down.

The one implementation of both: the study report (through `stages.statistics.classic`) and the PR
report (`stages.review`) call these. Written with `math.comb` so that the PR report needs no
scientific stack.
"""

from __future__ import annotations

import math
from fractions import Fraction


def discordant(actual, base, head) -> tuple[int, int]:
    """(b, c): images only the base gets right, images only the head gets right."""
    if not len(actual) == len(base) == len(head):
        raise ValueError(f"predictions of different lengths: actual {len(actual)}, base {len(base)}, head {len(head)}")
    b = sum(1 for y, p, q in zip(actual, base, head, strict=True) if p == y and q != y)
    c = sum(1 for y, p, q in zip(actual, base, head, strict=True) if p != y and q == y)
    return b, c


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact p-value: under H0 (same accuracy) b ~ Binomial(b + c, 1/2).

    Twice the smaller tail, at most 1; 1.0 when the two never disagree on correctness.
    Exact rational arithmetic, so a tiny p is not lost to rounding before the end.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values, in the input's order (the step-down, kept monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
