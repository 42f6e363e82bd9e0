"""The report's statistics, from the loaded runs: for each pair of `report.comparisons`, the
test over seeds and test images (`stages.statistics.seeds_images`), its verdict
(`stages.statistics.decisions`, Holm over the report's pairs) and, when undecided, its price
(`stages.statistics.price`); for each architecture, its mean with an interval and its rank set
(`stages.statistics.ranks`); and the appendix's narrower tests (Welch over seeds, McNemar per
seed). All differences are fractions here; the tables show points.
"""

from __future__ import annotations

import numpy as np

from stages.statistics import classic, decisions, price, ranks
from stages.statistics import seeds_images as si

BOOTSTRAP_RESAMPLES = 10000  # of the appendix's per-seed paired bootstrap
HEADLINE_LEVEL = 0.95  # each architecture's own interval (not adjusted: one per row)


def correctness(record: dict) -> np.ndarray:
    """(seeds, images) bool: which test images each run of the architecture gets right."""
    return np.stack([run["predicted"] == run["actual"] for run in record["runs"].values()])


def over_seeds(record: dict) -> dict:
    """Mean, sample sd and 95% t-interval of an architecture's per-seed test accuracies."""
    return classic.mean_ci(list(record["seeds"].values()))


def train_hours(record: dict) -> float | None:
    """Mean measured training time of one run of the architecture, in hours."""
    seconds = [run["metrics"].get("train_seconds") for run in record["runs"].values()]
    seconds = [s for s in seconds if isinstance(s, (int, float)) and not isinstance(s, bool)]
    return sum(seconds) / len(seconds) / 3600 if seconds else None


def _pairs(comparisons: list[dict]) -> list[tuple[int, str, str]]:
    """(comparison index, a, b) of every pair, a pair listed twice kept at its first listing."""
    seen, pairs = set(), []
    for index, comparison in enumerate(comparisons):
        for a, b in comparison.get("pairs") or []:
            if frozenset((a, b)) not in seen:
                seen.add(frozenset((a, b)))
                pairs.append((index, a, b))
    return pairs


def _per_seed(record_a: dict, record_b: dict) -> list[dict]:
    """McNemar and the paired bootstrap of the two architectures' runs with the same seed."""
    tests = []
    for seed in [s for s in record_a["runs"] if s in record_b["runs"]]:
        run_a, run_b = record_a["runs"][seed], record_b["runs"][seed]
        actual = run_a["actual"]
        tests.append(
            {
                "seed": seed,
                "mcnemar": classic.mcnemar(actual, run_a["predicted"], run_b["predicted"]),
                "bootstrap": classic.paired_bootstrap(
                    actual, run_a["predicted"], run_b["predicted"], n_resamples=BOOTSTRAP_RESAMPLES, seed=0
                ),
            }
        )
    return tests


def _appendix(results: list[dict], runs: dict) -> None:
    """Welch over seeds and per-seed McNemar, each Holm-adjusted over the report's pairs."""
    for r in results:
        values_a, values_b = list(runs[r["a"]]["seeds"].values()), list(runs[r["b"]]["seeds"].values())
        r["welch"] = classic.welch(values_a, values_b)
        r["per_seed"] = _per_seed(runs[r["a"]], runs[r["b"]])
    for r, p in zip(results, classic.holm([r["welch"]["p_value"] for r in results]), strict=True):
        r["welch_holm_p"] = p
    for seed in sorted({t["seed"] for r in results for t in r["per_seed"]}):
        tests = [t for r in results for t in r["per_seed"] if t["seed"] == seed]
        for test, p in zip(tests, classic.holm([t["mcnemar"]["p_value"] for t in tests]), strict=True):
            test["holm_p"] = p


def _price(result: dict, runs: dict, moments: dict, margin: float, level: float) -> dict:
    """Seeds per architecture (and hours) or test images that would decide the comparison."""
    a, b = result["a"], result["b"]
    parts = price.parts(moments[a], moments[b])
    start = max(moments[a].n, moments[b].n)
    images = moments[a].images
    value = float(result["estimate"].value)
    found = price.seeds_needed(parts, start, images, value, margin, level)
    outcome = {"level": level, "seeds": None, "route": None, "hours": None, "images": None, "range": None}
    outcome["test_images"] = images
    if found is None:
        more = price.images_needed(parts, start, value, margin, level)
        if more is None:
            return outcome
        outcome["images"], seeds = more
    else:
        seeds, outcome["route"] = found
        outcome["range"] = price.seeds_range(parts, start, images, value, margin, level)
    outcome["seeds"] = seeds
    hours = [train_hours(runs[arch]) for arch in (a, b)]
    if None not in hours:
        outcome["hours"] = sum(max(seeds - moments[arch].n, 0) * h for arch, h in zip((a, b), hours, strict=True))
    return outcome


def headline(runs: dict, moments: dict, alpha: float) -> dict[str, dict]:
    """Per architecture: mean over seeds, its interval over seeds and images, its rank set."""
    tested = list(moments)
    best, worst = ranks.rank_sets([moments[a] for a in tested], alpha) if len(tested) > 1 else ([1], [1])
    rows = {}
    for arch, record in runs.items():
        row = {"mean": float(np.mean(list(record["seeds"].values()))), "n": len(record["seeds"])}
        row.update(ci_low=None, ci_high=None, rank=None)
        if arch in moments:
            low, high = si.interval(si.contrast([moments[arch]], [1.0]), HEADLINE_LEVEL)
            k = tested.index(arch)
            row.update(ci_low=float(low), ci_high=float(high), rank=(int(best[k]), int(worst[k])))
        rows[arch] = row
    return rows


def significance(runs: dict, comparisons: list[dict], alpha: float, margin: float, added: dict | None = None) -> dict:
    """{"results": one dict per pair, "archs": headline(), "undecided_level": the price's level}.

    A result: "comparison" (index), "a", "b", "n_a", "n_b", "estimate" (None with one seed on a
    side), "decision" (decisions.decide's, or undecided with the reason), "price" (undecided
    only), "exploratory" (seeds from the `seeds` section are in it: a second look), and the
    appendix's "welch", "welch_holm_p", "per_seed". `margin` is a fraction; `added` maps an
    architecture to the seeds the `seeds` section gave it."""
    added = added or {}
    moments = {arch: si.moments(correctness(r)) for arch, r in runs.items() if len(r["runs"]) >= 2}
    results = []
    for index, a, b in _pairs(comparisons):
        result = {"comparison": index, "a": a, "b": b, "n_a": len(runs[a]["runs"]), "n_b": len(runs[b]["runs"])}
        result["estimate"] = (
            si.contrast([moments[a], moments[b]], [1.0, -1.0]) if a in moments and b in moments else None
        )
        result["exploratory"] = any(set(added.get(arch) or []) & set(runs[arch]["runs"]) for arch in (a, b))
        results.append(result)
    tested = [r for r in results if r["estimate"] is not None]
    for result, decision in zip(tested, decisions.decide([r["estimate"] for r in tested], alpha, margin), strict=True):
        result["decision"] = decision
    for result in results:
        result.setdefault(
            "decision",
            {
                "verdict": decisions.UNDECIDED,
                "reason": f"{result['n_a']} vs {result['n_b']} seeds: the test needs 2 or more on each side",
                **dict.fromkeys(("level", "p_holm", "ci_low", "ci_high", "ci_level", "inside_margin")),
            },
        )
    undecided = [r for r in tested if r["decision"]["verdict"] == decisions.UNDECIDED]
    # The level an undecided comparison would face once the decided ones stay decided: Holm's
    # first step among the undecided ones (a bound for the others, which face a milder one).
    level = alpha / len(undecided) if undecided else None
    for result in results:
        open_question = result["estimate"] is not None and result["decision"]["verdict"] == decisions.UNDECIDED
        result["price"] = _price(result, runs, moments, margin, level) if open_question else None
        if result["price"] and result["price"]["images"] is not None:
            cost = result["price"]
            result["decision"]["reason"] += (
                f"; not decidable with {cost['test_images']:,} test images: the images' own variance alone "
                f"leaves too wide an interval; about {cost['images']:,} images would decide it "
                f"(with {cost['seeds']} seeds per architecture)"
            )
    _appendix(results, runs)
    return {"results": results, "archs": headline(runs, moments, alpha), "undecided_level": level}


def plan(results: list[dict], runs: dict, used: dict[str, list[int]]) -> dict[str, dict]:
    """Per architecture that an undecided comparison needs more seeds of: {"have", "want",
    "hours" (its extra runs, counted once however many comparisons share it), "seeds" (the
    proposed seed numbers: the smallest not used yet, `used` = its seeds in params.yaml)}."""
    want: dict[str, int] = {}
    for r in results:
        if r["price"] and r["price"]["seeds"] and r["price"]["images"] is None:
            for arch in (r["a"], r["b"]):
                want[arch] = max(want.get(arch, 0), r["price"]["seeds"])
    proposals = {}
    for arch, target in want.items():
        have = len(runs[arch]["runs"])
        if target <= have:
            continue
        taken, seeds = set(used.get(arch) or []), []
        candidate = 0
        while len(seeds) < target - have:
            if candidate not in taken:
                seeds.append(candidate)
            candidate += 1
        hours = train_hours(runs[arch])
        proposals[arch] = {"have": have, "want": target, "hours": None if hours is None else hours * len(seeds)}
        proposals[arch]["seeds"] = seeds
    return proposals
