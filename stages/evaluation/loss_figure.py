"""The notebook's figure of one run: train vs validation loss per epoch, accuracy beside it."""

from __future__ import annotations

from stages.common.atomic import atomic_path
from stages.common.plotting import pyplot


def save_loss_figure(path, history: list[dict], title: str) -> None:
    plt = pyplot()
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
