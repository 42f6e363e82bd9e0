"""The builder turns the reference entries into exactly the notebook's models, and every
architecture of params.yaml (ours or a user's) into a model whose shapes it infers right."""

from __future__ import annotations

import math

import pytest
import yaml

from stages.common.layout import ROOT, load_params
from stages.model.builder import build_layer, build_model, build_optimizer, compile_model
from stages.model.layers import LAYER_TYPES, as_pair, layer_arguments, resolved_arguments
from stages.model.shapes import forward_flops, layer_shapes

from conftest import REFERENCE_ARCHITECTURES_FILE, reference_architectures

PARAMS = load_params()
ARCHITECTURES = PARAMS["architectures"]  # the study's: any ids, any number
INPUT_SHAPE = PARAMS["model"]["input_shape"]
# The notebook's 12 models as declared here, whatever params.yaml holds today.
REFERENCE = reference_architectures()

# REFERENCE.md: total parameters (non-trainable ones are the batch-norm moving statistics).
REFERENCE_PARAMS = {
    "conv2_k3": (1_199_882, 0),
    "conv2_k5": (872_714, 0),
    "conv3_k753": (722_186, 0),
    "conv2_k3_same": (1_625_866, 0),
    "conv3_k753_same": (947_466, 0),
    "conv3_k5": (550_234, 0),
    "conv3_k7_s2": (446_554, 0),
    "conv3_k7_bn": (395_930, 288),
    "conv3_k5_bn": (550_810, 288),
    "conv3_k3_bn": (1_090_970, 288),
    "conv3_k753_sigmoid": (722_186, 0),
    "conv3_k753_tanh": (722_186, 0),
}


def test_the_reference_file_declares_the_twelve_notebook_ids():
    notebook = yaml.safe_load((ROOT / "reference" / "notebook.yaml").read_text())
    assert list(REFERENCE) == list(REFERENCE_PARAMS) == list(notebook)


@pytest.mark.parametrize("arch_id", [a for a in REFERENCE if a in ARCHITECTURES])
def test_a_reference_id_kept_in_params_yaml_is_the_reference_model(arch_id):
    """params.yaml may add architectures and drop reference ones; the report holds an id to the
    notebook's figures for it (reference/notebook.yaml), so under a reference id must be its model."""
    assert ARCHITECTURES[arch_id] == REFERENCE[arch_id], (
        f"params.yaml: architectures.{arch_id} differs from {REFERENCE_ARCHITECTURES_FILE.relative_to(ROOT)}, "
        "the notebook's "
        f"model that the report compares it with: give your variant an id of its own"
    )


@pytest.mark.tensorflow
@pytest.mark.parametrize("arch_id", REFERENCE_PARAMS)
def test_parameter_count_matches_reference(arch_id):
    model = build_model(arch_id, REFERENCE[arch_id], INPUT_SHAPE)
    total, non_trainable = REFERENCE_PARAMS[arch_id]
    assert model.count_params() == total
    assert sum(math.prod(w.shape) for w in model.non_trainable_weights) == non_trainable


# the reference models, and params.yaml's other architectures (a user's)
EVERY_ARCHITECTURE = {**REFERENCE, **ARCHITECTURES}


@pytest.mark.tensorflow
@pytest.mark.parametrize("arch_id", EVERY_ARCHITECTURE)
def test_shape_inference_agrees_with_keras(arch_id):
    architecture = EVERY_ARCHITECTURE[arch_id]
    model = build_model(arch_id, architecture, INPUT_SHAPE)
    keras_shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert layer_shapes(architecture["layers"], INPUT_SHAPE) == keras_shapes


@pytest.mark.tensorflow
def test_dense_before_flatten_quirk_is_kept():
    model = build_model("conv3_k753_same", REFERENCE["conv3_k753_same"], INPUT_SHAPE)
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"][0]
    assert tuple(dense.output.shape[1:]) == (7, 7, 128)


def test_forward_flops_of_conv2_k3():
    # 26*26*32*9*2 + 24*24*64*288*2 + 9216*128*2 + 128*10*2 (multiply-adds x 2)
    assert forward_flops(REFERENCE["conv2_k3"]["layers"], INPUT_SHAPE) == 23_984_896


@pytest.mark.tensorflow
def test_adadelta_keeps_keras_2_learning_rate():
    optimizer = build_optimizer(REFERENCE["conv2_k3"]["optimizer"])
    assert type(optimizer).__name__ == "Adadelta"
    assert float(optimizer.learning_rate) == pytest.approx(1.0)
    assert float(optimizer.rho) == pytest.approx(0.95)


def test_conv_and_dense_default_to_relu_but_respect_explicit_activation():
    assert layer_arguments({"type": "conv", "filters": 8, "kernel_size": 3})["activation"] == "relu"
    assert layer_arguments({"type": "dense", "units": 10, "activation": "softmax"})["activation"] == "softmax"


@pytest.mark.tensorflow
def test_unknown_layer_type_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown layer type 'conv3d'.*conv, pool, dropout"):
        build_model("bad", {"layers": [{"type": "conv3d"}]}, INPUT_SHAPE)


@pytest.mark.tensorflow
def test_unknown_optimizer_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown optimizer 'lion'.*adadelta, adam"):
        build_optimizer({"name": "lion", "learning_rate": 0.1})


@pytest.mark.tensorflow
def test_compiled_model_trains_on_integer_labels():
    """Labels as the prepared data holds them, class ids (not one-hot): a few steps on eight
    images fit them, and the reported accuracy is that of those ids."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = compile_model(
        build_model("conv2_k3", REFERENCE["conv2_k3"], INPUT_SHAPE), REFERENCE["conv2_k3"]["optimizer"]
    )
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    y = np.arange(8, dtype=np.int32)
    first_loss, _ = model.evaluate(x, y, verbose=0)
    for _ in range(20):
        model.train_on_batch(x, y)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss < first_loss / 2
    assert model.predict(x, verbose=0).argmax(axis=1).tolist() == y.tolist() and accuracy == 1.0


@pytest.mark.tensorflow
@pytest.mark.parametrize("kind", sorted(LAYER_TYPES))
def test_the_vocabulary_s_defaults_are_what_the_built_layer_gets(kind):
    """Shapes and FLOPs read omitted arguments from the vocabulary: its defaults must be
    what Keras (or the builder, for ours) gives the layer."""
    minimal = {
        "conv": {"filters": 8, "kernel_size": 3},
        "pool": {"pool_size": 3},
        "dense": {"units": 4},
        "dropout": {"rate": 0.5},
    }.get(kind, {})
    spec = {"type": kind, **minimal}
    config = build_layer(spec).get_config()
    for name, value in resolved_arguments(spec).items():
        if name == "strides" and value is None:  # pool: Keras' None is the pool size
            value = spec["pool_size"]
        expected = as_pair(value) if name in ("kernel_size", "pool_size", "strides") else value
        built = tuple(config[name]) if isinstance(config[name], (list, tuple)) else config[name]
        assert built == expected, (name, config[name], value)


@pytest.mark.tensorflow
def test_shapes_follow_explicit_strides_and_padding():
    layers = [
        {"type": "conv", "filters": 4, "kernel_size": [3, 5], "strides": [2, 1], "padding": "same"},
        {"type": "pool", "pool_size": 3},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ]
    model = build_model("strided", {"layers": layers}, INPUT_SHAPE)
    assert layer_shapes(layers, INPUT_SHAPE) == [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert layer_shapes(layers, INPUT_SHAPE)[:2] == [(14, 28, 4), (4, 9, 4)]
