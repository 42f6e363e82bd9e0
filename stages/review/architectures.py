"""The PR report's test per architecture: when both revisions have two or more seeds of an
architecture whose predictions changed, the branch's runs against the base's with the study's
test over seeds and test images (`stages.statistics`, the report's own), Holm over those
architectures; McNemar per run covers the rest (`stages.review.runs`).

numpy and scipy are imported only here and only when needed: without them (a PR job that
installs DVC alone) the review says so and falls back to McNemar per run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.review.predictions import Predictions

SEED_RUN = re.compile(r"(?P<arch>.+)-seed\d+")
DEFAULT_MARGIN = 0.1  # accuracy points, as the report's default


def head_margin(params_diff: dict, file: str = "params.yaml") -> float:
    """report.margin of the head side, in accuracy points (the default when it has none)."""
    entry = (params_diff.get(file) or {}).get("report.margin") or {}
    value = entry.get("new")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 100:
        return DEFAULT_MARGIN
    return float(value)


def arch_of(run: str) -> str:
    match = SEED_RUN.fullmatch(run)
    return match["arch"] if match else run


@dataclass
class ArchReview:
    arch: str
    base_runs: int
    head_runs: int
    base_mean: float
    head_mean: float
    difference: float  # head − base, a fraction
    ci_low: float
    ci_high: float
    ci_level: float
    verdict: str  # a_better (the branch), b_better (the base), equivalent, undecided


def _matrix(predictions: Predictions, runs: list[str]):
    import numpy as np

    actual = np.asarray(predictions.actual)
    return np.stack([np.asarray(predictions.runs[r]) == actual for r in runs])


def review_architectures(
    changed: list[str], base: Predictions | None, head: Predictions | None, alpha: float, margin: float
) -> list[ArchReview] | None:
    """One review per architecture with a changed run and 2+ runs on both sides; None when numpy
    or scipy is missing (the caller notes it)."""
    if base is None or head is None:
        return []
    archs = list(dict.fromkeys(arch_of(name) for name in changed))
    sides = {}
    for arch in archs:
        base_runs = [r for r in base.runs if arch_of(r) == arch]
        head_runs = [r for r in head.runs if arch_of(r) == arch]
        if len(base_runs) >= 2 and len(head_runs) >= 2:
            sides[arch] = (base_runs, head_runs)
    if not sides:
        return []
    try:
        from stages.statistics import decisions
        from stages.statistics import seeds_images as si
    except ImportError:
        return None
    estimates = {
        arch: si.difference(_matrix(head, head_runs), _matrix(base, base_runs))
        for arch, (base_runs, head_runs) in sides.items()
    }
    verdicts = decisions.decide(list(estimates.values()), alpha, margin / 100)
    reviews = []
    for (arch, (base_runs, head_runs)), estimate, decision in zip(
        sides.items(), estimates.values(), verdicts, strict=True
    ):
        head_mean = float(_matrix(head, head_runs).mean())
        reviews.append(
            ArchReview(
                arch,
                len(base_runs),
                len(head_runs),
                head_mean - float(estimate.value),
                head_mean,
                float(estimate.value),
                decision["ci_low"],
                decision["ci_high"],
                decision["ci_level"],
                decision["verdict"],
            )
        )
    return reviews
