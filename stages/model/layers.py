"""The layer and optimizer vocabulary of params.yaml: the whole contract between an
`architectures.<id>` entry and Keras. The builder (`stages.model.builder`), the validator
(`stages.validate`) and the shape and FLOP code (`stages.model.shapes`) all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LayerType:
    keras_class: str                  # name in keras.layers
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    defaults: dict = field(default_factory=dict)  # our defaults where Keras' differ

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.required + self.optional


LAYER_TYPES: dict[str, LayerType] = {
    "conv": LayerType("Conv2D", ("filters", "kernel_size"), ("strides", "padding", "activation"),
                      defaults={"activation": "relu"}),
    "pool": LayerType("MaxPooling2D", ("pool_size",), ("strides", "padding")),
    "dropout": LayerType("Dropout", ("rate",)),
    "batchnorm": LayerType("BatchNormalization", (), ("momentum", "epsilon")),
    "flatten": LayerType("Flatten"),
    "dense": LayerType("Dense", ("units",), ("activation",), defaults={"activation": "relu"}),
}

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "gelu", "swish")
PADDINGS = ("valid", "same")

# Every hyperparameter of an optimizer must be written out in params.yaml: Keras'
# defaults have changed between versions (Adadelta's learning rate went from 1.0 to 0.001).
OPTIMIZERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "adadelta": ("Adadelta", ("learning_rate", "rho", "epsilon")),
    "adam": ("Adam", ("learning_rate", "beta_1", "beta_2", "epsilon")),
    "rmsprop": ("RMSprop", ("learning_rate", "rho", "momentum", "epsilon")),
    "sgd": ("SGD", ("learning_rate", "momentum", "nesterov")),
}


def layer_arguments(spec: dict) -> dict:
    """Keras keyword arguments of one layer spec: its keys without `type`, plus our defaults."""
    layer_type = LAYER_TYPES[spec["type"]]
    kwargs = dict(layer_type.defaults)
    kwargs.update({k: v for k, v in spec.items() if k != "type"})
    return kwargs
