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


def main() -> None:
    source = os.environ.get("MNIST_SOURCE") or None
    try:
        data = layout.load_params(layout.PARAMS_FILE).get("data")
        arrays = load_mnist(source)
        try:  # everything is loaded and checked before the first write: a failure leaves old outputs
            splits = split(arrays, data)  # checks `data` by the validator's rules, on these arrays
        except ValueError as e:
            raise ValueError(f"{display(layout.PARAMS_FILE)}: {e}") from None
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
