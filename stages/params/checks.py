"""The generic checks of params.yaml: how values are shown, and one checker per rule.

A checker takes (key, value) and returns an error text or None. The text reads
`<key> <bad value> <problem>; allowed: <what is>`; the caller puts the place in front.
Rules are the plain data of `stages.model.layers` (Integer, Number, Choice, Flag, Window),
so the vocabulary states what each argument allows and this module says it in words.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable

from stages.model.layers import Choice, Flag, Integer, Number, Rule, Window

Checker = Callable[[str, object], str | None]  # (key, value) -> error text or None

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 4
_REPR.maxlevel = 2


def show(value) -> str:
    """A value spelled as in YAML (null, true), cut short: random junk stays one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _REPR.repr(value)


def type_name(value) -> str:
    if value is None:
        return "null"
    return {dict: "mapping", list: "list", bool: "bool"}.get(type(value), type(value).__name__)


def found(value) -> str:
    """What was found instead of the expected: `list [1, 2]`, `str 'x'`, or just `null`."""
    if value is None or isinstance(value, bool):
        return show(value)
    return f"{type_name(value)} {show(value)}"


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's true is no 1


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int_list(value, length: int | None = None, low: int = 0) -> bool:
    return (
        isinstance(value, list)
        and (length is None or len(value) == length)
        and all(is_int(v) and v >= low for v in value)
    )


def wrong_type(key, value, wanted: str) -> str:
    message = f"{key} {show(value)} must be {wanted}, got {type_name(value)}"
    # PyYAML (YAML 1.1) reads 1e-7 and 1.0e7 as strings: a classic epsilon typo.
    if isinstance(value, str) and "e" in value.lower():
        try:
            float(value)
            message += " (YAML reads it as a string: write a dot and a signed exponent, e.g. 1.0e-7)"
        except ValueError:
            pass
    return message


# --- one checker per rule -----------------------------------------------------------------


def _integer(rule: Integer) -> Checker:
    low, high = rule.low, rule.high
    allowed = f"{{key}} >= {low}" if high is None else f"{low} <= {{key}} <= {high}"

    def check(key, value):
        if not is_int(value):
            return wrong_type(key, value, "an integer")
        if value < low or (high is not None and value > high):
            return f"{key} {value} is out of range; allowed: {allowed.format(key=key)}"
        return None

    return check


def _number(rule: Number) -> Checker:
    low, high, inclusive = rule.low, rule.high, rule.low_inclusive
    sign = "<=" if inclusive else "<"
    allowed = f"{{key}} {'>=' if inclusive else '>'} {low}" if high is None else f"{low} {sign} {{key}} < {high}"

    def check(key, value):
        if not is_number(value):
            return wrong_type(key, value, "a number")
        finite = not isinstance(value, float) or math.isfinite(value)  # isfinite overflows on huge ints
        above = value >= low if inclusive else value > low
        if not (finite and above and (high is None or value < high)):
            return f"{key} {show(value)} is out of range; allowed: {allowed.format(key=key)}"
        return None

    return check


def _choice(rule: Choice) -> Checker:
    def check(key, value):
        if not (isinstance(value, str) and value in rule.options):
            return f"unknown {key} {show(value)}; allowed: {', '.join(rule.options)}"
        return None

    return check


def _flag(key, value):
    return None if isinstance(value, bool) else wrong_type(key, value, "true or false")


def _window(key, value):
    if (is_int(value) and value >= 1) or is_int_list(value, 2, low=1):
        return None
    return f"{key} {show(value)} is invalid; allowed: an integer >= 1 or a list of two integers >= 1"


def checker(rule: Rule) -> Checker:
    """The checker of one rule of the vocabulary."""
    if isinstance(rule, Integer):
        return _integer(rule)
    if isinstance(rule, Number):
        return _number(rule)
    if isinstance(rule, Choice):
        return _choice(rule)
    if isinstance(rule, Flag):
        return _flag
    if isinstance(rule, Window):
        return _window
    raise TypeError(f"no checker for rule {rule!r}")


def integer(low: int, high: int | None = None) -> Checker:
    return checker(Integer(low, high))


def number(low: float, *, low_inclusive: bool, high: float | None = None) -> Checker:
    return checker(Number(low, low_inclusive, high))


def choice(*options: str) -> Checker:
    return checker(Choice(options))


boolean = _flag


# --- mappings -----------------------------------------------------------------------------


def key_errors(where: str, mapping: dict, required, optional=(), owner: str = "it", skip=()) -> list[str]:
    """Missing and unknown keys of one mapping; `skip` keys are checked by the caller."""
    allowed = tuple(required) + tuple(optional)
    errors = [
        f"{where}: missing {key!r}; {owner} needs: {', '.join(required)}" for key in required if key not in mapping
    ]
    errors += [
        f"{where}: unknown key {show(key)}; allowed: {', '.join(allowed) or 'none'}"
        for key in mapping
        if key not in allowed and key not in skip
    ]
    return errors


def value_errors(where: str, mapping: dict, checks: dict[str, Checker]) -> list[str]:
    """The errors of the values that have a checker, in the mapping's order."""
    errors = []
    for key, value in mapping.items():
        check = checks.get(key) if isinstance(key, str) else None
        message = check(key, value) if check else None
        if message:
            errors.append(f"{where}: {message}")
    return errors


def not_mapping(where: str, value, example: str) -> list[str]:
    return [f"{where}: expected a mapping like {example}, got {found(value)}"]


def section_errors(name: str, section, checks: dict[str, Checker], example: str) -> tuple[list[str], dict]:
    """Errors of one flat section (every key of `checks` required, no other), and its
    valid values, for the checks across keys."""
    if not isinstance(section, dict):
        return not_mapping(name, section, example), {}
    errors = key_errors(name, section, tuple(checks), owner=name)
    errors += value_errors(name, section, checks)
    valid = {k: v for k, v in section.items() if k in checks and checks[k](k, v) is None}
    return errors, valid
