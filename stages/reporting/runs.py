"""The study as the report sees it: one record per architecture of params.yaml, holding
every run found (the main run and its `train.extra_seeds` runs), each with its metrics,
history and test-set predictions, all checked on loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.common import layout
from stages.common.layout import RunPaths
from stages.reporting.describe import UnknownLayer, describe
from stages.reporting.formatting import number
from stages.reporting.inputs import ReportError, load_confusion, load_history, load_metrics, rel, run_files
from stages.study_runs import extra_seeds, stage_name


def added_seeds(params: dict) -> dict[str, list[int]]:
    """The seeds the `seeds` section adds per architecture (a second look at the data)."""
    extra = set(params["train"].get("extra_seeds") or [])
    return {arch: [s for s in extra_seeds(params, arch) if s not in extra] for arch in params["architectures"]}


def _load_run(root: Path, arch: str, seed: int, extra: bool, params: dict) -> dict | None:
    """One run's files, or None for an extra seed not evaluated yet (its metrics file missing)."""
    files = run_files(root, arch, seed if extra else None)
    # the stage that writes the run's record (its upstream trains and evaluates the run when needed)
    stage = stage_name(params, "record", RunPaths(arch, seed if extra else None))
    if not files["metrics"].exists():
        if extra:
            return None
        raise ReportError(
            f"missing {rel(files['metrics'], root)}: architecture {arch!r} has not been "
            f"evaluated; run `dvc repro {stage}`"
        )
    metrics = load_metrics(files["metrics"], stage, root)
    if number(metrics.get("test_accuracy")) is None:
        if extra:
            return None
        raise ReportError(f"{rel(files['metrics'], root)} has no test_accuracy; rerun `dvc repro {stage}`")
    if not files["confusion"].exists():
        raise ReportError(
            f"missing {rel(files['confusion'], root)}: the predictions of {arch!r} (seed {seed}) "
            f"are needed for the paired tests and plots/study/predictions.csv; "
            f"run `dvc repro {stage}`"
        )
    actual, predicted = load_confusion(files["confusion"], stage, root)
    return {
        "name": layout.RunPaths(arch, seed if extra else None).name,
        "arch": arch,
        "seed": seed,
        "metrics": metrics,
        "history": load_history(files["history"], stage, root),
        "actual": actual,
        "predicted": predicted,
        "files": files,
        "stage": stage,
    }


def _last_val_accuracy(history: list[dict] | None):
    return history[-1].get("val_accuracy") if history else None


def check_same_test_images(first: dict, other: dict, root: Path | str | None = None) -> None:
    """ReportError unless two runs' predictions are on the same test images (same `actual`)."""
    a, b = first["actual"], other["actual"]
    if a.shape == b.shape and np.array_equal(a, b):
        return
    detail = f"{a.size} vs {b.size} rows" if a.size != b.size else f"{int((a != b).sum())} labels differ"
    raise ReportError(
        f"{rel(first['files']['confusion'], root)} and {rel(other['files']['confusion'], root)} are not on the "
        f"same test images (`actual` columns differ: {detail}); the paired tests and plots/study/predictions.csv "
        f"need every run evaluated on the same test set: rerun `dvc repro {first['stage']} {other['stage']}`"
    )


def load_runs(params: dict, root: Path | str = layout.ROOT, notebook: dict | None = None) -> dict[str, dict]:
    """One record per architecture of params.yaml, in its order:

    * "runs": {seed: run} for every run found, seeds in increasing order; a run is
      {"name", "arch", "seed", "metrics", "history", "actual", "predicted", "files", "stage"};
    * "metrics", "history", "confusion": the main run's (seed `train.seed`);
    * "seeds": {seed: test accuracy}; "last_val_accuracy": {seed: last epoch's or None};
    * "missing_seeds": extra seeds (`stages.study_runs.extra_seeds`) without metrics yet;
      "notebook"; "describe".

    Raises ReportError naming the first missing or bad file and the stage that makes it."""
    root = Path(root)
    main_seed = params["train"]["seed"]
    notebook = notebook or {}
    records, reference = {}, None
    for arch, spec in params["architectures"].items():
        try:
            description = describe(spec)
        except UnknownLayer as e:
            raise ReportError(f"params.yaml: architectures.{arch}: {e}") from None
        extra = extra_seeds(params, arch)
        found = {main_seed: _load_run(root, arch, main_seed, False, params)}
        found.update({seed: _load_run(root, arch, seed, True, params) for seed in extra})
        runs = {seed: run for seed, run in sorted(found.items()) if run is not None}
        for run in runs.values():
            reference = reference or run
            check_same_test_images(reference, run, root)
        main = runs[main_seed]
        records[arch] = {
            "id": arch,
            "runs": runs,
            "metrics": main["metrics"],
            "history": main["history"],
            "confusion": main["files"]["confusion"],
            "seeds": {seed: float(run["metrics"]["test_accuracy"]) for seed, run in runs.items()},
            "missing_seeds": [seed for seed in extra if found[seed] is None],
            "last_val_accuracy": {seed: _last_val_accuracy(run["history"]) for seed, run in runs.items()},
            "notebook": notebook.get(arch),
            "describe": description,
        }
    return records
