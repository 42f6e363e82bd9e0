"""Fail fast on a broken params.yaml: every error at once, each naming its place.

A typo in params.yaml would otherwise surface as a Keras traceback an hour into
`dvc repro`, or, in the `report` section, as a report error after every model has
trained. This module checks the file against the vocabulary of
`stages.model.builder` and the shape inference of `stages.model.shapes`, and the report's
comparisons against the architecture ids; it imports neither Keras nor TensorFlow,
so it runs in a fraction of a second.

    python -m stages.validate [--params PATH] [--stamp PATH]

Every error reads `<place>: <key> <bad value> <problem>; allowed: <what is>`, e.g.
`architectures.conv2_k3.layers[3] (dropout): rate 1.5 is out of range; allowed: 0 <= rate < 1`.
"""

from __future__ import annotations

import argparse
import math
import re
import reprlib
import sys
from pathlib import Path
from typing import Callable, Optional

import yaml

from stages.model.layers import ACTIVATIONS, LAYER_TYPES, OPTIMIZERS, PADDINGS
from stages.common.layout import PARAMS_FILE
from stages.common.atomic import write_text
from stages.model.shapes import ShapeError, output_shape

MNIST_TRAIN_SIZE = 60000
MNIST_TEST_SIZE = 10000
# The only input the models ever get: stages.train feeds the prepared 28x28 grayscale
# images with one channel axis added; any other shape fails only inside Keras' fit.
MNIST_INPUT_SHAPE = (28, 28, 1)

SECTIONS = ("data", "train", "model", "numerics", "architectures", "report")
ARCH_KEYS = ("layers", "optimizer")
REPORT_KEYS = ("alpha", "reproduction_tolerance", "comparisons")
COMPARISON_KEYS = ("title", "architectures", "pairs")
# Ids become DVC stage names (train@<id>) and file names; extra-seed runs are
# named <id>-seed<n>, which stays unambiguous only because ids have no '-'.
ARCH_ID = re.compile(r"[a-z][a-z0-9_]*")
RESERVED_IDS = {"seeds": "plots/seeds/ holds the extra-seed runs"}  # plots/<id>/ would be that folder

# Constant on purpose: downstream stages depend on the stamp, so its content must
# not change when one architecture does (the others would retrain).
STAMP_TEXT = "params.yaml validated\n"


class ParamsError(Exception):
    """params.yaml is unreadable or invalid; `.errors` lists every problem, one line each."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in params:\n" + "\n".join(f"  {e}" for e in self.errors))


class DuplicateKeyError(ParamsError):
    """The same key twice in one YAML mapping (safe_load would silently keep the last)."""


# --- how values are shown and checked -------------------------------------------------

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 4
_REPR.maxlevel = 2


def _show(value) -> str:
    """A value spelled as in YAML (null, true), cut short: random junk stays one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _REPR.repr(value)


def _found(value) -> str:
    """What was found instead of the expected: `list [1, 2]`, `str 'x'`, or just `null`."""
    if value is None or isinstance(value, bool):
        return _show(value)
    return f"{_type_name(value)} {_show(value)}"


def _type_name(value) -> str:
    if value is None:
        return "null"
    return {dict: "mapping", list: "list", bool: "bool"}.get(type(value), type(value).__name__)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's true is no 1


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _wrong_type(key, value, wanted: str) -> str:
    message = f"{key} {_show(value)} must be {wanted}, got {_type_name(value)}"
    # PyYAML (YAML 1.1) reads 1e-7 and 1.0e7 as strings: a classic epsilon typo.
    if isinstance(value, str) and "e" in value.lower():
        try:
            float(value)
            message += " (YAML reads it as a string: write a dot and a signed exponent, e.g. 1.0e-7)"
        except ValueError:
            pass
    return message


Checker = Callable[[str, object], Optional[str]]  # (key, value) -> error text or None


def _integer(low: int, high: int | None = None) -> Checker:
    allowed = f"{{key}} >= {low}" if high is None else f"{low} <= {{key}} <= {high}"

    def check(key, value):
        if not _is_int(value):
            return _wrong_type(key, value, "an integer")
        if value < low or (high is not None and value > high):
            return f"{key} {value} is out of range; allowed: {allowed.format(key=key)}"
        return None

    return check


def _number(low: float, *, low_inclusive: bool, high: float | None = None) -> Checker:
    """Finite numbers with `low <= x` (or `low < x`) and, if given, `x < high`."""
    sign = "<=" if low_inclusive else "<"
    allowed = f"{{key}} {'>=' if low_inclusive else '>'} {low}" if high is None else f"{low} {sign} {{key}} < {high}"

    def check(key, value):
        if not _is_number(value):
            return _wrong_type(key, value, "a number")
        finite = not isinstance(value, float) or math.isfinite(value)  # isfinite overflows on huge ints
        above = value >= low if low_inclusive else value > low
        if not (finite and above and (high is None or value < high)):
            return f"{key} {_show(value)} is out of range; allowed: {allowed.format(key=key)}"
        return None

    return check


def _choice(options: tuple[str, ...]) -> Checker:
    def check(key, value):
        if not (isinstance(value, str) and value in options):
            return f"unknown {key} {_show(value)}; allowed: {', '.join(options)}"
        return None

    return check


def _boolean(key, value):
    return None if isinstance(value, bool) else _wrong_type(key, value, "true or false")


def _is_int_list(value, length: int | None = None, low: int = 0) -> bool:
    return (isinstance(value, list) and (length is None or len(value) == length)
            and all(_is_int(v) and v >= low for v in value))


def _window(key, value):
    """kernel_size, pool_size, strides: Keras takes one int or a (height, width) pair."""
    if (_is_int(value) and value >= 1) or _is_int_list(value, 2, low=1):
        return None
    return f"{key} {_show(value)} is invalid; allowed: an integer >= 1 or a list of two integers >= 1"


def _input_shape(key, value):
    if _is_int_list(value, 3) and tuple(value) == MNIST_INPUT_SHAPE:
        return None
    return (f"{key} {_show(value)} is invalid; allowed: {_show(list(MNIST_INPUT_SHAPE))} only "
            "(height, width, channels of MNIST's grayscale images, the only data the stages prepare and feed)")


def _seed_list(key, value):
    if _is_int_list(value):
        return None
    return f"{key} {_show(value)} is invalid; allowed: a list of distinct integers >= 0, e.g. [1, 2]"


_fraction = _number(0, low_inclusive=True, high=1)
_positive = _number(0, low_inclusive=False)

# One checker per layer argument and optimizer hyperparameter of stages.model.builder.
ARG_CHECKS: dict[str, Checker] = {
    "filters": _integer(1),
    "units": _integer(1),
    "kernel_size": _window,
    "pool_size": _window,
    "strides": _window,
    "padding": _choice(PADDINGS),
    "activation": _choice(ACTIVATIONS),
    "rate": _fraction,
    "momentum": _fraction,
    "epsilon": _positive,
    "learning_rate": _positive,
    "rho": _fraction,
    "beta_1": _fraction,
    "beta_2": _fraction,
    "nesterov": _boolean,
}


def _key_errors(where: str, mapping: dict, required, optional=(), owner: str = "it", skip=()) -> list[str]:
    """Missing and unknown keys of one mapping; `skip` keys are checked by the caller."""
    allowed = tuple(required) + tuple(optional)
    errors = [f"{where}: missing {key!r}; {owner} needs: {', '.join(required)}"
              for key in required if key not in mapping]
    errors += [f"{where}: unknown key {_show(key)}; allowed: {', '.join(allowed) or 'none'}"
               for key in mapping if key not in allowed and key not in skip]
    return errors


def _value_errors(where: str, mapping: dict, checks: dict[str, Checker]) -> list[str]:
    errors = []
    for key, value in mapping.items():
        check = checks.get(key) if isinstance(key, str) else None
        message = check(key, value) if check else None
        if message:
            errors.append(f"{where}: {message}")
    return errors


def _not_mapping(where: str, value, example: str) -> list[str]:
    return [f"{where}: expected a mapping like {example}, got {_found(value)}"]


# --- data, train, model -----------------------------------------------------------------

def _check_section(params: dict, name: str, checks: dict[str, Checker], example: str):
    """Errors of one flat section, and its valid values (for checks across keys)."""
    section = params[name]
    if not isinstance(section, dict):
        return _not_mapping(name, section, example), {}
    errors = _key_errors(name, section, tuple(checks), owner=name)
    errors += _value_errors(name, section, checks)
    valid = {k: v for k, v in section.items() if k in checks and checks[k](k, v) is None}
    return errors, valid


def _check_data(params: dict, train_size: int) -> list[str]:
    checks = {
        "subset": _integer(0),
        "validation": _choice(("holdout", "test")),
        "val_size": _integer(1, train_size - 1),
        "test_subset": _integer(0, MNIST_TEST_SIZE),
    }
    errors, data = _check_section(params, "data", checks, "{subset: 0, validation: holdout, ...}")
    subset = data.get("subset")
    if subset is None or "validation" not in data:
        return errors
    if data["validation"] == "test":
        pool, why = train_size, f"the {train_size} training images (validation: test)"
    elif "val_size" in data:
        pool = train_size - data["val_size"]
        why = f"{train_size} training images - val_size {data['val_size']} held out"
    else:
        return errors
    if subset > pool:
        errors.append(f"data: subset {subset} is larger than the training pool; allowed: 0 <= subset <= {pool} ({why})")
    return errors


def _check_train(params: dict) -> list[str]:
    checks = {
        "epochs": _integer(1),
        "batch_size": _integer(1),
        "seed": _integer(0),
        "extra_seeds": _seed_list,
        "restore_best": _boolean,
        "monitor": _choice(("val_loss", "val_accuracy")),
        "eval_batch_size": _integer(1),
    }
    errors, train = _check_section(params, "train", checks, "{epochs: 15, batch_size: 128, ...}")
    seeds = train.get("extra_seeds", [])
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:  # two runs with one seed would write the same files
        errors.append(f"train: extra_seeds {_show(seeds)} repeats {', '.join(map(str, repeated))}; "
                      "allowed: distinct seeds")
    if "seed" in train and train["seed"] in seeds:
        errors.append(f"train: extra_seeds {_show(seeds)} contains seed {train['seed']}, "
                      "the seed of the main run; allowed: other seeds")
    return errors


def _check_model(params: dict):
    """Errors of `model`, and its valid input_shape and num_classes (None where invalid)."""
    checks = {"input_shape": _input_shape, "num_classes": _integer(2)}
    errors, model = _check_section(params, "model", checks, "{input_shape: [28, 28, 1], num_classes: 10}")
    return errors, model.get("input_shape"), model.get("num_classes")


def _version(key, value):
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+)*\S*", value):
        return _wrong_type(key, value, "a version string such as 2.21.0")
    return None


def _check_numerics(params: dict) -> list[str]:
    checks = {"threads": _integer(1), "onednn": _boolean, "device": _choice(("cpu", "gpu")),
              "tensorflow": _version, "keras": _version, "numpy": _version}
    errors, _ = _check_section(params, "numerics", checks, "{threads: 2, onednn: true, device: cpu, ...}")
    return errors


# --- architectures ----------------------------------------------------------------------

def _id_errors(arch_id) -> list[str]:
    if not (isinstance(arch_id, str) and ARCH_ID.fullmatch(arch_id)):
        return [f"architectures: id {_show(arch_id)} is invalid; allowed: lowercase letters, digits and _, "
                "starting with a letter (ids become DVC stage names and file names)"]
    if arch_id in RESERVED_IDS:
        return [f"architectures: id {arch_id!r} is reserved ({RESERVED_IDS[arch_id]}); choose another"]
    return []


def _arch_place(arch_id) -> str:
    """`architectures.conv2_k3`; invalid ids (spaces, newlines...) quoted instead."""
    if isinstance(arch_id, str) and arch_id.isprintable() and " " not in arch_id and arch_id:
        return f"architectures.{arch_id}"
    return f"architectures[{_show(arch_id)}]"


def _layer_errors(where: str, spec) -> list[str]:
    """Errors of one layer entry; none means shape inference can run on it."""
    if not isinstance(spec, dict):
        return _not_mapping(where, spec, "{type: dense, units: 10}")
    if "type" not in spec:
        return [f"{where}: missing 'type'; allowed: {', '.join(LAYER_TYPES)}"]
    kind = spec["type"]
    if not (isinstance(kind, str) and kind in LAYER_TYPES):
        return [f"{where}: unknown type {_show(kind)}; allowed: {', '.join(LAYER_TYPES)}"]
    where, layer_type = f"{where} ({kind})", LAYER_TYPES[kind]
    errors = _key_errors(where, spec, layer_type.required, layer_type.optional, owner=kind, skip=("type",))
    return errors + _value_errors(where, {k: v for k, v in spec.items() if k in layer_type.arguments}, ARG_CHECKS)


def _shape_errors(where: str, layers: list, input_shape):
    """Shape inference through well-formed layers; stops at the first error, whose
    cause hides every later shape. Returns (errors, final shape or None)."""
    shape = tuple(input_shape)
    for index, spec in enumerate(layers):
        try:
            shape = output_shape(spec, shape, index)
        except ShapeError as error:
            return [f"{where}.layers[{index}] ({spec['type']}): {error}"], None
    return [], shape


def _output_errors(where: str, layers: list, final_shape, num_classes) -> list[str]:
    """The model must end in softmax probabilities over model.num_classes classes."""
    index, last = len(layers) - 1, layers[-1]
    place = f"{where}.layers[{index}] ({last['type']})"
    units = f"{num_classes} (model.num_classes)" if num_classes is not None else "model.num_classes"
    wanted = f"the last layer must be a dense layer with units {units} and activation softmax"
    if last["type"] != "dense":
        return [f"{place}: {wanted}; found a {last['type']} layer"]
    activation = last.get("activation", LAYER_TYPES["dense"].defaults["activation"])
    wrong_units = num_classes is not None and last["units"] != num_classes
    if wrong_units or activation != "softmax":
        default = "" if "activation" in last else " (the default)"
        return [f"{place}: {wanted}; found units {last['units']}, activation {activation}{default}"]
    if final_shape is not None and len(final_shape) != 1:
        return [f"{place}: output shape {final_shape} is not flat; the model must output one probability per class: "
                "add a flatten before the last dense layer"]
    return []


def _check_layers(where: str, layers, input_shape, num_classes) -> list[str]:
    if not isinstance(layers, list) or not layers:
        return [f"{where}.layers: expected a non-empty list of layers, got {_found(layers)}"]
    per_layer = [_layer_errors(f"{where}.layers[{i}]", spec) for i, spec in enumerate(layers)]
    errors = [error for layer_errors in per_layer for error in layer_errors]
    # Shapes only make sense up to the first malformed layer.
    well_formed = next((i for i, layer_errors in enumerate(per_layer) if layer_errors), len(layers))
    final_shape = None  # known only if every layer is well-formed and fits
    if input_shape is not None:
        shape_errors, shape = _shape_errors(where, layers[:well_formed], input_shape)
        errors += shape_errors
        if well_formed == len(layers):
            final_shape = shape
    if not per_layer[-1]:
        errors += _output_errors(where, layers, final_shape, num_classes)
    return errors


def _check_optimizer(where: str, spec) -> list[str]:
    if not isinstance(spec, dict):
        return _not_mapping(where, spec, "{name: adam, learning_rate: 0.001, ...}")
    if "name" not in spec:
        return [f"{where}: missing 'name'; allowed: {', '.join(OPTIMIZERS)}"]
    name = spec["name"]
    if not (isinstance(name, str) and name in OPTIMIZERS):
        return [f"{where}: unknown optimizer {_show(name)}; allowed: {', '.join(OPTIMIZERS)}"]
    # Every hyperparameter is required: Keras' defaults change between versions.
    hyperparameters = OPTIMIZERS[name][1]
    errors = _key_errors(where, spec, hyperparameters, owner=name, skip=("name",))
    return errors + _value_errors(where, {k: v for k, v in spec.items() if k in hyperparameters}, ARG_CHECKS)


def _check_architecture(where: str, arch, input_shape, num_classes) -> list[str]:
    if not isinstance(arch, dict):
        return _not_mapping(where, arch, "{optimizer: {...}, layers: [...]}")
    errors = _key_errors(where, arch, ARCH_KEYS, owner="an architecture")
    if "layers" in arch:
        errors += _check_layers(where, arch["layers"], input_shape, num_classes)
    if "optimizer" in arch:
        errors += _check_optimizer(f"{where}.optimizer", arch["optimizer"])
    return errors


def _check_architectures(params: dict, input_shape, num_classes) -> list[str]:
    archs = params["architectures"]
    if not isinstance(archs, dict) or not archs:
        return [f"architectures: expected a non-empty mapping of id: {{optimizer, layers}}, got {_found(archs)}"]
    errors = []
    for arch_id, arch in archs.items():
        errors += _id_errors(arch_id)
        errors += _check_architecture(_arch_place(arch_id), arch, input_shape, num_classes)
    return errors


# --- report -----------------------------------------------------------------------------

REPORT_CHECKS: dict[str, Checker] = {
    "alpha": _number(0, low_inclusive=False, high=1),  # significance level of the Holm-adjusted tests
    "reproduction_tolerance": _number(0, low_inclusive=True),  # a fraction: 0.003 = 0.3 points
}


def _title(key, value):
    """A comparison's title heads a Markdown section: one non-blank line."""
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value:
        return None
    return f"{key} {_show(value)} is invalid; allowed: a non-empty one-line text"


def _id_reference_errors(where: str, arch, arch_ids) -> list[str]:
    """An architecture id named by the report; `arch_ids` None: `architectures` is broken
    (reported there), so only the type is checked."""
    if not isinstance(arch, str):
        return [f"{where}: architecture {_show(arch)} must be an architecture id, got {_type_name(arch)}"]
    if arch_ids is not None and arch not in arch_ids:
        return [f"{where}: architecture {_show(arch)} is not in the architectures section; "
                f"allowed: {', '.join(map(str, arch_ids))}"]
    return []


def _pair_errors(where: str, pair, arch_ids) -> list[str]:
    if not (isinstance(pair, list) and len(pair) == 2):
        return [f"{where}: expected a pair of two architecture ids like [conv2_k5, conv2_k3], got {_found(pair)}"]
    errors = [error for arch in pair for error in _id_reference_errors(where, arch, arch_ids)]
    if not errors and pair[0] == pair[1]:
        errors.append(f"{where}: pair {_show(pair)} compares {pair[0]!r} with itself; "
                      "allowed: two different architecture ids")
    return errors


def _comparison_errors(where: str, comparison, arch_ids) -> list[str]:
    """Errors of one `report.comparisons` entry: its keys, title, architectures and pairs."""
    if not isinstance(comparison, dict):
        return _not_mapping(where, comparison, "{title: Padding, architectures: [a, b], pairs: [[b, a]]}")
    errors = _key_errors(where, comparison, COMPARISON_KEYS, owner="a comparison")
    errors += _value_errors(where, comparison, {"title": _title})
    if "architectures" in comparison:
        archs = comparison["architectures"]
        if not isinstance(archs, list) or not archs:
            errors.append(f"{where}: architectures {_show(archs)} is invalid; "
                          "allowed: a non-empty list of architecture ids (the rows of its table)")
        else:
            for j, arch in enumerate(archs):
                errors += _id_reference_errors(f"{where}.architectures[{j}]", arch, arch_ids)
            ids = [arch for arch in archs if isinstance(arch, str)]
            repeated = sorted({arch for arch in ids if ids.count(arch) > 1})
            if repeated:  # the table would show the row twice
                errors.append(f"{where}: architectures {_show(archs)} repeats {', '.join(repeated)}; "
                              "allowed: distinct ids")
    if "pairs" in comparison:
        pairs = comparison["pairs"]
        if not isinstance(pairs, list):
            errors.append(f"{where}: pairs {_show(pairs)} is invalid; "
                          "allowed: a list of [a, b] pairs of architecture ids ([] for none)")
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
        return [f"{where}: expected a list of {{title, architectures, pairs}} entries ([] for none), "
                f"got {_found(comparisons)}"]
    arch_ids = None if arch_ids is None else list(arch_ids)
    return [error for i, comparison in enumerate(comparisons)
            for error in _comparison_errors(f"{where}[{i}]", comparison, arch_ids)]


def report_errors(params: dict) -> list[str]:
    """Every error of the `report` section of loaded params, [] if valid (what
    stages.report relies on): alpha with 0 < alpha < 1, reproduction_tolerance >= 0 and
    `comparison_errors` of comparisons, checked against the ids of `architectures`."""
    if "report" not in params:
        return [f"top level: missing section 'report'; needs: {', '.join(SECTIONS)}"]
    section = params["report"]
    if not isinstance(section, dict):
        return _not_mapping("report", section, "{alpha: 0.05, reproduction_tolerance: 0.003, comparisons: [...]}")
    errors = _key_errors("report", section, REPORT_KEYS, owner="report")
    errors += _value_errors("report", section, REPORT_CHECKS)
    if "comparisons" in section:
        archs = params.get("architectures")
        errors += comparison_errors(section["comparisons"], archs if isinstance(archs, dict) and archs else None)
    return errors


# --- the whole file ---------------------------------------------------------------------

def validate_params(params: dict, mnist_train_size: int = MNIST_TRAIN_SIZE) -> list[str]:
    """Every error of a loaded params.yaml, one line each, in file order; [] if valid."""
    if not isinstance(params, dict):
        return [f"top level: expected a mapping with sections {', '.join(SECTIONS)}, got {_found(params)}"]
    errors = [f"top level: missing section {name!r}; needs: {', '.join(SECTIONS)}"
              for name in SECTIONS if name not in params]
    input_shape = num_classes = None
    if "data" in params:
        errors += _check_data(params, mnist_train_size)
    if "train" in params:
        errors += _check_train(params)
    if "model" in params:
        model_errors, input_shape, num_classes = _check_model(params)
        errors += model_errors
    if "numerics" in params:
        errors += _check_numerics(params)
    if "architectures" in params:
        errors += _check_architectures(params, input_shape, num_classes)
    if "report" in params:
        errors += report_errors(params)
    return errors


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys, which safe_load silently drops."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[object, int, int]] = []  # key, first line, repeated line

    def construct_mapping(self, node, deep=False):
        first_lines = {}
        for key_node, _ in node.value:  # before merges (<<) are flattened in: overriding them is fine
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in first_lines:
                self.duplicates.append((key, first_lines[key], line))
            else:
                first_lines[key] = line
        return super().construct_mapping(node, deep=deep)


def _display(path: Path | str) -> str:
    """The path relative to the working directory when inside it: short messages."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def _yaml_error(name: str, error: yaml.YAMLError) -> str:
    mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
    if mark is not None and problem:
        return f"{name}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {' '.join(problem.split())}"
    return f"{name}: invalid YAML: {' '.join(str(error).split())}"


def _load(path: Path | str) -> tuple[dict, list[str]]:
    """The params of `path` and its duplicate-key errors; ParamsError if the file is
    unreadable, unparsable or not a mapping."""
    name = _display(path)
    try:
        with open(path, "rb") as f:  # bytes: PyYAML reports bad encodings as a YAMLError
            loader = _StrictLoader(f)
            try:
                params = loader.get_single_data()
            finally:
                loader.dispose()
    except OSError as error:
        raise ParamsError([f"{name}: cannot read: {error.strerror or error}"]) from None
    except yaml.YAMLError as error:
        raise ParamsError([_yaml_error(name, error)]) from None
    duplicates = [f"{name}:{line}: duplicate key {_show(key)} (first on line {first}); "
                  "YAML would silently keep only the last one"
                  for key, first, line in sorted(loader.duplicates, key=lambda d: d[2])]
    if not isinstance(params, dict):
        found = "an empty file" if params is None else _found(params)
        raise ParamsError(duplicates + [f"{name}: expected a mapping with sections {', '.join(SECTIONS)}, "
                                        f"got {found}"])
    return params, duplicates


def load_params_strict(path: Path | str = PARAMS_FILE) -> dict:
    """Read params.yaml like `layout.load_params`, but refuse duplicate mapping keys
    anywhere (DuplicateKeyError, naming each key and line); unreadable, unparsable or
    non-mapping files raise a ParamsError naming the file."""
    params, duplicates = _load(path)
    if duplicates:
        raise DuplicateKeyError(duplicates)
    return params


def check(path: Path | str = PARAMS_FILE) -> dict:
    """The params of `path`, loaded strictly and validated; ParamsError lists every error
    (duplicate keys first, then what validate_params finds in what YAML kept)."""
    params, duplicates = _load(path)
    errors = duplicates + validate_params(params)
    if errors:
        raise (DuplicateKeyError if duplicates else ParamsError)(errors)
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE, help="the file to check (default: params.yaml)")
    parser.add_argument("--stamp", type=Path, help=f"on success, write {STAMP_TEXT.strip()!r} here for DVC")
    args = parser.parse_args(argv)
    name = _display(args.params)
    try:
        params = check(args.params)
    except ParamsError as error:
        print(f"{name}: {len(error.errors)} error(s):", file=sys.stderr)
        for message in error.errors:
            print(f"  {message}", file=sys.stderr)
        return 1
    if args.stamp is not None:
        write_text(args.stamp, STAMP_TEXT)
    print(f"{name}: OK ({len(params['architectures'])} architectures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
