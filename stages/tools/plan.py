"""The price of deciding the report's undecided comparisons, from the runs git keeps.

    python -m stages.tools.plan            # print the price of each undecided pair and the plan
    python -m stages.tools.plan --write    # also put the proposed seeds in params.yaml's `seeds`

`make plan` prints it. For each undecided pair: the seeds per architecture that would decide it
with 80% probability (assumptions: `stages.statistics.price`), with the range that the seeds'
own uncertainty allows, and the training hours from the runs' measured `train_seconds`; or,
when the test images' own variance blocks it, the test images it would take. Then the plan:
per architecture, the most seeds any of its pairs needs, each architecture counted once.
`--write` adds those seeds to the `seeds` section (then `make dvc-sync` and `make run`); the
verdicts that use them are labelled exploratory (a second look at the data).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from stages.common import layout
from stages.common.atomic import write_text
from stages.reporting import tables
from stages.reporting.document import study_statistics
from stages.reporting.inputs import ReportError, load_notebook, load_params, notebook_file
from stages.reporting.runs import load_runs

SEEDS_LINE = re.compile(r"^seeds:[^\n]*(?:\n[ \t]+[^\n]*)*", re.MULTILINE)  # the entry and its indented lines


def price_table(results: list[dict]) -> tables.PrettyTable:
    """One row per undecided pair: seeds per architecture (their 80% range), hours, or images."""
    columns = ["A", "B", "A − B (points)", "Price"]
    rows = [
        [r["a"], r["b"], tables.points(float(r["estimate"].value)), tables.price_cell(r)] for r in results if r["price"]
    ]
    return tables.table(columns, rows, left=2)


def seeds_section(current: dict, proposals: dict) -> str:
    """The `seeds:` line: the current section with the proposed seeds added, one flow mapping."""
    merged = {arch: list(seeds) for arch, seeds in (current or {}).items()}
    for arch, proposal in proposals.items():
        merged[arch] = sorted(set(merged.get(arch, [])) | set(proposal["seeds"]))
    if not merged:
        return "seeds: {}"
    return "seeds: {" + ", ".join(f"{arch}: [{', '.join(map(str, seeds))}]" for arch, seeds in merged.items()) + "}"


def write_seeds(params_file: Path, text: str, line: str) -> None:
    """Replace the top-level `seeds:` entry of params.yaml's text (comments elsewhere kept)."""
    if not SEEDS_LINE.search(text):
        raise ReportError(f"{params_file.name}: no top-level `seeds:` entry to write into; add `seeds: {{}}`")
    write_text(params_file, SEEDS_LINE.sub(line, text, count=1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=layout.ROOT, help="project directory (default: this one)")
    parser.add_argument("--write", action="store_true", help="put the proposed seeds in params.yaml's `seeds`")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.root)
        runs = load_runs(params, args.root, load_notebook(notebook_file(args.root), args.root))
        study = study_statistics(params, runs)
    except ReportError as error:
        print(f"plan: error: {error}", file=sys.stderr)
        return 1
    undecided = [r for r in study["results"] if r["price"]]
    if not undecided:
        print("Every comparison is decided (or has one seed on a side): nothing to plan.")
        return 0
    level = study["undecided_level"]
    print(f"Undecided comparisons: the seeds per architecture that decide each with 80% probability at α = {level:.2g}")
    print(price_table(study["results"]).get_string())
    plan = study["plan"]
    if plan:
        total = sum(p["hours"] or 0 for p in plan.values())
        print(f"\nPlan, each architecture counted once: {total:.1f} hours of training")
        print(tables.plan_table(plan).get_string())
    if args.write:
        params_file = args.root / layout.PARAMS_FILE.name
        line = seeds_section(params.get("seeds") or {}, plan)
        try:
            write_seeds(params_file, params_file.read_text(), line)
        except ReportError as error:
            print(f"plan: error: {error}", file=sys.stderr)
            return 1
        print(f"\nWrote {line!r} into {params_file.name}: run `make dvc-sync`, then `make run`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
