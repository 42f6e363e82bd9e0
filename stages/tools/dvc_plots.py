"""The top-level `plots:` of dvc.yaml: what `dvc plots show` and `dvc plots diff` draw."""

from __future__ import annotations


def plots(arch_ids: list[str]) -> list:
    histories = {a: f"plots/{a}/history.csv" for a in arch_ids}
    overlay = [{f"val_{metric}": {"title": f"Validation {metric} per epoch, every architecture",
                                 "template": "linear", "x": "epoch", "x_label": "epoch",
                                 "y_label": f"validation {metric}",
                                 "y": {path: f"val_{metric}" for path in histories.values()}}}
               for metric in ("accuracy", "loss")]
    per_arch = []
    for arch, path in histories.items():
        for metric in ("loss", "accuracy"):
            per_arch.append({f"{arch}_{metric}": {"title": f"{arch}: train vs validation {metric}",
                                                  "x": "epoch", "y": {path: [metric, f"val_{metric}"]}}})
        per_arch.append({f"{arch}_confusion": {"title": f"{arch}: confusion matrix (test set)",
                                               "template": "confusion", "x": "actual",
                                               "y": {f"plots/{arch}/confusion.csv": "predicted"}}})
    images = ["plots/comparison.png", "plots/pareto.png", *(f"plots/{a}/loss.png" for a in arch_ids)]
    return overlay + per_arch + images
