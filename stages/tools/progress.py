"""Where is my study? For every run of params.yaml (each architecture, main seed and extra
seeds): done, training (epoch k of n, seconds per epoch so far) or waiting, and the time
the rest of the study will take at the measured speed.

    python -m stages.tools.progress            # or `make status`
    python -m stages.tools.progress --root DIR # another checkout

It reads only files, so it answers while `dvc repro` holds DVC's lock: each run's live
history and resume state (`.resume/<run>/state.json`, whose cumulative `seconds` time the
finished epochs), its train record and evaluation metrics, and dvc.lock against params.yaml
and the code: a run whose files exist but whose stages DVC would rerun is "stale", not
done (`stages.tools.run_state`, `stages.tools.stage_freshness`). Which runs a `dvc repro`
is running now is read from DVC's `.dvc/tmp/rwlock`, and from those of the experiment copies
under `.dvc/tmp/exps/` that `make run JOBS=N` trains in.

The time left: each architecture's seconds per epoch (its runs' total seconds over their
finished epochs: today's runs, else its stale records), the median of those for one never
measured, times the epochs each run has still to train, less what the epoch under way has
already run; divided by the number of runs training at once. Evaluations are not counted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stages.common import layout
from stages.tools.run_state import (
    DONE,
    EVALUATING,
    INTERRUPTED,
    TRAINED,
    TRAINING,
    RunStatus,
    experiment_copies,
    run_status,
    study_runs,
)
from stages.tools.stage_freshness import DvcFiles, FreshnessError, held_outputs

NOTE_WIDTH = 48  # the table stays within a 120-column terminal


# --------------------------------------------------------------------------- the estimate


@dataclass
class Estimate:
    seconds_left: float | None  # None: no epoch measured yet
    measured_epochs: int  # the epochs the speeds rest on
    stale_epochs: int  # of those, epochs timed before a change to params or code
    parallel: int  # runs training at once (the time left is divided by it)


@dataclass
class Speeds:
    per_arch: dict[str, float]  # seconds per epoch
    median: float | None  # of per_arch: for architectures not measured yet
    measured_epochs: int = 0
    stale_epochs: int = 0


def seconds_per_epoch(statuses: list[RunStatus]) -> Speeds:
    """Per architecture, total seconds over total epochs of its measured runs: today's runs
    if it has any, else its stale records (a run retrained for another learning rate takes
    as long as before); the median of those for architectures never measured."""
    measured = [s for s in statuses if s.seconds is not None and s.epochs_done > 0]
    speeds = Speeds({}, None)
    for arch in dict.fromkeys(s.arch for s in measured):
        runs = [s for s in measured if s.arch == arch and s.current] or [s for s in measured if s.arch == arch]
        epochs = sum(s.epochs_done for s in runs)
        speeds.per_arch[arch] = sum(s.seconds for s in runs) / epochs
        speeds.measured_epochs += epochs
        speeds.stale_epochs += 0 if runs[0].current else epochs
    speeds.median = statistics.median(speeds.per_arch.values()) if speeds.per_arch else None
    return speeds


def run_seconds_left(status: RunStatus, rate: float) -> float:
    if status.state in (DONE, TRAINED, EVALUATING):
        return 0.0
    if status.state == TRAINING:  # the epoch under way has run since the last write
        remaining = max(status.epochs - status.epochs_done, 0)
        return max(rate - status.since_write, 0.0) + rate * max(remaining - 1, 0) if remaining else 0.0
    if status.state == INTERRUPTED:
        return rate * max(status.epochs - status.epochs_done, 0)
    return rate * status.epochs  # waiting or stale: every epoch again


def estimate(statuses: list[RunStatus]) -> tuple[Estimate, dict[str, float | None]]:
    """The study's time left (evaluations not counted: seconds each), and each run's."""
    speeds = seconds_per_epoch(statuses)
    per_run: dict[str, float | None] = {}
    for s in statuses:
        rate = speeds.per_arch.get(s.arch, speeds.median)
        per_run[s.run] = None if rate is None else run_seconds_left(s, rate)
    parallel = max(1, sum(s.state == TRAINING for s in statuses))
    total = None if speeds.median is None else sum(per_run.values()) / parallel
    return Estimate(total, speeds.measured_epochs, speeds.stale_epochs, parallel), per_run


# --------------------------------------------------------------------------- output


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def clock(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def render(statuses: list[RunStatus], study: Estimate, per_run: dict[str, float | None]) -> str:
    from prettytable import PrettyTable

    table = PrettyTable(["run", "status", "epoch", "s/epoch", "left h:mm", "note"], align="l")
    for s in statuses:
        if s.state == TRAINING:
            epoch = f"{min(s.epochs_done + 1, s.epochs)} of {s.epochs}"
        else:
            epoch = f"{s.epochs_done}/{s.epochs}" if s.epochs_done else ""
        rate = f"{s.seconds / s.epochs_done:.1f}" if s.seconds is not None and s.epochs_done else ""
        left = clock(per_run[s.run]) if per_run[s.run] else ""
        note = s.note if len(s.note) <= NOTE_WIDTH else s.note[: NOTE_WIDTH - 3] + "..."
        table.add_row([s.run, s.state, epoch, rate, left, note])
    done = sum(s.state == DONE for s in statuses)
    training = sum(s.state == TRAINING for s in statuses)
    basis = f"from {study.measured_epochs} measured epoch{'' if study.measured_epochs == 1 else 's'}"
    if study.stale_epochs:
        basis += f", {study.stale_epochs} timed before a change"
    if study.parallel > 1:
        basis += f", {study.parallel} runs at a time"
    if study.seconds_left is None:
        left = "time left unknown (no epoch measured yet)"
    else:
        left = f"time left ≈ {duration(study.seconds_left)} ({basis})"
    return f"{table}\n{done} of {len(statuses)} runs done, {training} training, {left}"


def study_status(root: Path | str = layout.ROOT, now: float | None = None) -> str:
    dvc = DvcFiles(root)
    held = held_outputs(root)
    copies = {copy: held_outputs(copy) for copy in experiment_copies(dvc.root)}
    now = time.time() if now is None else now
    runs, epochs = study_runs(dvc.params)
    statuses = [run_status(p, epochs, dvc, held, now, copies) for p in runs]
    return render(statuses, *estimate(statuses))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=layout.ROOT, help="the project's folder (default: this one)")
    args = parser.parse_args(argv)
    try:
        print(study_status(args.root))
    except (FreshnessError, OSError, KeyError, TypeError, ValueError) as error:
        print(f"progress: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
