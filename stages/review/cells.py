"""The PR report's own cells, on top of the report's shared ones (stages/reporting/formatting.py)."""

from __future__ import annotations

import json

from stages.reporting.formatting import DASH, difference, markdown_cell, pct, points


def percent(value) -> str:
    """A fraction in percent with its sign: 0.9921 -> "99.21%"."""
    return pct(value, unit="%")


def delta(old, new) -> str:
    """new - old of two accuracies in signed percentage points; a loss that rounds to zero stays "-0.00"."""
    return points(difference(new, old), negative_zero=True)


def code(text: str) -> str:
    return f"`{markdown_cell(text)}`"


def fmt_param(value) -> str:
    """A param value as DVC would write it in params.yaml, in backticks."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value) if isinstance(value, (dict, list)) else repr(value)
    return code(text)


def details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"
