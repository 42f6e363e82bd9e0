"""The train, val and test splits of MNIST, as params.yaml `data` says.

The `data` rules are the validator's (`stages.params.schema.data_errors`), checked here
once, against the sizes of the arrays actually cut.
"""

from __future__ import annotations

from stages.params.schema import data_errors, training_pool


def split(arrays: dict, data) -> dict[str, tuple]:
    """The train, val and test (x, y) pairs of the `data` section (slices of `arrays`).

    holdout: val is the last `val_size` training images and the pool the others, so the
    holdout does not move with `subset`. test (the notebook's protocol): the pool is every
    training image and val is the test split itself. ValueError lists every broken rule.
    """
    x, y = arrays["x_train"], arrays["y_train"]
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    errors = data_errors(data, train_size=len(x), test_size=len(x_test))
    if errors:
        raise ValueError("; ".join(errors))

    end = data["test_subset"] or len(x_test)
    test = (x_test[:end], y_test[:end])
    pool = training_pool(data["validation"], data["val_size"], len(x))
    val = (x[pool:], y[pool:]) if data["validation"] == "holdout" else test
    end = data["subset"] or pool
    return {"train": (x[:end], y[:end]), "val": val, "test": test}
