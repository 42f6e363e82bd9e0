"""The `report` stage: the study's comparison tables, conclusions and figures, and the
study-level files git keeps, all generated from the runs' metrics.

    python -m stages.report [--root DIR]

Reads, for every architecture of params.yaml, the records git keeps of its main run
(`metrics/record/<id>/`: `metrics.json`, `confusion.csv`, `history.csv`, copied there by the
`record@<id>` stage) and of its `train.extra_seeds` runs when present
(`metrics/record/<id>-seed<n>/`), and the notebook's own figures
(`reference/notebook.yaml`), then writes `metrics/summary.md`, `plots/comparison.png`,
`plots/pareto.png`, `metrics/runs.json`, `metrics/study.json` and `plots/study/*.csv`
(see `stages.reporting.outputs`), and prints the summary's tables. Nothing is written
unless every input is readable. No Keras or TensorFlow: plain dicts and numpy arrays.

The library is `stages.reporting`: inputs and runs (loading, checked), describe,
significance and stats (the tests), tables, conclusions and reproduction (the text),
document (the summary's blocks), figures, study_files and outputs (writing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stages.common import layout
from stages.reporting import outputs, tables
from stages.reporting.document import build
from stages.reporting.inputs import ReportError, load_params, rel


def run(root: Path | str = layout.ROOT, params: dict | None = None, draw_figures: bool = True) -> dict:
    """Build the report from the project at `root` (its params.yaml unless `params` is given),
    then write every output under `root` (nothing on any error). Returns build()'s result plus
    "markdown", "terminal" and "outputs" (name -> path written)."""
    root = Path(root)
    report = build(load_params(root) if params is None else params, root)
    report["markdown"] = tables.render(report["blocks"], markdown=True)
    report["terminal"] = tables.render(report["blocks"], markdown=False)
    report["outputs"] = outputs.write(root, outputs.contents(report, draw_figures))
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--root",
        type=Path,
        default=layout.ROOT,
        help="project directory holding params.yaml, metrics/ and plots/ (default: this project)",
    )
    args = parser.parse_args(argv)
    try:
        report = run(args.root)
    except ReportError as e:
        print(f"report: error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    print(report["terminal"], end="")
    print("Wrote " + ", ".join(rel(p, args.root) for p in report["outputs"].values()))


if __name__ == "__main__":
    main()
