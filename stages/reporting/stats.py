"""Statistics that keep the report from claiming a winner on noise.

Pure functions on plain sequences / numpy arrays (numpy + scipy.stats only, no
keras), so they can be unit-tested on constructed data and reused by the report
stage.

Conventions shared by every function here
-----------------------------------------
* Accuracies and accuracy differences are *fractions* (0.9912), never percent.
  Only :func:`verdict` converts to percentage points, for humans.
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
  capture test-set sampling noise, not training noise.
* Several seeds per architecture: :func:`mean_ci` per architecture and
  :func:`welch` between two architectures. This captures training noise.
* Several pairs compared at once: adjust the p-values with :func:`holm` before
  calling :func:`verdict`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = [
    "mean_ci",
    "mcnemar",
    "paired_bootstrap",
    "holm",
    "verdict",
    "welch",
    "format_p",
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    return confidence


def _as_values(values: Sequence[float], name: str = "values") -> np.ndarray:
    """1-D float array of finite numbers (may be empty)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains nan or inf: {arr.tolist()}")
    return arr


def _correctness(y_true, pred_a, pred_b) -> tuple[np.ndarray, np.ndarray]:
    """Per-image correctness of A and B on the same test images.

    All three inputs must be 1-D label arrays of the same, non-zero length
    (class indices, not probabilities: take ``argmax(axis=1)`` first).
    """
    arrays = {"y_true": np.asarray(y_true), "pred_a": np.asarray(pred_a), "pred_b": np.asarray(pred_b)}
    for name, arr in arrays.items():
        if arr.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D array of class labels, got shape {arr.shape}"
                " (for class probabilities, pass probs.argmax(axis=1))"
            )
    lengths = {name: arr.shape[0] for name, arr in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(
            "paired comparison needs predictions on the same test images, but lengths differ: "
            + ", ".join(f"{name}={n}" for name, n in lengths.items())
        )
    if lengths["y_true"] == 0:
        raise ValueError("paired comparison needs at least one test image, got empty arrays")
    y = arrays["y_true"]
    return arrays["pred_a"] == y, arrays["pred_b"] == y


def format_p(p_value: float | None) -> str:
    """``"p = 0.041"`` (2 significant digits), ``"p < 0.001"`` or ``"p undefined"``."""
    if p_value is None or not math.isfinite(p_value):
        return "p undefined"
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.2g}"


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
    confidence = _check_confidence(confidence)
    arr = _as_values(values)
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
# 2. McNemar's exact test (paired, same test images)
# ---------------------------------------------------------------------------


def mcnemar(y_true, pred_a, pred_b) -> dict:
    """Exact McNemar test of two classifiers evaluated on the same test images.

    Only discordant images carry information: ``b`` ("a_only") = images A gets
    right and B gets wrong, ``c`` ("b_only") = the reverse. Under H0 (equal
    accuracy) ``b ~ Binomial(b + c, 1/2)``; the p-value is the exact two-sided
    binomial one (``scipy.stats.binomtest``), valid for any count. When
    ``b + c == 0`` the models never disagree on correctness and p = 1.0.

    Returns ``{"n", "a_only", "b_only", "p_value", "acc_a", "acc_b", "diff"}``
    with ``diff = acc_a - acc_b`` (fractions, not percent).
    Raises ``ValueError`` on length mismatch, empty or non 1-D input.
    """
    correct_a, correct_b = _correctness(y_true, pred_a, pred_b)
    b = int(np.count_nonzero(correct_a & ~correct_b))
    c = int(np.count_nonzero(~correct_a & correct_b))
    p = 1.0 if b + c == 0 else min(1.0, float(stats.binomtest(b, b + c, 0.5).pvalue))
    acc_a = float(correct_a.mean())
    acc_b = float(correct_b.mean())
    return {
        "n": int(correct_a.size),
        "a_only": b,
        "b_only": c,
        "p_value": p,
        "acc_a": acc_a,
        "acc_b": acc_b,
        "diff": acc_a - acc_b,
    }


# ---------------------------------------------------------------------------
# 3. paired bootstrap of the accuracy difference
# ---------------------------------------------------------------------------


def paired_bootstrap(
    y_true,
    pred_a,
    pred_b,
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """Bootstrap CI and two-sided p-value of ``acc_a - acc_b`` on paired images.

    Resampling the test images with replacement keeps each image's (A, B) pair
    together. The per-image difference ``d_i = correct_a_i - correct_b_i`` only
    takes the values +1, 0 and -1, and a resample's accuracy difference is
    ``(#(+1) - #(-1)) / n``. Drawing n indices with replacement puts
    ``Multinomial(n, (n_plus, n_zero, n_minus) / n)`` images in each of those
    three groups, so drawing those counts directly is *exactly* the same
    bootstrap distribution as resampling indices, fully vectorised, with
    O(n_resamples) memory instead of O(n_resamples * n) (10,000 images x
    10,000 resamples never materialises a 10^8 index matrix, no chunking
    needed) and no dependence on the number of images for speed.

    * CI: percentile interval of the bootstrap differences at ``confidence``.
    * p-value: two-sided test of H0 "diff = 0" by the centred bootstrap
      (Hall & Wilson 1991): the fraction of resamples with
      ``|d* - d_obs| >= |d_obs|``, with the +1 correction
      ``(count + 1) / (n_resamples + 1)`` so it is never exactly 0; its
      smallest possible value is therefore ``1 / (n_resamples + 1)``.
      The comparison is done on integer counts, so it has no rounding error.

    Deterministic for a given ``seed`` (``numpy.random.default_rng``).

    Returns ``{"n", "diff", "ci_low", "ci_high", "p_value", "n_resamples",
    "seed", "confidence"}`` (differences as fractions, A - B).
    Raises ``ValueError`` on length mismatch, empty input, bad n_resamples
    or confidence.
    """
    confidence = _check_confidence(confidence)
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    n_resamples = int(n_resamples)
    correct_a, correct_b = _correctness(y_true, pred_a, pred_b)
    n = int(correct_a.size)
    n_plus = int(np.count_nonzero(correct_a & ~correct_b))
    n_minus = int(np.count_nonzero(~correct_a & correct_b))
    n_zero = n - n_plus - n_minus
    observed_count = n_plus - n_minus  # diff * n, exact integer

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.array([n_plus, n_zero, n_minus], dtype=float) / n, size=n_resamples)
    boot_count = counts[:, 0] - counts[:, 2]  # resampled diff * n, exact integers

    alpha = 1.0 - confidence
    ci_low, ci_high = np.quantile(boot_count / n, [alpha / 2.0, 1.0 - alpha / 2.0])
    extreme = int(np.count_nonzero(np.abs(boot_count - observed_count) >= abs(observed_count)))
    p_value = min(1.0, (extreme + 1) / (n_resamples + 1))
    return {
        "n": n,
        "diff": observed_count / n,
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_value": float(p_value),
        "n_resamples": n_resamples,
        "seed": seed,
        "confidence": confidence,
    }


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
    p = np.array([p_list[i] for i in defined], dtype=float)
    if not np.all(np.isfinite(p)) or np.any(p < 0.0) or np.any(p > 1.0):
        raise ValueError(f"p-values must be finite numbers in [0, 1] (or None), got {p_list}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted_sorted = np.maximum.accumulate(scaled)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    for i, value in zip(defined, adjusted):
        result[i] = float(value)
    return result


# ---------------------------------------------------------------------------
# 5. one-sentence verdict
# ---------------------------------------------------------------------------


def verdict(
    diff: float,
    p_value: float | None,
    alpha: float = 0.05,
    name_a: str = "A",
    name_b: str = "B",
) -> str:
    """One sentence for the report, generated only from the numbers.

    ``diff`` is ``acc_a - acc_b`` as a fraction; it is written in percentage
    points with 2 decimals. ``p_value`` is written with 2 significant digits,
    or "p < 0.001" below that (see :func:`format_p`). Pass the
    Holm-adjusted p-value when several pairs are compared.

    * ``p_value < alpha`` and diff != 0: ``"<winner> beats <loser> by X points
      (p = ...)"``, X > 0 (the winner is whichever side has the higher
      accuracy).
    * otherwise: ``"no significant difference between <A> and <B> (X points,
      p = ...)"``, X signed as A - B.
    * ``p_value`` None/nan (test undefined): ``"no significant difference
      between <A> and <B> (X points, p undefined)"``.
    """
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
    diff = float(diff)
    if not math.isfinite(diff):
        raise ValueError(f"diff must be a finite number, got {diff}")
    points = round(diff * 100.0, 2) + 0.0  # "+ 0.0" turns -0.0 into 0.0: never print "-0.00"
    defined = p_value is not None and math.isfinite(p_value)
    if defined and not 0.0 <= p_value <= 1.0:
        raise ValueError(f"p_value must be within [0, 1], got {p_value}")
    p_text = format_p(p_value)
    if defined and p_value < alpha and diff != 0.0:
        winner, loser = (name_a, name_b) if diff > 0 else (name_b, name_a)
        return f"{winner} beats {loser} by {abs(points):.2f} points ({p_text})"
    return f"no significant difference between {name_a} and {name_b} ({points:.2f} points, {p_text})"


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
    a = _as_values(values_a, "values_a")
    b = _as_values(values_b, "values_b")
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
        result["note"] = (
            f"Welch t-test needs at least 2 values per side, got n_a={n_a}, n_b={n_b}: p-value undefined"
        )
        return result
    if a.var(ddof=1) == 0.0 and b.var(ddof=1) == 0.0:
        result["note"] = "both sides have zero variance (identical values per side): t-test undefined"
        return result
    res = stats.ttest_ind(a, b, equal_var=False)
    result["t_stat"] = float(res.statistic)
    result["df"] = float(res.df)
    result["p_value"] = float(res.pvalue)
    return result
