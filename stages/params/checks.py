"""How a value of params.yaml is checked and worded: one rule per key, one message per error.

A rule is one of the vocabulary's (`stages.model.layers`: Integer, Number, Choice, Flag,
Window), a function (key, value) -> message or None for the few rules only params.yaml has,
or None for a key whose value the caller checks. Every message reads
`<key> <bad value> <problem>; allowed: <what is>`; `mapping_errors` puts the place in front.
"""

from __future__ import annotations

import math
import re
import reprlib

from stages.model.layers import Choice, Flag, Integer, Number, Window

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 4
_REPR.maxlevel = 2


def show(value) -> str:
    """A value spelled as in YAML (null, true), cut short: random junk stays one line."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return _REPR.repr(value)


def type_name(value) -> str:
    return (
        "null"
        if value is None
        else {dict: "mapping", list: "list", bool: "bool"}.get(type(value), type(value).__name__)
    )


def found(value) -> str:
    """What was found instead of the expected: `list [1, 2]`, `str 'x'`, or just `null`."""
    return show(value) if value is None or isinstance(value, bool) else f"{type_name(value)} {show(value)}"


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's true is no 1


def is_int_list(value, length: int | None = None, low: int = 0) -> bool:
    return isinstance(value, list) and length in (None, len(value)) and all(is_int(v) and v >= low for v in value)


def wrong_type(key, value, wanted: str) -> str:
    message = f"{key} {show(value)} must be {wanted}, got {type_name(value)}"
    # PyYAML (YAML 1.1) reads 1e-7 and 1.0e7 as strings: a classic epsilon typo
    if isinstance(value, str) and re.fullmatch(r"[-+]?[\d.]+[eE][-+]?\d+", value.strip()):
        message += " (YAML reads it as a string: write a dot and a signed exponent, e.g. 1.0e-7)"
    return message


def allowed_range(rule: Integer | Number, key) -> str:
    """`epochs >= 1`, `0 <= rate < 1`, `alpha > 0`... (an Integer's high is inclusive, a Number's not)."""
    low = ">=" if isinstance(rule, Integer) or rule.low_inclusive else ">"
    if rule.high is None:
        return f"{key} {low} {rule.low}"
    return f"{rule.low} {low.replace('>', '<')} {key} {'<=' if isinstance(rule, Integer) else '<'} {rule.high}"


def _in_range(rule: Integer | Number, value) -> bool:
    if isinstance(value, float) and not math.isfinite(value):  # isfinite overflows on huge ints
        return False
    above = value >= rule.low if isinstance(rule, Integer) or rule.low_inclusive else value > rule.low
    if rule.high is None:
        return above
    return above and (value <= rule.high if isinstance(rule, Integer) else value < rule.high)


def problem(rule, key, value) -> str | None:
    """What is wrong with `value` of `key` under `rule`, or None."""
    if rule is None or callable(rule):
        return rule(key, value) if rule else None
    if isinstance(rule, Choice):
        ok = isinstance(value, str) and value in rule.options
        return None if ok else f"unknown {key} {show(value)}; allowed: {', '.join(rule.options)}"
    if isinstance(rule, Flag):
        return None if isinstance(value, bool) else wrong_type(key, value, "true or false")
    if isinstance(rule, Window):
        if (is_int(value) and value >= 1) or is_int_list(value, 2, low=1):
            return None
        return f"{key} {show(value)} is invalid; allowed: an integer >= 1 or a list of two integers >= 1"
    if isinstance(rule, Integer) and not is_int(value):
        return wrong_type(key, value, "an integer")
    if not (is_int(value) or isinstance(value, float)):
        return wrong_type(key, value, "a number")
    return (
        None if _in_range(rule, value) else f"{key} {show(value)} is out of range; allowed: {allowed_range(rule, key)}"
    )


def mapping_errors(where: str, value, rules: dict, required=None, owner: str = "", skip=(), example: str = ""):
    """(errors, valid values) of one mapping: its missing `required` keys (default: every
    key of `rules`), unknown keys (but `skip`), then each value against its rule, in the
    mapping's order. The valid values feed the checks across keys."""
    if not isinstance(value, dict):
        example = example or "{" + ", ".join(f"{key}: ..." for key in rules) + "}"
        return [f"{where}: expected a mapping like {example}, got {found(value)}"], {}
    required = tuple(rules) if required is None else required
    errors = [
        f"{where}: missing {k!r}; {owner or where} needs: {', '.join(required)}" for k in required if k not in value
    ]
    unknown = [key for key in value if key not in rules and key not in skip]
    errors += [f"{where}: unknown key {show(k)}; allowed: {', '.join(rules) or 'none'}" for k in unknown]
    valid = {}
    for key, item in value.items():
        message = problem(rules[key], key, item) if key in rules else "not checked here"
        if message is None:
            valid[key] = item
        elif key in rules:
            errors.append(f"{where}: {message}")
    return errors, valid
