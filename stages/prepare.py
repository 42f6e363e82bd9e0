"""The `prepare` stage: MNIST into data/prepared/{train,val,test}.npz, as params.yaml `data` says.

Run from the repository root: `python -m stages.prepare`. The source is $MNIST_SOURCE
(see `stages.mnist`).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import yaml

from stages.common import layout
from stages.common.atomic import atomic_path
from stages.mnist.source import MnistError, describe_source, load_mnist

VALIDATIONS = ("holdout", "test")
DATA_KEYS = ("subset", "validation", "val_size", "test_subset")


def _count(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"data.{key} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"data.{key} must be >= 0, got {value}")
    return value


def split(
    arrays: dict, subset: int, validation: str, val_size: int, test_subset: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The train, val and test (x, y) pairs of the `data` params (slices of `arrays`).

    holdout: val is the last `val_size` training images and the pool the others, so the
    holdout does not move with `subset`. test (the notebook's protocol): the pool is every
    training image and val is the test split itself.
    """
    subset = _count(subset, "subset")
    val_size = _count(val_size, "val_size")
    test_subset = _count(test_subset, "test_subset")
    if validation not in VALIDATIONS:
        raise ValueError(f"data.validation must be one of {', '.join(VALIDATIONS)}; got {validation!r}")

    x, y = arrays["x_train"], arrays["y_train"]
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    if test_subset > len(x_test):
        raise ValueError(f"data.test_subset = {test_subset} exceeds the {len(x_test)} test images")
    end = test_subset or len(x_test)
    test = (x_test[:end], y_test[:end])

    if validation == "holdout":
        if not 0 < val_size < len(x):
            raise ValueError(
                f"data.val_size must be between 1 and {len(x) - 1} (the holdout is cut from "
                f"the {len(x)} training images), got {val_size}"
            )
        pool = len(x) - val_size
        val = (x[pool:], y[pool:])
        pool_text = f"{len(x)} training images minus data.val_size = {val_size}"
    else:
        pool = len(x)
        val = test
        pool_text = "every training image"
    if subset > pool:
        raise ValueError(f"data.subset = {subset} exceeds the training pool of {pool} images ({pool_text})")
    end = subset or pool
    return {"train": (x[:end], y[:end]), "val": val, "test": test}


def _data_params() -> dict:
    data = layout.load_params(layout.PARAMS_FILE).get("data")
    if not isinstance(data, dict):
        raise ValueError(f"{layout.PARAMS_FILE}: missing section `data`")
    missing = [key for key in DATA_KEYS if key not in data]
    if missing:
        raise ValueError(f"{layout.PARAMS_FILE}: missing " + ", ".join(f"data.{k}" for k in missing))
    return {key: data[key] for key in DATA_KEYS}


def main() -> None:
    source = os.environ.get("MNIST_SOURCE") or None
    try:
        params = _data_params()
        # everything is loaded and checked before the first write: a failure leaves old outputs
        splits = split(load_mnist(source), **params)
        for name, path in (("train", layout.TRAIN_FILE), ("val", layout.VAL_FILE), ("test", layout.TEST_FILE)):
            x, y = splits[name]
            with atomic_path(path) as tmp:  # tmp ends in .npz, so np.savez keeps its name
                np.savez(tmp, x=x, y=y)
            print(f"prepare: {name}: {len(y)} images -> {path} (MNIST from {describe_source(source)})")
    except (MnistError, ValueError, OSError, yaml.YAMLError) as e:
        print(f"prepare: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
