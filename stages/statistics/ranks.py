"""Plausible ranks: each architecture's set of ranks compatible with simultaneous intervals over
every pair (66 for 12 architectures, Bonferroni), not percentile ranks of resamples (those
undercover near ties). An architecture ranks below every one whose difference to it is
surely positive and above every one it surely beats; with probability >= 1 − α every pair's
interval holds at once, and then every true rank lies in its set."""

from __future__ import annotations

import numpy as np

from stages.statistics.seeds_images import Moments, contrast, interval


def surely_better(parts: list[Moments], alpha: float) -> np.ndarray:
    """better[..., i, j]: architecture i's accuracy minus j's has a simultaneous interval above 0."""
    k = len(parts)
    pairs = k * (k - 1) // 2
    shape = np.shape(parts[0].mean)
    better = np.zeros((*shape, k, k), dtype=bool)
    for i in range(k):
        for j in range(i + 1, k):
            low, high = interval(contrast([parts[i], parts[j]], [1.0, -1.0]), 1 - alpha / max(pairs, 1))
            better[..., i, j] = low > 0
            better[..., j, i] = high < 0
    return better


def rank_sets(parts: list[Moments], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(best, worst) plausible rank of each architecture, 1 = the highest accuracy."""
    better = surely_better(parts, alpha)
    k = len(parts)
    best = 1 + better.sum(axis=-2)  # architectures surely above it
    worst = k - better.sum(axis=-1)  # architectures surely below it
    return best, worst
