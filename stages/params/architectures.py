"""The rules of params.yaml's `architectures` section: ids, layers, shapes, optimizers.

Each layer's arguments are checked by the rules the vocabulary (`stages.model.layers`)
gives them, then the feature maps by the shape inference of `stages.model.shapes`, and
the last layer against `model.num_classes`.
"""

from __future__ import annotations

import re

from stages.model.layers import LAYER_TYPES, OPTIMIZERS
from stages.model.shapes import ShapeError, output_shape
from stages.params.checks import checker, found, key_errors, not_mapping, show, value_errors

ARCH_KEYS = ("layers", "optimizer")
# Ids become DVC stage names (train@<id>) and file names; extra-seed runs are
# named <id>-seed<n>, which stays unambiguous only because ids have no '-'.
ARCH_ID = re.compile(r"[a-z][a-z0-9_]*")
RESERVED_IDS = {"seeds": "plots/seeds/ holds the extra-seed runs"}  # plots/<id>/ would be that folder

# The checkers of every layer type's arguments and every optimizer's hyperparameters.
LAYER_CHECKS = {
    kind: {name: checker(arg.rule) for name, arg in layer_type.args.items()} for kind, layer_type in LAYER_TYPES.items()
}
OPTIMIZER_CHECKS = {
    name: {key: checker(rule) for key, rule in optimizer.hyperparameters.items()}
    for name, optimizer in OPTIMIZERS.items()
}


def _id_errors(arch_id) -> list[str]:
    if not (isinstance(arch_id, str) and ARCH_ID.fullmatch(arch_id)):
        return [
            f"architectures: id {show(arch_id)} is invalid; allowed: lowercase letters, digits and _, "
            "starting with a letter (ids become DVC stage names and file names)"
        ]
    if arch_id in RESERVED_IDS:
        return [f"architectures: id {arch_id!r} is reserved ({RESERVED_IDS[arch_id]}); choose another"]
    return []


def _arch_place(arch_id) -> str:
    """`architectures.conv2_k3`; invalid ids (spaces, newlines...) quoted instead."""
    if isinstance(arch_id, str) and arch_id.isprintable() and " " not in arch_id and arch_id:
        return f"architectures.{arch_id}"
    return f"architectures[{show(arch_id)}]"


def _layer_errors(where: str, spec) -> list[str]:
    """Errors of one layer entry; none means shape inference can run on it."""
    if not isinstance(spec, dict):
        return not_mapping(where, spec, "{type: dense, units: 10}")
    if "type" not in spec:
        return [f"{where}: missing 'type'; allowed: {', '.join(LAYER_TYPES)}"]
    kind = spec["type"]
    if not (isinstance(kind, str) and kind in LAYER_TYPES):
        return [f"{where}: unknown type {show(kind)}; allowed: {', '.join(LAYER_TYPES)}"]
    where, layer_type = f"{where} ({kind})", LAYER_TYPES[kind]
    errors = key_errors(where, spec, layer_type.required, layer_type.optional, owner=kind, skip=("type",))
    return errors + value_errors(where, spec, LAYER_CHECKS[kind])


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
    activation = last.get("activation", LAYER_TYPES["dense"].args["activation"].default)
    wrong_units = num_classes is not None and last["units"] != num_classes
    if wrong_units or activation != "softmax":
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


def _optimizer_errors(where: str, spec) -> list[str]:
    if not isinstance(spec, dict):
        return not_mapping(where, spec, "{name: adam, learning_rate: 0.001, ...}")
    if "name" not in spec:
        return [f"{where}: missing 'name'; allowed: {', '.join(OPTIMIZERS)}"]
    name = spec["name"]
    if not (isinstance(name, str) and name in OPTIMIZERS):
        return [f"{where}: unknown optimizer {show(name)}; allowed: {', '.join(OPTIMIZERS)}"]
    # Every hyperparameter is required: Keras' defaults change between versions.
    errors = key_errors(where, spec, tuple(OPTIMIZERS[name].hyperparameters), owner=name, skip=("name",))
    return errors + value_errors(where, spec, OPTIMIZER_CHECKS[name])


def _architecture_errors(where: str, arch, input_shape, num_classes) -> list[str]:
    if not isinstance(arch, dict):
        return not_mapping(where, arch, "{optimizer: {...}, layers: [...]}")
    errors = key_errors(where, arch, ARCH_KEYS, owner="an architecture")
    if "layers" in arch:
        errors += _layers_errors(where, arch["layers"], input_shape, num_classes)
    if "optimizer" in arch:
        errors += _optimizer_errors(f"{where}.optimizer", arch["optimizer"])
    return errors


def architectures_errors(archs, input_shape, num_classes) -> list[str]:
    """Every error of the `architectures` section; `input_shape` and `num_classes` are
    model's valid values (None where invalid: those checks are skipped)."""
    if not isinstance(archs, dict) or not archs:
        return [f"architectures: expected a non-empty mapping of id: {{optimizer, layers}}, got {found(archs)}"]
    errors = []
    for arch_id, arch in archs.items():
        errors += _id_errors(arch_id)
        errors += _architecture_errors(_arch_place(arch_id), arch, input_shape, num_classes)
    return errors
