"""The project files a module imports, transitively: what a DVC stage's code deps must be.

Read from the source (every `import` and `from ... import` statement, those inside
functions included), so a stage's deps cannot miss a module it imports, and nothing is
imported to find out. Importing `stages.a.b` runs `stages/__init__.py` and
`stages/a/__init__.py` too, so those are part of the closure.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "stages"


def module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path) -> set[str]:
    """Project modules named by the import statements of one file."""
    own = _module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..a import b
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {name for name in names if name == PACKAGE or name.startswith(PACKAGE + ".")}


def closure(entry: str, root: Path) -> list[Path]:
    """Every project file that `python -m <entry>` can import, sorted (entry included)."""
    seen: dict[str, Path] = {}
    pending = [entry]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # the packages on the way are imported too
            prefix = ".".join(parts[:depth])
            if prefix in seen:
                continue
            path = module_file(prefix, root)
            if path is None:
                continue  # `from pkg import function`: the name is not a module
            seen[prefix] = path
            pending.extend(imported_names(path, root))
    return sorted(set(seen.values()))


def closure_paths(entries: list[str], root: Path) -> list[str]:
    """The union of the entries' closures as repository-relative POSIX paths."""
    files = {path for entry in entries for path in closure(entry, root)}
    return sorted(path.relative_to(root).as_posix() for path in files)
