"""The rules of params.yaml's `architectures` section: ids, layers, shapes, optimizers.

Each layer's arguments are checked by the rules the vocabulary (`stages.model.layers`)
gives them, then the feature maps by the shape inference of `stages.model.shapes`, and
the last layer against `model.num_classes`.
"""

from __future__ import annotations

import re

from stages.model.layers import LAYER_TYPES, OPTIMIZERS
from stages.model.shapes import ShapeError, output_shape
from stages.params.checks import found, mapping_errors, plain, show

# Ids become DVC stage names (train@<id>) and file names; extra-seed runs are
# named <id>-seed<n>, which stays unambiguous only because ids have no '-'.
ARCH_ID = re.compile(r"[a-z][a-z0-9_]*")
RESERVED_IDS = {"seeds": "plots/seeds/ holds the extra-seed runs"}  # plots/<id>/ would be that folder

# kind -> (rules of its keys, the required ones), for layers (by `type`) and optimizers (by `name`);
# every hyperparameter of an optimizer is required: Keras' defaults change between versions.
LAYERS = {kind: ({n: a.rule for n, a in t.args.items()}, t.required) for kind, t in LAYER_TYPES.items()}
OPTIMIZER_KINDS = {name: (o.hyperparameters, tuple(o.hyperparameters)) for name, o in OPTIMIZERS.items()}
# tag -> (its kinds, what a kind is called, an example of the mapping)
TAGGED = {
    "type": (LAYERS, "type", "{type: dense, units: 10}"),
    "name": (OPTIMIZER_KINDS, "optimizer", "{name: adam, learning_rate: 0.001, ...}"),
}


def id_errors(arch_id) -> list[str]:
    if not (isinstance(arch_id, str) and ARCH_ID.fullmatch(arch_id)):
        return [
            f"architectures: id {show(arch_id)} is invalid; allowed: lowercase letters, digits and _, "
            "starting with a letter (ids become DVC stage names and file names)"
        ]
    if arch_id in RESERVED_IDS:
        return [f"architectures: id {arch_id!r} is reserved ({RESERVED_IDS[arch_id]}); choose another"]
    return []


def _tagged_errors(where: str, spec, tag: str) -> list[str]:
    """A layer (tag `type`) or an optimizer (tag `name`): its kind, then its keys by that kind's rules."""
    kinds, what, example = TAGGED[tag]
    if isinstance(spec, dict) and tag not in spec:
        return [f"{where}: missing {tag!r}; allowed: {', '.join(kinds)}"]
    if isinstance(spec, dict) and not (isinstance(spec[tag], str) and spec[tag] in kinds):
        return [f"{where}: unknown {what} {show(spec[tag])}; allowed: {', '.join(kinds)}"]
    kind = spec.get(tag) if isinstance(spec, dict) else None
    rules, required = kinds.get(kind, ({}, ()))
    place = f"{where} ({kind})" if tag == "type" and kind else where
    return mapping_errors(place, spec, rules, required, owner=kind, skip=(tag,), example=example)[0]


def _output_errors(where: str, layers: list, final_shape, num_classes) -> list[str]:
    """The model must end in softmax probabilities over model.num_classes classes."""
    last = layers[-1]
    place = f"{where}.layers[{len(layers) - 1}] ({last['type']})"
    units = f"{num_classes} (model.num_classes)" if num_classes is not None else "model.num_classes"
    wanted = f"the last layer must be a dense layer with units {units} and activation softmax"
    if last["type"] != "dense":
        return [f"{place}: {wanted}; found a {last['type']} layer"]
    activation = last.get("activation", LAYER_TYPES["dense"].args["activation"].default)
    if (num_classes is not None and last["units"] != num_classes) or activation != "softmax":
        default = "" if "activation" in last else " (the default)"
        return [f"{place}: {wanted}; found units {last['units']}, activation {activation}{default}"]
    if final_shape is not None and len(final_shape) != 1:
        return [
            f"{place}: output shape {final_shape} is not flat; the model must output one probability per class: "
            "add a flatten before the last dense layer"
        ]
    return []


def _layers_errors(where: str, layers, input_shape, num_classes) -> list[str]:
    if not isinstance(layers, list) or not layers:
        return [f"{where}.layers: expected a non-empty list of layers, got {found(layers)}"]
    per_layer = [_tagged_errors(f"{where}.layers[{i}]", spec, "type") for i, spec in enumerate(layers)]
    errors = [error for layer_errors in per_layer for error in layer_errors]
    # Shapes make sense up to the first malformed layer, and stop at the first that does not fit.
    shape = tuple(input_shape) if input_shape is not None else None
    for index, spec in enumerate(layers):
        if shape is None or per_layer[index]:
            shape = None
            break
        try:
            shape = output_shape(spec, shape, index)
        except ShapeError as error:
            errors.append(f"{where}.layers[{index}] ({spec['type']}): {error}")
            shape = None
            break
    if not per_layer[-1]:
        errors += _output_errors(where, layers, shape, num_classes)
    return errors


def architectures_errors(archs, input_shape, num_classes) -> list[str]:
    """Every error of the `architectures` section; `input_shape` and `num_classes` are
    model's valid values (None where invalid: those checks are skipped)."""
    if not isinstance(archs, dict) or not archs:
        return [f"architectures: expected a non-empty mapping of id: {{optimizer, layers}}, got {found(archs)}"]
    errors = []
    for arch_id, arch in archs.items():
        errors += id_errors(arch_id)
        where = f"architectures.{arch_id}" if plain(arch_id) == arch_id else f"architectures[{show(arch_id)}]"
        errors += mapping_errors(where, arch, {"layers": None, "optimizer": None}, owner="an architecture")[0]
        if isinstance(arch, dict) and "layers" in arch:
            errors += _layers_errors(where, arch["layers"], input_shape, num_classes)
        if isinstance(arch, dict) and "optimizer" in arch:
            errors += _tagged_errors(f"{where}.optimizer", arch["optimizer"], "name")
    return errors
