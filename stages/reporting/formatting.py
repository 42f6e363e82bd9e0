"""Table cells, shared by the report stage and the pull-request report.

Standard library only: the PR workflow runs `stages.tools.pr_report` with DVC installed
and no numpy, scipy or TensorFlow. Every function is pure (a value in, a string out).

Conventions: accuracies and their differences are fractions (0.9912), shown in percent or
in percentage points; a missing, null, boolean, text, nan or infinite value is a dash.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

DASH = "—"

__all__ = [
    "DASH",
    "number",
    "difference",
    "pct",
    "points",
    "p_value",
    "p_cell",
    "num",
    "mean_sd",
    "interval",
    "markdown_cell",
    "markdown_table",
]


def number(value) -> int | float | None:
    """`value` when it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _decimal(value) -> Decimal | None:
    """A number as the Decimal of its shortest repr (0.1 -> Decimal("0.1"), no binary noise)."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    value = number(value)
    return None if value is None else Decimal(repr(value))


def difference(a, b) -> Decimal | None:
    """a - b exactly, as written (0.9915 - 0.9914 -> Decimal("0.0001")); None if either is missing."""
    a, b = _decimal(a), _decimal(b)
    return None if a is None or b is None else a - b


def _rounded(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def pct(value, digits: int = 2, unit: str = "") -> str:
    """A fraction in percent: 0.99123 -> "99.12" ("99.12%" with unit="%"); None -> "—"."""
    value = _decimal(value)
    return DASH if value is None else f"{_rounded(100 * value, digits)}{unit}"


def points(value, digits: int = 2, negative_zero: bool = False) -> str:
    """A difference of fractions in signed percentage points: 0.0012 -> "+0.12",
    -0.0105 -> "-1.05", halves rounded away from zero. A loss that rounds to zero is
    "+0.00", or "-0.00" with negative_zero=True (a review that must show the direction)."""
    value = _decimal(value)
    if value is None:
        return DASH
    rounded = _rounded(100 * value, digits)
    sign = "-" if rounded < 0 or (negative_zero and value < 0) else "+"
    return f"{sign}{abs(rounded)}"


def p_value(p) -> str:
    """p in a sentence: "p = 0.041" (2 significant digits), "p < 0.001" or "p undefined"."""
    p = number(p)
    if p is None:
        return "p undefined"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2g}"


def p_cell(p) -> str:
    """p in a table cell: "0.041", "< 0.001" or "—"."""
    if number(p) is None:
        return DASH
    return p_value(p).removeprefix("p = ").replace("p < ", "< ")


def num(value, digits: int = 1) -> str:
    """A number with thousands separators: 1234.56 -> "1,234.6"; None -> "—"."""
    value = number(value)
    return DASH if value is None else f"{value:,.{digits}f}"


def mean_sd(mean, sd, n: int) -> str:
    """Fractions over n runs in percent: "99.12 ± 0.05 (n=3)", "99.12 (n=1)" with one run."""
    if n < 2 or number(sd) is None:
        return f"{pct(mean)} (n={n})"
    return f"{pct(mean)} ± {pct(sd)} (n={n})"


def interval(low, high, in_points: bool = False) -> str:
    """An interval of fractions: "[99.01, 99.23]" (percent) or "[-0.12, +0.30]" (points); "—"
    when either end is undefined (an interval from one value)."""
    if number(low) is None or number(high) is None:
        return DASH
    show = points if in_points else pct
    return f"[{show(low)}, {show(high)}]"


def markdown_cell(text: str) -> str:
    """Text that is safe inside a Markdown table cell (pipes and backslashes escaped, one line)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """A GitHub Markdown table; `align` holds one "---", ":--" or "--:" per column. Cells are
    written as given: escape free text with markdown_cell first."""
    align = align or ["---"] * len(header)
    if len(align) != len(header) or any(len(row) != len(header) for row in rows):
        raise ValueError(
            f"markdown_table: {len(header)} columns in the header, but align has {len(align)} "
            f"and the rows have {sorted({len(row) for row in rows})}"
        )
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
