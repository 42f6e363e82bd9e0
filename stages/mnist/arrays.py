"""The prepared arrays (`data/prepared/*.npz`) as the models take them."""

from __future__ import annotations

import numpy as np


def load_split(path) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 in [0, 1] with a channel axis, labels as int32 (as the notebook scaled them)."""
    with np.load(path) as data:
        x, y = data["x"], data["y"]
    return (x.astype(np.float32) / 255.0)[..., np.newaxis], y.astype(np.int32)
