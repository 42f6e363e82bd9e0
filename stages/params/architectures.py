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
# tag -> (kind -> (rules of its keys, the required ones), what a kind is called, an example of the mapping),
# for layers (by `type`) and optimizers (by `name`); every hyperparameter of an optimizer is required:
# Keras' defaults change between versions.
TAGGED = {
    "type": (
        {kind: ({n: a.rule for n, a in t.args.items()}, t.required) for kind, t in LAYER_TYPES.items()},
        "type",
        "{type: dense, units: 10}",
    ),
    "name": (
        {name: (o.hyperparameters, tuple(o.hyperparameters)) for name, o in OPTIMIZERS.items()},
        "optimizer",
        "{name: adam, learning_rate: 0.001, ...}",
    ),
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
    kind = spec.get(tag) if isinstance(spec, dict) else None
    if isinstance(spec, dict) and not (isinstance(kind, str) and kind in kinds):
        wrong = f"unknown {what} {show(kind)}" if tag in spec else f"missing {tag!r}"
        return [f"{where}: {wrong}; allowed: {', '.join(kinds)}"]
    rules, required = kinds.get(kind, ({}, ()))
    place = f"{where} ({kind})" if tag == "type" and kind else where
    return mapping_errors(place, spec, rules, required, owner=kind, skip=(tag,), example=example)[0]


def _layers_errors(where: str, layers, shape, num_classes) -> list[str]:
    """Each layer's keys; the feature maps up to the first malformed layer or the first that
    does not fit; and a last layer of softmax probabilities over model.num_classes classes."""
    if not isinstance(layers, list) or not layers:
        return [f"{where}.layers: expected a non-empty list of layers, got {found(layers)}"]
    errors = []
    for index, spec in enumerate(layers):
        place = f"{where}.layers[{index}]"
        malformed = _tagged_errors(place, spec, "type")
        errors += malformed
        try:
            shape = None if malformed or shape is None else output_shape(spec, tuple(shape), index)
        except ShapeError as error:
            errors.append(f"{place} ({spec['type']}): {error}")
            shape = None
    if malformed:
        return errors
    last, place = layers[-1], f"{place} ({spec['type']})"
    units = f"{num_classes} (model.num_classes)" if num_classes is not None else "model.num_classes"
    wanted = f"{place}: the last layer must be a dense layer with units {units} and activation softmax"
    activation = last.get("activation", LAYER_TYPES["dense"].args["activation"].default)
    if last["type"] != "dense":
        return errors + [f"{wanted}; found a {last['type']} layer"]
    if (num_classes is not None and last["units"] != num_classes) or activation != "softmax":
        default = "" if "activation" in last else " (the default)"
        return errors + [f"{wanted}; found units {last['units']}, activation {activation}{default}"]
    if shape is not None and len(shape) != 1:
        return errors + [
            f"{place}: output shape {shape} is not flat; the model must output one probability per class: "
            "add a flatten before the last dense layer"
        ]
    return errors


def architectures_errors(archs, input_shape, num_classes) -> list[str]:
    """Every error of the `architectures` section; `input_shape` and `num_classes` are
    model's valid values (None where invalid: those checks are skipped)."""
    if not isinstance(archs, dict) or not archs:
        return [f"architectures: expected a non-empty mapping of id: {{optimizer, layers}}, got {found(archs)}"]
    errors = []
    for arch_id, arch in archs.items():
        where = f"architectures.{arch_id}" if plain(arch_id) == arch_id else f"architectures[{show(arch_id)}]"
        errors += id_errors(arch_id)
        errors += mapping_errors(where, arch, {"layers": None, "optimizer": None}, owner="an architecture")[0]
        if isinstance(arch, dict) and "layers" in arch:
            errors += _layers_errors(where, arch["layers"], input_shape, num_classes)
        if isinstance(arch, dict) and "optimizer" in arch:
            errors += _tagged_errors(f"{where}.optimizer", arch["optimizer"], "name")
    return errors
