"""The one builder: turns an `architectures.<id>` entry of params.yaml into a Keras model.

The vocabulary below is the whole contract between params.yaml and Keras; the
validator (`stages.validate`) checks entries against the same tables. Keras is
imported lazily so that validation stays fast.
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


def build_layer(spec: dict, name: str | None = None):
    import keras

    try:
        layer_type = LAYER_TYPES[spec["type"]]
    except KeyError:
        raise ValueError(f"unknown layer type {spec.get('type')!r}; allowed: {', '.join(LAYER_TYPES)}") from None
    return getattr(keras.layers, layer_type.keras_class)(name=name, **layer_arguments(spec))


def build_model(arch_id: str, arch: dict, input_shape=(28, 28, 1)):
    """An uncompiled Sequential model named after the architecture id."""
    import keras

    layers = [keras.Input(shape=tuple(input_shape))]
    for index, spec in enumerate(arch["layers"]):
        layers.append(build_layer(spec, name=f"{index:02d}_{spec['type']}"))
    return keras.Sequential(layers, name=arch_id)


def build_optimizer(spec: dict):
    import keras

    name = spec["name"]
    try:
        class_name, hyperparameters = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}") from None
    return getattr(keras.optimizers, class_name)(**{k: spec[k] for k in hyperparameters})


def compile_model(model, optimizer_spec: dict):
    # Integer labels with the sparse loss compute the notebook's categorical
    # cross-entropy on one-hot labels, without materialising the one-hot arrays.
    model.compile(
        optimizer=build_optimizer(optimizer_spec),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
