"""The layer and optimizer vocabulary of params.yaml: the whole contract between an
`architectures.<id>` entry and Keras. One entry per layer type names its Keras class and,
for each argument, the values it allows and its default. The builder
(`stages.model.builder`), the validator (`stages.params.architectures`) and the shape and
FLOP code (`stages.model.shapes`) all read it.

The rules here are plain data; `stages.params.checks` turns them into error messages, so
that rewording a message does not change a file the training stages depend on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# --- what an argument allows --------------------------------------------------------------


@dataclass(frozen=True)
class Integer:
    """An integer (never a bool) with `low <= x` and, if given, `x <= high`."""

    low: int
    high: int | None = None


@dataclass(frozen=True)
class Number:
    """A finite int or float with `low <= x` (`low < x` unless `low_inclusive`) and, if given, `x < high`."""

    low: float
    low_inclusive: bool = True
    high: float | None = None


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


@dataclass(frozen=True)
class Flag:
    """true or false."""


@dataclass(frozen=True)
class Window:
    """kernel_size, pool_size, strides: Keras takes one int >= 1 or a (height, width) pair."""


Rule = Integer | Number | Choice | Flag | Window

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "gelu", "swish")
PADDINGS = ("valid", "same")
FRACTION = Number(0, high=1)
POSITIVE = Number(0, low_inclusive=False)


def as_pair(value) -> tuple[int, int]:
    """(height, width) of a Window value: 3 -> (3, 3), [3, 5] -> (3, 5)."""
    return (value, value) if isinstance(value, int) else tuple(value)


# --- layers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    rule: Rule
    required: bool = False
    default: object = None  # the value when omitted: Keras' own default, or ours if `ours`
    ours: bool = False  # our default differs from Keras': the builder passes it explicitly


@dataclass(frozen=True)
class LayerType:
    keras_class: str  # name in keras.layers
    args: dict[str, Arg] = field(default_factory=dict)  # required ones first: messages list them in this order

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, arg in self.args.items() if arg.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(name for name, arg in self.args.items() if not arg.required)

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def defaults(self) -> dict:
        """Our defaults where Keras' differ: what the builder adds to an omitted argument."""
        return {name: arg.default for name, arg in self.args.items() if arg.ours}


LAYER_TYPES: dict[str, LayerType] = {
    "conv": LayerType(
        "Conv2D",
        {
            "filters": Arg(Integer(1), required=True),
            "kernel_size": Arg(Window(), required=True),
            "strides": Arg(Window(), default=1),
            "padding": Arg(Choice(PADDINGS), default="valid"),
            "activation": Arg(Choice(ACTIVATIONS), default="relu", ours=True),  # Keras: linear
        },
    ),
    "pool": LayerType(
        "MaxPooling2D",
        {
            "pool_size": Arg(Window(), required=True),
            "strides": Arg(Window(), default=None),  # Keras: None, the pool size
            "padding": Arg(Choice(PADDINGS), default="valid"),
        },
    ),
    "dropout": LayerType("Dropout", {"rate": Arg(FRACTION, required=True)}),
    "batchnorm": LayerType(
        "BatchNormalization",
        {
            "momentum": Arg(FRACTION, default=0.99),
            "epsilon": Arg(POSITIVE, default=0.001),
        },
    ),
    "flatten": LayerType("Flatten"),
    "dense": LayerType(
        "Dense",
        {
            "units": Arg(Integer(1), required=True),
            "activation": Arg(Choice(ACTIVATIONS), default="relu", ours=True),  # Keras: linear
        },
    ),
}


def layer_arguments(spec: dict) -> dict:
    """Keras keyword arguments of one layer spec: its keys without `type`, plus our defaults."""
    layer_type = LAYER_TYPES[spec["type"]]
    kwargs = dict(layer_type.defaults)
    kwargs.update({k: v for k, v in spec.items() if k != "type"})
    return kwargs


def resolved_arguments(spec: dict) -> dict:
    """Every argument of one layer spec as the layer gets it: Keras' defaults filled in too."""
    layer_type = LAYER_TYPES[spec["type"]]
    return {**{name: arg.default for name, arg in layer_type.args.items()}, **layer_arguments(spec)}


# --- optimizers ---------------------------------------------------------------------------


class OptimizerType(NamedTuple):
    keras_class: str  # name in keras.optimizers
    hyperparameters: dict[str, Rule]  # every one required


# Every hyperparameter of an optimizer must be written out in params.yaml: Keras'
# defaults have changed between versions (Adadelta's learning rate went from 1.0 to 0.001).
OPTIMIZERS: dict[str, OptimizerType] = {
    "adadelta": OptimizerType("Adadelta", {"learning_rate": POSITIVE, "rho": FRACTION, "epsilon": POSITIVE}),
    "adam": OptimizerType(
        "Adam", {"learning_rate": POSITIVE, "beta_1": FRACTION, "beta_2": FRACTION, "epsilon": POSITIVE}
    ),
    "rmsprop": OptimizerType(
        "RMSprop", {"learning_rate": POSITIVE, "rho": FRACTION, "momentum": FRACTION, "epsilon": POSITIVE}
    ),
    "sgd": OptimizerType("SGD", {"learning_rate": POSITIVE, "momentum": FRACTION, "nesterov": Flag()}),
}
