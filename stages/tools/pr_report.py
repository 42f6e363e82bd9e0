"""Markdown body of a pull-request comment: what changed in the study against a base revision.

    python -m stages.tools.pr_report --base origin/main [--head REV] [--out report.md] [--plots IMAGE]

Params and metrics come from DVC itself (`dvc params diff --all` and `dvc metrics diff --all`
on metrics/runs.json and metrics/study.json); an architecture whose predictions changed and
that has two or more seeds on both sides gets the study's test over seeds and test images
(stages/statistics, the report's), every other changed run an exact McNemar test, on both
revisions' plots/study/predictions.csv, read from git (the working tree when --head is not
given). The review lives in stages/review/: standard library only, numpy and scipy imported
only for that test (without them: McNemar per run, and a note).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stages.review.comment import render
from stages.review.sources import ReportError, collect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.tools.pr_report", description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare against, e.g. origin/main")
    parser.add_argument("--head", help="git revision to report on (default: the working tree)")
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument("--plots", help="image (path or URL) to reference in the comment, e.g. plots/comparison.png")
    args = parser.parse_args(argv)

    try:
        inputs = collect(args.base, args.head)
        text = render(
            inputs.params_diff,
            inputs.metrics_diff,
            args.base,
            base_predictions=inputs.base_predictions,
            head_predictions=inputs.head_predictions,
            head=args.head,
            plots=args.plots,
        )
    except (ReportError, ValueError) as e:
        print(f"pr_report: error: {e}", file=sys.stderr)
        return 2
    if args.plots and "://" not in args.plots and not Path(args.plots).exists():
        print(f"pr_report: warning: {args.plots} does not exist (referenced anyway)", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
