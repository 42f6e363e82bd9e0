"""The "Params changed" section, from `dvc params diff --all --json`, and the head's report.alpha."""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

from stages.reporting.formatting import markdown_table
from stages.review.cells import code, details, fmt_param

FOLD_PARAMS_OVER = 20  # a longer params table goes into a <details> block
ALPHA_KEY = "report.alpha"
DEFAULT_ALPHA = 0.05


def head_alpha(params_diff: dict, file: str = "params.yaml") -> float | None:
    """report.alpha of the head side (None when the params do not have it)."""
    entry = (params_diff.get(file) or {}).get(ALPHA_KEY)
    if entry is None or entry.get("new") is None:
        return None
    alpha = entry["new"]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"{file}: {ALPHA_KEY} must be a number between 0 and 1, got {alpha!r}")
    return float(alpha)


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
        isinstance(old_v, dict) and isinstance(new_v, dict)
    )
    if not same_shape:
        return [(name, old, new)]
    old_flat, new_flat = _flatten(old_v, name), _flatten(new_v, name)
    keys = list(old_flat) + [k for k in new_flat if k not in old_flat]
    rows = [(k, old_flat.get(k), new_flat.get(k)) for k in keys if old_flat.get(k) != new_flat.get(k)]
    return rows or [(name, old, new)]


def _entries(params_diff: dict, file: str) -> list[tuple[str, dict]]:
    return [(name, entry or {}) for name, entry in (params_diff[file] or {}).items()]


def base_has_params(params_diff: dict) -> bool:
    return any(entry.get("old") is not None for file in params_diff for _, entry in _entries(params_diff, file))


def param_rows(params_diff: dict) -> list[tuple[str, object, object]]:
    """(param path, old, new) of every changed param (`--all`'s unchanged ones left out), sorted."""
    changed = {
        file: {name: e for name, e in _entries(params_diff, file) if e.get("old") != e.get("new")}
        for file in params_diff
    }
    files = [f for f in changed if changed[f]]
    show_file = len(files) > 1 or any(PurePosixPath(f.replace("\\", "/")).name != "params.yaml" for f in files)
    rows = []
    for file in files:
        for name in sorted(changed[file]):
            entry = changed[file][name]
            label = f"{file}:{name}" if show_file else name
            rows += _expand_param(label, entry.get("old"), entry.get("new"))
    return rows


def render_params(params_diff: dict) -> str:
    rows = param_rows(params_diff or {})
    if not rows:
        return "### Params changed\n\nNo params changed."
    body = markdown_table(["Param", "Old", "New"], [[code(p), fmt_param(o), fmt_param(n)] for p, o, n in rows])
    if not base_has_params(params_diff):
        note = f"The base has no params yet: {len(rows)} params added."
        return f"### Params changed\n\n{note}\n\n{details('All params', body)}"
    if len(rows) > FOLD_PARAMS_OVER:
        return f"### Params changed\n\n{details(f'{len(rows)} params changed', body)}"
    return f"### Params changed\n\n{body}"
