"""Shapes and forward FLOPs of an architecture, computed from its params.yaml entry
without Keras: the validator needs them to fail fast, the report to price each model."""

from __future__ import annotations

import math


class ShapeError(ValueError):
    """A layer that cannot be applied to the feature map it receives."""

    def __init__(self, index: int, key: str, message: str):
        super().__init__(message)
        self.index, self.key = index, key


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _window_out(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def _windowed(shape, index, window_key, window, strides, padding, channels):
    if len(shape) != 3:
        raise ShapeError(index, window_key, f"needs a height x width x channels map, got shape {shape}")
    window, strides = _pair(window), _pair(strides)
    out = []
    for axis, (size, w, s) in enumerate(zip(shape[:2], window, strides)):
        if padding == "valid" and w > size:
            raise ShapeError(index, window_key,
                             f"{window_key} {w} is larger than the {size}x{shape[1 - axis]} feature map it receives")
        out.append(_window_out(size, w, s, padding))
    return (out[0], out[1], channels)


def output_shape(spec: dict, shape: tuple, index: int = 0) -> tuple:
    """Shape (without the batch axis) of one layer's output, given its input's."""
    kind = spec["type"]
    if kind == "conv":
        return _windowed(shape, index, "kernel_size", spec["kernel_size"], spec.get("strides", 1),
                         spec.get("padding", "valid"), spec["filters"])
    if kind == "pool":
        pool = spec["pool_size"]
        strides = spec.get("strides") or pool  # Keras: strides default to the pool size
        return _windowed(shape, index, "pool_size", pool, strides, spec.get("padding", "valid"), shape[-1])
    if kind == "dense":  # Keras applies Dense to the last axis of any rank
        return tuple(shape[:-1]) + (spec["units"],)
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
            kh, kw = _pair(spec["kernel_size"])
            total += 2 * kh * kw * shape[-1] * math.prod(out)
        elif spec["type"] == "dense":
            total += 2 * shape[-1] * math.prod(out)
        shape = out
    return total
