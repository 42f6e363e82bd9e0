"""The one builder: turns an `architectures.<id>` entry of params.yaml into a Keras model,
through the vocabulary of `stages.model.layers` (class names and our defaults).

Keras is imported lazily, so that importing the vocabulary (`stages.model.layers`) stays fast.
"""

from __future__ import annotations

from stages.model.layers import LAYER_TYPES, OPTIMIZERS, layer_arguments


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
        optimizer_type = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}") from None
    hyperparameters = {k: spec[k] for k in optimizer_type.hyperparameters}  # all required: none from Keras
    return getattr(keras.optimizers, optimizer_type.keras_class)(**hyperparameters)


def compile_model(model, optimizer_spec: dict):
    # Integer labels with the sparse loss compute the notebook's categorical
    # cross-entropy on one-hot labels, without materialising the one-hot arrays.
    model.compile(
        optimizer=build_optimizer(optimizer_spec),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
