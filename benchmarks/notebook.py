"""The notebook's way, written out in plain Keras: no `stages` builder, one-hot labels,
categorical cross-entropy and `model.fit` on numpy arrays with batch 128 (the Keras 2.3
`mnist_cnn.py` recipe the notebook followed, in Keras 3 syntax).

The models are spelled out for the architectures the issue benchmarks; any other
architecture of params.yaml is transcribed layer by layer with plain `keras.layers` calls.
"""

from __future__ import annotations

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)


def conv2_k3():
    import keras
    from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            Conv2D(32, kernel_size=(3, 3), activation="relu"),
            Conv2D(64, (3, 3), activation="relu"),
            MaxPooling2D(pool_size=(2, 2)),
            Dropout(0.25),
            Flatten(),
            Dense(128, activation="relu"),
            Dropout(0.5),
            Dense(NUM_CLASSES, activation="softmax"),
        ]
    )


def conv2_k5():
    import keras
    from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            Conv2D(32, kernel_size=(5, 5), activation="relu"),
            Conv2D(64, (5, 5), activation="relu"),
            MaxPooling2D(pool_size=(2, 2)),
            Dropout(0.25),
            Flatten(),
            Dense(128, activation="relu"),
            Dropout(0.5),
            Dense(NUM_CLASSES, activation="softmax"),
        ]
    )


def conv3_k753():
    import keras
    from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            Conv2D(32, kernel_size=(7, 7), activation="relu"),
            Conv2D(64, (5, 5), activation="relu"),
            MaxPooling2D(pool_size=(2, 2)),
            Dropout(0.25),
            Conv2D(128, (3, 3), activation="relu"),
            MaxPooling2D(pool_size=(2, 2)),
            Dropout(0.3),
            Flatten(),
            Dense(512, activation="relu"),
            Dropout(0.5),
            Dense(NUM_CLASSES, activation="softmax"),
        ]
    )


WRITTEN_OUT = {"conv2_k3": conv2_k3, "conv2_k5": conv2_k5, "conv3_k753": conv3_k753}

_KERAS_LAYERS = {
    "conv": "Conv2D",
    "pool": "MaxPooling2D",
    "dropout": "Dropout",
    "batchnorm": "BatchNormalization",
    "flatten": "Flatten",
    "dense": "Dense",
}
_RELU_BY_DEFAULT = ("conv", "dense")  # params.yaml's convention; Keras' own default is linear
_OPTIMIZERS = {"adadelta": "Adadelta", "adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}


def transcribe(layers: list[dict]):
    """Any other params.yaml architecture, one plain `keras.layers` call per entry."""
    import keras

    model = [keras.Input(shape=INPUT_SHAPE)]
    for spec in layers:
        kwargs = {k: v for k, v in spec.items() if k != "type"}
        if spec["type"] in _RELU_BY_DEFAULT:
            kwargs.setdefault("activation", "relu")
        model.append(getattr(keras.layers, _KERAS_LAYERS[spec["type"]])(**kwargs))
    return keras.Sequential(model)


def build(arch_id: str, arch: dict):
    return WRITTEN_OUT[arch_id]() if arch_id in WRITTEN_OUT else transcribe(arch["layers"])


def optimizer(spec: dict):
    """The architecture's optimizer with the hyperparameters params.yaml writes out
    (for conv2_k3: Keras 2.3's `Adadelta()`, i.e. learning rate 1.0, rho 0.95, epsilon 1e-7)."""
    import keras

    return getattr(keras.optimizers, _OPTIMIZERS[spec["name"]])(**{k: v for k, v in spec.items() if k != "name"})


def prepare(x_uint8, y_uint8):
    """As the notebook did: reshape, float32 / 255, one-hot labels."""
    import keras

    x = x_uint8.reshape(len(x_uint8), *INPUT_SHAPE).astype("float32") / 255
    return x, keras.utils.to_categorical(y_uint8, NUM_CLASSES)


def compiled(arch_id: str, arch: dict, **compile_options):
    model = build(arch_id, arch)
    model.compile(
        loss="categorical_crossentropy", optimizer=optimizer(arch["optimizer"]), metrics=["accuracy"], **compile_options
    )
    return model
