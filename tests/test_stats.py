"""Tests of stages.stats on constructed data whose answer is known by hand."""

from __future__ import annotations

import json
import math
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

from stages.statistics.classic import (  # noqa: E402
    holm,
    mcnemar,
    mean_ci,
    paired_bootstrap,
    welch,
)


def paired_labels(both: int = 0, a_only: int = 0, b_only: int = 0, neither: int = 0):
    """(y_true, pred_a, pred_b) with exactly the requested correctness pattern."""
    n = both + a_only + b_only + neither
    y = np.arange(n) % 10
    wrong = (y + 1) % 10
    a_right = np.r_[np.ones(both + a_only, bool), np.zeros(b_only + neither, bool)]
    b_right = np.r_[np.ones(both, bool), np.zeros(a_only, bool), np.ones(b_only, bool), np.zeros(neither, bool)]
    return y, np.where(a_right, y, wrong), np.where(b_right, y, wrong)


def binom_two_sided(k: int, n: int) -> float:
    """Exact two-sided p of Binomial(n, 1/2), by hand (symmetric: 2 * smaller tail)."""
    k = min(k, n - k)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


# --------------------------------------------------------------------------- mean_ci


def test_mean_ci_known_case():
    r = mean_ci([1, 2, 3])
    assert r["n"] == 3
    assert r["mean"] == pytest.approx(2.0)
    assert r["std"] == pytest.approx(1.0)
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, df=2) = 4.3027
    assert r["ci_low"] == pytest.approx(2 - half) and r["ci_low"] == pytest.approx(-0.484, abs=1e-3)
    assert r["ci_high"] == pytest.approx(2 + half) and r["ci_high"] == pytest.approx(4.484, abs=1e-3)


def test_mean_ci_other_confidence_is_narrower():
    wide, narrow = mean_ci([1, 2, 3], 0.99), mean_ci([1, 2, 3], 0.90)
    assert narrow["ci_high"] - narrow["ci_low"] < wide["ci_high"] - wide["ci_low"]
    # t(0.95, df=2) = 2.919986
    assert narrow["ci_high"] == pytest.approx(2 + 2.919985580355516 / math.sqrt(3))


def test_mean_ci_single_value_interval_is_undefined_and_json_safe():
    r = mean_ci([0.99])
    assert r == {"n": 1, "mean": 0.99, "std": 0.0, "ci_low": None, "ci_high": None}
    assert json.loads(json.dumps(r))["ci_low"] is None


def test_mean_ci_identical_values_collapse():
    r = mean_ci([0.5, 0.5, 0.5])
    assert r["std"] == 0.0 and r["ci_low"] == r["ci_high"] == 0.5


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [1.0, float("inf")], [[1.0, 2.0]]])
def test_mean_ci_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        mean_ci(bad)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95])
def test_mean_ci_rejects_bad_confidence(confidence):
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1, 2, 3], confidence)


# --------------------------------------------------------------------------- mcnemar


def test_mcnemar_all_discordant_one_way():
    r = mcnemar(*paired_labels(both=80, a_only=10, b_only=0, neither=10))
    assert (r["a_only"], r["b_only"]) == (10, 0)
    assert r["p_value"] == pytest.approx(2 * 0.5**10) and r["p_value"] == pytest.approx(0.001953125)
    assert r["acc_a"] == pytest.approx(0.90) and r["acc_b"] == pytest.approx(0.80)
    assert r["diff"] == pytest.approx(0.10)
    assert r["n"] == 100


def test_mcnemar_hand_computed_15_vs_5():
    r = mcnemar(*paired_labels(both=70, a_only=15, b_only=5, neither=10))
    expected = 2 * sum(math.comb(20, i) for i in range(6)) / 2**20  # = 43400 / 1048576
    assert r["p_value"] == pytest.approx(expected, rel=1e-9)
    assert r["p_value"] == pytest.approx(0.0414, abs=1e-4)
    assert r["diff"] == pytest.approx(0.10)


def test_mcnemar_is_antisymmetric():
    y, a, b = paired_labels(both=70, a_only=15, b_only=5, neither=10)
    ab, ba = mcnemar(y, a, b), mcnemar(y, b, a)
    assert (ba["a_only"], ba["b_only"]) == (5, 15)
    assert ba["p_value"] == pytest.approx(ab["p_value"]) and ba["diff"] == pytest.approx(-ab["diff"])


def test_mcnemar_balanced_disagreements_p_is_one():
    r = mcnemar(*paired_labels(both=50, a_only=7, b_only=7, neither=6))
    assert r["p_value"] == 1.0 and r["diff"] == 0.0


def test_mcnemar_identical_predictions():
    y, a, _ = paired_labels(both=40, neither=10)
    r = mcnemar(y, a, a.copy())
    assert r["a_only"] == 0 and r["b_only"] == 0 and r["p_value"] == 1.0 and r["diff"] == 0.0


def test_mcnemar_both_wrong_differently_is_not_a_disagreement():
    # A and B predict different wrong labels: both wrong, so not discordant
    y = np.array([0, 0, 1])
    r = mcnemar(y, [1, 2, 1], [3, 4, 1])
    assert r["a_only"] == r["b_only"] == 0 and r["p_value"] == 1.0


def test_mcnemar_returns_plain_python_types():
    r = mcnemar(*paired_labels(both=8, a_only=2))
    assert json.loads(json.dumps(r)) == r
    assert type(r["a_only"]) is int and type(r["p_value"]) is float


def test_mcnemar_length_mismatch():
    with pytest.raises(ValueError, match="lengths differ"):
        mcnemar([0, 1, 2], [0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="lengths differ"):
        mcnemar([0, 1], [0, 1, 2], [0, 1, 2])


def test_mcnemar_rejects_empty_and_probabilities():
    with pytest.raises(ValueError, match="at least one"):
        mcnemar([], [], [])
    with pytest.raises(ValueError, match="argmax"):
        mcnemar([0, 1], np.eye(2), [0, 1])


# --------------------------------------------------------------------------- paired_bootstrap


def test_bootstrap_identical_models():
    y, a, _ = paired_labels(both=900, neither=100)
    r = paired_bootstrap(y, a, a.copy(), n_resamples=2000)
    assert r["diff"] == 0.0
    assert r["ci_low"] <= 0.0 <= r["ci_high"]
    assert r["p_value"] == 1.0


def test_bootstrap_clear_winner():
    # A right on all 1000 images, B wrong on 20% of them
    y, a, b = paired_labels(both=800, a_only=200)
    r = paired_bootstrap(y, a, b, n_resamples=5000, seed=1)
    assert r["diff"] == pytest.approx(0.2)
    assert r["ci_low"] > 0.0 and r["ci_low"] < 0.2 < r["ci_high"]
    assert r["p_value"] == pytest.approx(1 / 5001)  # smallest possible: no resample as extreme
    assert r["p_value"] < 0.001
    # the percentile CI matches the analytic one: se = sqrt(p(1-p)/n) = 0.01265
    se = math.sqrt(0.2 * 0.8 / 1000)
    assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_sign_follows_a_minus_b():
    y, a, b = paired_labels(both=800, a_only=200)
    r = paired_bootstrap(y, b, a, n_resamples=2000)
    assert r["diff"] == pytest.approx(-0.2) and r["ci_high"] < 0.0


def test_bootstrap_agrees_with_mcnemar_on_a_borderline_case():
    data = paired_labels(both=700, a_only=15, b_only=5, neither=280)
    boot, exact = paired_bootstrap(*data, n_resamples=20000), mcnemar(*data)
    assert boot["diff"] == pytest.approx(exact["diff"])
    assert boot["p_value"] == pytest.approx(exact["p_value"], abs=0.02)


def test_bootstrap_matches_naive_index_resampling():
    # drawing multinomial group counts == resampling image indices (same distribution)
    y, a, b = paired_labels(both=150, a_only=30, b_only=12, neither=8)
    d = (a == y).astype(int) - (b == y).astype(int)
    rng = np.random.default_rng(123)
    naive = d[rng.integers(0, d.size, size=(20000, d.size))].mean(axis=1)
    r = paired_bootstrap(y, a, b, n_resamples=20000, seed=7)
    lo, hi = np.quantile(naive, [0.025, 0.975])
    assert r["ci_low"] == pytest.approx(lo, abs=0.006)
    assert r["ci_high"] == pytest.approx(hi, abs=0.006)


def test_bootstrap_deterministic_for_a_seed():
    data = paired_labels(both=700, a_only=15, b_only=9, neither=276)
    r1 = paired_bootstrap(*data, n_resamples=3000, seed=42)
    r2 = paired_bootstrap(*data, n_resamples=3000, seed=42)
    r3 = paired_bootstrap(*data, n_resamples=3000, seed=43)
    assert r1 == r2
    assert (r1["ci_low"], r1["ci_high"], r1["p_value"]) != (r3["ci_low"], r3["ci_high"], r3["p_value"])
    assert json.loads(json.dumps(r1)) == r1


def test_bootstrap_full_mnist_size_is_cheap():
    # 10,000 test images x 10,000 resamples: must not build a 10^8 index matrix (800 MB as
    # int64 indices); the multinomial draw needs 10,000 x 3 counts, well under 10 MB.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 10000)
    a = np.where(rng.random(10000) < 0.99, y, (y + 1) % 10)
    b = np.where(rng.random(10000) < 0.985, y, (y + 1) % 10)
    tracemalloc.start()
    start = time.perf_counter()
    r = paired_bootstrap(y, a, b)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10e6, f"peak {peak / 1e6:.0f} MB"
    assert seconds < 2.0, f"{seconds:.1f} s"
    assert r["n_resamples"] == 10000 and r["n"] == 10000
    assert r["ci_low"] <= r["diff"] <= r["ci_high"]


def test_bootstrap_validation():
    with pytest.raises(ValueError, match="lengths differ"):
        paired_bootstrap([0, 1], [0, 1], [0])
    with pytest.raises(ValueError, match="n_resamples"):
        paired_bootstrap([0, 1], [0, 1], [0, 1], n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap([0, 1], [0, 1], [0, 1], confidence=1.5)


# --------------------------------------------------------------------------- holm


def test_holm_known_case_in_input_order():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_holm_caps_at_one_and_is_monotone():
    p = [0.5, 0.001, 0.2, 0.9]
    adj = holm(p)
    assert adj == pytest.approx([1.0, 0.004, 0.6, 1.0])
    order = np.argsort(p)
    assert all(np.diff(np.array(adj)[order]) >= 0)
    assert all(x >= y for x, y in zip(adj, p, strict=True))


def test_holm_edge_cases():
    assert holm([]) == []
    assert holm([0.02]) == [0.02]
    # undefined tests are left out of the family
    assert holm([0.01, None, 0.04]) == pytest.approx([0.02, None, 0.04])
    with pytest.raises(ValueError):
        holm([0.1, 1.5])
    with pytest.raises(ValueError):
        holm([0.1, float("nan")])


def test_welch_known_case():
    a, b = [1, 2, 3, 4], [2, 4, 6, 8, 10]
    r = welch(a, b)
    # by hand: var_a = 5/3, var_b = 10, se^2 = 5/12 + 2 = 29/12
    se2 = 5 / 12 + 2
    t = (2.5 - 6) / math.sqrt(se2)
    df = se2**2 / ((5 / 12) ** 2 / 3 + 2**2 / 4)
    from scipy.stats import t as t_dist

    assert r["diff"] == pytest.approx(-3.5)
    assert r["t_stat"] == pytest.approx(t) and r["t_stat"] == pytest.approx(-2.2514, abs=1e-4)
    assert r["df"] == pytest.approx(df) and r["df"] == pytest.approx(5.521, abs=1e-3)
    assert r["p_value"] == pytest.approx(2 * t_dist.sf(abs(t), df))
    assert r["note"] is None
    assert json.loads(json.dumps(r)) == r


def test_welch_symmetric_case():
    r = welch([1, 2, 3], [4, 5, 6])  # equal variances: t = -3 / sqrt(2/3), df = 4
    assert r["t_stat"] == pytest.approx(-3 / math.sqrt(2 / 3))
    assert r["df"] == pytest.approx(4.0)
    assert r["p_value"] == pytest.approx(0.02131, abs=1e-5)


def test_welch_too_few_values():
    r = welch([0.99], [0.98, 0.985])
    assert r["p_value"] is None and r["t_stat"] is None
    assert "at least 2" in r["note"]
    assert r["diff"] == pytest.approx(0.99 - 0.9825)
    r = welch([], [0.98, 0.985])
    assert r["p_value"] is None and r["diff"] is None and r["note"]


def test_welch_zero_variance_both_sides():
    r = welch([0.99, 0.99], [0.98, 0.98])
    assert r["p_value"] is None and "zero variance" in r["note"]
    assert r["diff"] == pytest.approx(0.01)


def test_welch_rejects_nan():
    with pytest.raises(ValueError):
        welch([0.9, float("nan")], [0.9, 0.8])
