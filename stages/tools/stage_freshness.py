"""Whether `dvc repro` would rerun a stage, and which outputs a running `dvc repro` is
writing, read from files only: dvc.yaml, dvc.lock, params.yaml and DVC's `.dvc/tmp/rwlock`.

No `dvc` import: it is slow, and its commands wait for the repository lock that a running
`dvc repro` holds. The checks are DVC's own for the stages `stages.tools.dvc_sync` writes
(`foreach`/`matrix` over plain `${key}`/`${item.x}` templates, file dependencies):
the command, every declared parameter's value, every dependency's MD5 and every output's
presence and MD5 must match the stage's dvc.lock entry. A directory is only checked to exist.

YAML is read with ruamel, DVC's own parser: PyYAML reads dvc.lock's `epsilon: 1e-07` as a
string, which would make every Adadelta architecture look changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

PARAMS_NAME = "params.yaml"
RWLOCK = Path(".dvc") / "tmp" / "rwlock"
_TEMPLATE = re.compile(r"\$\{\s*([\w.]+)\s*\}")
_MISSING = object()


class FreshnessError(ValueError):
    """dvc.yaml, dvc.lock or params.yaml is not what this module can read."""


def load_yaml(path: Path):
    from ruamel.yaml import YAML, YAMLError

    try:
        return YAML(typ="safe").load(path.read_text()) or {}
    except YAMLError as error:
        raise FreshnessError(f"{path}: not valid YAML: {error}") from None


def _fill(value, variables: dict):
    """`value` with every `${name}` of `variables` replaced (DVC's templating, the plain case)."""
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return _TEMPLATE.sub(lambda m: str(variables.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [_fill(v, variables) for v in value]
    if isinstance(value, dict):
        return {_fill(k, variables): _fill(v, variables) for k, v in value.items()}
    return value


def _entry_path(entry) -> str:
    """A dvc.yaml dep/out entry is a path or a one-key mapping {path: options}."""
    return next(iter(entry)) if isinstance(entry, dict) else entry


def _reason(kind: str, verb: str, items: list[str]) -> str:
    """'deps changed: stages/train.py +3 more': short enough for a table cell."""
    more = f" +{len(items) - 1} more" if len(items) > 1 else ""
    return f"{kind} {verb}: {items[0]}{more}"


def _dotted(params: dict, key: str):
    value = params
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


class DvcFiles:
    """dvc.yaml, dvc.lock and params.yaml of the repository at `root`, read once."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.params = load_yaml(self.root / PARAMS_NAME)
        self.pipeline = load_yaml(self.root / "dvc.yaml").get("stages") or {}
        lock_file = self.root / "dvc.lock"
        self.locked = (load_yaml(lock_file).get("stages") or {}) if lock_file.exists() else {}
        self._md5: dict[tuple, str] = {}

    def stage(self, group: str, arch: str, seed: int | None = None) -> tuple[str, dict]:
        """(name, definition) of the stage `group` generates for `arch` (and `seed`, for a matrix)."""
        if group not in self.pipeline:
            raise FreshnessError(
                f"{self.root / 'dvc.yaml'}: no stage {group!r} (regenerate it: python -m stages.tools.dvc_sync)"
            )
        body = dict(self.pipeline[group])
        if "foreach" in body:
            return f"{group}@{arch}", _fill(body["do"], {"key": arch})
        if "matrix" in body:
            axes = list(body.pop("matrix"))  # DVC names a matrix stage by its values, joined by '-'
            values = {"arch": arch, "seed": seed}
            if set(axes) != set(values):
                raise FreshnessError(
                    f"{self.root / 'dvc.yaml'}: stage {group!r} has matrix axes {axes}, expected {sorted(values)}"
                )
            name = f"{group}@" + "-".join(str(values[a]) for a in axes)
            return name, _fill(body, {f"item.{a}": v for a, v in values.items()})
        return group, body

    def changes(self, name: str, definition: dict, allow_missing: bool = False) -> list[str]:
        """Why `dvc repro` would rerun the stage (empty: it would not); with `allow_missing`,
        why `dvc repro --allow-missing` would (files not here do not count)."""
        lock = self.locked.get(name)
        if lock is None:
            return ["never run (no dvc.lock entry)"]
        reasons = []
        if lock.get("cmd") != definition.get("cmd"):
            reasons.append("command changed")
        reasons += self._param_changes(definition.get("params") or [], lock.get("params") or {})
        for kind in ("deps", "outs"):
            reasons += self._file_changes(kind, definition.get(kind) or [], lock.get(kind) or [], allow_missing)
        return reasons

    def outputs_here(self, definition: dict) -> bool:
        """Whether every output the stage declares is in the workspace."""
        return all((self.root / _entry_path(entry)).exists() for entry in definition.get("outs") or [])

    def _param_changes(self, declared: list, locked: dict) -> list[str]:
        changed = []
        for entry in declared:
            files = entry if isinstance(entry, dict) else {PARAMS_NAME: [entry]}
            for file, keys in files.items():
                values = self.params if file == PARAMS_NAME else load_yaml(self.root / file)
                for key in keys:
                    if _dotted(values, key) != (locked.get(file) or {}).get(key, _MISSING):
                        changed.append(key)
        return [_reason("params", "changed", changed)] if changed else []

    def _file_changes(self, kind: str, declared: list, locked: list, allow_missing: bool = False) -> list[str]:
        hashes = {item.get("path"): item.get("md5") for item in locked}
        missing, changed = [], []
        for path in map(_entry_path, declared):
            file = self.root / path
            if not file.exists():
                if not (allow_missing and path in hashes):
                    missing.append(path)
            elif path not in hashes or (file.is_file() and self.md5(file) != hashes[path]):
                changed.append(path)
        return [_reason(kind, verb, items) for verb, items in (("missing", missing), ("changed", changed)) if items]

    def md5(self, file: Path) -> str:
        """DVC 3's hash of a file (plain MD5), memoised by (path, size, mtime)."""
        stat = file.stat()
        key = (str(file), stat.st_size, stat.st_mtime_ns)
        if key not in self._md5:
            digest = hashlib.md5()
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            self._md5[key] = digest.hexdigest()
        return self._md5[key]


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:  # kill(0 or -1, 0) would ask about whole groups
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, but it exists
        return True
    return True


def held_outputs(root: Path | str) -> dict[Path, bool]:
    """The outputs DVC commands hold for writing (a stage holds its outputs while it runs),
    from `.dvc/tmp/rwlock`, each with whether its holder still runs: a killed `dvc repro`
    leaves its entries behind until the next DVC command cleans them up."""
    path = Path(root) / RWLOCK
    try:
        lock = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, OSError):  # caught mid-rewrite: DVC edits it in place
        return {}
    writes = lock.get("write") if isinstance(lock, dict) else None
    return {
        Path(p).resolve(): _alive(info.get("pid"))
        for p, info in (writes if isinstance(writes, dict) else {}).items()
        if isinstance(info, dict)
    }
