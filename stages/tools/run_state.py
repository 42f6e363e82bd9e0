"""One run's state, read from its files: done, training (how many epochs, how fast),
evaluating, trained, interrupted, stale or waiting.

A run's files: the train record `metrics/train/<run>.json` (written once training ends),
the live history `plots/<run>/history.csv` and resume state `.resume/<run>/state.json`
(rewritten after every epoch; its cumulative `seconds` time the finished epochs; deleted
when the run completes), the evaluation metrics `metrics/<run>.json`, and the run's record
in git (`metrics/record/<run>/`), which is all a clone has of a run finished elsewhere.
Whether they are today's is dvc.lock's word (`stages.tools.stage_freshness`); which run a
`dvc repro` is running now, its rwlock's.
"""

from __future__ import annotations

import contextlib
import csv
import json
from dataclasses import dataclass
from pathlib import Path

from stages.common import layout
from stages.common.records import record_files
from stages.tools.stage_freshness import DvcFiles, FreshnessError

# With no DVC command holding its outputs (a run started by hand), an unfinished run written
# to this recently (seconds, or 3 epochs at its speed if longer) counts as training.
RECENT_SECONDS = 600

DONE, TRAINING, EVALUATING, TRAINED = "done", "training", "evaluating", "trained"
INTERRUPTED, STALE, WAITING = "interrupted", "stale (will retrain)", "waiting"


@dataclass
class RunStatus:
    run: str
    arch: str
    state: str
    epochs: int  # the study's train.epochs
    epochs_done: int = 0  # finished epochs of this run's current (or last) training
    seconds: float | None = None  # wall seconds of those epochs, when measured
    current: bool = True  # measured with today's params and code (not a stale record)
    unfinished: bool = False  # its training began and has not finished
    since_write: float = 0.0  # seconds since its last epoch ended (unfinished runs)
    note: str = ""


def study_runs(params: dict) -> tuple[list[layout.RunPaths], int]:
    """Every run, in params order, main run first, then extra seeds; and train.epochs."""
    try:
        archs, train = list(params["architectures"]), params["train"]
        extra_seeds, epochs = train.get("extra_seeds") or [], train["epochs"]
    except (KeyError, TypeError, AttributeError) as error:
        raise FreshnessError(f"params.yaml: needs `architectures` and `train.epochs` ({error!r})") from None
    if not isinstance(epochs, int) or epochs < 1:
        raise FreshnessError(f"params.yaml: train.epochs must be a positive integer, got {epochs!r}")
    return [layout.RunPaths(a, s) for a in archs for s in (None, *extra_seeds)], epochs


def _at(root: Path, path: Path) -> Path:
    """A layout path moved from the project's root to `root`."""
    return root / path.relative_to(layout.ROOT)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, OSError) as error:
        raise FreshnessError(f"{path}: not readable JSON ({error})") from None


def _history_rows(path: Path) -> int | None:
    try:
        with open(path) as f:
            return sum(1 for _ in csv.DictReader(f))
    except FileNotFoundError:
        return None


def _age(now: float, *files: Path) -> float:
    """Seconds since the newest of `files` was written (DVC may delete them as we look)."""
    times = []
    for file in files:
        with contextlib.suppress(FileNotFoundError):
            times.append(file.stat().st_mtime)
    return max(0.0, now - max(times)) if times else 0.0


def _field(data: dict, key: str, path: Path):
    try:
        return data[key]
    except (KeyError, TypeError):
        raise FreshnessError(f"{path}: no {key!r}") from None


def resume_changes(fingerprint: dict | None, params: dict, root: Path) -> list[str]:
    """What differs from the resume state's fingerprint (`stages.train.resume_fingerprint`):
    a run interrupted under other params or code restarts instead of resuming. Data digests
    are not checked (hashing the training set would be slow)."""
    if not isinstance(fingerprint, dict):
        return []
    changed = [
        key
        for key in ("train", "model", "numerics")
        if key in fingerprint and json.loads(json.dumps(params.get(key))) != fingerprint[key]
    ]
    code = fingerprint.get("code") or {}
    if any(not (root / f).is_file() or layout.file_digest(root / f) != digest for f, digest in code.items()):
        changed.append("code")
    return changed


def _restart_note(resume: dict | None, epochs_done: int, root: Path) -> str:
    if resume is None:
        return "restarts (no epoch finished)"
    params = layout.load_params(root / "params.yaml")  # PyYAML, as stages.train reads it
    changed = resume_changes(resume.get("fingerprint"), params, root)
    return f"restarts: {', '.join(changed)} changed" if changed else f"resumes after epoch {epochs_done}"


def _measure(status: RunStatus, root: Path, paths: layout.RunPaths, now: float) -> dict | None:
    """Fill in the run's finished epochs and their seconds; return its resume state."""
    record_file, history_file = _at(root, paths.train_info), _at(root, paths.history)
    resume_file = _at(root, paths.resume) / "state.json"
    record, resume = _read_json(record_file), _read_json(resume_file)
    if record is None and resume is None:  # finished elsewhere: its record's copy, if in git
        record_file = record_files(root, paths)["train_info"]
        record = _read_json(record_file)
    if record is not None:  # written after the last epoch; the resume state is cleared after it
        status.epochs_done = int(_field(record, "epochs", record_file))
        status.seconds = float(_field(record, "train_seconds", record_file))
        return None
    if resume is not None:
        status.epochs_done = len(_field(resume, "history", resume_file))
        status.seconds = float(_field(resume, "seconds", resume_file))
    else:
        rows = _history_rows(history_file)  # epoch 1 under way: the history has its header only
        if rows is None:
            return None
        status.epochs_done = rows
    status.unfinished, status.since_write = True, _age(now, resume_file, history_file)
    return resume


def experiment_copies(root: Path) -> list[Path]:
    """The copies of the repository that queued or `--temp` experiments run in (`make run
    JOBS=N` trains in them): `.dvc/tmp/exps/tmp*/`, deleted when their experiment ends."""
    return sorted(p for p in (root / ".dvc" / "tmp" / "exps").glob("tmp*") if (p / "dvc.yaml").is_file())


def running_in_copy(
    paths: layout.RunPaths, epochs: int, copies: dict[Path, dict[Path, bool]], now: float
) -> RunStatus | None:
    """The run's state in the experiment copy whose DVC is training or evaluating it, if any."""
    for copy, held in copies.items():
        for state, output in ((TRAINING, paths.history), (EVALUATING, paths.metrics)):
            if held.get(_at(copy, output).resolve()):
                status = RunStatus(paths.name, paths.arch, state, epochs, note=f"in experiment copy {copy.name}")
                _measure(status, copy, paths, now)
                return status
    return None


def run_status(
    paths: layout.RunPaths,
    epochs: int,
    dvc: DvcFiles,
    held: dict[Path, bool],
    now: float,
    copies: dict[Path, dict[Path, bool]] | None = None,
) -> RunStatus:
    """One run's state: what DVC is running (its rwlock, `held`, and those of the experiment
    `copies`) first, then what dvc.lock vouches for, then what the run's files say."""
    root = dvc.root
    group = "" if paths.seed is None else "_seed"
    train_changes = dvc.changes(*dvc.stage(f"train{group}", paths.arch, paths.seed))
    eval_changes = dvc.changes(*dvc.stage(f"evaluate{group}", paths.arch, paths.seed))
    status = RunStatus(paths.name, paths.arch, WAITING, epochs)
    resume = _measure(status, root, paths, now)
    status.current = status.unfinished or not train_changes
    history = held.get(_at(root, paths.history).resolve())  # True: being trained, False: killed

    if history:
        status.state = TRAINING
    elif held.get(_at(root, paths.metrics).resolve()):
        status.state = EVALUATING
    elif elsewhere := running_in_copy(paths, epochs, copies or {}, now):
        return elsewhere
    elif not train_changes and not eval_changes:
        status.state = DONE
    elif _recorded_elsewhere(dvc, paths, group):
        status.state, status.current = DONE, True
        status.note = "only its record here (dvc pull for the rest)"
    elif not train_changes:
        status.state, status.note = TRAINED, "to evaluate: " + "; ".join(eval_changes)
    elif status.unfinished:
        recent = max(RECENT_SECONDS, 3 * (status.seconds or 0) / max(status.epochs_done, 1))
        if history is None and not any(held.values()) and not copies and status.since_write < recent:
            status.state = TRAINING  # no DVC command runs: trained by hand?
        else:
            status.state = INTERRUPTED
            status.note = _restart_note(resume, status.epochs_done, root)
    elif status.seconds is not None or _at(root, paths.metrics).exists() or _at(root, paths.model).exists():
        status.state, status.note = STALE, "; ".join(train_changes)
    return status


def _recorded_elsewhere(dvc: DvcFiles, paths: layout.RunPaths, group: str) -> bool:
    """Finished on another machine: its record is here, and `dvc repro --allow-missing`
    would rerun none of its stages (the record's sources and the rest are simply not here)."""
    if f"record{group}" not in dvc.pipeline:
        return False
    stages = [dvc.stage(f"{kind}{group}", paths.arch, paths.seed) for kind in ("train", "evaluate", "record")]
    _, record = stages[-1]
    return dvc.outputs_here(record) and not any(dvc.changes(*stage, allow_missing=True) for stage in stages)
