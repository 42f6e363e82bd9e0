"""What the PR report reads: DVC's params and metrics diffs, and each revision's predictions from git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stages.review.predictions import PATH as PREDICTIONS
from stages.review.predictions import Predictions, parse


class ReportError(RuntimeError):
    pass


@dataclass
class Inputs:
    params_diff: dict
    metrics_diff: dict
    base_predictions: Predictions | None
    head_predictions: Predictions | None


def find_dvc() -> str:
    """The `dvc` of this interpreter's environment (a venv that is not activated in CI), else PATH's."""
    found = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")
    if not found:
        raise ReportError("dvc not found beside the Python interpreter or on PATH (pip install dvc)")
    return found


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    try:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise ReportError(f"cannot run {cmd[0]}: {e}") from e


def repo_root(start: Path | None = None) -> Path:
    start = Path(start or Path.cwd())
    done = _run(["git", "rev-parse", "--show-toplevel"], start)
    if done.returncode != 0:
        raise ReportError(f"{start} is not inside a git repository: {done.stderr.strip()}")
    return Path(done.stdout.strip())


def check_rev(rev: str, root: Path) -> None:
    done = _run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root)
    if done.returncode != 0:
        raise ReportError(
            f"revision '{rev}' not found in the git repository at {root} "
            f"(a shallow clone? check out with fetch-depth: 0)"
        )


def dvc_json(args: list[str], root: Path) -> dict:
    done = _run([find_dvc(), *args], root)
    if done.returncode != 0:
        raise ReportError(f"`dvc {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}")
    text = done.stdout.strip()
    try:
        return json.loads(text) if text else {}
    except json.JSONDecodeError as e:
        raise ReportError(f"`dvc {' '.join(args)}` printed no JSON: {text[:200]!r}") from e


def git_file(rev: str, path: str, root: Path) -> str | None:
    """The text of `path` at `rev`, None when that revision has no such file."""
    if _run(["git", "cat-file", "-e", f"{rev}:{path}"], root).returncode != 0:
        return None
    done = _run(["git", "show", f"{rev}:{path}"], root)
    if done.returncode != 0:
        raise ReportError(f"`git show {rev}:{path}` failed: {done.stderr.strip()}")
    return done.stdout


def predictions(rev: str | None, root: Path) -> Predictions | None:
    """plots/study/predictions.csv of a revision (None: the working tree); None when absent."""
    if rev is None:
        file = root / PREDICTIONS
        text, source = (file.read_text(encoding="utf-8") if file.is_file() else None), str(file)
    else:
        text, source = git_file(rev, PREDICTIONS, root), f"{rev}:{PREDICTIONS}"
    if text is None:
        return None
    try:
        return parse(text, source)
    except ValueError as e:
        raise ReportError(str(e)) from e


def collect(base: str, head: str | None = None, root: Path | None = None) -> Inputs:
    """Everything the comment needs about `head` (default: the working tree) against `base`."""
    root = root or repo_root()
    revs = [base] + ([head] if head else [])
    for rev in revs:
        check_rev(rev, root)
    params = dvc_json(["params", "diff", *revs, "--all", "--json"], root)  # --all: the head's report.alpha too
    metrics = dvc_json(["metrics", "diff", *revs, "--all", "--json"], root)
    return Inputs(params, metrics, predictions(base, root), predictions(head, root))
