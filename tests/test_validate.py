"""stages.validate: every typo in params.yaml is reported at once, one line each naming its place.

The bad edits are one table (CASES): an edit of a valid params, and the error it must give."""

from __future__ import annotations

import copy
import os
import re
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
from stages.params.checks import problem, show  # noqa: E402
from stages.validate import (  # noqa: E402
    STAMP_TEXT,
    ParamsError,
    check,
    comparison_errors,
    load_with_duplicates,
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
        "margin": 0.1,
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


_show = show  # a value as messages spell it (null, true, quotes)
DELETE = object()  # an edit's value that removes the key (or list item)
A, B = "architectures.conv2_k3", "architectures.conv3_k7_s2"
C0, C1 = "report.comparisons[0]", "report.comparisons[1]"
NEEDS = "needs: data, train, model, numerics, architectures, report"


def edited(edits) -> dict:
    """A copy of VALID after `edits`: {path: value}, a path like `report.alpha` or
    `architectures.conv2_k3.layers[4].rate` (an index one past a list's end appends); or
    a function that edits the copy in place."""
    params = copy.deepcopy(VALID)
    if callable(edits):
        edits(params)
        return params
    for path, value in edits.items():
        *parents, last = re.findall(r"[^.\[\]]+", path)
        node = params
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        elif isinstance(node, list) and key == len(node):  # one past the end: append
            node.append(value)
        else:
            node[key] = value
    return params


def errors_after(edits) -> list[str]:
    """validate_params of an edited VALID; every error is one line."""
    errors = validate_params(edited(edits))
    assert isinstance(errors, list) and all(isinstance(e, str) and e and "\n" not in e for e in errors)
    return errors


def rename(old: str, new, comparisons=None):
    """An edit renaming architecture `old` (keeping its place in the report unless `comparisons`)."""

    def edit(p):
        p["architectures"][new] = p["architectures"].pop(old)
        if comparisons is not None:
            p["report"]["comparisons"] = comparisons

    return edit


def insert_layer(index: int, spec: dict, arch="conv2_k3"):
    return lambda p: p["architectures"][arch]["layers"].insert(index, spec)


def rename_key(path: str, old: str, new: str):
    def edit(p):
        node = p
        for part in re.findall(r"[^.\[\]]+", path):
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[new] = node.pop(old)

    return edit


ADAM = {"name": "adam", "learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
ISAS = "SSE41, AVX, AVX2, AVX2_VNNI, AVX512_CORE, AVX512_CORE_VNNI, AVX512_CORE_BF16, native"
LAST = "the last layer must be a dense layer with units 10 (model.num_classes) and activation softmax"
NOT_IN = "allowed: conv2_k3, conv3_k7_s2"
PAIR = "is invalid; allowed: two architecture ids [a, b], e.g. [conv2_k5, conv2_k3]"
YAML_HINT = "must be a number, got str (YAML reads it as a string"

# Every bad edit of params.yaml the validator catches: (edits, the one error it gives, or its
# start). A list is the exact list of errors, for edits that break two rules at once.
CASES = [
    # top level
    *[({s: DELETE}, f"top level: missing section {s!r}; {NEEDS}") for s in ALL_SECTIONS],
    # data
    ({"data.subset": -1}, "data: subset -1 is out of range; allowed: subset >= 0"),
    ({"data.subset": 100.0}, "data: subset 100.0 must be an integer, got float"),
    ({"data.subset": 50001}, "data: subset 50001 is larger than the training pool; allowed: 0 <= subset <= 50000"),
    (
        {"data.subset": 60001, "data.validation": "test"},
        "data: subset 60001 is larger than the training pool; allowed: 0 <= subset <= 60000",
    ),
    ({"data.validation": "train"}, "data: unknown validation 'train'; allowed: holdout, test"),
    ({"data.val_size": 0}, "data: val_size 0 is out of range; allowed: 1 <= val_size <= 59999"),
    ({"data.val_size": 60000}, "data: val_size 60000 is out of range"),
    ({"data.val_size": "10000"}, "data: val_size '10000' must be an integer, got str"),
    ({"data.test_subset": 10001}, "data: test_subset 10001 is out of range; allowed: 0 <= test_subset <= 10000"),
    ({"data.test_subset": True}, "data: test_subset true must be an integer, got bool"),
    (
        rename_key("data", "val_size", "valsize"),
        [
            "data: missing 'val_size'; data needs: subset, validation, val_size, test_subset",
            "data: unknown key 'valsize'; allowed: subset, validation, val_size, test_subset",
        ],
    ),
    # train
    ({"train.epochs": 0}, "train: epochs 0 is out of range; allowed: epochs >= 1"),
    ({"train.epochs": "15"}, "train: epochs '15' must be an integer, got str"),
    ({"train.batch_size": 12.5}, "train: batch_size 12.5 must be an integer, got float"),
    ({"train.batch_size": None}, "train: batch_size null must be an integer, got null"),
    ({"train.seed": -3}, "train: seed -3 is out of range; allowed: seed >= 0"),
    ({"train.extra_seeds": 3}, "train: extra_seeds 3 is invalid; allowed: a list of distinct integers >= 0"),
    ({"train.extra_seeds": [1, -2]}, "train: extra_seeds [1, -2] is invalid"),
    ({"train.extra_seeds": [1, True]}, "train: extra_seeds [1, True] is invalid"),
    ({"train.extra_seeds": [1, 2, 1]}, "train: extra_seeds [1, 2, 1] is invalid; allowed: a list of distinct integers"),
    ({"train.extra_seeds": [1, 0]}, "train: extra_seeds [1, 0] contains seed 0, the seed of the main run; allowed"),
    ({"train.restore_best": "maybe"}, "train: restore_best 'maybe' must be true or false, got str"),
    ({"train.monitor": "accuracy"}, "train: unknown monitor 'accuracy'; allowed: val_loss, val_accuracy"),
    ({"train.eval_batch_size": 0}, "train: eval_batch_size 0 is out of range; allowed: eval_batch_size >= 1"),
    # model: only MNIST's shape (Keras would fail only in fit); no shape checks without it
    (
        {"model.input_shape": [28, 28]},
        "model: input_shape [28, 28] is invalid; allowed: [28, 28, 1] only (height, width, channels of MNIST's",
    ),
    ({"model.input_shape": [28, 0, 1]}, "model: input_shape [28, 0, 1] is invalid"),
    ({"model.input_shape": "28x28"}, "model: input_shape '28x28' is invalid"),
    ({"model.input_shape": [32, 32, 3]}, "model: input_shape [32, 32, 3] is invalid; allowed: [28, 28, 1] only"),
    ({"model.input_shape": [28, 28, 3]}, "model: input_shape [28, 28, 3] is invalid; allowed: [28, 28, 1] only"),
    ({"model.input_shape": [1, 28, 28]}, "model: input_shape [1, 28, 28] is invalid"),  # channels first
    ({"model.input_shape": [28, 28, 1, 1]}, "model: input_shape [28, 28, 1, 1] is invalid"),
    ({"model.input_shape": [28.0, 28, 1]}, "model: input_shape [28.0, 28, 1] is invalid"),
    ({"model.input_shape": [28, 28, True]}, "model: input_shape [28, 28, True] is invalid"),
    ({"model.num_classes": 1}, "model: num_classes 1 is out of range; allowed: num_classes >= 2"),
    # numerics
    ({"numerics.threads": 0}, "numerics: threads 0 is out of range; allowed: threads >= 1"),
    ({"numerics.onednn": "yes"}, "numerics: onednn 'yes' must be true or false, got str"),
    ({"numerics.device": "tpu"}, "numerics: unknown device 'tpu'; allowed: cpu, gpu"),
    ({"numerics.onednn_max_cpu_isa": "avx2"}, f"numerics: unknown onednn_max_cpu_isa 'avx2'; allowed: {ISAS}"),
    ({"numerics.tensorflow": 2.21}, "numerics: tensorflow 2.21 must be a version string such as 2.21.0, got float"),
    ({"numerics.numpy": "latest"}, "numerics: numpy 'latest' is invalid; allowed: a version string such as 2.21.0"),
    ({"numerics.keras": "3"}, "numerics: keras '3' is invalid; allowed: a version string such as 2.21.0"),
    ({"numerics.keras": "1e-7"}, "numerics: keras '1e-7' is invalid; allowed: a version string such as 2.21.0"),
    (
        rename_key("numerics", "threads", "thread"),
        [
            "numerics: missing 'threads'; numerics needs: threads, onednn, device, onednn_max_cpu_isa, tensorflow, "
            "keras, numpy",
            "numerics: unknown key 'thread'; allowed: threads, onednn, device, onednn_max_cpu_isa, tensorflow, keras, "
            "numpy",
        ],
    ),
    # architectures: the section, ids, entries
    *[({"architectures": a}, "architectures: expected a non-empty mapping") for a in ({}, [], None, "conv2_k3")],
    *[
        (rename("conv2_k3", bad, comparisons=[]), f"architectures: id {_show(bad)} is invalid; allowed: lowercase")
        for bad in [
            "Conv2",
            "conv-2",
            "conv@2",
            "conv 2",
            "conv/2",
            "2conv",
            "_conv",
            "conv2\n",
            "",
            "cönv",
            7,
            None,
            True,
        ]
    ],
    (
        rename("conv2_k3", "seeds", comparisons=[]),
        "architectures: id 'seeds' is invalid; allowed: lowercase letters, digits and _, starting with a letter, "
        "not seeds",
    ),
    (
        rename("conv2_k3", "conv2_k3x"),
        [
            f"{C0}.architectures[0]: unknown architecture 'conv2_k3'; allowed: conv3_k7_s2, conv2_k3x",
            f"{C0}.pairs[0]: unknown architecture 'conv2_k3'; allowed: conv3_k7_s2, conv2_k3x",
        ],
    ),
    ({A: [1]}, f"{A}: expected a mapping"),
    ({f"{A}.layers": DELETE}, f"{A}: missing 'layers'; an architecture needs: layers, optimizer"),
    ({f"{A}.optimizer": DELETE}, f"{A}: missing 'optimizer'"),
    ({f"{A}.epochs": 3}, f"{A}: unknown key 'epochs'; allowed: layers, optimizer"),
    ({f"{A}.layers": []}, f"{A}.layers: expected a non-empty list of layers, got list []"),
    ({f"{A}.layers": {"type": "flatten"}}, f"{A}.layers: expected a non-empty list"),
    # layers
    (
        rename_key(f"{A}.layers[0]", "filters", "filter"),
        [
            f"{A}.layers[0] (conv): missing 'filters'; conv needs: filters, kernel_size",
            f"{A}.layers[0] (conv): unknown key 'filter'; allowed: filters, kernel_size, strides, padding, activation",
        ],
    ),
    ({f"{A}.layers[0]": [1, 2]}, f"{A}.layers[0]: expected a mapping like {{type: dense, units: 10}}, got list [1, 2]"),
    ({f"{A}.layers[0]": None}, f"{A}.layers[0]: expected a mapping"),
    ({f"{A}.layers[0].type": DELETE}, f"{A}.layers[0]: missing 'type'; allowed: conv, pool, dropout, batchnorm"),
    ({f"{A}.layers[0].type": "convolution"}, f"{A}.layers[0]: unknown type 'convolution'; allowed: conv, pool,"),
    ({f"{A}.layers[0].type": ["conv"]}, f"{A}.layers[0]: unknown type ['conv']; allowed:"),
    ({f"{A}.layers[5].units": 3}, f"{A}.layers[5] (flatten): unknown key 'units'; allowed: none"),
    ({f"{A}.layers[6].units": DELETE}, f"{A}.layers[6] (dense): missing 'units'; dense needs: units"),
    ({f"{A}.layers[0].filters": 0}, f"{A}.layers[0] (conv): filters 0 is out of range; allowed: filters >= 1"),
    ({f"{A}.layers[0].filters": True}, f"{A}.layers[0] (conv): filters true must be an integer, got bool"),
    ({f"{A}.layers[0].filters": 32.0}, f"{A}.layers[0] (conv): filters 32.0 must be an integer, got float"),
    ({f"{A}.layers[0].filters": "32"}, f"{A}.layers[0] (conv): filters '32' must be an integer, got str"),
    ({f"{A}.layers[6].units": -128}, f"{A}.layers[6] (dense): units -128 is out of range; allowed: units >= 1"),
    (
        {f"{A}.layers[0].kernel_size": 0},
        f"{A}.layers[0] (conv): kernel_size 0 is invalid; allowed: an integer >= 1 or a list of two integers >= 1",
    ),
    ({f"{A}.layers[0].kernel_size": [3, 3, 3]}, f"{A}.layers[0] (conv): kernel_size [3, 3, 3] is invalid"),
    ({f"{A}.layers[0].kernel_size": [3, 0]}, f"{A}.layers[0] (conv): kernel_size [3, 0] is invalid"),
    ({f"{A}.layers[0].kernel_size": "3x3"}, f"{A}.layers[0] (conv): kernel_size '3x3' is invalid"),
    ({f"{A}.layers[0].strides": 1.0}, f"{A}.layers[0] (conv): strides 1.0 is invalid"),
    ({f"{A}.layers[2].pool_size": None}, f"{A}.layers[2] (pool): pool_size null is invalid"),
    ({f"{A}.layers[0].padding": "Same"}, f"{A}.layers[0] (conv): unknown padding 'Same'; allowed: valid, same"),
    (
        {f"{A}.layers[6].activation": "softplus"},
        f"{A}.layers[6] (dense): unknown activation 'softplus'; allowed: relu,",
    ),
    ({f"{A}.layers[4].rate": 1.5}, f"{A}.layers[4] (dropout): rate 1.5 is out of range; allowed: 0 <= rate < 1"),
    ({f"{A}.layers[4].rate": 1}, f"{A}.layers[4] (dropout): rate 1 is out of range; allowed: 0 <= rate < 1"),
    ({f"{A}.layers[4].rate": -0.1}, f"{A}.layers[4] (dropout): rate -0.1 is out of range"),
    ({f"{A}.layers[4].rate": float("nan")}, f"{A}.layers[4] (dropout): rate nan is out of range"),
    ({f"{A}.layers[4].rate": "0.5"}, f"{A}.layers[4] (dropout): rate '0.5' must be a number, got str"),
    ({f"{A}.layers[3].momentum": 1.0}, f"{A}.layers[3] (batchnorm): momentum 1.0 is out of range; allowed: 0 <= mom"),
    ({f"{A}.layers[3].epsilon": 0}, f"{A}.layers[3] (batchnorm): epsilon 0 is out of range; allowed: epsilon > 0"),
    ({f"{A}.layers[3].epsilon": float("inf")}, f"{A}.layers[3] (batchnorm): epsilon inf is out of range; allowed: ep"),
    ({f"{A}.layers[3].epsilon": "1e-3"}, f"{A}.layers[3] (batchnorm): epsilon '1e-3' {YAML_HINT}"),
    # shapes, through well-formed layers up to the first that does not fit
    (
        {f"{A}.layers[1].kernel_size": 27},
        f"{A}.layers[1] (conv): kernel_size 27 is larger than the 26x26 feature map it receives",
    ),
    ({f"{A}.layers[2].pool_size": [2, 25]}, f"{A}.layers[2] (pool): pool_size 25 is larger than the 24x24 feature map"),
    ({f"{A}.layers[0].kernel_size": 10**30}, f"{A}.layers[0] (conv): kernel_size {10**30} is larger than the 28x28"),
    (
        insert_layer(6, {"type": "conv", "filters": 8, "kernel_size": 1}),
        f"{A}.layers[6] (conv): needs a height x width x channels map, got shape (9216,)",
    ),
    (
        {f"{A}.layers[0].kernel_size": 20, f"{A}.layers[1].kernel_size": 10, f"{A}.layers[2].pool_size": 50},
        f"{A}.layers[1] (conv): kernel_size 10 is larger than the 9x9 feature map",  # layers[2]'s input is unknown
    ),
    ({f"{A}.layers[1].filters": "64", f"{A}.layers[2].pool_size": 50}, f"{A}.layers[1] (conv): filters '64'"),
    # the output layer
    ({f"{A}.layers[8]": DELETE}, f"{A}.layers[7] (dropout): {LAST}; found a dropout layer"),
    ({f"{A}.layers[8].units": 12}, f"{A}.layers[8] (dense): {LAST}; found units 12, activation softmax"),
    ({f"{A}.layers[8].activation": DELETE}, f"{A}.layers[8] (dense): {LAST}; found units 10, activation relu (the def"),
    ({f"{A}.layers[8].activation": "sigmoid"}, f"{A}.layers[8] (dense): {LAST}; found units 10, activation sigmoid"),
    (
        {f"{B}.layers[4]": DELETE},
        f"{B}.layers[4] (dense): output shape (6, 11, 10) is not flat; the model must output one probability per "
        "class: add a flatten before the last dense layer",
    ),
    # optimizers
    ({f"{A}.optimizer.rho": DELETE}, f"{A}.optimizer: missing 'rho'; adadelta needs: learning_rate, rho, epsilon"),
    ({f"{A}.optimizer.beta_1": 0.9}, f"{A}.optimizer: unknown key 'beta_1'; allowed: learning_rate, rho, epsilon"),
    ({f"{A}.optimizer.name": DELETE}, f"{A}.optimizer: missing 'name'; allowed: adadelta, adam, rmsprop, sgd"),
    ({f"{A}.optimizer.name": "adamw"}, f"{A}.optimizer: unknown optimizer 'adamw'; allowed: adadelta, adam, rmsprop"),
    ({f"{A}.optimizer.name": None}, f"{A}.optimizer: unknown optimizer null; allowed:"),
    (
        {f"{A}.optimizer.learning_rate": 0},
        f"{A}.optimizer: learning_rate 0 is out of range; allowed: learning_rate > 0",
    ),
    ({f"{A}.optimizer.learning_rate": float("inf")}, f"{A}.optimizer: learning_rate inf is out of range"),
    ({f"{A}.optimizer.learning_rate": "1.0"}, f"{A}.optimizer: learning_rate '1.0' must be a number, got str"),
    ({f"{A}.optimizer.rho": 1}, f"{A}.optimizer: rho 1 is out of range; allowed: 0 <= rho < 1"),
    ({f"{A}.optimizer.epsilon": -1e-7}, f"{A}.optimizer: epsilon -1e-07 is out of range; allowed: epsilon > 0"),
    ({f"{A}.optimizer.epsilon": "1e-7"}, f"{A}.optimizer: epsilon '1e-7' {YAML_HINT}"),
    (
        {f"{A}.optimizer": {**ADAM, "beta_1": 1.0}},
        f"{A}.optimizer: beta_1 1.0 is out of range; allowed: 0 <= beta_1 < 1",
    ),
    ({f"{A}.optimizer": {**ADAM, "beta_2": -0.1}}, f"{A}.optimizer: beta_2 -0.1 is out of range"),
    (
        {f"{A}.optimizer": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": "yes"}},
        f"{A}.optimizer: nesterov 'yes' must be true or false, got str",
    ),
    (
        {f"{A}.optimizer": {"name": "rmsprop", "learning_rate": 1e-3, "rho": 0.9, "momentum": 1.5, "epsilon": 1e-7}},
        f"{A}.optimizer: momentum 1.5 is out of range; allowed: 0 <= momentum < 1",
    ),
    (
        {f"{A}.optimizer": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9}},
        f"{A}.optimizer: missing 'nesterov'; sgd needs:",
    ),
    ({f"{A}.optimizer": []}, f"{A}.optimizer: expected a mapping like {{name: adam"),
    # report
    ({"report.alpha": 0}, "report: alpha 0 is out of range; allowed: 0 < alpha < 1"),
    ({"report.alpha": 1}, "report: alpha 1 is out of range; allowed: 0 < alpha < 1"),
    ({"report.alpha": 5}, "report: alpha 5 is out of range"),  # 5 meant as 5 %
    ({"report.alpha": -0.05}, "report: alpha -0.05 is out of range"),
    ({"report.alpha": float("nan")}, "report: alpha nan is out of range"),
    ({"report.alpha": "0.05"}, "report: alpha '0.05' must be a number, got str"),
    ({"report.alpha": "5e-2"}, f"report: alpha '5e-2' {YAML_HINT}"),
    ({"report.alpha": True}, "report: alpha true must be a number, got bool"),
    ({"report.alpha": None}, "report: alpha null must be a number, got null"),
    (
        {"report.reproduction_tolerance": -0.001},
        "report: reproduction_tolerance -0.001 is out of range; allowed: reproduction_tolerance >= 0",
    ),
    ({"report.reproduction_tolerance": float("inf")}, "report: reproduction_tolerance inf is out of range"),
    ({"report.reproduction_tolerance": "0.3%"}, "report: reproduction_tolerance '0.3%' must be a number, got str"),
    ({"report.reproduction_tolerance": [0.003]}, "report: reproduction_tolerance [0.003] must be a number, got list"),
    ({"report.margin": 0}, "report: margin 0 is out of range; allowed: 0 < margin < 100"),
    ({"report.margin": 100}, "report: margin 100 is out of range; allowed: 0 < margin < 100"),
    ({"report.margin": "0.5"}, "report: margin '0.5' must be a number, got str"),
    (
        {"report.margin": DELETE},
        "report: missing 'margin'; report needs: alpha, reproduction_tolerance, comparisons, margin",
    ),
    (
        rename_key("report", "alpha", "aplha"),
        [
            "report: missing 'alpha'; report needs: alpha, reproduction_tolerance, comparisons, margin",
            "report: unknown key 'aplha'; allowed: alpha, reproduction_tolerance, comparisons, margin",
        ],
    ),
    # report.comparisons
    *[
        (
            {"report.comparisons": bad},
            "report.comparisons: expected a list of {title, architectures, pairs} entries ([] for none), got ",
        )
        for bad in (None, {}, "conv2_k3", {"title": "x"})
    ],
    ({C1: None}, f"{C1}: expected a mapping like {{title: ..., architectures: ..., pairs: ...}}, got null"),
    ({C1: ["conv2_k3", "conv3_k7_s2"]}, f"{C1}: expected a mapping like"),
    ({f"{C1}.pairs": DELETE}, f"{C1}: missing 'pairs'; a comparison needs: title, architectures, pairs"),
    ({f"{C1}.title": DELETE}, f"{C1}: missing 'title'"),
    ({f"{C1}.note": "x"}, f"{C1}: unknown key 'note'; allowed: title, architectures, pairs"),
    (
        rename_key(C0, "pairs", "pair"),
        [
            f"{C0}: missing 'pairs'; a comparison needs: title, architectures, pairs",
            f"{C0}: unknown key 'pair'; allowed: title, architectures, pairs",
        ],
    ),
    *[
        ({f"{C0}.title": bad}, f"{C0}: title {_show(bad)} is invalid; allowed: a non-empty one-line text")
        for bad in (None, "", "   ", 3, ["a"], "two\nlines")
    ],
    *[
        (
            {f"{C0}.architectures": bad},
            f"{C0}: architectures {_show(bad)} is invalid; allowed: a non-empty list of architecture ids (the rows",
        )
        for bad in ([], None, "conv2_k3", {"conv2_k3": 1})
    ],
    ({f"{C0}.architectures[2]": "conv9_typo"}, f"{C0}.architectures[2]: unknown architecture 'conv9_typo'; {NOT_IN}"),
    *[
        (
            {f"{C0}.architectures[0]": bad},
            f"{C0}.architectures[0]: unknown architecture {_show(bad)}; {NOT_IN}",
        )
        for bad in (7, None, ["conv2_k3"], {"id": "conv2_k3"}, True)
    ],
    (
        {f"{C0}.architectures[2]": "conv2_k3"},
        f"{C0}: architectures ['conv2_k3', 'conv3_k7_s2', 'conv2_k3'] repeats conv2_k3; allowed: distinct ids",
    ),
    (
        {B: DELETE},
        [
            f"{C0}.architectures[1]: unknown architecture 'conv3_k7_s2'; allowed: conv2_k3",
            f"{C0}.pairs[0]: unknown architecture 'conv3_k7_s2'; allowed: conv2_k3",
            f"{C1}.architectures[0]: unknown architecture 'conv3_k7_s2'; allowed: conv2_k3",
        ],
    ),
    ({f"{C0}.pairs": None}, f"{C0}: pairs null is invalid; allowed: a list of [a, b] pairs of ids ([] for none)"),
    ({f"{C0}.pairs": {"conv3_k7_s2": "conv2_k3"}}, f"{C0}: pairs {{'conv3_k7_s2': 'conv2_k3'}} is invalid"),
    (
        {f"{C0}.pairs": [["conv3_k7_s2"]]},
        f"{C0}.pairs[0]: pair ['conv3_k7_s2'] {PAIR}",
    ),
    ({f"{C0}.pairs": [["conv3_k7_s2", "conv2_k3", "conv2_k3"]]}, f"{C0}.pairs[0]: pair ['conv3_k7_s2', 'conv2_k3', 'c"),
    ({f"{C0}.pairs[1]": ["conv2_k3", "nope"]}, f"{C0}.pairs[1]: unknown architecture 'nope'; {NOT_IN}"),
    ({f"{C0}.pairs": [["conv2_k3", 3]]}, f"{C0}.pairs[0]: unknown architecture 3; {NOT_IN}"),
    (
        {f"{C0}.pairs": [["conv2_k3", "conv2_k3"]]},
        f"{C0}.pairs[0]: pair ['conv2_k3', 'conv2_k3'] repeats conv2_k3; allowed",
    ),
    (
        {f"{C0}.pairs": ["conv3_k7_s2", "conv2_k3"]},  # not nested
        [
            f"{C0}.pairs[0]: pair 'conv3_k7_s2' {PAIR}",
            f"{C0}.pairs[1]: pair 'conv2_k3' {PAIR}",
        ],
    ),
    # seeds: more runs of some architectures
    ({"seeds": [3]}, "seeds: expected a mapping like {conv2_k3: [3, 4]}, got list [3]"),
    ({"seeds": {"conv9": [3]}}, f"seeds: unknown key 'conv9'; {NOT_IN}"),
    ({"seeds": {"conv2_k3": 3}}, "seeds: conv2_k3 3 is invalid; allowed: a list of distinct integers >= 0"),
    ({"seeds": {"conv2_k3": [3, -1]}}, "seeds: conv2_k3 [3, -1] is invalid; allowed: a list of distinct integers >= 0"),
    ({"seeds": {"conv2_k3": [3, 3]}}, "seeds: conv2_k3 [3, 3] is invalid; allowed: a list of distinct integers >= 0"),
    ({"seeds": {"conv2_k3": [3, 0]}}, "seeds: conv2_k3 [3, 0] contains seed 0, the seed of the main runs (train.seed)"),
    ({"seeds": {"conv2_k3": [2, 5]}}, "seeds: conv2_k3 [2, 5] contains seed 2, already a seed of every architecture"),
]


def _case_id(case) -> str:
    edits = case[0]
    if callable(edits):
        return "edit"
    return ",".join(f"{path}={'DELETE' if value is DELETE else _show(value)}"[:40] for path, value in edits.items())


@pytest.mark.parametrize("edits, expected", CASES, ids=[_case_id(case) for case in CASES])
def test_bad_params(edits, expected):
    """Each bad edit gives one line naming its place, key and value and what is allowed (or the exact errors)."""
    errors = errors_after(edits)
    if isinstance(expected, list):
        assert errors == expected
    else:
        assert len(errors) == 1, errors
        assert errors[0].startswith(expected), errors[0]


def test_fixture_is_valid():
    assert validate_params(copy.deepcopy(VALID)) == []


def test_real_params_yaml_is_valid():
    params = check(PARAMS_FILE)
    assert validate_params(params) == []
    assert (params, []) == load_with_duplicates(PARAMS_FILE) and params == load_params(PARAMS_FILE)


def test_the_stages_reader_is_safe_load_and_lets_the_last_duplicate_win(tmp_path):
    """One reader for the stages and the validator; only the validator refuses repeats."""
    path = tmp_path / "params.yaml"
    path.write_text("a: 1\nb: {c: [1, 2.5, null, 1.0e-7, 1e-7]}\na: 2\n")
    assert load_params(path) == yaml.safe_load(path.read_text()) == {"a": 2, "b": {"c": [1, 2.5, None, 1e-7, "1e-7"]}}
    [duplicate] = load_with_duplicates(path)[1]
    assert duplicate.endswith(
        "params.yaml:3: duplicate key 'a' (first on line 1); YAML would silently keep only the last one"
    )


def test_every_rule_of_the_vocabulary_names_its_key_and_accepts_its_default():
    rules = [(name, arg.rule, arg) for t in LAYER_TYPES.values() for name, arg in t.args.items()]
    rules += [(name, rule, None) for o in OPTIMIZERS.values() for name, rule in o.hyperparameters.items()]
    for name, rule, arg in rules:
        message = problem(rule, name, None)  # null is valid for no argument
        assert message.startswith((f"{name} null ", f"unknown {name} null")), (name, message)
        if arg is not None and not arg.required and arg.default is not None:
            assert problem(rule, name, arg.default) is None, name


@pytest.mark.parametrize("section", ALL_SECTIONS)
def test_section_not_a_mapping(section):
    [message] = errors_after({section: [1, 2]})
    assert message.startswith(f"{section}: expected a ") and message.endswith("got list [1, 2]")


@pytest.mark.parametrize("params", [None, [], "data", 3])
def test_params_not_a_mapping(params):
    [message] = validate_params(params)
    assert message.startswith("top level: expected a mapping")


@pytest.mark.parametrize(
    "edits",
    [
        {"data.subset": 60000, "data.validation": "test"},  # the whole pool
        {"numerics.tensorflow": "2.21"},
        {"numerics.tensorflow": "2.22.0rc1"},
        {"numerics.tensorflow": "2.21.0+cpu"},
        {"report.comparisons": []},
        {"report.alpha": 0.999, "report.reproduction_tolerance": 0, "report.margin": 0.5},
        {f"{A}.layers[0].kernel_size": 99, f"{A}.layers[0].padding": "same"},  # same padding fits any kernel
        {"seeds": {"conv2_k3": [3, 4], "conv3_k7_s2": [3]}},
        {"seeds": None},  # `seeds:` with every line commented out
        {f"{C1}.pairs": [["conv2_k3", "conv3_k7_s2"], ["conv3_k7_s2", "conv2_k3"]]},  # repeats, outside its table
        {"model.input_shape": [28, 28, 1]},
    ],
)
def test_valid_edits(edits):
    assert errors_after(edits) == []


def test_every_optimizer_accepts_its_hyperparameters():
    values = dict(learning_rate=0.01, rho=0.9, momentum=0.9, epsilon=1e-7, beta_1=0.9, beta_2=0.999, nesterov=True)
    for name, (_, hyperparameters) in OPTIMIZERS.items():
        assert errors_after({f"{A}.optimizer": {"name": name, **{h: values[h] for h in hyperparameters}}}) == []


def test_subset_pool_is_checked_on_the_train_size_given():
    errors = validate_params(edited({"data.subset": 15000}), mnist_train_size=20000)
    assert errors[0].startswith("data: subset 15000 is larger than the training pool; allowed: 0 <= subset <= 10000")


def test_num_classes_is_checked_against_every_last_layer():
    errors = errors_after({"model.num_classes": 5})
    assert len(errors) == 2
    assert errors[0].startswith(f"{A}.layers[8] (dense): the last layer must be a dense layer with units 5 ")
    assert errors[1].startswith(f"{B}.layers[5] (dense):")


def test_allowed_ids_stay_on_one_line():
    errors = errors_after(rename("conv3_k7_s2", "two\nlines"))
    assert "allowed: conv2_k3, 'two\\nlines'" in errors[-1]


def test_several_errors_are_reported_at_once():
    edits = {
        "train.epochs": 0,
        f"{A}.layers[0].filters": 0,
        f"{A}.layers[4].rate": 2,
        f"{A}.optimizer.rho": DELETE,
        f"{B}.layers[0].padding": "full",
        "architectures.Bad-Id": VALID["architectures"]["conv2_k3"],
        "model.input_shape": [28, 28, 3],
        "report.alpha": 5,
        f"{C0}.pairs[0][1]": "conv2_k3_typo",
        f"{C1}.pairs": [["conv2_k3"]],
    }
    errors = errors_after(edits)
    culprits = [
        "train: epochs 0",
        "conv2_k3.layers[0] (conv): filters 0",
        "conv2_k3.layers[4] (dropout): rate 2",
        "conv2_k3.optimizer: missing 'rho'",
        "conv3_k7_s2.layers[0] (conv): unknown padding 'full'",
        "id 'Bad-Id' is invalid",
        "model: input_shape [28, 28, 3]",
        "report: alpha 5",
        "report.comparisons[0].pairs[0]: unknown architecture 'conv2_k3_typo'",
        "report.comparisons[1].pairs[0]: pair ['conv2_k3'] is invalid",
    ]
    assert len(errors) == len(culprits), errors
    for culprit in culprits:
        assert sum(culprit in e for e in errors) == 1, (culprit, errors)


def test_unknown_ids_are_not_checked_when_architectures_is_broken():
    # the architectures error says it all; the report and seeds only get their own type errors
    errors = errors_after({"architectures": None, f"{C0}.architectures[2]": 3, "seeds": {"conv2_k3": [3]}})
    assert errors[0].startswith("architectures: expected") and len(errors) == 2
    assert errors[1] == f"{C0}.architectures[2]: architecture 3 must be an architecture id, got int"


def test_the_report_hooks():
    """report_errors and comparison_errors are what stages.report calls instead of its own checks."""
    params = copy.deepcopy(VALID)
    assert report_errors(params) == []
    assert comparison_errors(params["report"]["comparisons"], params["architectures"]) == []
    assert comparison_errors(params["report"]["comparisons"], ["conv2_k3"]) == [
        f"{C0}.architectures[1]: unknown architecture 'conv3_k7_s2'; allowed: conv2_k3",
        f"{C0}.pairs[0]: unknown architecture 'conv3_k7_s2'; allowed: conv2_k3",
        f"{C1}.architectures[0]: unknown architecture 'conv3_k7_s2'; allowed: conv2_k3",
    ]
    assert comparison_errors([{"title": "t", "architectures": ["anything"], "pairs": []}], None) == []
    params["report"]["alpha"] = 2
    assert report_errors(params) == ["report: alpha 2 is out of range; allowed: 0 < alpha < 1"]
    del params["report"]
    assert report_errors(params) == [f"top level: missing section 'report'; {NEEDS}"]


def test_real_report_typo_fails_in_validate():
    params = check(PARAMS_FILE)
    params["report"]["comparisons"][-1]["pairs"][0][0] = "conv3_k5bn"
    [message] = validate_params(params)
    assert message.startswith("report.comparisons[") and "unknown architecture 'conv3_k5bn'; allowed: " in message


# --- loading: duplicate keys and broken files ----------------------------------------------

TAIL_YAML = (
    "numerics: {threads: 2, onednn: true, device: cpu, onednn_max_cpu_isa: AVX2,\n"
    "  tensorflow: 2.21.0, keras: 3.15.1, numpy: 2.4.6}\n"
    "report: {alpha: 0.05, margin: 0.1, reproduction_tolerance: 0.003, comparisons: []}\n"
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
    _, [message] = load_with_duplicates(path)
    assert message.endswith(":8: duplicate key 'tiny' (first on line 5); YAML would silently keep only the last one")
    assert "params.yaml" in message
    with pytest.raises(ParamsError) as raised:
        check(path)
    assert raised.value.errors == [message]


def test_duplicate_keys_anywhere(tmp_path):
    text = DUPLICATE_IDS.replace("{type: dense, units: 10,", "{type: dense, units: 10, units: 12,", 1)
    text = text.replace("train: {epochs: 1,", "train: {epochs: 1, epochs: 2,")
    _, duplicates = load_with_duplicates(write(tmp_path, text))
    assert [e.split(": ", 1)[1] for e in duplicates] == [
        "duplicate key 'epochs' (first on line 2); YAML would silently keep only the last one",
        "duplicate key 'units' (first on line 7); YAML would silently keep only the last one",
        "duplicate key 'tiny' (first on line 5); YAML would silently keep only the last one",
    ]


def test_check_reports_duplicates_with_the_other_errors(tmp_path):
    text = DUPLICATE_IDS.replace("epochs: 1,", "epochs: 0,")
    with pytest.raises(ParamsError) as raised:
        check(write(tmp_path, text))
    assert len(raised.value.errors) == 2 and "duplicate key 'tiny'" in raised.value.errors[0]
    assert raised.value.errors[1].startswith("train: epochs 0")


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
    # junk is never a valid list of comparisons; without the ids (architectures broken) only
    # the id checks go, never an error of its own
    without_ids = comparison_errors(comparisons, None)
    assert without_ids or comparisons == []
    assert set(without_ids) <= set(comparison_errors(comparisons, params["architectures"]))
