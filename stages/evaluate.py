"""The `evaluate@<id>` stage: the saved model, once, on the test set.

    python -m stages.evaluate conv2_k3            # main run
    python -m stages.evaluate conv2_k3 --seed 1   # one of `train.extra_seeds`

Writes the run's metrics (test figures, the training record, cost), its confusion
pairs (actual, predicted: one row per test image, which the report also uses for
paired significance tests) and the notebook's train-vs-validation loss figure.
"""

from __future__ import annotations

import csv
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from stages import config
from stages.io import atomic_path, read_json, write_json, write_text
from stages.shapes import forward_flops


def predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Class probabilities, batch by batch, without Keras' progress machinery."""
    return np.concatenate([model.predict_on_batch(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def test_figures(probabilities: np.ndarray, y: np.ndarray) -> dict:
    predicted = probabilities.argmax(axis=1)
    picked = np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1.0)  # Keras clips the same way
    return {"test_accuracy": float((predicted == y).mean()), "test_loss": float(-np.log(picked).mean()),
            "test_errors": int((predicted != y).sum()), "test_images": int(len(y))}


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


def load_history(path) -> list[dict]:
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def save_confusion(path, actual: np.ndarray, predicted: np.ndarray) -> None:
    rows = "\n".join(f"{a},{p}" for a, p in zip(actual, predicted))
    write_text(path, "actual,predicted\n" + rows + "\n")


def save_loss_figure(path, history: list[dict], title: str) -> None:
    """The notebook's figure (train vs validation loss per epoch), with accuracy beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(row["epoch"]) for row in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((loss_ax, "loss", "Categorical cross-entropy loss"), (acc_ax, "accuracy", "Accuracy")):
        ax.plot(epochs, [row[f"val_{key}"] for row in history], "b", label=f"Validation {key}")
        ax.plot(epochs, [row[key] for row in history], "r", label=f"Train {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


def evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[dict, np.ndarray]:
    probabilities = predict(model, x, batch_size)
    return test_figures(probabilities, y), probabilities.argmax(axis=1)


def run(arch_id: str, seed: int | None = None, params_file=config.PARAMS_FILE) -> dict:
    import keras

    from stages.train import load_split

    params = config.load_params(params_file)
    paths = config.RunPaths(arch_id, seed)
    model = keras.models.load_model(paths.model)
    x_test, y_test = load_split(config.TEST_FILE)

    figures, predicted = evaluate(model, x_test, y_test, params["train"]["eval_batch_size"])
    arch = params["architectures"][arch_id]
    metrics = {
        **figures,
        "params": int(model.count_params()),
        **read_json(paths.train_info),
        "flops": forward_flops(arch["layers"], params["model"]["input_shape"]),
        "latency_ms": round(latency_ms(model, x_test[0]), 3),
        "model_bytes": paths.model.stat().st_size,
    }
    metrics.pop("arch", None)
    save_confusion(paths.confusion, y_test, predicted)
    save_loss_figure(paths.loss_figure, load_history(paths.history), f"{paths.name}: train vs validation")
    write_json(paths.metrics, metrics)
    return metrics


def main(argv=None) -> None:
    from stages.interrupt import run_stage

    paths, metrics = run_stage(__doc__, "evaluate", run, argv)
    print(f"{paths.name}: test accuracy {metrics['test_accuracy']:.4f}, "
          f"test loss {metrics['test_loss']:.4f}, {metrics['params']:,} params")


if __name__ == "__main__":
    main()
