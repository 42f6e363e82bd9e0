"""Shapes and forward FLOPs of an architecture, computed from its params.yaml entry
without Keras: the validator needs them to fail fast, the report to price each model.
Omitted arguments take the defaults of the vocabulary (`stages.model.layers`), as the
built layers do."""

from __future__ import annotations

import math

from stages.model.layers import as_pair, resolved_arguments


class ShapeError(ValueError):
    """A layer that cannot be applied to the feature map it receives."""

    def __init__(self, index: int, key: str, message: str):
        super().__init__(message)
        self.index, self.key = index, key


def _window_out(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def _windowed(shape, index, window_key, window, strides, padding, channels):
    if len(shape) != 3:
        raise ShapeError(index, window_key, f"needs a height x width x channels map, got shape {shape}")
    window, strides = as_pair(window), as_pair(strides)
    out = []
    for axis, (size, w, s) in enumerate(zip(shape[:2], window, strides, strict=True)):
        if padding == "valid" and w > size:
            raise ShapeError(
                index,
                window_key,
                f"{window_key} {w} is larger than the {size}x{shape[1 - axis]} feature map it receives",
            )
        out.append(_window_out(size, w, s, padding))
    return (out[0], out[1], channels)


def output_shape(spec: dict, shape: tuple, index: int = 0) -> tuple:
    """Shape (without the batch axis) of one layer's output, given its input's."""
    kind, args = spec["type"], resolved_arguments(spec)
    if kind == "conv":
        return _windowed(
            shape, index, "kernel_size", args["kernel_size"], args["strides"], args["padding"], args["filters"]
        )
    if kind == "pool":
        pool = args["pool_size"]
        strides = args["strides"] or pool  # Keras: strides default to the pool size
        return _windowed(shape, index, "pool_size", pool, strides, args["padding"], shape[-1])
    if kind == "dense":  # Keras applies Dense to the last axis of any rank
        return tuple(shape[:-1]) + (args["units"],)
    if kind == "flatten":
        return (math.prod(shape),)
    return tuple(shape)  # dropout, batchnorm


def layer_shapes(layers: list[dict], input_shape) -> list[tuple]:
    shapes, shape = [], tuple(input_shape)
    for index, spec in enumerate(layers):
        shape = output_shape(spec, shape, index)
        shapes.append(shape)
    return shapes


def forward_flops(layers: list[dict], input_shape) -> int:
    """Multiply-adds x 2 of convolutions and dense layers for one image (the usual count;
    activations, pooling and normalisation add well under 1%)."""
    total, shape = 0, tuple(input_shape)
    for index, spec in enumerate(layers):
        out = output_shape(spec, shape, index)
        if spec["type"] == "conv":
            kh, kw = as_pair(spec["kernel_size"])
            total += 2 * kh * kw * shape[-1] * math.prod(out)
        elif spec["type"] == "dense":
            total += 2 * shape[-1] * math.prod(out)
        shape = out
    return total
