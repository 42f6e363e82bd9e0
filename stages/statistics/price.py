"""The price of deciding an undecided comparison: how many seeds per architecture would decide
it with 80% probability, or, when the test images' own variance (the floor as seeds grow
without bound) blocks it, how many test images.

Assumptions, stated in the report: the observed difference is the true one for a verdict
"better" (the true difference is 0 for "equivalent", which is out of reach when the observed
|difference| >= margin); the variance parts are the estimated ones (`seeds_images`); both
architectures get the same number of seeds; the power of the t test is approximated by
shifting the critical value by the t quantile of the power. The seeds' variance comes from
n − 1 degrees of freedom per architecture (2 with 3 seeds): `seeds_range` recomputes the
price at the ends of its 80% chi-square interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from stages.statistics.seeds_images import Moments

POWER = 0.8
MAX_SEEDS = 10_000  # beyond this the search stops: a price no one would pay
IMAGE_SEEDS = (10, 20, 50, 100)  # seeds per architecture tried when the images block a decision


@dataclass(frozen=True)
class Parts:
    """The population variances of a difference's estimate, per seed and per image."""

    seeds: float  # σ²_seed,A + σ²_seed,B (divide by n); a covariance, may be negative
    images: float  # σ²_image of the per-image difference (divide by N)
    interaction: float  # σ²_int,A + σ²_int,B (divide by n N)
    seed_df: float  # degrees of freedom of the seeds' estimate (Satterthwaite)

    def variance(self, n: float, images: float) -> float:
        """The variance of the difference's estimate; the per-seed accuracies' variance
        (σ²_seed + σ²_int / N) is never below 0."""
        per_seed = max(self.seeds + self.interaction / images, 0.0)
        return per_seed / n + self.images / images

    def df(self, n: float, images: float) -> float:
        seeds = max(self.seeds + self.interaction / images, 0.0) / n
        total = self.variance(n, images)
        denominator = seeds**2 / max(n - 1, 1) + (total - seeds) ** 2 / max(images - 1, 1)
        return total**2 / denominator if denominator > 0 else math.inf


def parts(a: Moments, b: Moments) -> Parts:
    """The population parts of A − B from the two architectures' moments (scalar batch)."""
    images = a.images
    per_image = a.column_means - b.column_means
    interaction = float(a.interaction + b.interaction)
    own_images = float(per_image.var(ddof=1)) - float(a.interaction / a.n + b.interaction / b.n)
    seed_a = float(a.seed_var) - float(a.interaction) / images
    seed_b = float(b.seed_var) - float(b.interaction) / images
    terms = [(float(a.seed_var) / a.n, a.n - 1), (float(b.seed_var) / b.n, b.n - 1)]
    total = sum(t for t, _ in terms)
    denominator = sum(t * t / df for t, df in terms)
    seed_df = total**2 / denominator if denominator > 0 else math.inf
    return Parts(seed_a + seed_b, max(own_images, 0.0), interaction, seed_df)


def _needed_se(difference: float, margin: float, level: float, df: float, power: float) -> dict[str, float]:
    """The standard error each route to a decision needs, at `df` degrees of freedom."""
    routes = {}
    if difference != 0:  # "better": |d| / se >= t_{1-level/2} + t_{power}
        routes["better"] = abs(difference) / (stats.t.ppf(1 - level / 2, df) + stats.t.ppf(power, df))
    if abs(difference) < margin:  # "equivalent" at a true 0: both one-sided tests reject
        routes["equivalent"] = margin / (stats.t.ppf(1 - level, df) + stats.t.ppf((1 + power) / 2, df))
    return routes


def _decides(p: Parts, n: float, images: float, difference: float, margin: float, level: float, power: float):
    """The route that `n` seeds and `images` images would decide with `power`, or None."""
    se = math.sqrt(p.variance(n, images))
    for route, needed in _needed_se(difference, margin, level, p.df(n, images), power).items():
        if se <= needed:
            return route
    return None


def seeds_needed(p: Parts, start: int, images: int, difference: float, margin: float, level: float, power=POWER):
    """(seeds per architecture, route) deciding with `power` on `images` images, or None when
    no number of seeds does (the images' floor, or no difference at all to find)."""
    floor = _needed_se(difference, margin, level, math.inf, power)
    if not floor or math.sqrt(p.images / images) >= max(floor.values()):
        return None
    n = max(start, 2)
    if _decides(p, n, images, difference, margin, level, power):
        return n, _decides(p, n, images, difference, margin, level, power)
    high = n
    while not _decides(p, high, images, difference, margin, level, power):
        if high >= MAX_SEEDS:
            return None
        high = min(2 * high, MAX_SEEDS)
    low = n  # fails; high decides
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if _decides(p, middle, images, difference, margin, level, power) else (middle, high)
    return high, _decides(p, high, images, difference, margin, level, power)


def images_needed(p: Parts, start: int, difference: float, margin: float, level: float, power=POWER):
    """(test images, seeds per architecture) when the current images cannot decide: the fewest
    images (in thousands) that decide with the first of IMAGE_SEEDS seeds that can; None when
    nothing can (no difference and beyond the margin: impossible)."""
    for n in IMAGE_SEEDS:
        n = max(n, start)
        for thousands in range(1, 10_001):
            images = 1000 * thousands
            if _decides(p, n, images, difference, margin, level, power):
                return images, n
            if math.sqrt(max(p.seeds, 0.0) / n) >= max(
                _needed_se(difference, margin, level, math.inf, power).values() or [0]
            ):
                break  # these seeds alone are too noisy: more seeds first
    return None


def seeds_range(p: Parts, start: int, images: int, difference: float, margin: float, level: float, coverage=0.8):
    """Seeds needed at the two ends of the 80% interval of the seeds' variance (None: not decidable)."""
    low_q, high_q = stats.chi2.ppf([(1 + coverage) / 2, (1 - coverage) / 2], p.seed_df) / p.seed_df
    ends = []
    for scale in (1 / low_q, 1 / high_q):  # smaller variance first
        per_seed = p.seeds + p.interaction / images  # what the seeds' sample variance estimates
        scaled = Parts(per_seed * scale - p.interaction / images, p.images, p.interaction, p.seed_df)
        found = seeds_needed(scaled, start, images, difference, margin, level)
        ends.append(found[0] if found else None)
    return tuple(ends)
