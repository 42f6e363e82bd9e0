"""Reading the report's input files, each checked: a bad file is a ReportError that names
it (relative to the project root), the line or key at fault and the stage to rerun.

The runs' files are their records (`stages.common.records`, kept in git); other paths come
from `stages.common.layout`, moved under another project root when the report runs on a copy
(`python -m stages.report --root DIR`).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import yaml

from stages.common import layout
from stages.common.atomic import read_json
from stages.common.records import record_files
from stages.params.schema import report_errors

NOTEBOOK_FILE = layout.CODE_ROOT / "reference" / "notebook.yaml"  # one notebook for every pipeline
CLASSES = 10  # MNIST's digits: a label outside 0-9 is a broken file


class ReportError(Exception):
    """An input of the report is missing or inconsistent; the message says which and what to run."""


# --------------------------------------------------------------------------- paths


def at(root: Path | str, path: Path) -> Path:
    """`path` (a file of the project under layout.ROOT) moved under another project root;
    a file outside the project (the notebook's figures, shared by every pipeline) stays put."""
    if not Path(path).is_relative_to(layout.ROOT):
        return Path(path)
    return Path(root) / Path(path).relative_to(layout.ROOT)


def run_files(root: Path | str, arch: str, seed: int | None = None) -> dict[str, Path]:
    """The record files of one run the report reads (what git keeps of the run,
    `stages.common.records`) under `root`: "metrics", "history", "confusion"; seed None: the
    main run."""
    files = record_files(root, layout.RunPaths(arch, seed))
    return {kind: files[kind] for kind in ("metrics", "history", "confusion")}


def rel(path: Path | str, root: Path | str | None) -> str:
    """`path` as an error message shows it: relative to `root` when under it."""
    try:
        return str(Path(path).relative_to(root)) if root is not None else str(path)
    except ValueError:
        return str(path)


def _rerun(stage: str | None) -> str:
    return f"; rerun `dvc repro {stage}`" if stage else ""


def _yaml_problem(error: Exception) -> str:
    """ "not valid YAML (<problem> at line L, column C)" without the file name PyYAML repeats."""
    mark = getattr(error, "problem_mark", None)
    if getattr(error, "problem", None) and mark is not None:
        return f"not valid YAML ({error.problem} at line {mark.line + 1}, column {mark.column + 1})"
    return f"not valid YAML ({' '.join(str(error).split())})"


# --------------------------------------------------------------------------- params


def load_params(root: Path | str) -> dict:
    """params.yaml of the project at `root`."""
    params_file = at(root, layout.PARAMS_FILE)
    try:
        return layout.load_params(params_file)
    except OSError as e:
        raise ReportError(f"{rel(params_file, root)}: {e.strerror or e}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ReportError(f"{rel(params_file, root)}: {_yaml_problem(e)}") from None
    except ValueError as e:  # load_params' own message names the file
        raise ReportError(str(e)) from None


def check_report_params(params: dict) -> tuple[float, float, list[dict]]:
    """(alpha, reproduction_tolerance, comparisons) of `report`, checked by the validate stage's
    rules (the same ones `python -m stages.validate` applies before any training)."""
    errors = report_errors(params)
    if errors:
        raise ReportError("params.yaml: " + "; ".join(errors))
    section = params["report"]
    return float(section["alpha"]), float(section["reproduction_tolerance"]), section["comparisons"]


# --------------------------------------------------------------------------- files


def notebook_file(root: Path | str) -> Path:
    """The notebook's figures for the project at `root`: its own reference/notebook.yaml when it
    has one (a copy of the project), else the repository's, which every pipeline shares (the
    notebook's protocol in notebook/ included); a ReportError naming both when neither exists."""
    candidates = list(dict.fromkeys([at(root, NOTEBOOK_FILE), NOTEBOOK_FILE]))
    for path in candidates:
        if path.is_file():
            return path
    raise ReportError(f"missing the notebook's figures: none of {', '.join(map(str, candidates))} exists")


def load_notebook(path: Path | str, root: Path | str | None = None) -> dict:
    """The notebook's figures per architecture id ({} when the file does not exist)."""
    path = Path(path)
    shown = rel(path, root)
    if not path.exists():
        return {}
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ReportError(
            f"{shown}: {_yaml_problem(e)}; fix the file, or restore the committed one with `git checkout -- {shown}`"
        ) from None
    if not isinstance(data, dict):
        raise ReportError(f"{shown}: expected a mapping of architecture id -> figures")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _history_row(row: dict) -> dict[str, float]:
    """One csv.DictReader row of a history.csv as floats, empty cells left out; ValueError
    completing "line N..." when a cell is not a number or the row is longer than the header."""
    if None in row:
        raise ValueError(" has more values than the header")
    values = {}
    for key, value in row.items():
        if value in (None, ""):
            continue
        try:
            values[key] = float(value)
        except ValueError:
            raise ValueError(f", column {key!r}: {value!r} is not a number") from None
    return values


def load_history(path: Path | str, stage: str | None = None, root: Path | str | None = None) -> list[dict] | None:
    """Rows of a history.csv as floats, or None when the file does not exist. (The training
    stage's `stages.training.history.read_history` trusts its own file; this one checks.)"""
    path = Path(path)
    shown = rel(path, root)
    if not path.exists():
        return None
    rows = []
    try:
        with open(path, newline="") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                try:
                    rows.append(_history_row(row))
                except ValueError as e:
                    raise ReportError(f"{shown}: line {line}{e}{_rerun(stage)}") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise ReportError(f"{shown}: not a readable CSV file ({e}){_rerun(stage)}") from None
    return rows


def load_confusion(
    path: Path | str, stage: str | None = None, root: Path | str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(actual, predicted) label arrays of a confusion.csv, one row per test image."""
    path = Path(path)
    shown = rel(path, root)
    try:
        with open(path) as f:
            header = f.readline().strip()
            if header != "actual,predicted":
                raise ReportError(f"{shown}: expected the header 'actual,predicted', got {header!r}{_rerun(stage)}")
            data = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as e:  # UnicodeDecodeError included
        raise ReportError(
            f"{shown}: expected two integer labels per row, actual,predicted "
            f"(rows counted after the header: {' '.join(str(e).split())}){_rerun(stage)}"
        ) from None
    if data.size == 0:
        raise ReportError(f"{shown}: no predictions (one row per test image expected){_rerun(stage)}")
    if data.shape[1] != 2:
        raise ReportError(
            f"{shown}: expected two integer labels per row, actual,predicted; got "
            f"{data.shape[1]} values per row{_rerun(stage)}"
        )
    bad = np.flatnonzero(((data < 0) | (data >= CLASSES)).any(axis=1))
    if bad.size:
        raise ReportError(
            f"{shown}: line {bad[0] + 2}: labels must be 0-{CLASSES - 1}, got "
            f"{','.join(map(str, data[bad[0]]))}{_rerun(stage)}"
        )
    return data[:, 0], data[:, 1]


def load_metrics(path: Path | str, stage: str | None = None, root: Path | str | None = None) -> dict:
    """A metrics JSON file as a dict."""
    shown = rel(path, root)
    try:
        data = read_json(path)
    except ValueError as e:  # json.JSONDecodeError and UnicodeDecodeError
        what = (
            f"not valid JSON ({e.msg}: line {e.lineno} column {e.colno})"
            if isinstance(e, json.JSONDecodeError)
            else f"not valid JSON ({e})"
        )
        raise ReportError(f"{shown}: {what}{_rerun(stage)}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{shown}: expected a JSON object, got {type(data).__name__}{_rerun(stage)}")
    return data
