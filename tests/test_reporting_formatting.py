"""stages.reporting.formatting: the table cells shared by the report and the PR report."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from stages.reporting import formatting as fmt

ROOT = Path(__file__).resolve().parent.parent


def test_number_keeps_only_finite_numbers():
    assert fmt.number(3) == 3 and fmt.number(0.5) == 0.5
    for bad in (None, True, "0.5", float("nan"), float("inf"), [1]):
        assert fmt.number(bad) is None


def test_pct():
    assert fmt.pct(0.99123) == "99.12" and fmt.pct(None) == "—" and fmt.pct("x") == "—"
    assert fmt.pct(0.99123, unit="%") == "99.12%"
    assert fmt.pct(0.99125) == "99.13"  # the written value's half, rounded up (float math says 99.12)
    assert fmt.pct(0.004, digits=1) == "0.4"


def test_points_are_signed_and_exact():
    assert fmt.points(0.0012) == "+0.12" and fmt.points(-0.0105) == "-1.05"
    assert fmt.points(-0.00001) == "+0.00"  # the report never prints "-0.00"
    assert fmt.points(-0.00001, negative_zero=True) == "-0.00"  # a review keeps the direction
    assert fmt.points(0.0, negative_zero=True) == "+0.00"
    assert fmt.points(None) == "—"
    assert fmt.points(fmt.difference(0.9915, 0.9914)) == "+0.01"
    assert fmt.points(Decimal("0.00005")) == "+0.01"  # half up


def test_difference_is_exact_as_written():
    assert fmt.difference(0.9915, 0.9914) == Decimal("0.0001")
    assert 0.9915 - 0.9914 != 0.0001  # what the float subtraction gives instead
    assert fmt.difference(None, 0.5) is None and fmt.difference(0.5, float("nan")) is None


def test_p_values():
    assert fmt.p_value(0.04138947) == "p = 0.041" and fmt.p_value(0.000999) == "p < 0.001"
    assert fmt.p_value(None) == "p undefined" and fmt.p_value(float("nan")) == "p undefined"
    assert fmt.p_cell(0.001953125) == "0.002" and fmt.p_cell(0.0001) == "< 0.001"
    assert fmt.p_cell(1.0) == "1" and fmt.p_cell(None) == "—"


def test_num_mean_sd_interval():
    assert fmt.num(1234.56) == "1,234.6" and fmt.num(1199882, 0) == "1,199,882" and fmt.num(None) == "—"
    assert fmt.num(float("nan")) == "—"
    assert fmt.mean_sd(0.9912, 0.0005, 3) == "99.12 ± 0.05 (n=3)"
    assert fmt.mean_sd(0.9912, 0.0, 1) == "99.12 (n=1)"
    assert fmt.interval(0.9901, 0.9923) == "[99.01, 99.23]" and fmt.interval(None, 0.99) == "—"
    assert fmt.interval(-0.0012, 0.003, in_points=True) == "[-0.12, +0.30]"


def test_markdown_table_and_cells():
    table = fmt.markdown_table(["Run", "Acc"], [["a", "99.00%"], [fmt.markdown_cell("x|y"), "—"]], ["---", "--:"])
    assert table.splitlines() == ["| Run | Acc |", "|---|--:|", "| a | 99.00% |", "| x\\|y | — |"]
    with pytest.raises(ValueError, match="2 columns in the header.*rows have \\[1\\]"):
        fmt.markdown_table(["Run", "Acc"], [["a"]])


def test_imports_only_the_standard_library():
    """The PR workflow has DVC and no scientific stack: importing the module must not need one."""
    code = (
        "import sys; before = set(sys.modules); import stages.reporting.formatting; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "bad = sorted(new - set(sys.stdlib_module_names) - {'stages'}); assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
