"""Paired tests of two trained models on the same test images: exact McNemar and the paired
bootstrap. They see the test set's sampling noise only, not training's run-to-run noise
(for that: `classic.welch` over seeds, or `seeds_images` over both)."""

from __future__ import annotations

import numpy as np

from stages.statistics.checks import check_confidence
from stages.statistics.mcnemar import mcnemar_p


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


# ---------------------------------------------------------------------------
# 2. McNemar's exact test (paired, same test images)
# ---------------------------------------------------------------------------


def mcnemar(y_true, pred_a, pred_b) -> dict:
    """Exact McNemar test of two classifiers evaluated on the same test images.

    Only discordant images carry information: ``b`` ("a_only") = images A gets
    right and B gets wrong, ``c`` ("b_only") = the reverse. Under H0 (equal
    accuracy) ``b ~ Binomial(b + c, 1/2)``; the p-value is the exact two-sided
    binomial one (`stages.review.mcnemar.mcnemar_p`, the PR report's too),
    valid for any count. When ``b + c == 0`` the models never disagree on
    correctness and p = 1.0.

    Returns ``{"n", "a_only", "b_only", "p_value", "acc_a", "acc_b", "diff"}``
    with ``diff = acc_a - acc_b`` (fractions, not percent).
    Raises ``ValueError`` on length mismatch, empty or non 1-D input.
    """
    correct_a, correct_b = _correctness(y_true, pred_a, pred_b)
    b = int(np.count_nonzero(correct_a & ~correct_b))
    c = int(np.count_nonzero(~correct_a & correct_b))
    p = mcnemar_p(b, c)
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
    confidence = check_confidence(confidence)
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
