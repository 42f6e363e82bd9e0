"""The README's study table, written from the committed results, never typed by hand.

    python -m stages.tools.readme_results           # rewrite the block in README.md
    python -m stages.tools.readme_results --check   # exit 1 if README.md's block is stale

It reads what git keeps: the study's `metrics/runs.json` (every honest-protocol run), its
`metrics/study.json` (the report's 95% interval over seeds and test images, and rank set), the
notebook's-protocol pipeline's run records (`notebook/metrics/record/<id>/metrics.json`: its
report needs all 12 runs, so its runs.json waits for the last one), `reference/notebook.yaml` and
both params.yaml files (which runs the study has). A run not finished yet is counted as missing, and a
figure that needs it is "—", so the table is true at every commit while the study trains.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from stages.common import layout, records
from stages.common.atomic import read_json, write_text
from stages.common.layout import CODE_ROOT, load_params
from stages.reporting.formatting import DASH, difference, interval, markdown_table, num, pct, points
from stages.statistics.classic import mean_ci
from stages.study_runs import study_runs

START, END = "<!-- study table -->", "<!-- /study table -->"
README = "README.md"
STUDY_RUNS = "metrics/runs.json"
STUDY_SUMMARY = "metrics/study.json"  # the report's interval and rank set per architecture
NOTEBOOK_PIPELINE = "notebook"  # the notebook's protocol: its own params.yaml and metrics/
NOTEBOOK_FIGURES = "reference/notebook.yaml"

COLUMNS = [
    "Architecture",
    "Parameters",
    "Runs",
    "Test acc, mean ± sd (%)",
    "95% interval, seeds and test images (%)",
    "Rank set",
    "Best epochs",
    "Training per run, mean (min)",
    "Notebook's protocol, ours, last epoch (%)",
    "Notebook, final (%)",
    "Notebook's protocol − notebook (points)",
]
ALIGN = [":--"] + ["--:"] * (len(COLUMNS) - 1)


def _report_json(path: Path) -> dict:
    """One of a report's JSON files (runs.json, study.json), or {} when the report has not run yet."""
    return read_json(path) if path.is_file() else {}


def _records(pipeline: Path, archs: list[str]) -> dict:
    """{id: its record's metrics.json} of each main run of `pipeline` whose record is committed."""
    files = {arch: records.record_files(pipeline, layout.RunPaths(arch))["metrics"] for arch in archs}
    return {arch: read_json(path) for arch, path in files.items() if path.is_file()}


def runs_by_arch(runs: dict, params: dict) -> tuple[dict[str, list[dict]], dict[str, list[str]]]:
    """runs.json's entries of each architecture, in `stages.study_runs` order (main seed first);
    {arch: [the names of its runs]} in the same order."""
    study = study_runs(params)
    names = {arch: [run.name for run in study if run.arch == arch] for arch in params["architectures"]}
    return {arch: [runs[name] for name in ns if name in runs] for arch, ns in names.items()}, names


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _rank_set(entry: dict) -> str:
    best, worst = entry.get("rank_best"), entry.get("rank_worst")
    return DASH if best is None else str(best) if best == worst else f"{best}–{worst}"


def _row(
    arch: str, runs: list[dict], expected: int, summary_entry: dict, notebook_run: dict | None, notebook: dict
) -> list[str]:
    accuracies = [run["test_accuracy"] for run in runs]
    summary = mean_ci(accuracies) if accuracies else None
    ours_last = (notebook_run or {}).get("last_val_accuracy")  # validation = the test set there
    theirs = notebook.get("final_test_accuracy")
    if summary is None:
        mean_sd = DASH
    elif summary["n"] == 1:
        mean_sd = pct(summary["mean"])
    else:
        mean_sd = f"{pct(summary['mean'])} ± {pct(summary['std'])}"
    seconds = [run["train_seconds"] for run in runs if "train_seconds" in run]
    params = runs[0]["params"] if runs else (notebook_run or {}).get("params")
    return [
        f"`{arch}`",
        num(params, 0),
        f"{len(runs)} of {expected}",
        mean_sd,
        interval(summary_entry.get("ci_low"), summary_entry.get("ci_high")),
        _rank_set(summary_entry),
        ", ".join(str(run["best_epoch"]) for run in runs) or DASH,
        num(sum(seconds) / len(seconds) / 60, 0) if seconds else DASH,
        pct(ours_last),
        pct(theirs),
        points(difference(ours_last, theirs)),
    ]


def render(root: Path = CODE_ROOT) -> str:
    """The block between START and END: the table and the training time (so far, while runs are missing)."""
    params = load_params(root / "params.yaml")
    archs = list(params["architectures"])
    study, names = runs_by_arch(_report_json(root / STUDY_RUNS), params)
    notebook_pipeline = root / NOTEBOOK_PIPELINE
    notebook_params = load_params(notebook_pipeline / "params.yaml")
    notebook_archs = list(notebook_params["architectures"])
    notebook_runs = _records(notebook_pipeline, notebook_archs)
    notebook = yaml.safe_load((root / NOTEBOOK_FIGURES).read_text()) or {}
    summaries = _report_json(root / STUDY_SUMMARY)
    rows = [
        _row(
            arch,
            study[arch],
            len(names[arch]),
            summaries.get(arch) or {},
            notebook_runs.get(arch),
            notebook.get(arch) or {},
        )
        for arch in archs
    ]

    done = sum(len(runs) for runs in study.values())
    study_seconds = sum(run.get("train_seconds", 0) for runs in study.values() for run in runs)
    notebook_done = [notebook_runs[arch] for arch in notebook_archs if arch in notebook_runs]
    notebook_seconds = sum(run.get("train_seconds", 0) for run in notebook_done)
    study_total = sum(map(len, names.values()))
    notebook_total = len(study_runs(notebook_params))
    so_far = "" if (done, len(notebook_done)) == (study_total, notebook_total) else " so far"
    totals = (
        f"Runs finished: **{done} of {study_total}** of the study (honest protocol) and "
        f"**{len(notebook_done)} of {notebook_total}** of the notebook's protocol. "
        f"Training time{so_far} (sum of `train_seconds`): {num(study_seconds, 0)} s "
        f"({_hours(study_seconds)}) for the study, {num(notebook_seconds, 0)} s ({_hours(notebook_seconds)}) "
        f"for the notebook's protocol."
    )
    return "\n".join([START, markdown_table(COLUMNS, rows, ALIGN), "", totals, END])


class MissingBlock(ValueError):
    """README.md has no START ... END block to rewrite."""


def replace_block(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise MissingBlock(f"{README}: no block between {START} and {END}")
    head, rest = text.split(START, 1)
    return head + block + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.tools.readme_results", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md's study table is stale")
    parser.add_argument("--root", type=Path, default=CODE_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    readme = args.root / README
    try:
        text = readme.read_text()
        updated = replace_block(text, render(args.root))
    except (MissingBlock, OSError, KeyError, ValueError, yaml.YAMLError) as e:
        print(f"readme_results: error: {e}", file=sys.stderr)
        return 2
    if args.check:
        if updated != text:
            print(f"readme_results: {README}'s study table is stale: run python -m stages.tools.readme_results")
            return 1
        return 0
    if updated != text:
        write_text(readme, updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
