"""The train, val and test splits of MNIST, as params.yaml `data` says.

The `data` rules are those of the validator (`stages.params.sections.data_errors`),
checked here against the sizes of the arrays actually cut.
"""

from __future__ import annotations

from stages.params.sections import data_errors, training_pool


def split(arrays: dict, subset: int, validation: str, val_size: int, test_subset: int) -> dict[str, tuple]:
    """The train, val and test (x, y) pairs of the `data` params (slices of `arrays`).

    holdout: val is the last `val_size` training images and the pool the others, so the
    holdout does not move with `subset`. test (the notebook's protocol): the pool is every
    training image and val is the test split itself. ValueError lists every broken rule.
    """
    x, y = arrays["x_train"], arrays["y_train"]
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    data = {"subset": subset, "validation": validation, "val_size": val_size, "test_subset": test_subset}
    errors = data_errors(data, train_size=len(x), test_size=len(x_test))
    if errors:
        raise ValueError("; ".join(errors))

    end = test_subset or len(x_test)
    test = (x_test[:end], y_test[:end])
    pool, _ = training_pool(validation, val_size, len(x))
    val = (x[pool:], y[pool:]) if validation == "holdout" else test
    end = subset or pool
    return {"train": (x[:end], y[:end]), "val": val, "test": test}
