"""Writing the report's outputs, each atomically (a kill leaves the old file or the new one),
and only once every one of them has been computed."""

from __future__ import annotations

import json
from pathlib import Path

from stages.common import layout
from stages.common.atomic import atomic_path, write_text
from stages.reporting import figures, study_files
from stages.reporting.inputs import at

STUDY_PLOTS = layout.PLOTS_DIR / "study"
FILES = {
    "summary": layout.SUMMARY_FILE,
    "comparison": layout.COMPARISON_FIGURE,
    "pareto": layout.PLOTS_DIR / "pareto.png",
    "runs": layout.METRICS_DIR / "runs.json",
    "study": layout.METRICS_DIR / "study.json",
    "comparisons": layout.METRICS_DIR / "comparisons.json",
    "history": STUDY_PLOTS / "history.csv",
    "predictions": STUDY_PLOTS / "predictions.csv",
    "errors": STUDY_PLOTS / "errors.csv",
}


def output_files(root: Path | str) -> dict[str, Path]:
    """Every output of the report stage under the project root `root`."""
    return {name: at(root, path) for name, path in FILES.items()}


def contents(report: dict, draw_figures: bool = True) -> dict[str, str | bytes]:
    """Every output's bytes or text, by FILES' names (the figures left out if not drawn)."""
    runs = report["runs"]
    data: dict[str, str | bytes] = {
        "summary": report["markdown"],
        "runs": json.dumps(study_files.runs_json(runs), indent=2) + "\n",  # as atomic.write_json
        "study": json.dumps(study_files.study_json(runs, report["study"]["archs"]), indent=2) + "\n",
        "comparisons": json.dumps(study_files.comparisons_json(report["results"]), indent=2) + "\n",
        "history": study_files.history_csv(runs),
        "predictions": study_files.predictions_csv(runs),
        "errors": study_files.errors_csv(runs),
    }
    if draw_figures:
        costs = {"flops": figures.cost_points(runs, "flops", scale=1e6), "params": figures.cost_points(runs, "params")}
        data["comparison"] = figures.comparison_figure(runs)
        data["pareto"] = figures.pareto_figure(costs)
    return data


def write(root: Path | str, data: dict[str, str | bytes]) -> dict[str, Path]:
    """Write `data` (contents()) under `root`; returns the paths written, in FILES' order."""
    paths = output_files(root)
    written = {}
    for name in FILES:
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, bytes):
            with atomic_path(paths[name]) as tmp:
                tmp.write_bytes(value)
        else:
            write_text(paths[name], value)
        written[name] = paths[name]
    return written
