"""The whole PR comment, from parsed DVC diffs and both revisions' predictions; runs nothing."""

from __future__ import annotations

from stages.review.architectures import arch_of, head_margin, review_architectures
from stages.review.params_section import DEFAULT_ALPHA, head_alpha, render_params
from stages.review.predictions import PATH as PREDICTIONS
from stages.review.predictions import Predictions, unpaired_reason
from stages.review.run_sections import (
    best_line,
    render_added,
    render_architectures,
    render_changed,
    render_removed,
    render_study,
    render_unchanged,
    render_untested,
)
from stages.review.runs import (
    ADDED,
    CHANGED,
    REMOVED,
    RUNS_FILE,
    STUDY_FILE,
    UNCHANGED,
    UNTESTED,
    adjust_holm,
    review_runs,
    sides,
)

NO_BASE_STUDY = "base has no study files yet"


def render(
    params_diff: dict,
    metrics_diff: dict,
    base: str,
    *,
    base_predictions: Predictions | None = None,
    head_predictions: Predictions | None = None,
    head: str | None = None,
    plots: str | None = None,
) -> str:
    """The Markdown comment: `dvc params diff --all --json`, `dvc metrics diff --all --json` and the
    two revisions' plots/study/predictions.csv (None where a revision has none)."""
    params_diff, metrics_diff = params_diff or {}, metrics_diff or {}
    alpha = head_alpha(params_diff)
    reviews = review_runs(metrics_diff, base_predictions, head_predictions)
    by = {s: [r for r in reviews if r.status == s] for s in (CHANGED, UNCHANGED, ADDED, REMOVED, UNTESTED)}
    base_has_study = base_predictions is not None or bool(sides(metrics_diff, RUNS_FILE)[0])
    n_images = len(head_predictions.actual) if head_predictions else 0

    parts = [f"## Model comparison: {f'`{head}`' if head else 'this branch'} vs `{base}`"]
    notes = _notes(base, base_has_study, head_predictions, reviews, alpha)
    if notes:
        parts.append("\n>\n".join(notes))
    parts.append(render_params(params_diff))
    alpha = DEFAULT_ALPHA if alpha is None else alpha
    margin = head_margin(params_diff)
    archs = review_architectures([r.name for r in by[CHANGED]], base_predictions, head_predictions, alpha, margin)
    if archs is None:
        parts.append("> **Note:** numpy/scipy not installed: every changed run is tested by McNemar, one by one.")
        archs = []
    if archs:
        parts.append(render_architectures(archs, alpha, margin))
    covered = {a.arch for a in archs}
    per_run = adjust_holm([r for r in by[CHANGED] if arch_of(r.name) not in covered])
    if per_run:
        parts.append(render_changed(per_run, alpha, n_images))
    elif base_has_study and reviews and not by[UNTESTED] and not by[CHANGED]:
        parts.append("### Runs\n\nNo run's predictions changed.")
    if by[UNTESTED]:
        unpaired = (
            unpaired_reason(base_predictions, head_predictions) if base_predictions and head_predictions else None
        )
        parts.append(render_untested(by[UNTESTED], unpaired))
    if by[ADDED]:
        parts.append(render_added(by[ADDED], base_has_study))
    if by[REMOVED]:
        parts.append(render_removed(by[REMOVED]))
    if by[UNCHANGED]:
        parts.append(render_unchanged(by[UNCHANGED], n_images))
    study = render_study(*sides(metrics_diff, STUDY_FILE))
    if study:
        parts.append(study)
    best = best_line(reviews)
    if best:
        parts.append(best)
    if plots:
        parts.append(f"### Plots\n\n![architecture comparison]({plots})")
    parts.append(
        f"<sub>`dvc params diff --all` and `dvc metrics diff --all` against `{base}` ({RUNS_FILE}, "
        f"{STUDY_FILE}); McNemar on both revisions' {PREDICTIONS}; Δ in percentage points of test "
        f"accuracy.</sub>"
    )
    return "\n\n".join(parts) + "\n"


def _notes(base: str, base_has_study: bool, head_predictions, reviews, alpha) -> list[str]:
    notes = []
    if not base_has_study:
        notes.append(
            f"> **Note:** {NO_BASE_STUDY} (`{base}` has no {RUNS_FILE} or {PREDICTIONS}): "
            "only the new values are shown."
        )
    if not any(r.new for r in reviews) and head_predictions is None:
        notes.append(
            "> **Note:** no study files in the new tree either: run `dvc repro` (or `dvc pull`) and commit them."
        )
    if alpha is None:
        notes.append(
            f"> **Note:** no `report.alpha` in the params of this branch: significance at α = {DEFAULT_ALPHA:g}."
        )
    return notes
