"""Strict loading of params.yaml for the validator: every problem as a ParamsError that
names the file, and line where it can (unreadable file, invalid YAML, duplicate keys,
no mapping at the top). The YAML reader is the stages' own (`layout.read_yaml`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from stages.common.layout import read_yaml
from stages.params.checks import found, show
from stages.params.schema import SECTIONS


class ParamsError(Exception):
    """params.yaml is unreadable or invalid; `.errors` lists every problem, one line each."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in params:\n" + "\n".join(f"  {e}" for e in self.errors))


def display(path: Path | str) -> str:
    """The path relative to the working directory when inside it: short messages."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(Path.cwd()) if resolved.is_relative_to(Path.cwd()) else path)


def load_with_duplicates(path: Path | str) -> tuple[dict, list[str]]:
    """The params of `path` and its duplicate-key errors; ParamsError if it is unreadable, no YAML or no mapping."""
    name = display(path)
    try:
        params, repeats = read_yaml(path)
    except OSError as error:
        raise ParamsError([f"{name}: cannot read: {error.strerror or error}"]) from None
    except yaml.YAMLError as error:
        mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None and problem else name
        raise ParamsError([f"{where}: invalid YAML: {' '.join(str(problem or error).split())}"]) from None
    keep = "YAML would silently keep only the last one"
    duplicates = [
        f"{name}:{d.line}: duplicate key {show(d.key)} (first on line {d.first_line}); {keep}" for d in repeats
    ]
    if not isinstance(params, dict):
        what = "an empty file" if params is None else found(params)
        raise ParamsError(duplicates + [f"{name}: expected a mapping with sections {', '.join(SECTIONS)}, got {what}"])
    return params, duplicates
