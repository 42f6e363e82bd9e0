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
* What deciding a comparison would take: `stages.statistics.price` (it replaces the
  detectable difference of Welch's test, which saw the seeds only).
* Several pairs compared at once: adjust the p-values with :func:`holm`.

These answer narrower questions than `stages.statistics.seeds_images` (the report's verdicts):
Welch sees the seeds only, McNemar and the paired bootstrap one seed's test-set noise only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
