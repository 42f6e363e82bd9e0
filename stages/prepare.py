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
from stages.mnist.splits import split
from stages.params.loading import display
from stages.params.sections import data_errors, missing_section


def data_params(params: dict) -> dict:
    """The `data` section, checked by the validator's rules against MNIST's sizes before
    the source is read (`split` checks them again against the arrays it cuts)."""
    errors = data_errors(params["data"]) if "data" in params else [missing_section("data")]
    if errors:
        raise ValueError(f"{display(layout.PARAMS_FILE)}: " + "; ".join(errors))
    return params["data"]


def main() -> None:
    source = os.environ.get("MNIST_SOURCE") or None
    try:
        data = data_params(layout.load_params(layout.PARAMS_FILE))
        # everything is loaded and checked before the first write: a failure leaves old outputs
        splits = split(load_mnist(source), **data)
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
