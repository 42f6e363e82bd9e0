"""Input checks shared by the statistics modules: bad input is a ValueError saying what was wrong."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    return confidence


def as_values(values: Sequence[float], name: str = "values") -> np.ndarray:
    """1-D float array of finite numbers (may be empty)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains nan or inf: {arr.tolist()}")
    return arr
