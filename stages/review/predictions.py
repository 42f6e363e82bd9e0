"""plots/study/predictions.csv of one revision: the true class and each run's predicted class per test image.

Header `actual,<run>,<run>,...`, one row per test image, written by the report stage.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

PATH = "plots/study/predictions.csv"


@dataclass(frozen=True)
class Predictions:
    source: str  # where it was read, for messages: "<rev>:plots/study/predictions.csv"
    actual: tuple[int, ...]
    runs: dict[str, tuple[int, ...]]  # run name -> predicted class per test image, in the file's order


def parse(text: str, source: str) -> Predictions:
    """Parse the CSV text; a malformed file is a ValueError naming `source`, the line and the value."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header or header[0] != "actual":
        raise ValueError(f"{source}: the header must start with 'actual', got {header!r}")
    names = header[1:]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated or "" in names:
        raise ValueError(f"{source}: run names must be unique and non-empty, header {header!r}")
    columns: list[list[int]] = [[] for _ in header]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{source}, line {line}: {len(row)} fields, the header has {len(header)}")
        for column, value in zip(columns, row, strict=True):
            try:
                column.append(int(value))
            except ValueError:
                raise ValueError(f"{source}, line {line}: {value!r} is not a class index") from None
    return Predictions(source, tuple(columns[0]), {n: tuple(c) for n, c in zip(names, columns[1:], strict=True)})


def unpaired_reason(base: Predictions, head: Predictions) -> str | None:
    """Why the two files' predictions cannot be paired image by image, or None when they can."""
    if len(base.actual) != len(head.actual):
        return f"{len(base.actual):,} test images in the base, {len(head.actual):,} in this branch"
    differing = sum(1 for a, b in zip(base.actual, head.actual, strict=True) if a != b)
    if differing:
        return f"the true class differs on {differing:,} of the {len(head.actual):,} test images"
    return None
