"""The comment's run sections: changed runs with their McNemar verdicts, runs that cannot be
tested, added and removed runs, the unchanged ones folded away, and the means over seeds."""

from __future__ import annotations

from stages.reporting.formatting import DASH, markdown_table, num, number, p_cell
from stages.review.cells import code, delta, details, percent
from stages.review.runs import RunReview

ACCURACY, LOSS, PARAMS, SECONDS = "test_accuracy", "test_loss", "params", "train_seconds"
MEAN = "mean"  # metrics/study.json's mean test accuracy over an architecture's runs
BEST_MARK = "🏆"
RIGHT = ["---:"]


def _delta(run: RunReview) -> str:
    return delta(run.old.get(ACCURACY), run.new.get(ACCURACY))


def _decisive_p(run: RunReview, n_changed: int) -> float:
    return run.p_holm if n_changed > 1 else run.p


def verdict(run: RunReview, alpha: float, n_changed: int) -> str:
    """Whether the change is more than test-set noise, in words."""
    if _decisive_p(run, n_changed) < alpha:
        return "**significant**: " + ("better" if run.fixed > run.broken else "worse")
    if run.fixed == run.broken:
        return "not significant (as many images fixed as broken)"
    return "not significant: within test-set noise"


def render_changed(changed: list[RunReview], alpha: float, n_images: int) -> str:
    k = len(changed)
    holm = k > 1
    header = ["Run", "Test acc (base)", "Test acc (new)", "Δ (pp)", "Fixed", "Broken", "McNemar p"]
    header += ["p (Holm)"] if holm else []
    rows = []
    for run in changed:
        row = [
            code(run.name),
            percent(run.old.get(ACCURACY)),
            percent(run.new.get(ACCURACY)),
            _delta(run),
            f"{run.fixed:,}",
            f"{run.broken:,}",
            p_cell(run.p),
        ]
        rows.append(row + ([p_cell(run.p_holm)] if holm else []) + [verdict(run, alpha, k)])
    body = markdown_table(header + ["Verdict"], rows, [":---"] + RIGHT * (len(header) - 1) + [":---"])
    how = (
        f"Exact McNemar test on the {n_images:,} test images both revisions predicted, at α = {alpha:g} "
        f"(`report.alpha`)"
        + (f", p adjusted by Holm over the {k} changed runs" if holm else "")
        + ". *Fixed*: images the base got wrong and this branch gets right; *broken*: the reverse."
    )
    return f"### Runs whose predictions changed\n\n{body}\n\n{how}\n\n{_conclusion(changed, alpha)}"


def _conclusion(changed: list[RunReview], alpha: float) -> str:
    k = len(changed)
    significant = [r for r in changed if _decisive_p(r, k) < alpha]
    if not significant:
        if k == 1:
            return f"**Not significant:** the change of `{changed[0].name}` is within test-set noise."
        return f"**None of the {k} changed runs differs significantly:** the changes are within test-set noise."
    listed = ", ".join(
        f"`{r.name}` ({'better' if r.fixed > r.broken else 'worse'}, p = {p_cell(_decisive_p(r, k))})"
        for r in significant
    )
    return f"**Significant at α = {alpha:g}:** {listed}" + (
        f"; {k - len(significant)} of {k} changed runs not." if len(significant) < k else "."
    )


def render_untested(untested: list[RunReview], unpaired: str | None) -> str:
    rows = [
        [code(r.name), percent(r.old.get(ACCURACY)), percent(r.new.get(ACCURACY)), _delta(r), r.why_untested]
        for r in untested
    ]
    body = markdown_table(
        ["Run", "Test acc (base)", "Test acc (new)", "Δ (pp)", "Why no test"], rows, [":---"] + RIGHT * 3 + [":---"]
    )
    note = ""
    if unpaired:
        note = (
            f"The test set differs between the revisions ({unpaired}): their predictions cannot be paired "
            "image by image, so there is no McNemar test.\n\n"
        )
    return f"### Runs not tested\n\n{note}{body}"


def _values_table(runs: list[RunReview], with_base_loss: bool) -> str:
    header = (
        ["Run", "Test acc"]
        + (["Test loss (base)"] if with_base_loss else [])
        + ["Test loss (new)", "Params", "Train s"]
    )
    rows = []
    for r in runs:
        row = [code(r.name), percent(r.new.get(ACCURACY))] + ([num(r.old.get(LOSS), 4)] if with_base_loss else [])
        rows.append(row + [num(r.new.get(LOSS), 4), num(r.new.get(PARAMS), 0), num(r.new.get(SECONDS), 1)])
    return markdown_table(header, rows, [":---"] + RIGHT * (len(header) - 1))


def render_added(added: list[RunReview], base_has_study: bool) -> str:
    title = "### Runs added" if base_has_study else "### Runs"
    return f"{title}\n\n{_values_table(added, with_base_loss=False)}"


def render_removed(removed: list[RunReview]) -> str:
    names = ", ".join(f"{code(r.name)} (base {percent(r.old.get(ACCURACY))})" for r in removed)
    return f"**Removed:** {names}."


def render_unchanged(unchanged: list[RunReview], n_images: int) -> str:
    summary = (
        f"{len(unchanged)} run{'s' if len(unchanged) > 1 else ''} with unchanged predictions "
        f"(the same class on all {n_images:,} test images)"
    )
    return details(summary, _values_table(unchanged, with_base_loss=True))


def _loss_or_inf(run: RunReview) -> float:
    loss = number(run.new.get(LOSS))
    return float("inf") if loss is None else loss


def best_line(runs: list[RunReview]) -> str | None:
    """The best main run of the head: highest test accuracy, lower loss breaking ties."""
    scored = [r for r in runs if not r.is_seed and number(r.new.get(ACCURACY)) is not None]
    if not scored:
        return None
    best = min(scored, key=lambda r: (-r.new[ACCURACY], _loss_or_inf(r), r.name))
    return f"**Best in this branch:** {BEST_MARK} `{best.name}` with {percent(best.new[ACCURACY])} test accuracy."


def render_study(old: dict[str, dict], new: dict[str, dict]) -> str | None:
    """Mean test accuracy over seeds per architecture (metrics/study.json), when some have several."""
    if not any(number(v.get("runs")) and v["runs"] > 1 for v in [*old.values(), *new.values()]):
        return None
    names = list(dict.fromkeys([*new, *old]))
    changed = [a for a in names if old.get(a) != new.get(a)]
    if not changed:
        return f"### Mean over seeds\n\nUnchanged for all {len(names)} architectures."
    rows = []
    for a in changed:
        o, n = old.get(a, {}), new.get(a, {})
        runs = (
            f"{o.get('runs', DASH)} → {n.get('runs', DASH)}"
            if o.get("runs") != n.get("runs")
            else str(n.get("runs", DASH))
        )
        rows.append(
            [
                code(a),
                percent(o.get(MEAN)),
                percent(n.get(MEAN)),
                delta(o.get(MEAN), n.get(MEAN)),
                percent(o.get("sd")),
                percent(n.get("sd")),
                runs,
            ]
        )
    body = markdown_table(
        ["Architecture", "Mean (base)", "Mean (new)", "Δ (pp)", "SD (base)", "SD (new)", "Runs"],
        rows,
        [":---"] + RIGHT * 6,
    )
    rest = len(names) - len(changed)
    return f"### Mean over seeds\n\n{body}" + (
        f"\n\n{rest} other architecture{'s' if rest > 1 else ''} unchanged." if rest else ""
    )


ARCH_VERDICTS = {
    "a_better": "**better** than the base",
    "b_better": "**worse** than the base",
    "equivalent": "**equivalent** to the base within ±{margin:.2f} points",
    "undecided": "undecided",
}


def render_architectures(reviews: list, alpha: float, margin: float) -> str:
    """The architectures tested over seeds and test images, branch against base."""
    rows = [
        [
            code(r.arch),
            f"{r.base_runs} → {r.head_runs}",
            percent(r.base_mean),
            percent(r.head_mean),
            delta(r.base_mean, r.head_mean),
            f"[{100 * r.ci_low:+.2f}, {100 * r.ci_high:+.2f}] ({100 * r.ci_level:.2f}%)",
            ARCH_VERDICTS[r.verdict].format(margin=margin),
        ]
        for r in reviews
    ]
    body = markdown_table(
        ["Architecture", "Seeds", "Mean (base)", "Mean (new)", "Δ (pp)", "Interval (level)", "Verdict"],
        rows,
        [":---"] + RIGHT * 5 + [":---"],
    )
    how = (
        "Both revisions have two or more seeds of these architectures: the study's test over seeds and test "
        f"images (the report's), Holm over the {len(reviews)} architecture(s), α = {alpha:g}, equivalence "
        f"margin ±{margin:.2f} points (`report.margin`). Their runs are not tested one by one below."
    )
    return f"### Architectures whose runs changed, over seeds and test images\n\n{body}\n\n{how}"
