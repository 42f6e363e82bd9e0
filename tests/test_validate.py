"""stages.validate: every typo in params.yaml is reported at once, naming its place."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent

from stages.common.layout import PARAMS_FILE, load_params  # noqa: E402
from stages.model.layers import LAYER_TYPES, OPTIMIZERS  # noqa: E402
from stages.params.checks import checker  # noqa: E402
from stages.params.sections import MNIST_INPUT_SHAPE  # noqa: E402
from stages.validate import (  # noqa: E402
    STAMP_TEXT,
    DuplicateKeyError,
    ParamsError,
    check,
    comparison_errors,
    load_params_strict,
    report_errors,
    validate_params,
)

PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)

# Self-contained rather than the real params.yaml, which others edit: one adadelta
# model with every layer type, one adam model with strides, same padding and lists.
VALID = {
    "data": {"subset": 0, "validation": "holdout", "val_size": 10000, "test_subset": 0},
    "train": {
        "epochs": 15,
        "batch_size": 128,
        "seed": 0,
        "extra_seeds": [1, 2],
        "restore_best": True,
        "monitor": "val_loss",
        "eval_batch_size": 1000,
    },
    "model": {"input_shape": [28, 28, 1], "num_classes": 10},
    "numerics": {
        "threads": 2,
        "onednn": True,
        "device": "cpu",
        "onednn_max_cpu_isa": "AVX2",
        "tensorflow": "2.21.0",
        "keras": "3.15.1",
        "numpy": "2.4.6",
    },
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
    "report": {
        "alpha": 0.05,
        "reproduction_tolerance": 0.003,
        "comparisons": [
            {
                "title": "Kernels and strides",
                "architectures": ["conv2_k3", "conv3_k7_s2"],
                "pairs": [["conv3_k7_s2", "conv2_k3"]],
            },
            {"title": "No pairs: a table only", "architectures": ["conv3_k7_s2"], "pairs": []},
        ],
    },
}
ALL_SECTIONS = ["data", "train", "model", "numerics", "architectures", "report"]


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
    assert params == load_params_strict(PARAMS_FILE) == load_params(PARAMS_FILE)


def test_the_stages_reader_is_safe_load_and_lets_the_last_duplicate_win(tmp_path):
    """One reader for the stages and the validator; only the validator refuses repeats."""
    path = tmp_path / "params.yaml"
    path.write_text("a: 1\nb: {c: [1, 2.5, null, 1.0e-7, 1e-7]}\na: 2\n")
    assert load_params(path) == yaml.safe_load(path.read_text()) == {"a": 2, "b": {"c": [1, 2.5, None, 1e-7, "1e-7"]}}
    with pytest.raises(DuplicateKeyError):
        load_params_strict(path)


def test_every_rule_of_the_vocabulary_has_a_checker_that_names_its_key():
    rules = [(name, arg.rule) for t in LAYER_TYPES.values() for name, arg in t.args.items()]
    rules += [(name, rule) for o in OPTIMIZERS.values() for name, rule in o.hyperparameters.items()]
    for name, rule in rules:
        message = checker(rule)(name, None)  # null is valid for no argument
        assert message.startswith((f"{name} null ", f"unknown {name} null")), (name, message)


def test_the_vocabulary_s_defaults_are_valid_values():
    for t in LAYER_TYPES.values():
        for name, arg in t.args.items():
            assert arg.required or arg.default is None or checker(arg.rule)(name, arg.default) is None, name


# --- top level -------------------------------------------------------------------------


@pytest.mark.parametrize("section", ALL_SECTIONS)
def test_missing_section(section):
    assert only_error(lambda p: p.pop(section)) == (
        f"top level: missing section {section!r}; needs: data, train, model, numerics, architectures, report"
    )


@pytest.mark.parametrize("section", ALL_SECTIONS)
def test_section_not_a_mapping(section):
    message = only_error(lambda p: p.update({section: [1, 2]}))
    assert message.startswith(f"{section}: expected a ") and "got list [1, 2]" in message


@pytest.mark.parametrize("params", [None, [], "data", 3])
def test_params_not_a_mapping(params):
    [message] = validate_params(params)
    assert message.startswith("top level: expected a mapping")


# --- data, train, model ----------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("subset", -1, "data: subset -1 is out of range; allowed: subset >= 0"),
        ("subset", 100.0, "data: subset 100.0 must be an integer, got float"),
        ("subset", 50001, "data: subset 50001 is larger than the training pool; allowed: 0 <= subset <= 50000"),
        ("validation", "train", "data: unknown validation 'train'; allowed: holdout, test"),
        ("val_size", 0, "data: val_size 0 is out of range; allowed: 1 <= val_size <= 59999"),
        ("val_size", 60000, "data: val_size 60000 is out of range"),
        ("val_size", "10000", "data: val_size '10000' must be an integer, got str"),
        ("test_subset", 10001, "data: test_subset 10001 is out of range; allowed: 0 <= test_subset <= 10000"),
        ("test_subset", True, "data: test_subset true must be an integer, got bool"),
    ],
)
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
    assert errors == [
        "data: missing 'val_size'; data needs: subset, validation, val_size, test_subset",
        "data: unknown key 'valsize'; allowed: subset, validation, val_size, test_subset",
    ]


@pytest.mark.parametrize(
    "key, value, expected",
    [
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
    ],
)
def test_train_errors(key, value, expected):
    assert only_error(lambda p: p["train"].update({key: value})).startswith(expected)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        (
            "input_shape",
            [28, 28],
            "model: input_shape [28, 28] is invalid; allowed: [28, 28, 1] only (height, width, "
            "channels of MNIST's grayscale images",
        ),
        ("input_shape", [28, 0, 1], "model: input_shape [28, 0, 1] is invalid"),
        ("input_shape", "28x28", "model: input_shape '28x28' is invalid"),
        # well-formed shapes that are not MNIST's: Keras would fail only in fit, after the data loaded
        ("input_shape", [32, 32, 3], "model: input_shape [32, 32, 3] is invalid; allowed: [28, 28, 1] only"),
        ("input_shape", [28, 28, 3], "model: input_shape [28, 28, 3] is invalid; allowed: [28, 28, 1] only"),
        ("input_shape", [1, 28, 28], "model: input_shape [1, 28, 28] is invalid"),  # channels first
        ("input_shape", [28, 28, 1, 1], "model: input_shape [28, 28, 1, 1] is invalid"),
        ("input_shape", [28.0, 28, 1], "model: input_shape [28.0, 28, 1] is invalid"),
        ("input_shape", [28, 28, True], "model: input_shape [28, 28, True] is invalid"),
        ("num_classes", 1, "model: num_classes 1 is out of range; allowed: num_classes >= 2"),
    ],
)
def test_model_errors(key, value, expected):
    errors = errors_after(lambda p: p["model"].update({key: value}))
    assert errors[0].startswith(expected)
    if key == "input_shape":  # no shape checks without an input shape
        assert len(errors) == 1


def test_input_shape_is_mnist_s():
    assert MNIST_INPUT_SHAPE == (28, 28, 1)
    assert errors_after(lambda p: p["model"].update(input_shape=[28, 28, 1])) == []


def test_num_classes_is_checked_against_every_last_layer():
    errors = errors_after(lambda p: p["model"].update(num_classes=5))
    assert len(errors) == 2
    assert errors[0].startswith(
        "architectures.conv2_k3.layers[8] (dense): the last layer must be a dense "
        "layer with units 5 (model.num_classes) and activation softmax; found units 10"
    )
    assert errors[1].startswith("architectures.conv3_k7_s2.layers[5] (dense):")


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("threads", 0, "numerics: threads 0 is out of range; allowed: threads >= 1"),
        ("onednn", "yes", "numerics: onednn 'yes' must be true or false, got str"),
        ("device", "tpu", "numerics: unknown device 'tpu'; allowed: cpu, gpu"),
        (
            "onednn_max_cpu_isa",
            "avx2",
            "numerics: unknown onednn_max_cpu_isa 'avx2'; allowed: SSE41, AVX, AVX2, AVX2_VNNI, AVX512_CORE, "
            "AVX512_CORE_VNNI, AVX512_CORE_BF16, native",
        ),
        ("tensorflow", 2.21, "numerics: tensorflow 2.21 must be a version string such as 2.21.0, got float"),
        ("numpy", "latest", "numerics: numpy 'latest' is invalid; allowed: a version string such as 2.21.0"),
        ("keras", "3", "numerics: keras '3' is invalid; allowed: a version string such as 2.21.0"),
        ("keras", "1e-7", "numerics: keras '1e-7' is invalid; allowed: a version string such as 2.21.0"),
    ],
)
def test_numerics_errors(key, value, expected):
    assert only_error(lambda p: p["numerics"].update({key: value})) == expected


@pytest.mark.parametrize("version", ["2.21.0", "2.21", "2.22.0rc1", "2.21.0+cpu"])
def test_numerics_versions(version):
    assert errors_after(lambda p: p["numerics"].update(tensorflow=version)) == []


NUMERICS_KEYS = "threads, onednn, device, onednn_max_cpu_isa, tensorflow, keras, numpy"


def test_numerics_missing_and_unknown_keys():
    assert errors_after(lambda p: p["numerics"].update(thread=p["numerics"].pop("threads"))) == [
        f"numerics: missing 'threads'; numerics needs: {NUMERICS_KEYS}",
        f"numerics: unknown key 'thread'; allowed: {NUMERICS_KEYS}",
    ]


# --- architectures ----------------------------------------------------------------------


@pytest.mark.parametrize("archs", [{}, [], None, "conv2_k3"])
def test_architectures_must_be_a_non_empty_mapping(archs):
    assert only_error(lambda p: p.update(architectures=archs)).startswith("architectures: expected a non-empty mapping")


@pytest.mark.parametrize(
    "arch_id", ["Conv2", "conv-2", "conv@2", "conv 2", "conv/2", "2conv", "_conv", "conv2\n", "", "cönv", 7, None, True]
)
def test_invalid_architecture_id(arch_id):
    def rename(p):
        p["architectures"][arch_id] = p["architectures"].pop("conv2_k3")
        p["report"]["comparisons"] = []  # which name conv2_k3 (test_renamed_architecture_in_a_comparison)

    message = only_error(rename)
    assert message.startswith("architectures: id ") and "is invalid; allowed: lowercase letters" in message


def test_reserved_architecture_id():
    def rename(p):
        p["architectures"]["seeds"] = p["architectures"].pop("conv2_k3")
        p["report"]["comparisons"] = []

    assert only_error(rename).startswith("architectures: id 'seeds' is reserved")


def test_renamed_architecture_in_a_comparison():
    def rename(p):
        p["architectures"]["conv2_k3x"] = p["architectures"].pop("conv2_k3")

    assert errors_after(rename) == [
        "report.comparisons[0].architectures[0]: architecture 'conv2_k3' is not in the architectures section; "
        "allowed: conv3_k7_s2, conv2_k3x",
        "report.comparisons[0].pairs[0]: architecture 'conv2_k3' is not in the architectures section; "
        "allowed: conv3_k7_s2, conv2_k3x",
    ]


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda a: a.pop("layers"),
            "architectures.conv2_k3: missing 'layers'; an architecture needs: layers, optimizer",
        ),
        (lambda a: a.pop("optimizer"), "architectures.conv2_k3: missing 'optimizer'"),
        (lambda a: a.update(epochs=3), "architectures.conv2_k3: unknown key 'epochs'; allowed: layers, optimizer"),
        (
            lambda a: a.update(layers=[]),
            "architectures.conv2_k3.layers: expected a non-empty list of layers, got list []",
        ),
        (lambda a: a.update(layers={"type": "flatten"}), "architectures.conv2_k3.layers: expected a non-empty list"),
    ],
)
def test_architecture_entry_errors(change, expected):
    assert only_error(lambda p: change(p["architectures"]["conv2_k3"])).startswith(expected)


def test_architecture_not_a_mapping():
    assert only_error(lambda p: p["architectures"].update(conv2_k3=[1])).startswith(
        "architectures.conv2_k3: expected a mapping"
    )


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
        "architectures.conv2_k3.layers[4] (dropout): rate 1.5 is out of range; allowed: 0 <= rate < 1"
    )


@pytest.mark.parametrize(
    "index, spec, expected",
    [
        (0, [1, 2], "layers[0]: expected a mapping like {type: dense, units: 10}, got list [1, 2]"),
        (0, None, "layers[0]: expected a mapping"),
        (0, {"filters": 32, "kernel_size": 3}, "layers[0]: missing 'type'; allowed: conv, pool, dropout, batchnorm"),
        (0, {"type": "convolution", "filters": 32}, "layers[0]: unknown type 'convolution'; allowed: conv, pool,"),
        (0, {"type": ["conv"]}, "layers[0]: unknown type ['conv']; allowed:"),
        (5, {"type": "flatten", "units": 3}, "layers[5] (flatten): unknown key 'units'; allowed: none"),
        (6, {"type": "dense"}, "layers[6] (dense): missing 'units'; dense needs: units"),
    ],
)
def test_malformed_layers(index, spec, expected):
    assert only_error(lambda p: p["architectures"]["conv2_k3"]["layers"].__setitem__(index, spec)).startswith(
        f"architectures.conv2_k3.{expected}"
    )


@pytest.mark.parametrize(
    "index, key, value, expected",
    [
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
    ],
)
def test_layer_argument_errors(index, key, value, expected):
    message = only_error(lambda p: layer(p, index).update({key: value}))
    kind = VALID["architectures"]["conv2_k3"]["layers"][index]["type"]
    assert message.startswith(f"architectures.conv2_k3.layers[{index}] ({kind}): {expected}")


# --- shapes and the output layer --------------------------------------------------------


def test_kernel_larger_than_the_feature_map():
    assert only_error(lambda p: layer(p, 1).update(kernel_size=27)) == (
        "architectures.conv2_k3.layers[1] (conv): kernel_size 27 is larger than the 26x26 feature map it receives"
    )


def test_pool_larger_than_the_feature_map():
    assert only_error(lambda p: layer(p, 2).update(pool_size=[2, 25])).startswith(
        "architectures.conv2_k3.layers[2] (pool): pool_size 25 is larger than the 24x24 feature map"
    )


def test_huge_kernel_and_same_padding():
    assert only_error(lambda p: layer(p, 0).update(kernel_size=10**30)).startswith(
        f"architectures.conv2_k3.layers[0] (conv): kernel_size {10**30} is larger than the 28x28"
    )
    assert errors_after(lambda p: layer(p, 0).update(kernel_size=99, padding="same")) == []


def test_window_after_flatten():
    def conv_after_flatten(p):
        p["architectures"]["conv2_k3"]["layers"].insert(6, {"type": "conv", "filters": 8, "kernel_size": 1})

    assert only_error(conv_after_flatten).startswith(
        "architectures.conv2_k3.layers[6] (conv): needs a height x width x channels map, got shape (9216,)"
    )


def test_shape_checks_stop_at_the_first_shape_error():
    def two_bad_kernels(p):
        layer(p, 0).update(kernel_size=20)  # 28 -> 9
        layer(p, 1).update(kernel_size=10)  # > 9: the first shape error
        layer(p, 2).update(pool_size=50)  # would fail too, but its input is unknown

    assert only_error(two_bad_kernels).startswith(
        "architectures.conv2_k3.layers[1] (conv): kernel_size 10 is larger than the 9x9 feature map"
    )


def test_shape_checks_stop_at_a_malformed_layer():
    def malformed_then_bad_pool(p):
        layer(p, 1).update(filters="64")
        layer(p, 2).update(pool_size=50)  # would not fit, but shapes stop at layers[1]

    assert only_error(malformed_then_bad_pool).startswith("architectures.conv2_k3.layers[1] (conv): filters '64'")


@pytest.mark.parametrize(
    "change, found",
    [
        (lambda ls: ls.pop(), "found a dropout layer"),
        (lambda ls: ls[-1].update(units=12), "found units 12, activation softmax"),
        (lambda ls: ls[-1].pop("activation"), "found units 10, activation relu (the default)"),
        (lambda ls: ls[-1].update(activation="sigmoid"), "found units 10, activation sigmoid"),
    ],
)
def test_last_layer_must_output_the_classes(change, found):
    message = only_error(lambda p: change(p["architectures"]["conv2_k3"]["layers"]))
    assert message.startswith("architectures.conv2_k3.layers[")
    assert "the last layer must be a dense layer with units 10 (model.num_classes) and activation softmax" in message
    assert message.endswith(found)


def test_output_must_be_flat():
    assert only_error(lambda p: p["architectures"]["conv3_k7_s2"]["layers"].pop(4)) == (
        "architectures.conv3_k7_s2.layers[4] (dense): output shape (6, 11, 10) is not flat; the model must "
        "output one probability per class: add a flatten before the last dense layer"
    )


# --- optimizer --------------------------------------------------------------------------


def test_missing_hyperparameter():
    assert only_error(lambda p: optimizer(p).pop("rho")) == (
        "architectures.conv2_k3.optimizer: missing 'rho'; adadelta needs: learning_rate, rho, epsilon"
    )


@pytest.mark.parametrize(
    "change, expected",
    [
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
    ],
)
def test_optimizer_errors(change, expected):
    assert only_error(lambda p: change(optimizer(p))).startswith(f"architectures.conv2_k3.optimizer: {expected}")


@pytest.mark.parametrize(
    "spec, expected",
    [
        (
            {"name": "adam", "learning_rate": 1e-3, "beta_1": 1.0, "beta_2": 0.999, "epsilon": 1e-7},
            "beta_1 1.0 is out of range; allowed: 0 <= beta_1 < 1",
        ),
        (
            {"name": "adam", "learning_rate": 1e-3, "beta_1": 0.9, "beta_2": -0.1, "epsilon": 1e-7},
            "beta_2 -0.1 is out of range",
        ),
        (
            {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": "yes"},
            "nesterov 'yes' must be true or false, got str",
        ),
        (
            {"name": "rmsprop", "learning_rate": 1e-3, "rho": 0.9, "momentum": 1.5, "epsilon": 1e-7},
            "momentum 1.5 is out of range; allowed: 0 <= momentum < 1",
        ),
        ({"name": "sgd", "learning_rate": 0.01, "momentum": 0.9}, "missing 'nesterov'; sgd needs:"),
        ([], "expected a mapping like {name: adam"),
    ],
)
def test_other_optimizers(spec, expected):
    assert only_error(lambda p: p["architectures"]["conv2_k3"].update(optimizer=spec)).startswith(
        f"architectures.conv2_k3.optimizer: {expected}"
    )


def test_every_optimizer_accepts_its_hyperparameters():
    values = {
        "learning_rate": 0.01,
        "rho": 0.9,
        "momentum": 0.9,
        "epsilon": 1e-7,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "nesterov": True,
    }
    for name, (_, hyperparameters) in OPTIMIZERS.items():
        spec = {"name": name, **{h: values[h] for h in hyperparameters}}
        assert errors_after(lambda p, spec=spec: p["architectures"]["conv2_k3"].update(optimizer=spec)) == []


# --- report -----------------------------------------------------------------------------


def comparison(params, index=0) -> dict:
    return params["report"]["comparisons"][index]


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("alpha", 0, "report: alpha 0 is out of range; allowed: 0 < alpha < 1"),
        ("alpha", 1, "report: alpha 1 is out of range; allowed: 0 < alpha < 1"),
        ("alpha", 5, "report: alpha 5 is out of range"),  # 5 meant as 5 %
        ("alpha", -0.05, "report: alpha -0.05 is out of range"),
        ("alpha", float("nan"), "report: alpha nan is out of range"),
        ("alpha", "0.05", "report: alpha '0.05' must be a number, got str"),
        ("alpha", "5e-2", "report: alpha '5e-2' must be a number, got str (YAML reads it as a string"),
        ("alpha", True, "report: alpha true must be a number, got bool"),
        ("alpha", None, "report: alpha null must be a number, got null"),
        (
            "reproduction_tolerance",
            -0.001,
            "report: reproduction_tolerance -0.001 is out of range; allowed: reproduction_tolerance >= 0",
        ),
        ("reproduction_tolerance", float("inf"), "report: reproduction_tolerance inf is out of range"),
        ("reproduction_tolerance", "0.3%", "report: reproduction_tolerance '0.3%' must be a number, got str"),
        ("reproduction_tolerance", [0.003], "report: reproduction_tolerance [0.003] must be a number, got list"),
    ],
)
def test_report_value_errors(key, value, expected):
    assert only_error(lambda p: p["report"].update({key: value})).startswith(expected)


@pytest.mark.parametrize(
    "key, value",
    [
        ("alpha", 0.01),
        ("alpha", 0.999),
        ("reproduction_tolerance", 0),
        ("reproduction_tolerance", 1),
        ("reproduction_tolerance", 0.5),
    ],
)
def test_report_values_in_range(key, value):
    assert errors_after(lambda p: p["report"].update({key: value})) == []


def test_report_missing_and_unknown_keys():
    errors = errors_after(lambda p: p["report"].update(aplha=p["report"].pop("alpha")))
    assert errors == [
        "report: missing 'alpha'; report needs: alpha, reproduction_tolerance, comparisons",
        "report: unknown key 'aplha'; allowed: alpha, reproduction_tolerance, comparisons, margin",
    ]


@pytest.mark.parametrize("comparisons", [None, {}, "conv2_k3", {"title": "x"}])
def test_comparisons_must_be_a_list(comparisons):
    assert only_error(lambda p: p["report"].update(comparisons=comparisons)).startswith(
        "report.comparisons: expected a list of {title, architectures, pairs} entries ([] for none), got "
    )


def test_no_comparisons_is_valid():
    assert errors_after(lambda p: p["report"].update(comparisons=[])) == []


@pytest.mark.parametrize(
    "entry, expected",
    [
        (
            None,
            "report.comparisons[1]: expected a mapping like {title: Padding, architectures: [a, b], pairs: [[b, a]]}, "
            "got null",
        ),
        (["conv2_k3", "conv3_k7_s2"], "report.comparisons[1]: expected a mapping like"),
        (
            {"title": "t", "architectures": ["conv2_k3"]},
            "report.comparisons[1]: missing 'pairs'; a comparison needs: title, architectures, pairs",
        ),
        ({"architectures": ["conv2_k3"], "pairs": []}, "report.comparisons[1]: missing 'title'"),
        (
            {"title": "t", "architectures": ["conv2_k3"], "pairs": [], "note": "x"},
            "report.comparisons[1]: unknown key 'note'; allowed: title, architectures, pairs",
        ),
    ],
)
def test_malformed_comparison(entry, expected):
    assert only_error(lambda p: p["report"]["comparisons"].__setitem__(1, entry)).startswith(expected)


def test_comparison_key_typo_is_reported_twice():
    errors = errors_after(lambda p: comparison(p).update(pair=comparison(p).pop("pairs")))
    assert errors == [
        "report.comparisons[0]: missing 'pairs'; a comparison needs: title, architectures, pairs",
        "report.comparisons[0]: unknown key 'pair'; allowed: title, architectures, pairs",
    ]


def _show_yaml(value) -> str:
    return "null" if value is None else repr(value)


@pytest.mark.parametrize("title", [None, "", "   ", 3, ["a"], "two\nlines"])
def test_comparison_title(title):
    assert only_error(lambda p: comparison(p).update(title=title)).startswith(
        f"report.comparisons[0]: title {_show_yaml(title)} is invalid; allowed: a non-empty one-line text"
    )


@pytest.mark.parametrize("archs", [[], None, "conv2_k3", {"conv2_k3": 1}])
def test_comparison_architectures_must_be_a_non_empty_list(archs):
    assert only_error(lambda p: comparison(p).update(architectures=archs)).startswith(
        "report.comparisons[0]: architectures "
    )
    assert only_error(lambda p: comparison(p).update(architectures=archs)).endswith(
        "is invalid; allowed: a non-empty list of architecture ids (the rows of its table)"
    )


def test_allowed_ids_stay_on_one_line():
    def odd_id(p):
        p["architectures"]["two\nlines"] = p["architectures"].pop("conv3_k7_s2")

    errors = errors_after(odd_id)  # errors_after: no message spans two lines
    assert "allowed: conv2_k3, 'two\\nlines'" in errors[-1]


def test_comparison_with_an_unknown_id():
    assert only_error(lambda p: comparison(p)["architectures"].append("conv9_typo")) == (
        "report.comparisons[0].architectures[2]: architecture 'conv9_typo' is not in the architectures section; "
        "allowed: conv2_k3, conv3_k7_s2"
    )


@pytest.mark.parametrize("arch", [7, None, ["conv2_k3"], {"id": "conv2_k3"}, True])
def test_comparison_id_of_the_wrong_type(arch):
    assert only_error(lambda p: comparison(p)["architectures"].__setitem__(0, arch)).startswith(
        "report.comparisons[0].architectures[0]: architecture "
    )
    assert only_error(lambda p: comparison(p)["architectures"].__setitem__(0, arch)).endswith(
        "must be an architecture id, got "
        + {int: "int", type(None): "null", list: "list", dict: "mapping", bool: "bool"}[type(arch)]
    )


def test_comparison_repeats_an_architecture():
    assert only_error(lambda p: comparison(p)["architectures"].append("conv2_k3")) == (
        "report.comparisons[0]: architectures ['conv2_k3', 'conv3_k7_s2', 'conv2_k3'] repeats conv2_k3; "
        "allowed: distinct ids"
    )


def test_removing_an_architecture_names_every_comparison_that_uses_it():
    errors = errors_after(lambda p: p["architectures"].pop("conv3_k7_s2"))
    assert [e.split(":")[0] for e in errors] == [
        "report.comparisons[0].architectures[1]",
        "report.comparisons[0].pairs[0]",
        "report.comparisons[1].architectures[0]",
    ]
    assert all("architecture 'conv3_k7_s2' is not in the architectures section; allowed: conv2_k3" in e for e in errors)


@pytest.mark.parametrize(
    "pairs, expected",
    [
        (
            None,
            "report.comparisons[0]: pairs null is invalid; allowed: a list of [a, b] pairs of architecture ids "
            "([] for none)",
        ),
        ({"conv3_k7_s2": "conv2_k3"}, "report.comparisons[0]: pairs {'conv3_k7_s2': 'conv2_k3'} is invalid"),
        (
            [["conv3_k7_s2"]],
            "report.comparisons[0].pairs[0]: expected a pair of two architecture ids like "
            "[conv2_k5, conv2_k3], got list ['conv3_k7_s2']",
        ),
        ([["conv3_k7_s2", "conv2_k3", "conv2_k3"]], "report.comparisons[0].pairs[0]: expected a pair of two"),
        (
            [["conv3_k7_s2", "conv2_k3"], ["conv2_k3", "nope"]],
            "report.comparisons[0].pairs[1]: architecture 'nope' is not in the architectures section; "
            "allowed: conv2_k3, conv3_k7_s2",
        ),
        ([["conv2_k3", 3]], "report.comparisons[0].pairs[0]: architecture 3 must be an architecture id, got int"),
        (
            [["conv2_k3", "conv2_k3"]],
            "report.comparisons[0].pairs[0]: pair ['conv2_k3', 'conv2_k3'] compares "
            "'conv2_k3' with itself; allowed: two different architecture ids",
        ),
    ],
)
def test_comparison_pair_errors(pairs, expected):
    assert only_error(lambda p: comparison(p).update(pairs=pairs)).startswith(expected)


def test_pairs_not_nested():
    assert errors_after(lambda p: comparison(p).update(pairs=["conv3_k7_s2", "conv2_k3"])) == [
        "report.comparisons[0].pairs[0]: expected a pair of two architecture ids like [conv2_k5, conv2_k3], "
        "got str 'conv3_k7_s2'",
        "report.comparisons[0].pairs[1]: expected a pair of two architecture ids like [conv2_k5, conv2_k3], "
        "got str 'conv2_k3'",
    ]


def test_pairs_may_repeat_and_reach_outside_their_table():
    # the report tests a pair listed twice (in either order) once, as the report allows
    def pairs(p):
        comparison(p, 1)["pairs"] = [["conv2_k3", "conv3_k7_s2"], ["conv3_k7_s2", "conv2_k3"]]

    assert errors_after(pairs) == []


def test_report_errors_at_once_and_in_order():
    def many(p):
        p["report"].update(alpha=1.5, reproduction_tolerance=-1)
        comparison(p)["architectures"].append("typo")
        comparison(p, 1)["pairs"].append(["conv2_k3"])

    assert [e.split(" is ")[0].split(": expected")[0] for e in errors_after(many)] == [
        "report: alpha 1.5",
        "report: reproduction_tolerance -1",
        "report.comparisons[0].architectures[2]: architecture 'typo'",
        "report.comparisons[1].pairs[0]",
    ]


def test_unknown_ids_are_not_checked_when_architectures_is_broken():
    # the architectures error says it all; the report only gets its own type errors
    assert only_error(lambda p: p.update(architectures=[])).startswith("architectures: expected a non-empty mapping")
    errors = errors_after(lambda p: (p.update(architectures=None), comparison(p)["architectures"].append(3)))
    assert errors[0].startswith("architectures: expected") and len(errors) == 2
    assert errors[1] == "report.comparisons[0].architectures[2]: architecture 3 must be an architecture id, got int"


def test_the_report_hooks():
    """report_errors and comparison_errors are what stages.report can call instead of its own checks."""
    params = copy.deepcopy(VALID)
    assert report_errors(params) == []
    assert comparison_errors(params["report"]["comparisons"], params["architectures"]) == []
    assert comparison_errors(params["report"]["comparisons"], ["conv2_k3"]) == [
        "report.comparisons[0].architectures[1]: architecture 'conv3_k7_s2' is not in the architectures section; "
        "allowed: conv2_k3",
        "report.comparisons[0].pairs[0]: architecture 'conv3_k7_s2' is not in the architectures section; "
        "allowed: conv2_k3",
        "report.comparisons[1].architectures[0]: architecture 'conv3_k7_s2' is not in the architectures section; "
        "allowed: conv2_k3",
    ]
    assert comparison_errors([{"title": "t", "architectures": ["anything"], "pairs": []}], None) == []
    params["report"]["alpha"] = 2
    assert report_errors(params) == ["report: alpha 2 is out of range; allowed: 0 < alpha < 1"]
    del params["report"]
    assert report_errors(params) == [
        "top level: missing section 'report'; needs: data, train, model, numerics, architectures, report"
    ]


def test_real_report_typo_fails_in_validate():
    params = check(PARAMS_FILE)
    params["report"]["comparisons"][-1]["pairs"][0][0] = "conv3_k5bn"
    [message] = validate_params(params)
    assert message.startswith("report.comparisons[") and "'conv3_k5bn' is not in the architectures section" in message


# --- all at once ------------------------------------------------------------------------


def test_several_errors_are_reported_at_once():
    def many(p):
        p["train"]["epochs"] = 0
        layer(p, 0).update(filters=0)
        layer(p, 4).update(rate=2)
        optimizer(p).pop("rho")
        p["architectures"]["conv3_k7_s2"]["layers"][0]["padding"] = "full"
        p["architectures"]["Bad-Id"] = copy.deepcopy(VALID["architectures"]["conv2_k3"])
        p["model"]["input_shape"] = [28, 28, 3]
        p["report"]["alpha"] = 5
        p["report"]["comparisons"][0]["pairs"][0][1] = "conv2_k3_typo"

    errors = errors_after(many)
    assert len(errors) == 9, errors
    for culprit in [
        "train: epochs 0",
        "conv2_k3.layers[0] (conv): filters 0",
        "conv2_k3.layers[4] (dropout): rate 2",
        "conv2_k3.optimizer: missing 'rho'",
        "conv3_k7_s2.layers[0] (conv): unknown padding 'full'",
        "id 'Bad-Id' is invalid",
        "model: input_shape [28, 28, 3]",
        "report: alpha 5",
        "report.comparisons[0].pairs[0]: architecture 'conv2_k3_typo'",
    ]:
        assert sum(culprit in e for e in errors) == 1, (culprit, errors)


# --- loading: duplicate keys and broken files ----------------------------------------------

TAIL_YAML = (
    "numerics: {threads: 2, onednn: true, device: cpu, onednn_max_cpu_isa: AVX2,\n"
    "  tensorflow: 2.21.0, keras: 3.15.1, numpy: 2.4.6}\n"
    "report: {alpha: 0.05, reproduction_tolerance: 0.003, comparisons: []}\n"
)
DUPLICATE_IDS = (
    """\
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
    + TAIL_YAML
)


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
    text = (
        head
        + """architectures:
  tiny:
    optimizer: &adadelta {name: adadelta, learning_rate: 1.0, rho: 0.95, epsilon: 1.0e-7}
    layers: [{type: flatten}, {type: dense, units: 10, activation: softmax}]
  other:
    optimizer: {<<: *adadelta, rho: 0.9}  # overriding a merged key is no duplicate
    layers: [{type: flatten}, {type: dense, units: 10, activation: softmax}]
"""
        + TAIL_YAML
    )
    params = check(write(tmp_path, text))
    assert params["architectures"]["other"]["optimizer"] == {
        "name": "adadelta",
        "learning_rate": 1.0,
        "rho": 0.9,
        "epsilon": 1.0e-7,
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("data: [1, 2\n", "invalid YAML"),
        ("data:\n  subset: 0\n subset: 1\n", "invalid YAML"),
        (
            "- 1\n- 2\n",
            "expected a mapping with sections data, train, model, numerics, architectures, report, got list [1, 2]",
        ),
        ("", "got an empty file"),
        ("just text", "got str 'just text'"),
        ("? [a, b]\n: 1\n", "invalid YAML"),
    ],
)
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
    return subprocess.run(
        [str(PYTHON), "-m", "stages.validate", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_success_writes_the_constant_stamp(tmp_path):
    stamp = tmp_path / "data" / "params_checked.txt"
    result = run_cli("--params", PARAMS_FILE, "--stamp", stamp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("params.yaml: OK (") and result.stdout.endswith(" architectures)\n")
    assert stamp.read_text() == STAMP_TEXT == "params.yaml validated\n"
    assert [p.name for p in stamp.parent.iterdir()] == [stamp.name]  # no temporary file left


@pytest.mark.parametrize(
    "text",
    [
        DUPLICATE_IDS.replace("rho: 0.95", "rho: 1.5"),
        "data: [1, 2\n",
        "- not a mapping\n",
    ],
)
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
    code = (
        "import sys, stages.validate as v; v.check(); "
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    )
    result = subprocess.run([str(PYTHON), "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


# --- property-based: never raise, whatever the input --------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**40),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["conv", "dense", "softmax", "same", "adam", "type", "units", "filters", "kernel_size", "1e-7"]),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(scalars.filter(lambda k: k == k), st.sampled_from(["type", "name", "layers"])), inner, max_size=4
        ),
    ),
    max_leaves=12,
)

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
@given(arch=junk, layer_spec=junk, section=st.sampled_from([*ALL_SECTIONS, None]))
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
        known_invalid = key != "title" or container[key] not in ("x", "1e-7")  # any one-line text is a title
    elif kind == "any value":
        container[key] = data.draw(st.sampled_from(SOMETIMES_VALID))
        known_invalid = False
    elif kind == "junk":
        container[key] = data.draw(junk)
        known_invalid = False
    elif kind == "delete":
        del container[key]
        # Optional layer arguments, and list items other than a last layer, may go.
        known_invalid = (
            isinstance(container, dict)
            and container is not archs
            and not ("type" in container and key not in LAYER_TYPES[container["type"]].required)
        )
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=junk, pair=junk, arch=junk, comparisons=junk)
def test_report_junk_never_raises(entry, pair, arch, comparisons):
    params = copy.deepcopy(VALID)
    entries = params["report"]["comparisons"]
    entries.append(entry)
    entries[0]["pairs"].append(pair)
    entries[1]["architectures"].append(arch)
    assert validate_safely(params)  # junk is never a whole comparison, a pair of real ids nor a real id
    params["report"]["comparisons"] = comparisons
    assert validate_safely(params) or comparisons == []
    assert isinstance(comparison_errors(comparisons, None), list)


def test_nan_and_infinities_are_numbers_out_of_range():
    assert only_error(lambda p: layer(p, 3).update(epsilon=float("inf"))).endswith("allowed: epsilon > 0")
