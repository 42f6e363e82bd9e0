"""Each run's review: its metrics on both sides (metrics/runs.json) and, when its predictions
changed, McNemar's test of base against head on the same test images."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stages.review.predictions import Predictions, unpaired_reason
from stages.statistics.mcnemar import discordant, holm, mcnemar_p

RUNS_FILE = "metrics/runs.json"
STUDY_FILE = "metrics/study.json"
CHANGED, UNCHANGED, ADDED, REMOVED, UNTESTED = "changed", "unchanged", "added", "removed", "untested"


@dataclass
class RunReview:
    name: str
    status: str  # one of CHANGED, UNCHANGED, ADDED, REMOVED, UNTESTED
    old: dict = field(default_factory=dict)  # metrics in the base, {} when none
    new: dict = field(default_factory=dict)
    broken: int | None = None  # b: images the base got right and the head gets wrong
    fixed: int | None = None  # c: the reverse
    p: float | None = None  # exact McNemar
    p_holm: float | None = None  # adjusted over every changed run
    why_untested: str | None = None

    @property
    def is_seed(self) -> bool:
        return re.fullmatch(r".+-seed\d+", self.name) is not None


def sides(metrics_diff: dict, file: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """(base, head) of one metrics file of `dvc metrics diff --json --all`, {name: {metric: value}}.

    DVC flattens {"conv2_k3": {"test_accuracy": x}} to "conv2_k3.test_accuracy"; metric names
    have no dot, so the name is everything before the last one.
    """
    old: dict[str, dict] = {}
    new: dict[str, dict] = {}
    for key, entry in (metrics_diff.get(file) or {}).items():
        name, _, metric = key.rpartition(".")
        for side, value in ((old, (entry or {}).get("old")), (new, (entry or {}).get("new"))):
            if value is not None:
                side.setdefault(name, {})[metric] = value
    return old, new


def _names(*sources) -> list[str]:
    """Every name of the sources, in the order first seen (the head's predictions come first)."""
    seen: dict[str, None] = {}
    for source in sources:
        seen.update(dict.fromkeys(source))
    return list(seen)


def _review(
    name: str, old: dict, new: dict, base: Predictions | None, head: Predictions | None, unpaired: str | None
) -> RunReview:
    review = RunReview(name, CHANGED, old.get(name, {}), new.get(name, {}))
    base_runs, head_runs = (base.runs if base else {}), (head.runs if head else {})
    if name not in base_runs and name not in old:
        review.status = ADDED
    elif name not in head_runs and name not in new:
        review.status = REMOVED
    elif unpaired:
        review.status, review.why_untested = UNTESTED, "different test set"
    elif name not in base_runs:
        review.status, review.why_untested = UNTESTED, "no predictions in the base"
    elif name not in head_runs:
        review.status, review.why_untested = UNTESTED, "no predictions in this branch"
    elif base_runs[name] == head_runs[name]:
        review.status = UNCHANGED
    else:
        review.broken, review.fixed = discordant(head.actual, base_runs[name], head_runs[name])
        review.p = mcnemar_p(review.broken, review.fixed)
    return review


def review_runs(metrics_diff: dict, base: Predictions | None, head: Predictions | None) -> list[RunReview]:
    """Every run of either side, the head's predictions order first; Holm over the changed ones."""
    old, new = sides(metrics_diff or {}, RUNS_FILE)
    unpaired = unpaired_reason(base, head) if base and head else None
    names = _names(head.runs if head else {}, new, base.runs if base else {}, old)
    reviews = [_review(name, old, new, base, head, unpaired) for name in names]
    adjust_holm([r for r in reviews if r.status == CHANGED])
    return reviews


def adjust_holm(changed: list[RunReview]) -> list[RunReview]:
    """Holm over the given changed runs (the family McNemar tests one by one), in place."""
    for review, adjusted in zip(changed, holm([r.p for r in changed]), strict=True):
        review.p_holm = adjusted
    return changed
