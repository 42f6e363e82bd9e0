"""How a value of params.yaml is checked and worded, one line per error: `<key> <bad value>
<problem>; allowed: <what is>`, to which `mapping_errors` adds the place. A rule is the
vocabulary's (`stages.model.layers`), a `Rule` only params.yaml has, or None (checked elsewhere)."""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

from stages.model.layers import Choice, Flag, Integer, Number, Window

_TYPES = {type(None): "null", dict: "mapping", list: "list", bool: "bool"}  # as YAML calls them
_WANTED = {Flag: (bool, "true or false"), Integer: (int, "an integer"), Number: ((int, float), "a number")}


class Rule(NamedTuple):
    """A value of `kind` (else `must be <allowed>, got <type>`) that is `ok` (else `is invalid; allowed: ...`)."""

    ok: Any  # value -> bool
    allowed: str
    kind: type = object


# Keras takes a window (kernel_size, pool_size, strides) as one int or a (height, width) pair
WINDOW = Rule(
    lambda v: is_int_list([v], 1, 1) or is_int_list(v, 2, 1), "an integer >= 1 or a list of two integers >= 1"
)


def show(value) -> str:
    """A value as YAML spells it (null, true), cut short: random junk stays one short line."""
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:56] + " ..."


def plain(value) -> str:
    """An id as written, or quoted where it would break the one-line message or blur (blanks, newlines)."""
    ok = isinstance(value, str) and value and value.isprintable() and value.strip() == value and " " not in value
    return value if ok else show(value)


def _type(value) -> str:
    return _TYPES.get(type(value), type(value).__name__)


def found(value) -> str:
    """What was found instead of the expected: `list [1, 2]`, `str 'x'`, or just `null`."""
    return show(value) if value is None or isinstance(value, bool) else f"{_type(value)} {show(value)}"


def is_int_list(value, length: int | None = None, low: int = 0) -> bool:
    """A list of integers >= `low` (YAML's true is no 1), `length` long if given."""
    return isinstance(value, list) and length in (None, len(value)) and all(type(v) is int and v >= low for v in value)


def problem(rule, key, value) -> str | None:
    """What is wrong with `value` of `key` under `rule`, or None."""
    rule = WINDOW if isinstance(rule, Window) else rule
    if isinstance(rule, Choice):
        ok = isinstance(value, str) and value in rule.options
        return None if ok else f"unknown {key} {show(value)}; allowed: {', '.join(map(plain, rule.options))}"
    if rule is None or (isinstance(rule, Flag) and isinstance(value, bool)):
        return None
    kind, wanted = (rule.kind, rule.allowed) if isinstance(rule, Rule) else _WANTED[type(rule)]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not object):
        message = f"{key} {show(value)} must be {wanted}, got {_type(value)}"
        # PyYAML (YAML 1.1) reads 1e-7 and 1.0e7 as strings: a classic epsilon typo
        if isinstance(value, str) and re.fullmatch(r"[-+]?[\d.]+[eE][-+]?\d+", value.strip()):
            message += " (YAML reads it as a string: write a dot and a signed exponent, e.g. 1.0e-7)"
        return message
    if isinstance(rule, Rule):
        return None if rule.ok(value) else f"{key} {show(value)} is invalid; allowed: {rule.allowed}"
    # `epochs >= 1`, `0 <= rate < 1`, `alpha > 0`: an Integer's high is inclusive, a Number's not
    low, high = ("<=", "<=") if isinstance(rule, Integer) else ("<=" if rule.low_inclusive else "<", "<")
    finite = not isinstance(value, float) or math.isfinite(value)  # isfinite overflows on huge ints
    above = rule.low <= value if low == "<=" else rule.low < value
    if finite and above and (rule.high is None or (value <= rule.high if high == "<=" else value < rule.high)):
        return None
    if rule.high is None:
        return f"{key} {show(value)} is out of range; allowed: {key} {low.replace('<', '>')} {rule.low}"
    return f"{key} {show(value)} is out of range; allowed: {rule.low} {low} {key} {high} {rule.high}"


def mapping_errors(where: str, value, rules: dict, required=None, owner: str = "", skip=(), example: str = ""):
    """(errors, valid values for the checks across keys) of one mapping: its missing `required` keys
    (default: all of `rules`), unknown keys (but `skip`), then each value by its rule, in its order."""
    if not isinstance(value, dict):
        example = example or "{" + ", ".join(f"{key}: ..." for key in rules) + "}"
        return [f"{where}: expected a mapping like {example}, got {found(value)}"], {}
    required = tuple(rules) if required is None else required
    missing = [key for key in required if key not in value]
    errors = [f"{where}: missing {key!r}; {owner or where} needs: {', '.join(required)}" for key in missing]
    unknown = [key for key in value if key not in rules and key not in skip]
    allowed = ", ".join(map(plain, rules)) or "none"
    errors += [f"{where}: unknown key {show(key)}; allowed: {allowed}" for key in unknown]
    problems = {key: problem(rules[key], key, item) for key, item in value.items() if key in rules}
    errors += [f"{where}: {message}" for message in problems.values() if message]
    return errors, {key: value[key] for key, message in problems.items() if message is None}
