"""The paired comparisons of `report.comparisons`: for each pair, Welch's t-test over the
per-seed test accuracies (the test a conclusion rests on: it sees training's run-to-run
noise), exact McNemar and a paired bootstrap per seed on the same test images (test-set
noise only), Holm's correction over the report's pairs, and the smallest difference the
seeds could have detected."""

from __future__ import annotations

from stages.reporting import stats

BOOTSTRAP_RESAMPLES = 10000
POWER = 0.8  # of the detectable difference


def over_seeds(record: dict) -> dict:
    """Mean, sample sd and 95% t-interval of an architecture's per-seed test accuracies."""
    return stats.mean_ci(list(record["seeds"].values()))


def _test_set(run_a: dict, run_b: dict) -> dict:
    """McNemar and the paired bootstrap of two runs with the same seed (same test images:
    checked when the runs were loaded)."""
    actual, pred_a, pred_b = run_a["actual"], run_a["predicted"], run_b["predicted"]
    return {
        "seed": run_a["seed"],
        "mcnemar": stats.mcnemar(actual, pred_a, pred_b),
        "bootstrap": stats.paired_bootstrap(actual, pred_a, pred_b, n_resamples=BOOTSTRAP_RESAMPLES, seed=0),
    }


def compare_pair(record_a: dict, record_b: dict, main_seed: int, alpha: float) -> dict:
    """Every test of one pair, before Holm's correction."""
    common = [seed for seed in record_a["runs"] if seed in record_b["runs"]]
    per_seed = [_test_set(record_a["runs"][s], record_b["runs"][s]) for s in common]
    main = next(t for t in per_seed if t["seed"] == main_seed)
    values_a, values_b = list(record_a["seeds"].values()), list(record_b["seeds"].values())
    welch = detectable = None
    if len(values_a) >= 2 and len(values_b) >= 2:
        welch = stats.welch(values_a, values_b)
        a, b = over_seeds(record_a), over_seeds(record_b)
        detectable = stats.detectable_difference(a["std"], a["n"], b["std"], b["n"], alpha=alpha, power=POWER)
    return {
        "a": record_a["id"],
        "b": record_b["id"],
        "n_a": len(values_a),
        "n_b": len(values_b),
        "main_seed": main_seed,
        "per_seed": per_seed,
        "mcnemar": main["mcnemar"],
        "bootstrap": main["bootstrap"],
        "welch": welch,
        "detectable": detectable,
    }


def _holm_by_key(keys: list, p_values: list) -> dict:
    """Holm over the distinct keys (a pair listed twice counts once), p of each key's first listing."""
    first = {}
    for key, p in zip(keys, p_values, strict=True):
        first.setdefault(key, p)
    return dict(zip(first, stats.holm(list(first.values())), strict=True))


def _holm_per_seed(results: list[dict], keys: list) -> None:
    """ "holm_p" of every per-seed McNemar test: one family per seed, the report's pairs on that seed's runs."""
    seeds = sorted({t["seed"] for r in results for t in r["per_seed"]})
    for seed in seeds:
        tests = [(key, t) for key, r in zip(keys, results, strict=True) for t in r["per_seed"] if t["seed"] == seed]
        adjusted = _holm_by_key([k for k, _ in tests], [t["mcnemar"]["p_value"] for _, t in tests])
        for key, test in tests:
            test["holm_p"] = adjusted[key]


def _conclude(result: dict, alpha: float) -> None:
    """The verdicts, and what the pair's conclusion rests on: Welch over seeds when it ran, else
    the main seed's McNemar (one seed on a side, or no spread at all)."""
    a, b, welch = result["a"], result["b"], result["welch"]
    result["verdict"] = stats.verdict(result["mcnemar"]["diff"], result["holm_p"], alpha, a, b)
    result["welch_verdict"] = None
    if welch and welch["diff"] is not None:
        result["welch_verdict"] = stats.verdict(welch["diff"], result["welch_holm_p"], alpha, a, b)
    if result["welch_holm_p"] is not None:
        result["basis"], result["diff"], p = "seeds", welch["diff"], result["welch_holm_p"]
    else:
        result["basis"], result["diff"], p = "test set", result["mcnemar"]["diff"], result["holm_p"]
    result["supported"] = p is not None and p < alpha and result["diff"] != 0


def _adjust(results: list[dict], keys: list, alpha: float) -> None:
    """Holm-adjusted p-values, verdicts and conclusions, in place."""
    _holm_per_seed(results, keys)
    welch_holm = _holm_by_key(keys, [r["welch"]["p_value"] if r["welch"] else None for r in results])
    for result, key in zip(results, keys, strict=True):
        main = next(t for t in result["per_seed"] if t["seed"] == result["main_seed"])
        result["holm_p"] = main["holm_p"]
        result["welch_holm_p"] = welch_holm[key] if result["welch"] else None
        _conclude(result, alpha)


def significance(runs: dict, comparisons: list[dict], alpha: float, main_seed: int) -> list[dict]:
    """Every pair of every comparison, in order, each with "comparison" (its index), the tests
    of compare_pair, Holm-adjusted p-values ("holm_p" of the main seed's McNemar, one per
    seed in "per_seed", "welch_holm_p"), the verdict sentences, and "basis" ("seeds" when
    Welch's test ran, else "test set"), "diff" and "supported" of the conclusion."""
    results, keys = [], []
    for index, comparison in enumerate(comparisons):
        for a, b in comparison.get("pairs") or []:
            result = compare_pair(runs[a], runs[b], main_seed, alpha)
            result["comparison"] = index
            results.append(result)
            keys.append(frozenset((a, b)))
    _adjust(results, keys, alpha)
    return results
