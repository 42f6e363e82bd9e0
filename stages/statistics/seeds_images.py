"""The test over seeds and test images: how well an architecture's expected accuracy, or the
difference of two architectures', is known from n trained seeds evaluated on N test images.

The data of an architecture is its correctness matrix X (n seeds × N images, 1 = right), and
the quantity estimated is its expectation over new seeds *and* new images drawn like the test
images: the two-way random-effects model X[s, i] = μ + seed_s + image_i + (seed × image)_si.
The grand mean then has the variance

    σ²_seed / n + σ²_image / N + σ²_interaction / (n N)

and a difference of two architectures on the same images (paired on images, seeds
independent) has the sum of both seeds' and interactions' parts and the images' part of the
per-image difference. The parts are estimated by the method of moments (the two-way ANOVA's
mean squares), which is what the Multi-Bootstrap (Sellam et al., ICLR 2022: resample each
architecture's seeds and, jointly, the images) estimates too, without its two biases at
small n: a resample of 3 seeds keeps (n − 1)/n of their variance, and its percentile tails are
too thin for Holm's α/11 (`multibootstrap` is kept, vectorized, to show both in the tests).
Exactly:

* the sample variance of the per-seed accuracies, divided by n, estimates
  σ²_seed/n + σ²_int/(n N) (Welch's term, interaction included);
* the sample variance over images of the per-image mean correctness (or its difference
  between two architectures), divided by N, estimates σ²_image/N + Σ σ²_int/(n N);
* the interaction mean square estimates σ²_int.

So the variance of the estimate is the sum of the first two less the interaction counted
twice (this holds whatever the dependence between one seed's outcomes on different images:
σ²_seed is then the covariance of two images' outcomes over seeds, which can be negative),
and the studentized interval uses a t quantile with Welch–Satterthwaite degrees of freedom
over those mean squares (made safe for 3 seeds: `_degrees_of_freedom`): about n − 1 per side
when seeds dominate, large when the images do. Every function takes arrays with leading batch axes, so a simulation runs
thousands of studies in one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Moments:
    """One architecture's sufficient statistics (batch axes first)."""

    n: int  # seeds
    images: int  # N
    mean: np.ndarray  # grand mean accuracy
    seed_var: np.ndarray  # sample variance (ddof 1) of the per-seed accuracies
    column_means: np.ndarray  # (..., N) per-image mean correctness over the seeds
    interaction: np.ndarray  # interaction mean square, estimates σ²_int


def moments(correct) -> Moments:
    """`correct`: (..., n seeds, N images) of 0/1 (bool), n >= 2 and N >= 2."""
    x = np.asarray(correct, dtype=float)
    if x.ndim < 2:
        raise ValueError(f"a correctness matrix is (seeds, images), got shape {x.shape}")
    n, images = x.shape[-2], x.shape[-1]
    if n < 2 or images < 2:
        raise ValueError(f"the test over seeds and images needs 2 or more of each, got {n} seeds, {images} images")
    rows = x.mean(axis=-1)
    columns = x.mean(axis=-2)
    mean = rows.mean(axis=-1)
    residual = x - rows[..., :, None] - columns[..., None, :] + mean[..., None, None]
    interaction = (residual**2).sum(axis=(-2, -1)) / ((n - 1) * (images - 1))
    return Moments(n, images, mean, rows.var(axis=-1, ddof=1), columns, interaction)


@dataclass(frozen=True)
class Estimate:
    """A contrast's estimate and its variance as arrays over the batch. The variance is
    `seeds + images`; `interaction` is shown beside them, not added:

    * seeds: Σ w² s²(per-seed accuracies) / n, the spread over seeds on these images (Welch's
      term), what more seeds shrink; it holds the seed-by-image interaction's share;
    * images: the images' own part, σ²_image / N (the per-image variance less the interaction,
      clipped at 0), what more seeds never shrink;
    * interaction: Σ w² σ²_int / (n N), how much the seeds disagree image by image. Image
      resampling (the Multi-Bootstrap's) counts it once more on top of the seeds' part; on
      these runs the seeds' accuracies vary less than independent image-level disagreement
      would make them (a model's error count is steadier than which images it gets wrong),
      so it is not a separate additive part.
    """

    value: np.ndarray
    variance: np.ndarray  # of the estimate: its squared standard error
    df: np.ndarray  # Welch–Satterthwaite degrees of freedom
    seeds: np.ndarray
    images: np.ndarray
    interaction: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.variance)


def contrast(parts: list[Moments], weights: list[float]) -> Estimate:
    """Σ w_k · accuracy_k over architectures evaluated on the same images with independent seeds:
    weights [1] is one architecture's mean, [1, -1] a difference A − B."""
    images = parts[0].images
    value = sum(w * m.mean for w, m in zip(weights, parts, strict=True))
    seed_terms = [w * w * m.seed_var / m.n for w, m in zip(weights, parts, strict=True)]
    int_terms = [w * w * m.interaction / (m.n * images) for w, m in zip(weights, parts, strict=True)]
    per_image = sum(w * m.column_means for w, m in zip(weights, parts, strict=True))
    image_term = per_image.var(axis=-1, ddof=1) / images
    own_images = image_term - sum(int_terms)
    # Unbiased for any dependence between a seed's outcomes on different images: the seeds'
    # term plus the images' own part. A negative estimate of the latter is taken as 0, which
    # only widens the interval.
    variance = sum(seed_terms) + np.maximum(own_images, 0.0)
    df = _degrees_of_freedom(parts, seed_terms, int_terms, image_term, own_images, variance)
    return Estimate(
        value=np.asarray(value, dtype=float),
        variance=np.asarray(variance, dtype=float),
        df=np.asarray(df, dtype=float),
        seeds=np.asarray(sum(seed_terms), dtype=float),
        images=np.maximum(own_images, 0.0),
        interaction=np.asarray(sum(int_terms), dtype=float),
    )


DF_SEED_QUANTILE = 0.2  # the seeds' variance at its 80% upper bound, for the degrees of freedom only


def _degrees_of_freedom(parts, seed_terms, int_terms, image_term, own_images, variance) -> np.ndarray:
    """Welch–Satterthwaite over the mean squares, made safe for 3 seeds. Plain Satterthwaite is
    optimistic exactly when the seeds' variance happens to come out small, which is when the
    statistic is too large: at Holm's α/11 it rejected 2-3 times too often in the simulation.
    So the df are computed as if each seed term were at the 80% upper confidence bound of its
    chi-square (n − 1 df), and the images' terms count the images that carry information (where
    the runs do not all agree) rather than all N. tests/test_statistics_simulation.py checks
    the tails (family-wise error of 11 comparisons) and the 95% coverage at n = 3, 5, 10."""
    columns = np.stack(np.broadcast_arrays(*(m.column_means for m in parts)), axis=0)
    varying = np.any((columns > 0) & (columns < 1), axis=0) | (columns.max(axis=0) != columns.min(axis=0))
    informative = np.maximum(varying.sum(axis=-1), 2)
    upper = [t * (m.n - 1) / stats.chi2.ppf(DF_SEED_QUANTILE, m.n - 1) for t, m in zip(seed_terms, parts, strict=True)]
    total = sum(upper) + np.maximum(own_images, 0.0)
    denominator = sum(t * t / (m.n - 1) for t, m in zip(upper, parts, strict=True))
    denominator = denominator + np.where(
        own_images > 0,
        image_term**2 / (informative - 1)
        + sum(t * t / ((m.n - 1) * (informative - 1)) for t, m in zip(int_terms, parts, strict=True)),
        0.0,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, total**2 / denominator, np.inf)


def difference(correct_a, correct_b) -> Estimate:
    """A − B from two correctness matrices on the same images (seeds may differ in number)."""
    return contrast([moments(correct_a), moments(correct_b)], [1.0, -1.0])


def quantile(level: float | np.ndarray, df) -> np.ndarray:
    """The two-sided t quantile of a confidence level (the normal one at infinite df)."""
    return stats.t.ppf(0.5 + np.asarray(level) / 2.0, df)


def interval(estimate: Estimate, level) -> tuple[np.ndarray, np.ndarray]:
    """The studentized interval value ± t_{(1+level)/2, df} · se."""
    half = quantile(level, estimate.df) * estimate.se
    return estimate.value - half, estimate.value + half


def p_difference(estimate: Estimate) -> np.ndarray:
    """Two-sided p-value of "no difference" (1 when the estimate and its se are both 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(estimate.value) / estimate.se
    t = np.where(estimate.se > 0, t, np.where(estimate.value == 0, 0.0, np.inf))
    return 2.0 * stats.t.sf(t, estimate.df)


def p_equivalence(estimate: Estimate, margin: float) -> np.ndarray:
    """TOST p-value of "|difference| >= margin": the larger of the two one-sided p-values. It is
    below α exactly when the 1 − 2α interval lies inside ±margin."""
    with np.errstate(divide="ignore", invalid="ignore"):
        low = (estimate.value + margin) / estimate.se
        high = (margin - estimate.value) / estimate.se
    inside = np.abs(estimate.value) < margin
    worst = np.minimum(low, high)
    worst = np.where(estimate.se > 0, worst, np.where(inside, np.inf, -np.inf))
    return stats.t.sf(worst, estimate.df)


# --------------------------------------------------------------------------- Multi-Bootstrap


def _patterns(matrices: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct columns of the stacked matrices and how many images have each: resampling
    N images is exactly a multinomial draw over those patterns (most images are right on every
    run), so a resample costs the patterns (hundreds), not the images (10,000)."""
    matrices = [np.asarray(m, dtype=np.int8) for m in matrices]
    stacked = np.concatenate(matrices, axis=0)
    unique, counts = np.unique(stacked, axis=1, return_counts=True)
    bounds = np.cumsum([0, *(m.shape[0] for m in matrices)])
    return [unique[a:b].astype(float) for a, b in zip(bounds[:-1], bounds[1:], strict=True)], counts


def multibootstrap(matrices: list, weights: list[float], resamples: int = 4000, seed: int = 0) -> np.ndarray:
    """Sellam et al.'s Multi-Bootstrap of Σ w_k · accuracy_k: each resample draws each
    architecture's seeds with replacement and the images with replacement, the same images for
    every architecture (paired). Returns the `resamples` values; vectorized over resamples."""
    rng = np.random.default_rng(seed)
    patterns, counts = _patterns(matrices)
    images = int(counts.sum())
    picked = rng.multinomial(images, counts / images, size=resamples).astype(float)  # (B, patterns)
    total = np.zeros(resamples)
    for weight, pattern in zip(weights, patterns, strict=True):
        n = pattern.shape[0]
        seeds = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)  # (B, n)
        per_seed = picked @ pattern.T  # (B, n): right answers of each seed on the resampled images
        total += weight * (seeds * per_seed).sum(axis=1) / (n * images)
    return total


def multibootstrap_loop(matrices: list, weights: list[float], resamples: int, seed: int = 0) -> np.ndarray:
    """The same bootstrap written as a plain loop over resamples, indices drawn one by one: the
    reference `multibootstrap` is checked against (same distribution, not the same draws)."""
    rng = np.random.default_rng(seed)
    images = np.asarray(matrices[0]).shape[1]
    values = []
    for _ in range(resamples):
        columns = rng.integers(0, images, size=images)
        value = 0.0
        for weight, matrix in zip(weights, matrices, strict=True):
            matrix = np.asarray(matrix, dtype=float)
            rows = rng.integers(0, matrix.shape[0], size=matrix.shape[0])
            value += weight * matrix[rows][:, columns].mean()
        values.append(value)
    return np.array(values)
