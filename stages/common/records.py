"""What git keeps of every run: the small files the report is computed from (test metrics,
per-epoch history, test-set predictions) and the training record (timing, best epoch, and the
numerics it ran on), copied by the run's `record` stage into `metrics/record/<run>/` as
uncached outputs.

The run's own files stay DVC-cached, so that the run-cache can restore a trained stage on any
machine it was pushed from. Their copies here are what a clone of main has without a DVC
remote: enough to rerun the report (`dvc repro --allow-missing report`), check every figure
the README quotes, and diff them in a pull request, while the weights stay DVC's.
"""

from __future__ import annotations

from pathlib import Path

from stages.common import layout

RECORD_DIRNAME = "record"
# record file name -> the run's own file it copies (a layout.RunPaths property)
RECORD_FILES = {
    "metrics.json": "metrics",
    "history.csv": "history",
    "confusion.csv": "confusion",
    "train.json": "train_info",
}


def record_dir(root: Path | str, run: layout.RunPaths) -> Path:
    """`metrics/record/<run name>/` of the pipeline at `root` (main and extra seeds alike)."""
    return Path(root) / layout.METRICS_DIR.relative_to(layout.ROOT) / RECORD_DIRNAME / run.name


def record_files(root: Path | str, run: layout.RunPaths) -> dict[str, Path]:
    """{"metrics" | "history" | "confusion" | "train_info": the run's record file under `root`}."""
    folder = record_dir(root, run)
    return {kind: folder / name for name, kind in RECORD_FILES.items()}


def sources(run: layout.RunPaths) -> dict[str, str]:
    """{record file name: the run's own file it copies}, relative to the pipeline's folder."""
    return {name: getattr(run, kind).relative_to(layout.ROOT).as_posix() for name, kind in RECORD_FILES.items()}


def copy_command(run: layout.RunPaths) -> str:
    """The record stage's shell command, in paths relative to its pipeline's folder: plain
    copies, so a record is byte for byte the run's own files."""
    folder = record_dir("", run).as_posix()
    copies = [f"cp {source} {folder}/{name}" for name, source in sources(run).items()]
    return " && ".join([f"mkdir -p {folder}", *copies])
