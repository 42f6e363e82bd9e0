"""What distinguishes an architecture, in the words of the comparison tables, derived from
its layer specs in params.yaml (no Keras)."""

from __future__ import annotations

from stages.model.layers import LAYER_TYPES, as_pair, layer_arguments
from stages.reporting.formatting import DASH


class UnknownLayer(ValueError):
    """A layer type the vocabulary of stages.model.layers does not have."""


def _window(value) -> str:
    h, w = as_pair(value)
    return f"({h}x{w})"


def _stride(value) -> str:
    h, w = as_pair(value)
    return str(h) if h == w else f"{h}x{w}"


def _joined(values: list[str]) -> str:
    """One value when all agree ("valid"), else each in order ("same,valid,valid")."""
    if not values:
        return DASH
    return values[0] if len(set(values)) == 1 else ",".join(values)


def _layers_by_kind(layers: list[dict]) -> tuple[list[dict], list[dict], list[dict], int]:
    convs, pools, dense = [], [], []
    batchnorm = 0
    for spec in layers:
        kind = spec["type"]
        if kind not in LAYER_TYPES:
            raise UnknownLayer(f"unknown layer type {kind!r}; allowed: {', '.join(LAYER_TYPES)}")
        args = layer_arguments(spec)
        if kind == "conv":
            convs.append(args)
        elif kind == "pool":
            pools.append(args)
        elif kind == "dense":
            dense.append(args)
        elif kind == "batchnorm":
            batchnorm += 1
    return convs, pools, dense, batchnorm


def describe(arch_spec: dict) -> dict:
    """Conv layer count, kernels, padding, strides of conv and pooling layers, activations and
    batch normalization of one architecture (Keras' defaults applied as
    `stages.model.builder` applies them)."""
    convs, pools, dense, batchnorm = _layers_by_kind(arch_spec["layers"])
    hidden_dense = dense[:-1]  # the last dense layer is the classifier (softmax)
    conv_act = [a.get("activation", "linear") for a in convs]
    dense_act = [a.get("activation", "linear") for a in hidden_dense]
    if len(set(conv_act + dense_act)) <= 1:
        activation = _joined(conv_act + dense_act)
    else:
        activation = f"conv {_joined(conv_act)}" + (f"; dense {_joined(dense_act)}" if dense_act else "")
    conv_strides = [_stride(a.get("strides", 1)) for a in convs]
    pool_strides = [_stride(a.get("strides") or a["pool_size"]) for a in pools]
    strides = f"conv {_joined(conv_strides)}" + (f"; pool {','.join(pool_strides)}" if pools else "")
    return {
        "conv_layers": len(convs),
        "kernels": ",".join(_window(a["kernel_size"]) for a in convs) or DASH,
        "padding": _joined([a.get("padding", "valid") for a in convs]),
        "conv_strides": conv_strides,
        "pool_strides": pool_strides,
        "strides": strides,
        "activation": activation,
        "batchnorm": "yes" if batchnorm else "no",
    }


def signature(desc: dict, key: str):
    """What must differ for an attribute to count as varying within a comparison: for strides
    the set of stride values (two pools of stride 2 vs one is a layer count, not a stride,
    change)."""
    if key == "strides":
        return frozenset(desc["conv_strides"]), frozenset(desc["pool_strides"])
    return desc[key]
