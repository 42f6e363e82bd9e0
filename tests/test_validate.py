"""stages.validate: every typo in params.yaml is reported at once, naming its place."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent

from stages.architectures import LAYER_TYPES, OPTIMIZERS  # noqa: E402
from stages.config import PARAMS_FILE  # noqa: E402
from stages.validate import (  # noqa: E402
    ARG_CHECKS,
    STAMP_TEXT,
    DuplicateKeyError,
    ParamsError,
    check,
    load_params_strict,
    validate_params,
)

PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)

# Self-contained rather than the real params.yaml, which others edit: one adadelta
# model with every layer type, one adam model with strides, same padding and lists.
VALID = {
    "data": {"subset": 0, "validation": "holdout", "val_size": 10000, "test_subset": 0},
    "train": {"epochs": 15, "batch_size": 128, "seed": 0, "extra_seeds": [1, 2], "restore_best": True,
              "monitor": "val_loss", "eval_batch_size": 1000},
    "model": {"input_shape": [28, 28, 1], "num_classes": 10},
    "architectures": {
        "conv2_k3": {
            "optimizer": {"name": "adadelta", "learning_rate": 1.0, "rho": 0.95, "epsilon": 1.0e-7},
            "layers": [
                {"type": "conv", "filters": 32, "kernel_size": 3},
                {"type": "conv", "filters": 64, "kernel_size": 3},
                {"type": "pool", "pool_size": 2},
                {"type": "batchnorm", "momentum": 0.99, "epsilon": 0.001},
                {"type": "dropout", "rate": 0.25},
                {"type": "flatten"},
                {"type": "dense", "units": 128},
                {"type": "dropout", "rate": 0.5},
                {"type": "dense", "units": 10, "activation": "softmax"},
            ],
        },
        "conv3_k7_s2": {
            "optimizer": {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1.0e-7},
            "layers": [
                {"type": "conv", "filters": 32, "kernel_size": [7, 5], "padding": "same", "activation": "tanh"},
                {"type": "conv", "filters": 64, "kernel_size": 7, "strides": [2, 1]},
                {"type": "pool", "pool_size": 3, "strides": 2, "padding": "same"},
                {"type": "dense", "units": 16},  # dense on a map is legal: Keras applies it to the last axis
                {"type": "flatten"},
                {"type": "dense", "units": 10, "activation": "softmax"},
            ],
        },
    },
}


def errors_after(change) -> list[str]:
    """validate_params of a copy of VALID after `change(params)`; sanity-checks the result type."""
    params = copy.deepcopy(VALID)
    change(params)
    errors = validate_params(params)
    assert isinstance(errors, list) and all(isinstance(e, str) and "\n" not in e for e in errors)
    return errors


def only_error(change) -> str:
    errors = errors_after(change)
    assert len(errors) == 1, errors
    return errors[0]


def layer(params, index, arch="conv2_k3") -> dict:
    return params["architectures"][arch]["layers"][index]


def optimizer(params, arch="conv2_k3") -> dict:
    return params["architectures"][arch]["optimizer"]


def test_fixture_is_valid():
    assert validate_params(copy.deepcopy(VALID)) == []


def test_real_params_yaml_is_valid():
    params = check(PARAMS_FILE)
    assert validate_params(params) == []
    assert params == load_params_strict(PARAMS_FILE)


def test_every_argument_of_the_vocabulary_has_a_checker():
    arguments = {a for t in LAYER_TYPES.values() for a in t.arguments}
    hyperparameters = {h for _, hs in OPTIMIZERS.values() for h in hs}
    assert arguments | hyperparameters <= set(ARG_CHECKS)


# --- top level -------------------------------------------------------------------------

@pytest.mark.parametrize("section", ["data", "train", "model", "architectures"])
def test_missing_section(section):
    assert only_error(lambda p: p.pop(section)) == (
        f"top level: missing section {section!r}; needs: data, train, model, architectures")


@pytest.mark.parametrize("section", ["data", "train", "model", "architectures"])
def test_section_not_a_mapping(section):
    message = only_error(lambda p: p.update({section: [1, 2]}))
    assert message.startswith(f"{section}: expected a ") and "got list [1, 2]" in message


@pytest.mark.parametrize("params", [None, [], "data", 3])
def test_params_not_a_mapping(params):
    [message] = validate_params(params)
    assert message.startswith("top level: expected a mapping")


# --- data, train, model ----------------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("subset", -1, "data: subset -1 is out of range; allowed: subset >= 0"),
    ("subset", 100.0, "data: subset 100.0 must be an integer, got float"),
    ("subset", 50001, "data: subset 50001 is larger than the training pool; allowed: 0 <= subset <= 50000"),
    ("validation", "train", "data: unknown validation 'train'; allowed: holdout, test"),
    ("val_size", 0, "data: val_size 0 is out of range; allowed: 1 <= val_size <= 59999"),
    ("val_size", 60000, "data: val_size 60000 is out of range"),
    ("val_size", "10000", "data: val_size '10000' must be an integer, got str"),
    ("test_subset", 10001, "data: test_subset 10001 is out of range; allowed: 0 <= test_subset <= 10000"),
    ("test_subset", True, "data: test_subset true must be an integer, got bool"),
])
def test_data_errors(key, value, expected):
    assert only_error(lambda p: p["data"].update({key: value})).startswith(expected)


def test_subset_pool_depends_on_validation():
    def test_validation(subset):
        return lambda p: p["data"].update(validation="test", subset=subset)
    assert errors_after(test_validation(60000)) == []
    assert "0 <= subset <= 60000" in only_error(test_validation(60001))
    params = copy.deepcopy(VALID)
    params["data"].update(subset=15000)
    assert "0 <= subset <= 10000" in validate_params(params, mnist_train_size=20000)[0]


def test_data_missing_and_unknown_keys():
    errors = errors_after(lambda p: p["data"].update(valsize=p["data"].pop("val_size")))
    assert errors == ["data: missing 'val_size'; data needs: subset, validation, val_size, test_subset",
                      "data: unknown key 'valsize'; allowed: subset, validation, val_size, test_subset"]


@pytest.mark.parametrize("key, value, expected", [
    ("epochs", 0, "train: epochs 0 is out of range; allowed: epochs >= 1"),
    ("epochs", "15", "train: epochs '15' must be an integer, got str"),
    ("batch_size", 12.5, "train: batch_size 12.5 must be an integer, got float"),
    ("batch_size", None, "train: batch_size null must be an integer, got null"),
    ("seed", -3, "train: seed -3 is out of range; allowed: seed >= 0"),
    ("extra_seeds", 3, "train: extra_seeds 3 is invalid; allowed: a list of distinct integers >= 0"),
    ("extra_seeds", [1, -2], "train: extra_seeds [1, -2] is invalid"),
    ("extra_seeds", [1, True], "train: extra_seeds [1, True] is invalid"),
    ("extra_seeds", [1, 2, 1], "train: extra_seeds [1, 2, 1] repeats 1; allowed: distinct seeds"),
    ("extra_seeds", [1, 0], "train: extra_seeds [1, 0] contains seed 0, the seed of the main run"),
    ("restore_best", "maybe", "train: restore_best 'maybe' must be true or false, got str"),
    ("monitor", "accuracy", "train: unknown monitor 'accuracy'; allowed: val_loss, val_accuracy"),
    ("eval_batch_size", 0, "train: eval_batch_size 0 is out of range; allowed: eval_batch_size >= 1"),
])
def test_train_errors(key, value, expected):
    assert only_error(lambda p: p["train"].update({key: value})).startswith(expected)


@pytest.mark.parametrize("key, value, expected", [
    ("input_shape", [28, 28], "model: input_shape [28, 28] is invalid; allowed: a list of three integers >= 1"),
    ("input_shape", [28, 0, 1], "model: input_shape [28, 0, 1] is invalid"),
    ("input_shape", "28x28", "model: input_shape '28x28' is invalid"),
    ("num_classes", 1, "model: num_classes 1 is out of range; allowed: num_classes >= 2"),
])
def test_model_errors(key, value, expected):
    errors = errors_after(lambda p: p["model"].update({key: value}))
    assert errors[0].startswith(expected)
    if key == "input_shape":  # no shape checks without an input shape
        assert len(errors) == 1


def test_num_classes_is_checked_against_every_last_layer():
    errors = errors_after(lambda p: p["model"].update(num_classes=5))
    assert len(errors) == 2
    assert errors[0].startswith("architectures.conv2_k3.layers[8] (dense): the last layer must be a dense "
                                "layer with units 5 (model.num_classes) and activation softmax; found units 10")
    assert errors[1].startswith("architectures.conv3_k7_s2.layers[5] (dense):")


# --- architectures ----------------------------------------------------------------------

@pytest.mark.parametrize("archs", [{}, [], None, "conv2_k3"])
def test_architectures_must_be_a_non_empty_mapping(archs):
    assert only_error(lambda p: p.update(architectures=archs)).startswith(
        "architectures: expected a non-empty mapping")


@pytest.mark.parametrize("arch_id", ["Conv2", "conv-2", "conv@2", "conv 2", "conv/2", "2conv", "_conv",
                                     "conv2\n", "", "cönv", 7, None, True])
def test_invalid_architecture_id(arch_id):
    def rename(p):
        p["architectures"][arch_id] = p["architectures"].pop("conv2_k3")
    message = only_error(rename)
    assert message.startswith("architectures: id ") and "is invalid; allowed: lowercase letters" in message


def test_reserved_architecture_id():
    def rename(p):
        p["architectures"]["seeds"] = p["architectures"].pop("conv2_k3")
    assert only_error(rename).startswith("architectures: id 'seeds' is reserved")


@pytest.mark.parametrize("change, expected", [
    (lambda a: a.pop("layers"), "architectures.conv2_k3: missing 'layers'; an architecture needs: layers, optimizer"),
    (lambda a: a.pop("optimizer"), "architectures.conv2_k3: missing 'optimizer'"),
    (lambda a: a.update(epochs=3), "architectures.conv2_k3: unknown key 'epochs'; allowed: layers, optimizer"),
    (lambda a: a.update(layers=[]), "architectures.conv2_k3.layers: expected a non-empty list of layers, got list []"),
    (lambda a: a.update(layers={"type": "flatten"}), "architectures.conv2_k3.layers: expected a non-empty list"),
])
def test_architecture_entry_errors(change, expected):
    assert only_error(lambda p: change(p["architectures"]["conv2_k3"])).startswith(expected)


def test_architecture_not_a_mapping():
    assert only_error(lambda p: p["architectures"].update(conv2_k3=[1])).startswith(
        "architectures.conv2_k3: expected a mapping")


# --- layers -----------------------------------------------------------------------------

def test_unknown_layer_key():
    errors = errors_after(lambda p: layer(p, 0).update(filter=layer(p, 0).pop("filters")))
    assert errors == [
        "architectures.conv2_k3.layers[0] (conv): missing 'filters'; conv needs: filters, kernel_size",
        "architectures.conv2_k3.layers[0] (conv): unknown key 'filter'; allowed: filters, kernel_size, strides, "
        "padding, activation",
    ]


def test_dropout_rate_out_of_range():
    assert only_error(lambda p: layer(p, 4).update(rate=1.5)) == (
        "architectures.conv2_k3.layers[4] (dropout): rate 1.5 is out of range; allowed: 0 <= rate < 1")


@pytest.mark.parametrize("index, spec, expected", [
    (0, [1, 2], "layers[0]: expected a mapping like {type: dense, units: 10}, got list [1, 2]"),
    (0, None, "layers[0]: expected a mapping"),
    (0, {"filters": 32, "kernel_size": 3}, "layers[0]: missing 'type'; allowed: conv, pool, dropout, batchnorm"),
    (0, {"type": "convolution", "filters": 32}, "layers[0]: unknown type 'convolution'; allowed: conv, pool,"),
    (0, {"type": ["conv"]}, "layers[0]: unknown type ['conv']; allowed:"),
    (5, {"type": "flatten", "units": 3}, "layers[5] (flatten): unknown key 'units'; allowed: none"),
    (6, {"type": "dense"}, "layers[6] (dense): missing 'units'; dense needs: units"),
])
def test_malformed_layers(index, spec, expected):
    assert only_error(lambda p: p["architectures"]["conv2_k3"]["layers"].__setitem__(index, spec)) \
        .startswith(f"architectures.conv2_k3.{expected}")


@pytest.mark.parametrize("index, key, value, expected", [
    (0, "filters", 0, "filters 0 is out of range; allowed: filters >= 1"),
    (0, "filters", True, "filters true must be an integer, got bool"),
    (0, "filters", 32.0, "filters 32.0 must be an integer, got float"),
    (0, "filters", "32", "filters '32' must be an integer, got str"),
    (6, "units", -128, "units -128 is out of range; allowed: units >= 1"),
    (0, "kernel_size", 0, "kernel_size 0 is invalid; allowed: an integer >= 1 or a list of two integers >= 1"),
    (0, "kernel_size", [3, 3, 3], "kernel_size [3, 3, 3] is invalid"),
    (0, "kernel_size", [3, 0], "kernel_size [3, 0] is invalid"),
    (0, "kernel_size", "3x3", "kernel_size '3x3' is invalid"),
    (0, "strides", 1.0, "strides 1.0 is invalid"),
    (2, "pool_size", None, "pool_size null is invalid"),
    (0, "padding", "Same", "unknown padding 'Same'; allowed: valid, same"),
    (6, "activation", "softplus", "unknown activation 'softplus'; allowed: relu, sigmoid, tanh, softmax"),
    (4, "rate", 1, "rate 1 is out of range; allowed: 0 <= rate < 1"),
    (4, "rate", -0.1, "rate -0.1 is out of range"),
    (4, "rate", float("nan"), "rate nan is out of range"),
    (4, "rate", "0.5", "rate '0.5' must be a number, got str"),
    (3, "momentum", 1.0, "momentum 1.0 is out of range; allowed: 0 <= momentum < 1"),
    (3, "epsilon", 0, "epsilon 0 is out of range; allowed: epsilon > 0"),
    (3, "epsilon", "1e-3", "epsilon '1e-3' must be a number, got str (YAML reads it as a string"),
])
def test_layer_argument_errors(index, key, value, expected):
    message = only_error(lambda p: layer(p, index).update({key: value}))
    kind = VALID["architectures"]["conv2_k3"]["layers"][index]["type"]
    assert message.startswith(f"architectures.conv2_k3.layers[{index}] ({kind}): {expected}")


# --- shapes and the output layer --------------------------------------------------------

def test_kernel_larger_than_the_feature_map():
    assert only_error(lambda p: layer(p, 1).update(kernel_size=27)) == (
        "architectures.conv2_k3.layers[1] (conv): kernel_size 27 is larger than the 26x26 feature map it receives")


def test_pool_larger_than_the_feature_map():
    assert only_error(lambda p: layer(p, 2).update(pool_size=[2, 25])).startswith(
        "architectures.conv2_k3.layers[2] (pool): pool_size 25 is larger than the 24x24 feature map")


def test_huge_kernel_and_same_padding():
    assert only_error(lambda p: layer(p, 0).update(kernel_size=10**30)).startswith(
        f"architectures.conv2_k3.layers[0] (conv): kernel_size {10**30} is larger than the 28x28")
    assert errors_after(lambda p: layer(p, 0).update(kernel_size=99, padding="same")) == []


def test_window_after_flatten():
    def conv_after_flatten(p):
        p["architectures"]["conv2_k3"]["layers"].insert(6, {"type": "conv", "filters": 8, "kernel_size": 1})
    assert only_error(conv_after_flatten).startswith(
        "architectures.conv2_k3.layers[6] (conv): needs a height x width x channels map, got shape (9216,)")


def test_shape_checks_stop_at_the_first_shape_error():
    def two_bad_kernels(p):
        layer(p, 0).update(kernel_size=20)  # 28 -> 9
        layer(p, 1).update(kernel_size=10)  # > 9: the first shape error
        layer(p, 2).update(pool_size=50)    # would fail too, but its input is unknown
    assert only_error(two_bad_kernels).startswith(
        "architectures.conv2_k3.layers[1] (conv): kernel_size 10 is larger than the 9x9 feature map")


def test_shape_checks_stop_at_a_malformed_layer():
    def malformed_then_bad_pool(p):
        layer(p, 1).update(filters="64")
        layer(p, 2).update(pool_size=50)  # would not fit, but shapes stop at layers[1]
    assert only_error(malformed_then_bad_pool).startswith("architectures.conv2_k3.layers[1] (conv): filters '64'")


@pytest.mark.parametrize("change, found", [
    (lambda ls: ls.pop(), "found a dropout layer"),
    (lambda ls: ls[-1].update(units=12), "found units 12, activation softmax"),
    (lambda ls: ls[-1].pop("activation"), "found units 10, activation relu (the default)"),
    (lambda ls: ls[-1].update(activation="sigmoid"), "found units 10, activation sigmoid"),
])
def test_last_layer_must_output_the_classes(change, found):
    message = only_error(lambda p: change(p["architectures"]["conv2_k3"]["layers"]))
    assert message.startswith("architectures.conv2_k3.layers[")
    assert "the last layer must be a dense layer with units 10 (model.num_classes) and activation softmax" in message
    assert message.endswith(found)


def test_output_must_be_flat():
    assert only_error(lambda p: p["architectures"]["conv3_k7_s2"]["layers"].pop(4)) == (
        "architectures.conv3_k7_s2.layers[4] (dense): output shape (6, 11, 10) is not flat; the model must "
        "output one probability per class: add a flatten before the last dense layer")


# --- optimizer --------------------------------------------------------------------------

def test_missing_hyperparameter():
    assert only_error(lambda p: optimizer(p).pop("rho")) == (
        "architectures.conv2_k3.optimizer: missing 'rho'; adadelta needs: learning_rate, rho, epsilon")


@pytest.mark.parametrize("change, expected", [
    (lambda o: o.update(beta_1=0.9), "unknown key 'beta_1'; allowed: learning_rate, rho, epsilon"),
    (lambda o: o.pop("name"), "missing 'name'; allowed: adadelta, adam, rmsprop, sgd"),
    (lambda o: o.update(name="adamw"), "unknown optimizer 'adamw'; allowed: adadelta, adam, rmsprop, sgd"),
    (lambda o: o.update(name=None), "unknown optimizer null; allowed:"),
    (lambda o: o.update(learning_rate=0), "learning_rate 0 is out of range; allowed: learning_rate > 0"),
    (lambda o: o.update(learning_rate=float("inf")), "learning_rate inf is out of range"),
    (lambda o: o.update(learning_rate="1.0"), "learning_rate '1.0' must be a number, got str"),
    (lambda o: o.update(rho=1), "rho 1 is out of range; allowed: 0 <= rho < 1"),
    (lambda o: o.update(epsilon=-1e-7), "epsilon -1e-07 is out of range; allowed: epsilon > 0"),
    (lambda o: o.update(epsilon="1e-7"), "epsilon '1e-7' must be a number, got str (YAML reads it as a string"),
])
def test_optimizer_errors(change, expected):
    assert only_error(lambda p: change(optimizer(p))).startswith(f"architectures.conv2_k3.optimizer: {expected}")


@pytest.mark.parametrize("spec, expected", [
    ({"name": "adam", "learning_rate": 1e-3, "beta_1": 1.0, "beta_2": 0.999, "epsilon": 1e-7},
     "beta_1 1.0 is out of range; allowed: 0 <= beta_1 < 1"),
    ({"name": "adam", "learning_rate": 1e-3, "beta_1": 0.9, "beta_2": -0.1, "epsilon": 1e-7},
     "beta_2 -0.1 is out of range"),
    ({"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": "yes"},
     "nesterov 'yes' must be true or false, got str"),
    ({"name": "rmsprop", "learning_rate": 1e-3, "rho": 0.9, "momentum": 1.5, "epsilon": 1e-7},
     "momentum 1.5 is out of range; allowed: 0 <= momentum < 1"),
    ({"name": "sgd", "learning_rate": 0.01, "momentum": 0.9}, "missing 'nesterov'; sgd needs:"),
    ([], "expected a mapping like {name: adam"),
])
def test_other_optimizers(spec, expected):
    assert only_error(lambda p: p["architectures"]["conv2_k3"].update(optimizer=spec)).startswith(
        f"architectures.conv2_k3.optimizer: {expected}")


def test_every_optimizer_accepts_its_hyperparameters():
    values = {"learning_rate": 0.01, "rho": 0.9, "momentum": 0.9, "epsilon": 1e-7, "beta_1": 0.9,
              "beta_2": 0.999, "nesterov": True}
    for name, (_, hyperparameters) in OPTIMIZERS.items():
        spec = {"name": name, **{h: values[h] for h in hyperparameters}}
        assert errors_after(lambda p: p["architectures"]["conv2_k3"].update(optimizer=spec)) == []


# --- all at once ------------------------------------------------------------------------

def test_several_errors_are_reported_at_once():
    def many(p):
        p["train"]["epochs"] = 0
        layer(p, 0).update(filters=0)
        layer(p, 4).update(rate=2)
        optimizer(p).pop("rho")
        p["architectures"]["conv3_k7_s2"]["layers"][0]["padding"] = "full"
        p["architectures"]["Bad-Id"] = copy.deepcopy(VALID["architectures"]["conv2_k3"])
    errors = errors_after(many)
    assert len(errors) == 6, errors
    for culprit in ["train: epochs 0", "conv2_k3.layers[0] (conv): filters 0", "conv2_k3.layers[4] (dropout): rate 2",
                    "conv2_k3.optimizer: missing 'rho'", "conv3_k7_s2.layers[0] (conv): unknown padding 'full'",
                    "id 'Bad-Id' is invalid"]:
        assert sum(culprit in e for e in errors) == 1, (culprit, errors)


# --- loading: duplicate keys and broken files ----------------------------------------------

DUPLICATE_IDS = """\
data: {subset: 0, validation: holdout, val_size: 10000, test_subset: 0}
train: {epochs: 1, batch_size: 8, seed: 0, extra_seeds: [], restore_best: true, monitor: val_loss, eval_batch_size: 8}
model: {input_shape: [28, 28, 1], num_classes: 10}
architectures:
  tiny:
    optimizer: {name: adadelta, learning_rate: 1.0, rho: 0.95, epsilon: 1.0e-7}
    layers: [{type: flatten}, {type: dense, units: 10, activation: softmax}]
  tiny:
    optimizer: {name: adadelta, learning_rate: 1.0, rho: 0.95, epsilon: 1.0e-7}
    layers: [{type: flatten}, {type: dense, units: 10, activation: softmax}]
"""


def write(tmp_path, text, name="params.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_duplicate_architecture_ids(tmp_path):
    path = write(tmp_path, DUPLICATE_IDS)
    with pytest.raises(DuplicateKeyError) as raised:
        load_params_strict(path)
    [message] = raised.value.errors
    assert message.endswith(":8: duplicate key 'tiny' (first on line 5); YAML would silently keep only the last one")
    assert "params.yaml" in message
    with pytest.raises(DuplicateKeyError):
        check(path)


def test_duplicate_keys_anywhere(tmp_path):
    text = DUPLICATE_IDS.replace("{type: dense, units: 10,", "{type: dense, units: 10, units: 12,", 1)
    text = text.replace("train: {epochs: 1,", "train: {epochs: 1, epochs: 2,")
    with pytest.raises(DuplicateKeyError) as raised:
        load_params_strict(write(tmp_path, text))
    assert [e.split(": ", 1)[1] for e in raised.value.errors] == [
        "duplicate key 'epochs' (first on line 2); YAML would silently keep only the last one",
        "duplicate key 'units' (first on line 7); YAML would silently keep only the last one",
        "duplicate key 'tiny' (first on line 5); YAML would silently keep only the last one",
    ]


def test_check_reports_duplicates_with_the_other_errors(tmp_path):
    text = DUPLICATE_IDS.replace("epochs: 1,", "epochs: 0,")
    with pytest.raises(DuplicateKeyError) as raised:
        check(write(tmp_path, text))
    assert len(raised.value.errors) == 2 and raised.value.errors[1].startswith("train: epochs 0")


def test_merge_keys_are_not_duplicates(tmp_path):
    head = DUPLICATE_IDS.split("architectures:")[0]
    text = head + """architectures:
  tiny:
    optimizer: &adadelta {name: adadelta, learning_rate: 1.0, rho: 0.95, epsilon: 1.0e-7}
    layers: [{type: flatten}, {type: dense, units: 10, activation: softmax}]
  other:
    optimizer: {<<: *adadelta, rho: 0.9}  # overriding a merged key is no duplicate
    layers: [{type: flatten}, {type: dense, units: 10, activation: softmax}]
"""
    params = check(write(tmp_path, text))
    assert params["architectures"]["other"]["optimizer"] == {
        "name": "adadelta", "learning_rate": 1.0, "rho": 0.9, "epsilon": 1.0e-7}


@pytest.mark.parametrize("text, expected", [
    ("data: [1, 2\n", "invalid YAML"),
    ("data:\n  subset: 0\n subset: 1\n", "invalid YAML"),
    ("- 1\n- 2\n", "expected a mapping with sections data, train, model, architectures, got list [1, 2]"),
    ("", "got an empty file"),
    ("just text", "got str 'just text'"),
    ("? [a, b]\n: 1\n", "invalid YAML"),
])
def test_broken_files_are_reported_naming_the_file(tmp_path, text, expected):
    with pytest.raises(ParamsError) as raised:
        check(write(tmp_path, text))
    [message] = raised.value.errors
    assert "params.yaml" in message and expected in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError) as raised:
        check(tmp_path / "nope.yaml")
    assert "nope.yaml: cannot read" in raised.value.errors[0]


# --- the command line -------------------------------------------------------------------

def run_cli(*args):
    return subprocess.run([str(PYTHON), "-m", "stages.validate", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_success_writes_the_constant_stamp(tmp_path):
    stamp = tmp_path / "data" / "params_checked.txt"
    result = run_cli("--params", PARAMS_FILE, "--stamp", stamp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("params.yaml: OK (") and result.stdout.endswith(" architectures)\n")
    assert stamp.read_text() == STAMP_TEXT == "params.yaml validated\n"
    assert [p.name for p in stamp.parent.iterdir()] == [stamp.name]  # no temporary file left


@pytest.mark.parametrize("text", [
    DUPLICATE_IDS.replace("rho: 0.95", "rho: 1.5"),
    "data: [1, 2\n",
    "- not a mapping\n",
])
def test_cli_failure_leaves_the_stamp_alone(tmp_path, text):
    params = write(tmp_path, text)
    stamp, absent = tmp_path / "stamp.txt", tmp_path / "absent.txt"
    stamp.write_text("old\n")
    os.utime(stamp, (1_000_000, 1_000_000))
    for target in (stamp, absent):
        result = run_cli("--params", params, "--stamp", target)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr + result.stdout
        header, *lines = result.stderr.splitlines()
        assert header.endswith(f"params.yaml: {len(lines)} error(s):") and lines
    assert stamp.read_text() == "old\n" and stamp.stat().st_mtime == 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "stamp.txt"]


def test_cli_lists_every_error(tmp_path):
    result = run_cli("--params", write(tmp_path, DUPLICATE_IDS.replace("rho: 0.95", "rho: 1.5")))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].endswith("params.yaml: 2 error(s):")
    assert "duplicate key 'tiny'" in lines[1]
    assert lines[2:] == ["  architectures.tiny.optimizer: rho 1.5 is out of range; allowed: 0 <= rho < 1"]


def test_validation_does_not_import_keras():
    code = ("import sys, stages.validate as v; v.check(); "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    result = subprocess.run([str(PYTHON), "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


# --- property-based: never raise, whatever the input --------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**40), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(["conv", "dense", "softmax", "same", "adam", "type",
                                                          "units", "filters", "kernel_size", "1e-7"]))
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(scalars.filter(lambda k: k == k), st.sampled_from(["type", "name", "layers"])),
                    inner, max_size=4)), max_leaves=12)

# Values that are wrong for every key a mutation can hit (note [] is a valid extra_seeds).
ALWAYS_INVALID = [None, "x", -1, -0.5, {}, float("nan"), "1e-7"]
SOMETIMES_VALID = [0, 1, 3, True, 0.5, 1.5, [3, 3], [3], [], 10**9, "same", "relu", "softmax", "holdout"]


def paths_of(params):
    """Every (container, key) inside the architectures and sections, for mutations."""
    found, stack = [], [params]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            found.append((node, key))
            stack.append(value)
    return found


def validate_safely(params) -> list[str]:
    errors = validate_params(params)
    assert isinstance(errors, list) and all(isinstance(e, str) and "\n" not in e for e in errors)
    return errors


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=junk, layer_spec=junk, section=st.sampled_from(["data", "train", "model", "architectures", None]))
def test_random_junk_never_raises(arch, layer_spec, section):
    params = copy.deepcopy(VALID)
    params["architectures"]["junk"] = arch
    params["architectures"]["conv2_k3"]["layers"].insert(3, layer_spec)
    if section:
        params[section] = arch
    errors = validate_safely(params)
    if section or not isinstance(arch, dict):
        assert errors
    validate_safely(arch)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutations_never_raise(data):
    params = copy.deepcopy(VALID)
    archs = params["architectures"]
    container, key = data.draw(st.sampled_from(paths_of(params)))
    kind = data.draw(st.sampled_from(["invalid value", "any value", "junk", "delete", "extra key", "huge kernel"]))
    known_invalid = True
    if kind == "invalid value":
        container[key] = data.draw(st.sampled_from(ALWAYS_INVALID))
    elif kind == "any value":
        container[key] = data.draw(st.sampled_from(SOMETIMES_VALID))
        known_invalid = False
    elif kind == "junk":
        container[key] = data.draw(junk)
        known_invalid = False
    elif kind == "delete":
        del container[key]
        # Optional layer arguments, and list items other than a last layer, may go.
        known_invalid = isinstance(container, dict) and container is not archs and not (
            "type" in container and key not in LAYER_TYPES[container["type"]].required)
    elif kind == "extra key":
        if isinstance(container, dict):
            container["not_a_key"] = 1  # an unknown key, or an architecture that is no mapping
        known_invalid = isinstance(container, dict) and container is not params  # other stages may add sections
    else:
        for arch in archs.values():
            arch["layers"][0]["kernel_size"] = data.draw(st.integers(29, 10**40))
    errors = validate_safely(params)
    if known_invalid:
        assert errors, (kind, key)


def test_nan_and_infinities_are_numbers_out_of_range():
    assert only_error(lambda p: layer(p, 3).update(epsilon=float("inf"))).endswith("allowed: epsilon > 0")
