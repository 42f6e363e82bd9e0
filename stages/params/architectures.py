"""The rules of params.yaml's `architectures` section: ids; each layer's arguments by the vocabulary
(`stages.model.layers`), the feature maps by `stages.model.shapes`, the last layer against
`model.num_classes`; optimizers."""

from __future__ import annotations

import re

from stages.model.layers import LAYER_TYPES, OPTIMIZERS
from stages.model.shapes import ShapeError, output_shape
from stages.params.checks import Rule, found, mapping_errors, plain, problem, show

# Ids become DVC stage names (train@<id>) and file names; extra-seed runs are named <id>-seed<n>,
# unambiguous only because ids have no '-', and live in plots/seeds/, which plots/<id>/ would be.
ARCH_ID = Rule(
    lambda v: isinstance(v, str) and re.fullmatch(r"[a-z][a-z0-9_]*", v) and v != "seeds",
    "lowercase letters, digits and _, starting with a letter, not seeds (ids become DVC stage names and file names)",
)
# kind -> (rules of its keys, the required ones); every hyperparameter of an optimizer is required:
# Keras' defaults change between versions.
LAYER_KINDS = {k: ({n: a.rule for n, a in t.args.items()}, t.required) for k, t in LAYER_TYPES.items()}
OPTIMIZER_KINDS = {k: (o.hyperparameters, tuple(o.hyperparameters)) for k, o in OPTIMIZERS.items()}


def _tagged_errors(where: str, spec, tag: str, kinds: dict, example: str) -> list[str]:
    """A layer (tag `type`, its place labelled with it) or an optimizer (tag `name`): its kind,
    then its keys by that kind's rules."""
    what = "type" if tag == "type" else "optimizer"
    kind = spec.get(tag) if isinstance(spec, dict) else None
    if isinstance(spec, dict) and not (isinstance(kind, str) and kind in kinds):
        wrong = f"unknown {what} {show(kind)}" if tag in spec else f"missing {tag!r}"
        return [f"{where}: {wrong}; allowed: {', '.join(kinds)}"]
    rules, required = kinds.get(kind, ({}, ()))
    place = f"{where} ({kind})" if tag == "type" and kind else where
    return mapping_errors(place, spec, rules, required, owner=kind, skip=(tag,), example=example)[0]


def _layers_errors(where: str, layers, shape, num_classes) -> list[str]:
    """Each layer's keys; the feature maps from `shape` (model.input_shape, None: unchecked) up to the
    first malformed layer or the first that does not fit; a last layer of softmax probabilities."""
    if not isinstance(layers, list) or not layers:
        return [f"{where}.layers: expected a non-empty list of layers, got {found(layers)}"]
    errors = []
    for index, spec in enumerate(layers):
        place = f"{where}.layers[{index}]"
        malformed = _tagged_errors(place, spec, "type", LAYER_KINDS, "{type: dense, units: 10}")
        errors += malformed
        try:
            shape = None if malformed or shape is None else output_shape(spec, tuple(shape), index)
        except ShapeError as error:
            errors.append(f"{place} ({spec['type']}): {error}")
            shape = None
    if malformed:
        return errors
    units = f"{num_classes} (model.num_classes)" if num_classes is not None else "model.num_classes"
    wanted = f"{place} ({spec['type']}): the last layer must be a dense layer with units {units} and activation softmax"
    activation = spec.get("activation", LAYER_TYPES["dense"].args["activation"].default)
    got = f"units {spec.get('units')}, activation {activation}" + ("" if "activation" in spec else " (the default)")
    if not (spec["type"] == "dense" and num_classes in (None, spec["units"]) and activation == "softmax"):
        return errors + [f"{wanted}; found " + (got if spec["type"] == "dense" else f"a {spec['type']} layer")]
    if shape is not None and len(shape) != 1:
        flat = "the model must output one probability per class: add a flatten before the last dense layer"
        return errors + [f"{place} ({spec['type']}): output shape {shape} is not flat; {flat}"]
    return errors


def architectures_errors(archs, input_shape, num_classes) -> list[str]:
    """Every error of the `architectures` section; `input_shape` and `num_classes` are
    model's valid values (None where invalid: those checks are skipped)."""
    if not isinstance(archs, dict) or not archs:
        return [f"architectures: expected a non-empty mapping of id: {{optimizer, layers}}, got {found(archs)}"]
    errors = []
    for arch_id, arch in archs.items():
        where = f"architectures.{arch_id}" if plain(arch_id) == arch_id else f"architectures[{show(arch_id)}]"
        errors += [f"architectures: {message}"] if (message := problem(ARCH_ID, "id", arch_id)) else []
        errors += mapping_errors(where, arch, {"layers": None, "optimizer": None}, owner="an architecture")[0]
        arch = arch if isinstance(arch, dict) else {}
        if "layers" in arch:
            errors += _layers_errors(where, arch["layers"], input_shape, num_classes)
        if "optimizer" in arch:
            example = "{name: adam, learning_rate: 0.001, ...}"
            errors += _tagged_errors(f"{where}.optimizer", arch["optimizer"], "name", OPTIMIZER_KINDS, example)
    return errors
