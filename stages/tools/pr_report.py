"""Markdown body of a pull-request comment: params and metrics of this tree against a base revision.

    python -m stages.tools.pr_report --base origin/main [--out report.md] [--plots plots/comparison.png]

The numbers come from DVC itself, run in the repository that contains the current
directory: `dvc params diff <base> --json` and `dvc metrics diff <base> --json --all`.
`render()` turns their parsed JSON into Markdown and runs nothing, so it can be
tested on hand-written dicts.

Metrics files directly under a `metrics/` folder (`metrics/<id>.json`) are one row
per architecture; `metrics/seeds/<id>-seed<N>.json` go to a folded per-seed table;
any other metrics file without `test_accuracy` is left out.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path, PurePosixPath

DASH = "—"          # the missing side of a value
BEST_MARK = "🏆"
NO_BASE_METRICS = "base has no metrics yet"
ACCURACY, LOSS, PARAMS, SECONDS = "test_accuracy", "test_loss", "params", "train_seconds"
FOLD_PARAMS_OVER = 20  # a longer params table goes into a <details> block


# --------------------------------------------------------------------------- formatting


def _num(value) -> float | int | None:
    """A metric value as a number, or None (missing, null, or not numeric)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def delta_pp(old, new) -> Decimal | None:
    """new - old of two accuracies in percentage points, exact (no binary-float noise)."""
    old, new = _num(old), _num(new)
    if old is None or new is None:
        return None
    return (Decimal(repr(new)) - Decimal(repr(old))) * 100


def fmt_delta(delta: Decimal | None) -> str:
    """Signed, 2 decimals: +0.50, -0.25, +0.00 (no change); a loss under 0.005 pp stays -0.00."""
    if delta is None:
        return DASH
    rounded = abs(delta).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'-' if delta < 0 else '+'}{rounded}"


def fmt_pct(value) -> str:
    value = _num(value)
    return DASH if value is None else f"{value * 100:.2f}%"


def fmt_loss(value) -> str:
    value = _num(value)
    return DASH if value is None else f"{value:.4f}"


def fmt_count(value) -> str:
    value = _num(value)
    return DASH if value is None else f"{round(value):,}"


def fmt_seconds(value) -> str:
    value = _num(value)
    return DASH if value is None else f"{value:.1f}"


def _cell(text: str) -> str:
    """Text that is safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def fmt_param(value) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value) if isinstance(value, (dict, list)) else repr(value)
    return f"`{_cell(text)}`"


def _table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- params


def _parse_container(value):
    """DVC prints list-valued params as Python reprs ("[{'type': 'conv', ...}]"): parse them back."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
    return value


def _flatten(value, prefix: str) -> dict[str, object]:
    if isinstance(value, dict) and value:
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}"))
        return out
    if isinstance(value, list) and value and any(isinstance(item, (dict, list)) for item in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _expand_param(name: str, old, new) -> list[tuple[str, object, object]]:
    """One changed param as rows. Two lists of layers of the same length become one row per
    changed leaf (`layers[0].kernel_size: 3 -> 5`); anything else stays one row."""
    old_v, new_v = _parse_container(old), _parse_container(new)
    same_shape = (isinstance(old_v, list) and isinstance(new_v, list) and len(old_v) == len(new_v)) or (
        isinstance(old_v, dict) and isinstance(new_v, dict))
    if not same_shape:
        return [(name, old, new)]
    old_flat, new_flat = _flatten(old_v, name), _flatten(new_v, name)
    keys = list(old_flat) + [k for k in new_flat if k not in old_flat]
    rows = [(k, old_flat.get(k), new_flat.get(k)) for k in keys if old_flat.get(k) != new_flat.get(k)]
    return rows or [(name, old, new)]


def param_rows(params_diff: dict) -> list[tuple[str, object, object]]:
    """(param path, old, new) of every changed param, in DVC's file order, sorted by path."""
    files = [f for f in params_diff if params_diff[f]]
    show_file = len(files) > 1 or any(PurePosixPath(f.replace("\\", "/")).name != "params.yaml" for f in files)
    rows = []
    for file in files:
        for name in sorted(params_diff[file]):
            entry = params_diff[file][name] or {}
            label = f"{file}:{name}" if show_file else name
            rows += _expand_param(label, entry.get("old"), entry.get("new"))
    return rows


def render_params(params_diff: dict) -> str:
    rows = param_rows(params_diff)
    if not rows:
        return "### Params changed\n\nNo params changed."
    table = _table(["Param", "Old", "New"], [[f"`{_cell(p)}`", fmt_param(o), fmt_param(n)] for p, o, n in rows])
    if all(old is None for _, old, _ in rows):
        note = f"The base has no params yet: {len(rows)} params added."
        return f"### Params changed\n\n{note}\n\n<details><summary>All params</summary>\n\n{table}\n\n</details>"
    if len(rows) > FOLD_PARAMS_OVER:
        return (f"### Params changed\n\n<details><summary>{len(rows)} params changed</summary>\n\n"
                f"{table}\n\n</details>")
    return f"### Params changed\n\n{table}"


# --------------------------------------------------------------------------- metrics


@dataclass
class Run:
    name: str
    old: dict
    new: dict

    @property
    def in_base(self) -> bool:
        return any(v is not None for v in self.old.values())

    @property
    def in_new(self) -> bool:
        return any(v is not None for v in self.new.values())

    @property
    def delta(self) -> Decimal | None:
        return delta_pp(self.old.get(ACCURACY), self.new.get(ACCURACY))


def _sides(entries: dict) -> tuple[dict, dict]:
    entries = entries or {}
    old = {k: (e or {}).get("old") for k, e in entries.items()}
    new = {k: (e or {}).get("new") for k, e in entries.items()}
    return old, new


def split_runs(metrics_diff: dict) -> tuple[list[Run], list[Run]]:
    """(architecture runs, per-seed runs) of a `dvc metrics diff --json --all` result."""
    archs, seeds = [], []
    for path, entries in metrics_diff.items():
        p = PurePosixPath(path.replace("\\", "/"))
        old, new = _sides(entries)
        if p.parent.name == "seeds" and re.fullmatch(r".+-seed\d+", p.stem):
            seeds.append(Run(p.stem, old, new))
        elif ACCURACY in entries and any(v is not None for v in [*old.values(), *new.values()]):
            name = p.stem if p.parent.name == "metrics" else str(p.with_suffix(""))
            archs.append(Run(name, old, new))
    return _ranked(archs), _ranked(seeds)


def _ranked(runs: list[Run]) -> list[Run]:
    """Best new test accuracy first (lower loss breaks ties); runs gone from the new side last."""
    def key(run: Run):
        acc, loss = _num(run.new.get(ACCURACY)), _num(run.new.get(LOSS))
        if acc is None:
            return (1, 0.0, 0.0, run.name)
        return (0, -acc, loss if loss is not None else float("inf"), run.name)
    return sorted(runs, key=key)


def best_run(runs: list[Run]) -> Run | None:
    ranked = [r for r in _ranked(runs) if _num(r.new.get(ACCURACY)) is not None]
    return ranked[0] if ranked else None


def _status(run: Run, base_has_metrics: bool) -> str:
    if not base_has_metrics:
        return ""
    if run.in_new and not run.in_base:
        return " *(new)*"
    if run.in_base and not run.in_new:
        return " *(removed)*"
    return ""


def render_metrics(runs: list[Run], base_has_metrics: bool) -> str:
    if not runs:
        return "### Metrics\n\nNo architecture metrics found (`metrics/<id>.json`)."
    best = best_run(runs)
    rows = []
    for run in runs:
        name, acc_new = f"`{_cell(run.name)}`", fmt_pct(run.new.get(ACCURACY))
        if run is best:
            name, acc_new = f"{BEST_MARK} **{_cell(run.name)}**", f"**{acc_new}**"
        rows.append([
            name + _status(run, base_has_metrics),
            fmt_pct(run.old.get(ACCURACY)), acc_new, fmt_delta(run.delta),
            fmt_loss(run.old.get(LOSS)), fmt_loss(run.new.get(LOSS)),
            fmt_count(run.new.get(PARAMS)), fmt_seconds(run.new.get(SECONDS)),
        ])
    header = ["Architecture", "Test acc (base)", "Test acc (new)", "Δ (pp)",
              "Test loss (base)", "Test loss (new)", "Params", "Train s"]
    table = _table(header, rows, [":---"] + ["---:"] * (len(header) - 1))
    return f"### Metrics\n\n{table}\n\n{summary_line(runs)}"


def summary_line(runs: list[Run]) -> str:
    best = best_run(runs)
    if best is None:
        return "No architecture has a test accuracy in the new tree."
    line = f"**Best:** {BEST_MARK} `{best.name}` with {fmt_pct(best.new.get(ACCURACY))} test accuracy"
    line += f" ({fmt_delta(best.delta)} pp)." if best.delta is not None else "."
    compared = [r for r in runs if r.delta is not None]
    if not compared:
        return line
    gain = max(compared, key=lambda r: r.delta)
    loss = min(compared, key=lambda r: r.delta)
    parts = []
    parts.append(f"**Biggest gain:** `{gain.name}` ({fmt_delta(gain.delta)} pp)" if gain.delta > 0
                 else "no architecture gained accuracy")
    parts.append(f"**biggest loss:** `{loss.name}` ({fmt_delta(loss.delta)} pp)" if loss.delta < 0
                 else "no architecture lost accuracy")
    return f"{line} {parts[0]}; {parts[1]}."


def render_seeds(seeds: list[Run]) -> str:
    rows = [[f"`{_cell(r.name)}`", fmt_pct(r.old.get(ACCURACY)), fmt_pct(r.new.get(ACCURACY)), fmt_delta(r.delta)]
            for r in seeds]
    table = _table(["Run", "Test acc (base)", "Test acc (new)", "Δ (pp)"], rows, [":---", "---:", "---:", "---:"])
    return f"<details><summary>Per-seed runs ({len(seeds)})</summary>\n\n{table}\n\n</details>"


# --------------------------------------------------------------------------- the whole comment


def render(params_diff: dict, metrics_diff: dict, base: str, *, head: str | None = None,
           plots: str | None = None) -> str:
    """The Markdown comment, from the parsed JSON of `dvc params diff` and `dvc metrics diff --all`."""
    params_diff, metrics_diff = params_diff or {}, metrics_diff or {}
    archs, seeds = split_runs(metrics_diff)
    everything = [Run(p, *_sides(e)) for p, e in metrics_diff.items()]
    base_has_metrics = any(r.in_base for r in everything)
    new_has_metrics = any(r.in_new for r in everything)

    head_label = f"`{head}`" if head else "this branch"
    parts = [f"## Model comparison: {head_label} vs `{base}`"]
    notes = []
    if not base_has_metrics:
        notes.append(f"> **Note:** {NO_BASE_METRICS} (`{base}`): only the new values are shown.")
    if not new_has_metrics:
        notes.append("> **Note:** no metrics in the new tree either: run `dvc repro` (or `dvc pull`) and commit them.")
    if notes:
        parts.append("\n>\n".join(notes))
    parts.append(render_params(params_diff))
    parts.append(render_metrics(archs, base_has_metrics))
    if seeds:
        parts.append(render_seeds(seeds))
    if plots:
        parts.append(f"### Plots\n\n![architecture comparison]({plots})")
    parts.append(f"<sub>`dvc params diff` and `dvc metrics diff --all` against `{base}`; "
                 f"Δ in percentage points of test accuracy.</sub>")
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- running DVC


class ReportError(RuntimeError):
    pass


def find_dvc() -> str:
    """The `dvc` of this interpreter's environment (a venv that is not activated in CI), else PATH's."""
    beside = shutil.which("dvc", path=str(Path(sys.executable).parent))
    found = beside or shutil.which("dvc")
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
        raise ReportError(f"revision '{rev}' not found in the git repository at {root} "
                          f"(a shallow clone? check out with fetch-depth: 0)")


def dvc_json(args: list[str], root: Path) -> dict:
    done = _run([find_dvc(), *args], root)
    if done.returncode != 0:
        raise ReportError(f"`dvc {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}")
    text = done.stdout.strip()
    try:
        return json.loads(text) if text else {}
    except json.JSONDecodeError as e:
        raise ReportError(f"`dvc {' '.join(args)}` printed no JSON: {text[:200]!r}") from e


def collect(base: str, head: str | None = None, root: Path | None = None) -> tuple[dict, dict]:
    """(params diff, metrics diff) of `head` (default: the working tree) against `base`."""
    root = root or repo_root()
    revs = [base] + ([head] if head else [])
    for rev in revs:
        check_rev(rev, root)
    params = dvc_json(["params", "diff", *revs, "--json"], root)
    metrics = dvc_json(["metrics", "diff", *revs, "--json", "--all"], root)
    return params, metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.tools.pr_report", description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare against, e.g. origin/main")
    parser.add_argument("--head", help="git revision to report on (default: the working tree)")
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument("--plots", help="image (path or URL) to reference in the comment, e.g. plots/comparison.png")
    args = parser.parse_args(argv)

    try:
        params, metrics = collect(args.base, args.head)
    except ReportError as e:
        print(f"pr_report: error: {e}", file=sys.stderr)
        return 2
    if args.plots and "://" not in args.plots and not Path(args.plots).exists():
        print(f"pr_report: warning: {args.plots} does not exist (referenced anyway)", file=sys.stderr)
    text = render(params, metrics, args.base, head=args.head, plots=args.plots)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
