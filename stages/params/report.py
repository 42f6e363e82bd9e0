"""The rules of params.yaml's `report` section: what `stages.report` relies on, checked
before any model trains (a typo here would otherwise fail only after all of them)."""

from __future__ import annotations

from stages.params.checks import Checker, found, key_errors, not_mapping, number, show, type_name, value_errors
from stages.params.sections import missing_section

REPORT_KEYS = ("alpha", "reproduction_tolerance", "comparisons")
COMPARISON_KEYS = ("title", "architectures", "pairs")

REPORT_CHECKS: dict[str, Checker] = {
    "alpha": number(0, low_inclusive=False, high=1),  # significance level of the Holm-adjusted tests
    "reproduction_tolerance": number(0, low_inclusive=True),  # a fraction: 0.003 = 0.3 points
    "margin": number(0, low_inclusive=False, high=100),  # accuracy points: equivalence margin
}


def _title(key, value):
    """A comparison's title heads a Markdown section: one non-blank line."""
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value:
        return None
    return f"{key} {show(value)} is invalid; allowed: a non-empty one-line text"


def _plain(arch_id) -> str:
    """An id as written, or quoted when it would break the one-line message (newlines, blanks)."""
    if isinstance(arch_id, str) and arch_id and arch_id.isprintable() and arch_id.strip() == arch_id:
        return arch_id
    return show(arch_id)


def _id_reference_errors(where: str, arch, arch_ids) -> list[str]:
    """An architecture id named by the report; `arch_ids` None: `architectures` is broken
    (reported there), so only the type is checked."""
    if not isinstance(arch, str):
        return [f"{where}: architecture {show(arch)} must be an architecture id, got {type_name(arch)}"]
    if arch_ids is not None and arch not in arch_ids:
        return [
            f"{where}: architecture {show(arch)} is not in the architectures section; "
            f"allowed: {', '.join(map(_plain, arch_ids))}"
        ]
    return []


def _pair_errors(where: str, pair, arch_ids) -> list[str]:
    if not (isinstance(pair, list) and len(pair) == 2):
        return [f"{where}: expected a pair of two architecture ids like [conv2_k5, conv2_k3], got {found(pair)}"]
    errors = [error for arch in pair for error in _id_reference_errors(where, arch, arch_ids)]
    if not errors and pair[0] == pair[1]:
        errors.append(
            f"{where}: pair {show(pair)} compares {pair[0]!r} with itself; allowed: two different architecture ids"
        )
    return errors


def _architectures_errors(where: str, archs, arch_ids) -> list[str]:
    """The rows of a comparison's table: a non-empty list of distinct ids."""
    if not isinstance(archs, list) or not archs:
        return [
            f"{where}: architectures {show(archs)} is invalid; "
            "allowed: a non-empty list of architecture ids (the rows of its table)"
        ]
    errors = [
        error
        for j, arch in enumerate(archs)
        for error in _id_reference_errors(f"{where}.architectures[{j}]", arch, arch_ids)
    ]
    ids = [arch for arch in archs if isinstance(arch, str)]
    repeated = sorted({arch for arch in ids if ids.count(arch) > 1})
    if repeated:  # the table would show the row twice
        errors.append(f"{where}: architectures {show(archs)} repeats {', '.join(repeated)}; allowed: distinct ids")
    return errors


def _comparison_errors(where: str, comparison, arch_ids) -> list[str]:
    """Errors of one `report.comparisons` entry: its keys, title, architectures and pairs."""
    if not isinstance(comparison, dict):
        return not_mapping(where, comparison, "{title: Padding, architectures: [a, b], pairs: [[b, a]]}")
    errors = key_errors(where, comparison, COMPARISON_KEYS, owner="a comparison")
    errors += value_errors(where, comparison, {"title": _title})
    if "architectures" in comparison:
        errors += _architectures_errors(where, comparison["architectures"], arch_ids)
    if "pairs" in comparison:
        pairs = comparison["pairs"]
        if not isinstance(pairs, list):
            errors.append(
                f"{where}: pairs {show(pairs)} is invalid; "
                "allowed: a list of [a, b] pairs of architecture ids ([] for none)"
            )
        else:
            for j, pair in enumerate(pairs):
                errors += _pair_errors(f"{where}.pairs[{j}]", pair, arch_ids)
    return errors


def comparison_errors(comparisons, arch_ids) -> list[str]:
    """Every error of a `report.comparisons` value, [] if valid: a list (maybe empty) of
    {title, architectures, pairs} entries, every id named in `arch_ids` (the ids of
    `architectures`; None skips that check), each pair two different ids. A pair may
    repeat another, in either order (the report tests it once) and need not be among
    its comparison's architectures."""
    where = "report.comparisons"
    if not isinstance(comparisons, list):
        return [
            f"{where}: expected a list of {{title, architectures, pairs}} entries ([] for none), "
            f"got {found(comparisons)}"
        ]
    arch_ids = None if arch_ids is None else list(arch_ids)
    return [
        error
        for i, comparison in enumerate(comparisons)
        for error in _comparison_errors(f"{where}[{i}]", comparison, arch_ids)
    ]


def report_errors(params: dict) -> list[str]:
    """Every error of the `report` section of loaded params, [] if valid (what
    stages.report relies on): alpha with 0 < alpha < 1, reproduction_tolerance >= 0 and
    `comparison_errors` of comparisons, checked against the ids of `architectures`."""
    if "report" not in params:
        return [missing_section("report")]
    section = params["report"]
    if not isinstance(section, dict):
        return not_mapping("report", section, "{alpha: 0.05, reproduction_tolerance: 0.003, comparisons: [...]}")
    errors = key_errors("report", section, REPORT_KEYS, ("margin",), owner="report")
    errors += value_errors("report", section, REPORT_CHECKS)
    if "comparisons" in section:
        archs = params.get("architectures")
        errors += comparison_errors(section["comparisons"], archs if isinstance(archs, dict) and archs else None)
    return errors
