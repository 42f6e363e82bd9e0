"""Where is my study? Every run of params.yaml (`stages.study_runs`): done, training (epoch k of n,
seconds per epoch), waiting or stale, and the time the rest will take.

    python -m stages.tools.progress [--root notebook]   # `make status`: both pipelines

Staleness is DVC's word: `dvc status --json` on the pipeline's dvc.yaml. While a `dvc repro` writes the
pipeline's outputs DVC answers no status, and the table says "stale: unknown while a repro runs" rather
than guessing. Progress is the runs' own files: the train record `metrics/train/<run>.json` (or its
committed copy under `metrics/record/`), the live history `plots/<run>/history.csv` (a row per finished
epoch) and the resume state `.resume/<run>/state.json` (the seconds of those epochs). The runs of `make
run JOBS=N` are DVC experiments: `dvc exp show --json` lists them, queued or running, and where each
running one works; the same files are read there. Time left: each architecture's seconds per epoch (its
measured runs; the median of those for one never measured) times the epochs each run has still to
train, over the number of runs training at once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stages.common import layout, records
from stages.study_runs import stage_name, study_runs
from stages.tools.workers import WorkersError, run_of_experiment, shown_experiments

RECENT = 600  # seconds: an unfinished run written to since then (or 3 epochs, if longer) is training
UNKNOWN = "stale: unknown while a repro runs"
MISSING = ("deleted", "not in cache")  # a file not on this machine: `dvc pull` brings it, nothing reruns


@dataclass
class Run:
    paths: layout.RunPaths
    state: str = "waiting"
    done: int = 0  # finished epochs
    seconds: float | None = None  # their wall seconds
    age: float | None = None  # seconds since an unfinished run last wrote; None: finished or never begun
    note: str = ""
    left: float = 0.0  # seconds


def _json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError) as error:  # (a file DVC deletes as we read it: run again)
        raise SystemExit(f"progress: {path}: not readable JSON ({error})") from None


def read_run(run: Run, folder: Path, now: float) -> None:
    """The run's epochs and seconds from its files under `folder` (a pipeline, or its copy in
    an experiment's workspace): finished, unfinished (history or resume state), or only recorded."""
    at = lambda path: folder / path.relative_to(layout.ROOT)  # noqa: E731
    history, resume_file = at(run.paths.history), at(run.paths.resume) / "state.json"
    record = _json(at(run.paths.train_info))
    if record is None and (history.exists() or resume_file.exists()):
        resume = _json(resume_file) or {}
        run.done = len(resume.get("history") or []) or max(len(history.read_text().splitlines()) - 1, 0)
        run.seconds = resume.get("seconds")
        run.age = max(now - max(p.stat().st_mtime for p in (history, resume_file) if p.exists()), 0.0)
        return
    if record is None and (record := _json(records.record_files(folder, run.paths)["train_info"])):
        run.note = "only its record here (dvc pull for the rest)"
    run.done, run.seconds = int((record or {}).get("epochs", 0)), (record or {}).get("train_seconds")


def changes(entries: list) -> list[str]:
    """What `dvc status --json` says changed in one stage, files missing here left out."""
    found = []
    for entry in entries:
        if isinstance(entry, str):  # "changed command", "always changed"
            found.append(entry)
            continue
        for kind, files in entry.items():
            for path, what in files.items():
                if isinstance(what, dict):  # a params file: {key: modified | new | deleted}
                    found += [f"param {key} {how}" for key, how in what.items()]
                elif what not in MISSING:
                    found.append(f"{kind.split()[-1][:-1]} {path} {what}")
    return found


def dvc_json(folder: Path, *args: str):
    """A DVC command's JSON output, or its first error line as a str."""
    result = subprocess.run(["dvc", *args], cwd=folder, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode == 0:
        return json.loads(result.stdout or "null")
    return next((line for line in result.stderr.splitlines() if line.strip()), f"exit {result.returncode}")


def experiments(folder: Path, runs: list[Run]) -> dict[str, tuple[str, str, Path | None]]:
    """{run name: (experiment, its state, the folder it runs in)} of `make run JOBS=N`'s experiments."""
    try:
        shown = shown_experiments(folder, waits=(1, 2))
    except WorkersError:  # DVC answers no list now: the runs show their own files' state
        shown = []
    folder = folder.resolve()
    top = next((p for p in (folder, *folder.parents) if (p / ".dvc").is_dir()), folder)
    pipeline, found = folder.relative_to(top), {}  # the notebook's pipeline is a subfolder of its copy
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            executor, run = exp.get("executor") or {}, run_of_experiment(exp.get("name") or "", runs)
            root = (executor.get("local") or {}).get("root")
            if run is not None:
                found[run.paths.name] = (exp["name"], executor.get("state"), root and Path(root) / pipeline)
    return found


def classify(run: Run, status: dict | str, exp: tuple | None, now: float, params: dict) -> None:
    """The run's state: its experiment's, else its files' (training or interrupted), else DVC's."""
    rate = (run.seconds or 0) / max(run.done, 1)
    if exp and exp[1] == "running" and exp[2]:
        run.done, run.seconds, run.age = 0, None, None  # the workspace's files are not this run's
        read_run(run, exp[2], now)
        run.state = "training" if run.age is not None else "evaluating" if run.seconds is not None else "waiting"
        run.note = f"in experiment {exp[0]}"
    elif run.age is not None and run.age < max(RECENT, 3 * rate):
        run.state = "training"
    elif exp and exp[1] in ("queued", "success", "failed"):
        run.state = "done" if exp[1] == "success" else "waiting"
        run.note = {"success": "trained, restored at the end"}.get(exp[1], exp[1]) + f" (experiment {exp[0]})"
    elif run.age is not None:
        run.note = f"interrupted: resumes after epoch {run.done}" if run.seconds is not None else "interrupted"
    elif run.seconds is not None:  # finished: DVC says whether it is today's
        if isinstance(status, str):
            run.state, run.note = "done", UNKNOWN
        else:
            train, evaluate = (
                changes(status.get(stage_name(params, kind, run.paths), [])) for kind in ("train", "evaluate")
            )
            run.state = "stale" if train else "waiting" if evaluate else "done"
            run.note = "; ".join(train) or ("to evaluate: " + "; ".join(evaluate) if evaluate else "")


def time_left(runs: list[Run], epochs: int) -> tuple[float | None, int]:
    """Each run's seconds left (`run.left`); the study's, and how many runs train at once."""
    measured, rates = [r for r in runs if r.seconds and r.done], {}
    for arch in {r.paths.arch for r in measured}:
        mine = [r for r in measured if r.paths.arch == arch]
        rates[arch] = sum(r.seconds for r in mine) / sum(r.done for r in mine)
    median = statistics.median(rates.values()) if rates else None
    for run in runs:
        rate = rates.get(run.paths.arch, median) or 0.0
        if run.state in ("done", "evaluating"):
            run.left = 0.0
        elif run.state == "training":  # the epoch under way has run since the last write
            run.left = max(rate - (run.age or 0), 0.0) + rate * max(epochs - run.done - 1, 0)
        else:  # waiting or stale: from its resume state's last epoch, if it has one, else from the start
            run.left = rate * (epochs - (run.done if run.age is not None and run.seconds is not None else 0))
    parallel = max(1, sum(r.state == "training" for r in runs))
    return (None if median is None else sum(r.left for r in runs) / parallel), parallel


def hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def status(folder: Path, now: float | None = None) -> str:
    from prettytable import PrettyTable

    now = time.time() if now is None else now
    params = layout.load_params(folder / "params.yaml")
    epochs, runs = params["train"]["epochs"], [Run(paths) for paths in study_runs(params)]
    dvc, exps = dvc_json(folder, "status", "--json", "dvc.yaml"), experiments(folder, runs)
    for run in runs:
        read_run(run, folder, now)
        classify(run, dvc, exps.get(run.paths.name), now, params)
    total, parallel = time_left(runs, epochs)
    table = PrettyTable(["run", "status", "epoch", "s/epoch", "left h:mm", "note"], align="l")
    for r in runs:
        epoch = f"{r.done + 1} of {epochs}" if r.state == "training" else f"{r.done}/{epochs}" if r.done else ""
        rate = f"{r.seconds / r.done:.1f}" if r.seconds and r.done else ""
        table.add_row([r.paths.name, r.state, epoch, rate, hours(r.left) if r.left else "", r.note[:60]])
    counts = ", ".join(f"{sum(r.state == s for r in runs)} {s}" for s in ("done", "training", "stale"))
    left = "unknown" if total is None else f"≈ {hours(total)} h:mm" + f" ({parallel} at a time)" * (parallel > 1)
    unknown = f"\n{UNKNOWN} (dvc status: {dvc})" if isinstance(dvc, str) else ""
    return f"{table}\n{counts} of {len(runs)} runs; time left {left}{unknown}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("."), help="the pipeline's folder (default: here)")
    root = parser.parse_args(argv).root
    try:
        print(status(root))
    except (KeyError, TypeError, ValueError, OSError) as error:  # params.yaml or a run's file not as written
        sys.exit(f"progress: {root.resolve()}: {type(error).__name__}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
