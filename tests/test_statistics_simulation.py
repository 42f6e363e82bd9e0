"""The study's statistics checked against a known truth (fast tier: numpy only, no TensorFlow).

A simulated study: N test images, most of them easy (never wrong), 5% hard with a base error
probability e_i ~ U(0, 0.3); architecture k's run with seed s errs on image i with probability
e_i · (1 + r_k) · h_ki · g_ks, where h_ki is 1 ± ρ with equal odds (ρ = 1: the image is hard
for this architecture or not; the images' part of a difference) and g_ks ~ U(1 − σ, 1 + σ) the seed's;
the outcomes are Bernoulli given those, so the seeds also disagree image by image
(interaction). Every factor has mean 1, they are independent and every probability stays
below 1, so the expected accuracy over new seeds and new images is exactly
1 − 0.0075 (1 + r_k): about 99.2%, and A − B = 0.0075 (r_B − r_A).

Monte-Carlo error: a rate estimated from R replicates has standard error
sqrt(rate (1 − rate) / R); each check allows 3 of them (0.0069 · 3 ≈ 0.021 at a 95%
coverage and R = 1,000), so a correct procedure fails one check with probability ~0.1%.
The replicates are seeded: the tests are deterministic.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from stages.statistics import decisions, ranks
from stages.statistics import seeds_images as si

ALPHA = 0.05
IMAGES = 2000
BASE_ERROR = 0.0075  # 5% hard images x mean error 0.15


def _mc_tolerance(rate: float, replicates: int) -> float:
    return 3 * math.sqrt(rate * (1 - rate) / replicates)


def simulate(
    rng, replicates: int, seeds: int, r: list[float], seed_spread: float = 0.5, image_spread: float = 1.0
) -> list[np.ndarray]:
    """One (replicates, seeds, IMAGES) bool correctness array per architecture, on shared images."""
    hard = rng.random((replicates, IMAGES)) < 0.05
    base = np.where(hard, 0.3 * rng.random((replicates, IMAGES)), 0.0)
    out = []
    for r_k in r:
        # 1 ± image_spread with equal odds; at 1: the image is hard for this architecture or not
        own = 1.0 + image_spread * np.where(rng.random((replicates, IMAGES)) < 0.5, -1.0, 1.0)
        seed = 1 - seed_spread + 2 * seed_spread * rng.random((replicates, seeds))
        error = (base * (1 + r_k) * own)[:, None, :] * seed[:, :, None]
        out.append(rng.random((replicates, seeds, IMAGES)) >= error)
    return out


def truth(r_a: float, r_b: float) -> float:
    return BASE_ERROR * (r_b - r_a)


def _coverage(low, high, value) -> float:
    return float(np.mean((low <= value) & (value <= high)))


@pytest.mark.parametrize("seeds", [3, 5, 10])
def test_the_studentized_interval_covers_at_its_level(seeds):
    rng = np.random.default_rng(seeds)
    replicates = 1000
    a, b = simulate(rng, replicates, seeds, [0.0, 0.1])
    estimate = si.difference(a, b)
    low, high = si.interval(estimate, 0.95)
    coverage = _coverage(low, high, truth(0.0, 0.1))
    assert abs(coverage - 0.95) <= _mc_tolerance(0.95, replicates), coverage


def test_the_uncorrected_percentile_multibootstrap_undercovers_at_three_seeds():
    """The Multi-Bootstrap's percentile interval with 3 seeds: a resample of 3 seeds keeps 2/3 of
    their variance and has 10 distinct means, so its 95% interval covers visibly less."""
    rng = np.random.default_rng(7)
    replicates, resamples = 400, 400
    a, b = simulate(rng, replicates, 3, [0.0, 0.1], seed_spread=0.9, image_spread=0.1)  # seeds dominate
    target = truth(0.0, 0.1)
    covered = []
    for k in range(replicates):
        values = si.multibootstrap([a[k], b[k]], [1.0, -1.0], resamples, seed=k)
        low, high = np.quantile(values, [0.025, 0.975])
        covered.append(low <= target <= high)
    percentile = float(np.mean(covered))
    studentized = _coverage(*si.interval(si.difference(a, b), 0.95), target)
    assert percentile < 0.95 - _mc_tolerance(0.95, replicates), percentile
    assert abs(studentized - 0.95) <= _mc_tolerance(0.95, replicates), studentized


def test_equivalence_false_positives_at_a_true_difference_equal_to_the_margin():
    rng = np.random.default_rng(11)
    # A margin the simulated study can reach (2,000 images): 0.225 points, and A − B = the margin.
    # and images that differ little between the two architectures (ρ = 0.25).
    replicates, margin = 1000, 0.00225
    a, b = simulate(rng, replicates, 10, [0.0, 0.3], seed_spread=0.3, image_spread=0.25)
    assert truth(0.0, 0.3) == pytest.approx(margin)
    estimate = si.difference(a, b)
    codes = decisions.claims(
        estimate.value[:, None], si.p_difference(estimate)[:, None], si.p_equivalence(estimate, margin)[:, None], ALPHA
    )
    rate = float(np.mean(codes == 2))
    assert rate <= ALPHA + _mc_tolerance(ALPHA, replicates), rate
    assert rate > 0.02  # not vacuous: at the boundary a level-α test errs close to α


def test_family_wise_error_of_eleven_comparisons_under_the_null():
    rng = np.random.default_rng(13)
    replicates = 600
    archs = simulate(rng, replicates, 3, [0.0] * 12)
    parts = [si.moments(x) for x in archs]
    pairs = [(i, i + 1) for i in range(11)]
    estimates = [si.contrast([parts[i], parts[j]], [1.0, -1.0]) for i, j in pairs]
    value = np.stack([e.value for e in estimates], axis=-1)
    p_diff = np.stack([si.p_difference(e) for e in estimates], axis=-1)
    p_eq = np.stack([si.p_equivalence(e, 0.001) for e in estimates], axis=-1)
    codes = decisions.claims(value, p_diff, p_eq, ALPHA)
    fwer = float(np.mean(np.any((codes == 1) | (codes == -1), axis=-1)))
    assert fwer <= ALPHA + _mc_tolerance(ALPHA, replicates), fwer


def test_rank_sets_cover_every_true_rank_at_once():
    rng = np.random.default_rng(17)
    replicates = 300
    r = [0.0, 0.35, 0.7, 1.05, 1.4]  # accuracies strictly decreasing, 0.26 points apart: true ranks 1..5
    archs = simulate(rng, replicates, 3, r, seed_spread=0.1, image_spread=0.25)  # error probabilities < 1
    best, worst = ranks.rank_sets([si.moments(x) for x in archs], ALPHA)
    true_rank = np.arange(1, len(r) + 1)
    covered = np.all((best <= true_rank) & (true_rank <= worst), axis=-1)
    rate = float(np.mean(covered))
    assert rate >= 1 - ALPHA - _mc_tolerance(1 - ALPHA, replicates), rate
    # informative, though conservative with 3 seeds (Bonferroni over 10 pairs, 2-4 df): 3.5 on average
    assert np.mean(worst - best) < 3.75


# --------------------------------------------------------------------------- constructed cases


def _runs(errors_per_seed: list[list[int]], images: int = 10_000) -> np.ndarray:
    """A correctness matrix: row s is wrong exactly on the listed image indices."""
    x = np.ones((len(errors_per_seed), images), dtype=bool)
    for s, wrong in enumerate(errors_per_seed):
        x[s, wrong] = False
    return x


def _verdict(a, b, margin=0.001):
    return decisions.decide([si.difference(a, b)], ALPHA, margin)[0]


def test_identical_models_are_equivalent():
    rng = np.random.default_rng(1)
    shared = rng.choice(10_000, 60, replace=False)
    model = _runs([list(shared[:55]) + [100 + s] for s in range(3)])
    assert _verdict(model, model[::-1])["verdict"] == decisions.EQUIVALENT


def test_twenty_more_images_right_on_every_seed_is_better():
    rng = np.random.default_rng(2)
    hard = rng.choice(10_000, 120, replace=False)
    b = _runs([list(hard[:60]) + list(hard[60 + 3 * s : 63 + 3 * s]) for s in range(3)])
    a = _runs([list(hard[20:60]) + list(hard[60 + 3 * s : 63 + 3 * s]) for s in range(3)])  # 20 fixed
    decision = _verdict(a, b)
    assert decision["verdict"] == decisions.A_BETTER and decision["ci_low"] > 0
    assert _verdict(b, a)["verdict"] == decisions.B_BETTER


def test_seeds_that_disagree_wildly_leave_it_undecided():
    rng = np.random.default_rng(3)
    pool = rng.choice(10_000, 400, replace=False)
    a = _runs([list(pool[:20]), list(pool[:150]), list(pool[:60])])  # 99.8%, 98.5%, 99.4%
    b = _runs([list(pool[200:260])] * 3)
    decision = _verdict(a, b)
    assert decision["verdict"] == decisions.UNDECIDED and "contains 0" in decision["reason"]


def test_the_variance_parts_of_a_known_case():
    """Seeds: A's three accuracies 99.40, 99.50, 99.60 %, B constant: Welch's term is 0.1²/3
    points²; no per-image difference beyond the seeds: images part 0."""
    a = _runs([list(range(60)), list(range(50)), list(range(40))])
    b = _runs([list(range(50))] * 3)
    estimate = si.difference(a, b)
    assert float(estimate.value) == pytest.approx(0.0)
    assert float(estimate.seeds) == pytest.approx(0.001**2 / 3)
    assert float(estimate.variance) >= float(estimate.seeds)
    assert float(estimate.df) == pytest.approx(2.0, abs=0.5)  # the seeds' 2 degrees of freedom dominate


def test_the_vectorized_multibootstrap_matches_a_plain_loop():
    rng = np.random.default_rng(4)
    a = rng.random((3, 200)) > 0.1
    b = rng.random((4, 200)) > 0.15
    fast = si.multibootstrap([a, b], [1.0, -1.0], 4000, seed=1)
    slow = si.multibootstrap_loop([a, b], [1.0, -1.0], 4000, seed=2)
    # Same distribution, independent draws: means within 4 standard errors, sds within 5%.
    assert abs(fast.mean() - slow.mean()) < 4 * slow.std() * math.sqrt(2 / 4000)
    assert fast.std() == pytest.approx(slow.std(), rel=0.05)


def test_the_multibootstrap_of_a_full_test_set_is_fast():
    rng = np.random.default_rng(5)
    a = rng.random((3, 10_000)) > 0.006
    b = rng.random((3, 10_000)) > 0.007
    start = time.perf_counter()
    si.multibootstrap([a, b], [1.0, -1.0], 4000)
    assert time.perf_counter() - start < 2.0


def _steady_count_runs(rng, replicates: int, seeds: int, weight: np.ndarray, noise: float) -> np.ndarray:
    """Runs whose error count is steadier than their image-level disagreement: each seed errs on
    round(Σ weight + noise · Z) images, drawn without replacement with probability ∝ weight
    (Gumbel top-k). On the study's runs the per-seed accuracies vary less than independent
    image-level errors would make them; the variance split must not break there."""
    out = np.ones((replicates, seeds, IMAGES), dtype=bool)
    for s in range(seeds):
        count = np.maximum(np.rint(weight.sum(axis=1) + noise * rng.standard_normal(replicates)), 0).astype(int)
        keys = np.where(weight > 0, np.log(np.maximum(weight, 1e-300)) + rng.gumbel(size=weight.shape), -np.inf)
        rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
        out[:, s, :] = rank >= count[:, None]
    return out


def test_coverage_when_a_model_s_error_count_is_steadier_than_its_errors():
    rng = np.random.default_rng(19)
    replicates = 1000
    hard = rng.random((replicates, IMAGES)) < 0.05
    base = np.where(hard, rng.random((replicates, IMAGES)), 0.0)
    a, b = (
        _steady_count_runs(rng, replicates, 3, base * (1 + 0.8 * rng.choice([-1.0, 1.0], base.shape)) * 0.15, 1.5)
        for _ in range(2)
    )  # same expected error count: the true difference is 0
    low, high = si.interval(si.difference(a, b), 0.95)
    coverage = _coverage(low, high, 0.0)
    assert coverage >= 0.95 - _mc_tolerance(0.95, replicates), coverage


def test_a_second_look_after_adding_seeds_inflates_the_family_wise_error():
    """Why the report labels verdicts after the `seeds` section's runs exploratory: under the
    null, looking again at the undecided pairs with 6 seeds instead of 3, at the same level,
    adds false findings to the first look's (0.017 -> 0.038 with these replicates)."""
    rng = np.random.default_rng(3)
    replicates = 600
    archs = simulate(rng, replicates, 6, [0.0] * 12)

    def codes(seeds: int) -> np.ndarray:
        parts = [si.moments(x[:, :seeds]) for x in archs]
        estimates = [si.contrast([parts[i], parts[i + 1]], [1.0, -1.0]) for i in range(11)]
        value = np.stack([e.value for e in estimates], axis=-1)
        p_diff = np.stack([si.p_difference(e) for e in estimates], axis=-1)
        p_eq = np.stack([si.p_equivalence(e, 0.001) for e in estimates], axis=-1)
        return decisions.claims(value, p_diff, p_eq, ALPHA)

    first, second = codes(3), codes(6)
    false_first = np.any(np.abs(first) == 1, axis=-1)
    false_second = np.any((np.abs(second) == 1) & (first == 0), axis=-1)
    one_look, two_looks = float(false_first.mean()), float((false_first | false_second).mean())
    assert one_look <= ALPHA
    assert two_looks > one_look + 3 * math.sqrt((two_looks - one_look) / replicates)
