"""The rules of params.yaml's flat sections: data, train, model, numerics.

`data_errors` is the one place of the `data` rules: the validator checks them against
MNIST's sizes before anything runs, and `stages.mnist.splits` against the arrays it cuts.
"""

from __future__ import annotations

import re

from stages.common.cpu import NATIVE, ONEDNN_ISAS
from stages.params.checks import boolean, choice, integer, is_int_list, section_errors, show, wrong_type

SECTIONS = ("data", "train", "model", "numerics", "architectures", "report")

MNIST_TRAIN_SIZE = 60000
MNIST_TEST_SIZE = 10000
# The only input the models ever get: stages.train feeds the prepared 28x28 grayscale
# images with one channel axis added; any other shape fails only inside Keras' fit.
MNIST_INPUT_SHAPE = (28, 28, 1)

VALIDATIONS = ("holdout", "test")
DATA_KEYS = ("subset", "validation", "val_size", "test_subset")


def missing_section(name: str) -> str:
    return f"top level: missing section {name!r}; needs: {', '.join(SECTIONS)}"


# --- data ---------------------------------------------------------------------------------


def training_pool(validation: str, val_size: int, train_size: int) -> tuple[int, str]:
    """How many training images `subset` draws from, and why: holdout keeps the last
    `val_size` out of training; test (the notebook's protocol) trains on every image."""
    if validation == "test":
        return train_size, f"the {train_size} training images (validation: test)"
    return train_size - val_size, f"{train_size} training images - val_size {val_size} held out"


def data_errors(data, train_size: int = MNIST_TRAIN_SIZE, test_size: int = MNIST_TEST_SIZE) -> list[str]:
    """Every error of a `data` section, for `train_size` training and `test_size` test images."""
    checks = {
        "subset": integer(0),
        "validation": choice(*VALIDATIONS),
        "val_size": integer(1, train_size - 1),
        "test_subset": integer(0, test_size),
    }
    errors, valid = section_errors("data", data, checks, "{subset: 0, validation: holdout, ...}")
    if "subset" not in valid or "validation" not in valid:
        return errors
    if valid["validation"] == "holdout" and "val_size" not in valid:
        return errors  # no pool without a valid holdout size
    pool, why = training_pool(valid["validation"], valid.get("val_size", 0), train_size)
    if valid["subset"] > pool:
        errors.append(
            f"data: subset {valid['subset']} is larger than the training pool; allowed: 0 <= subset <= {pool} ({why})"
        )
    return errors


# --- train, model, numerics ---------------------------------------------------------------


def _seed_list(key, value):
    if is_int_list(value):
        return None
    return f"{key} {show(value)} is invalid; allowed: a list of distinct integers >= 0, e.g. [1, 2]"


def train_errors(train) -> list[str]:
    checks = {
        "epochs": integer(1),
        "batch_size": integer(1),
        "seed": integer(0),
        "extra_seeds": _seed_list,
        "restore_best": boolean,
        "monitor": choice("val_loss", "val_accuracy"),
        "eval_batch_size": integer(1),
    }
    errors, valid = section_errors("train", train, checks, "{epochs: 15, batch_size: 128, ...}")
    seeds = valid.get("extra_seeds", [])
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:  # two runs with one seed would write the same files
        errors.append(
            f"train: extra_seeds {show(seeds)} repeats {', '.join(map(str, repeated))}; allowed: distinct seeds"
        )
    if "seed" in valid and valid["seed"] in seeds:
        errors.append(
            f"train: extra_seeds {show(seeds)} contains seed {valid['seed']}, "
            "the seed of the main run; allowed: other seeds"
        )
    return errors


def _input_shape(key, value):
    if is_int_list(value, 3) and tuple(value) == MNIST_INPUT_SHAPE:
        return None
    return (
        f"{key} {show(value)} is invalid; allowed: {show(list(MNIST_INPUT_SHAPE))} only "
        "(height, width, channels of MNIST's grayscale images, the only data the stages prepare and feed)"
    )


def model_errors(model) -> tuple[list[str], object, object]:
    """Errors of `model`, and its valid input_shape and num_classes (None where invalid)."""
    checks = {"input_shape": _input_shape, "num_classes": integer(2)}
    errors, valid = section_errors("model", model, checks, "{input_shape: [28, 28, 1], num_classes: 10}")
    return errors, valid.get("input_shape"), valid.get("num_classes")


def _version(key, value):
    # major.minor at least: a number such as 2 or YAML's string 1e-7 is no version
    if not isinstance(value, str):
        return wrong_type(key, value, "a version string such as 2.21.0")
    if not re.fullmatch(r"\d+(\.\d+)+\S*", value):
        return f"{key} {show(value)} is invalid; allowed: a version string such as 2.21.0"
    return None


def numerics_errors(numerics) -> list[str]:
    checks = {
        "threads": integer(1),
        "onednn": boolean,
        "device": choice("cpu", "gpu"),
        "onednn_max_cpu_isa": choice(*ONEDNN_ISAS, NATIVE),
        "tensorflow": _version,
        "keras": _version,
        "numpy": _version,
    }
    errors, _ = section_errors("numerics", numerics, checks, "{threads: 2, onednn: true, device: cpu, ...}")
    return errors
