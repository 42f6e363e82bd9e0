"""Statistics that keep the report from claiming a winner on noise.

Pure functions on plain sequences / numpy arrays (numpy + scipy.stats only, no
keras), so they can be unit-tested on constructed data and reused by the report
stage.

Conventions shared by every function here
-----------------------------------------
* Accuracies and accuracy differences are *fractions* (0.9912), never percent.
  Percentage points are for the report to show.
* ``diff`` is always ``A - B``: positive means the first model is better.
* A quantity that is undefined (a confidence interval from one value, a t-test
  with one seed per side, ...) is returned as ``None``, never ``nan``: ``None``
  serialises to JSON ``null`` while ``nan`` is not valid JSON. Numbers are
  returned as built-in ``int`` / ``float``, so results can go to ``json.dump``
  directly.
* Inputs are validated and bad input raises ``ValueError`` with a message that
  says what was wrong (length mismatch, empty input, nan, ...).

Which test for which question
-----------------------------
* Same test images, two trained models (one seed each): :func:`mcnemar` (exact)
  and/or :func:`paired_bootstrap` (CI of the accuracy difference). These only
  capture test-set sampling noise, not training noise. (They live in
  `stages.statistics.paired`; imported here.)
* Several seeds per architecture: :func:`mean_ci` per architecture and
  :func:`welch` between two architectures. This captures training noise.
* How large a difference a test over seeds could have found: :func:`detectable_difference`
  (with 3 seeds per side, only a few standard deviations).
* Several pairs compared at once: adjust the p-values with :func:`holm`.

These answer narrower questions than `stages.statistics.seeds_images` (the report's verdicts):
Welch sees the seeds only, McNemar and the paired bootstrap one seed's test-set noise only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from stages.statistics.checks import as_values, check_confidence
from stages.statistics.mcnemar import holm as holm_step_down
from stages.statistics.paired import mcnemar, paired_bootstrap

__all__ = [
    "mean_ci",
    "mcnemar",
    "paired_bootstrap",
    "holm",
    "welch",
    "detectable_difference",
]


# ---------------------------------------------------------------------------
# 1. mean and confidence interval over seeds
# ---------------------------------------------------------------------------


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean with a Student-t confidence interval, e.g. test accuracy over seeds.

    Returns ``{"n", "mean", "std", "ci_low", "ci_high"}`` where ``std`` is the
    sample standard deviation (ddof=1) and the interval is
    ``mean +- t_{(1+confidence)/2, n-1} * std / sqrt(n)``.

    With a single value the spread is unknown: ``std`` is reported as 0.0 but
    ``ci_low`` and ``ci_high`` are ``None`` (undefined, JSON ``null``), so a
    one-seed run can never look like a zero-width, i.e. certain, result.
    With n >= 2 identical values the interval legitimately collapses to the
    mean. Empty input or nan/inf raise ``ValueError``.
    """
    confidence = check_confidence(confidence)
    arr = as_values(values)
    n = int(arr.size)
    if n == 0:
        raise ValueError("mean_ci needs at least one value, got none")
    mean = float(arr.mean())
    if n == 1:
        return {"n": 1, "mean": mean, "std": 0.0, "ci_low": None, "ci_high": None}
    std = float(arr.std(ddof=1))
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, df=n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


# ---------------------------------------------------------------------------
# 4. Holm-Bonferroni adjustment
# ---------------------------------------------------------------------------


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    With m p-values sorted ascending ``p_(1) <= ... <= p_(m)``, the adjusted
    value is ``max_{j <= i} min(1, (m - j + 1) * p_(j))``: monotone in the
    sorted order and capped at 1. Compare the adjusted values with alpha as
    usual; this controls the family-wise error rate of the whole comparison
    table.

    ``None`` entries (an undefined test, e.g. :func:`welch` with one seed) are
    not part of the family: they are returned as ``None`` and do not count in
    m. Other values must be finite and within [0, 1] (else ``ValueError``).
    """
    p_list = list(p_values)
    defined = [i for i, p in enumerate(p_list) if p is not None]
    result: list[float | None] = [None] * len(p_list)
    if not defined:
        return result
    defined_p = [float(p_list[i]) for i in defined]
    if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in defined_p):
        raise ValueError(f"p-values must be finite numbers in [0, 1] (or None), got {p_list}")
    for i, value in zip(defined, holm_step_down(defined_p), strict=True):
        result[i] = value
    return result


# ---------------------------------------------------------------------------
# 6. Welch's t-test over seeds
# ---------------------------------------------------------------------------


def welch(values_a: Sequence[float], values_b: Sequence[float]) -> dict:
    """Welch's unequal-variance t-test on per-seed accuracies of A and B.

    Returns ``{"n_a", "n_b", "mean_a", "mean_b", "diff", "t_stat", "df",
    "p_value", "note"}`` with ``diff = mean_a - mean_b``. ``note`` is ``None``
    when the test ran, otherwise it says why ``p_value`` (and ``t_stat``,
    ``df``) are ``None``:

    * fewer than 2 values on either side (no variance estimate); ``diff`` is
      still reported when both sides have at least one value;
    * zero variance on both sides (every seed gave the same accuracy): the
      t statistic is 0/0 or +-inf, not a meaningful test.
    """
    a = as_values(values_a, "values_a")
    b = as_values(values_b, "values_b")
    n_a, n_b = int(a.size), int(b.size)
    mean_a = float(a.mean()) if n_a else None
    mean_b = float(b.mean()) if n_b else None
    diff = mean_a - mean_b if n_a and n_b else None
    result = {
        "n_a": n_a,
        "n_b": n_b,
        "mean_a": mean_a,
        "mean_b": mean_b,
        "diff": diff,
        "t_stat": None,
        "df": None,
        "p_value": None,
        "note": None,
    }
    if n_a < 2 or n_b < 2:
        result["note"] = f"Welch t-test needs at least 2 values per side, got n_a={n_a}, n_b={n_b}: p-value undefined"
        return result
    if a.var(ddof=1) == 0.0 and b.var(ddof=1) == 0.0:
        result["note"] = "both sides have zero variance (identical values per side): t-test undefined"
        return result
    res = stats.ttest_ind(a, b, equal_var=False)
    result["t_stat"] = float(res.statistic)
    result["df"] = float(res.df)
    result["p_value"] = float(res.pvalue)
    return result


# ---------------------------------------------------------------------------
# 7. the smallest difference a test over seeds detects
# ---------------------------------------------------------------------------


def detectable_difference(
    sd_a: float,
    n_a: int,
    sd_b: float,
    n_b: int,
    alpha: float = 0.05,
    power: float = 0.8,
    simulations: int = 20000,
    seed: int = 0,
) -> dict | None:
    """The true difference of means that :func:`welch` at level ``alpha`` detects with
    probability ``power``, if the per-seed standard deviations are the observed ones.

    Simulated, because with 3 seeds a side Welch's own degrees of freedom vary from sample
    to sample (between 2 and 4) and make the test conservative: the noncentral t with the
    expected df says 3.07 sd for 80% power, the test itself only reaches 70% there and
    needs about 3.5 sd (the normal approximation says 2.3 sd). The same ``simulations``
    normal samples (``seed``) serve every candidate difference, so the power grows
    monotonically with it and the answer is deterministic.

    Returns ``{"difference", "se", "alpha", "power", "simulations"}`` (difference as a
    fraction, like the accuracies; ``se = sqrt(sd_a**2 / n_a + sd_b**2 / n_b)``), or ``None``
    when it is undefined: fewer than 2 values on a side, or no spread at all (both sds 0).
    """
    alpha, power = check_confidence(alpha), check_confidence(power)
    if n_a < 2 or n_b < 2:
        return None
    sd_a, sd_b = float(sd_a), float(sd_b)
    if not (math.isfinite(sd_a) and math.isfinite(sd_b)) or sd_a < 0 or sd_b < 0:
        raise ValueError(f"standard deviations must be finite and >= 0, got {sd_a}, {sd_b}")
    se = math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)
    if se == 0.0:
        return None
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((simulations, n_a)) * sd_a
    b = rng.standard_normal((simulations, n_b)) * sd_b
    noise = a.mean(axis=1) - b.mean(axis=1)  # the estimated difference minus the true one
    var_a, var_b = a.var(axis=1, ddof=1) / n_a, b.var(axis=1, ddof=1) / n_b
    with np.errstate(divide="ignore", invalid="ignore"):  # a side with sd 0 contributes 0 / 0
        df = (var_a + var_b) ** 2 / (np.nan_to_num(var_a**2 / (n_a - 1)) + np.nan_to_num(var_b**2 / (n_b - 1)))
    threshold = stats.t.ppf(1.0 - alpha / 2.0, df) * np.sqrt(var_a + var_b)  # |estimate| beyond it: rejected

    def rejected(delta: float) -> float:
        return float(np.mean(np.abs(delta + noise) > threshold))

    low, high = 0.0, se
    while rejected(high) < power:
        high *= 2.0
    for _ in range(60):
        middle = (low + high) / 2.0
        low, high = (middle, high) if rejected(middle) < power else (low, middle)
    return {"difference": high, "se": se, "alpha": alpha, "power": power, "simulations": simulations}
