"""A saved model's figures on the test set: predictions, accuracy and loss, latency."""

from __future__ import annotations

import time

import numpy as np

from stages.common.atomic import write_text


def predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Class probabilities, batch by batch, without Keras' progress machinery."""
    return np.concatenate([model.predict_on_batch(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def test_metrics(probabilities: np.ndarray, y: np.ndarray) -> dict:
    predicted = probabilities.argmax(axis=1)
    picked = np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1.0)  # Keras clips the same way
    return {
        "test_accuracy": float((predicted == y).mean()),
        "test_loss": float(-np.log(picked).mean()),
        "test_errors": int((predicted != y).sum()),
        "test_images": int(len(y)),
    }


def evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[dict, np.ndarray]:
    """(test metrics, predicted classes)."""
    probabilities = predict(model, x, batch_size)
    return test_metrics(probabilities, y), probabilities.argmax(axis=1)


def latency_ms(model, image: np.ndarray, repeats: int = 50) -> float:
    """Median wall time of one single-image forward pass (after a warm-up)."""
    one = image[np.newaxis]
    model.predict_on_batch(one)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict_on_batch(one)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def save_confusion(path, actual: np.ndarray, predicted: np.ndarray) -> None:
    """One (actual, predicted) row per test image: the report's paired tests need them all."""
    rows = "\n".join(f"{a},{p}" for a, p in zip(actual, predicted, strict=True))
    write_text(path, "actual,predicted\n" + rows + "\n")
