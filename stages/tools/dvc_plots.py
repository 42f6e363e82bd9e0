"""The top-level `plots:` of dvc.yaml: what `dvc plots show` and `dvc plots diff` draw.

The study-wide plots read the report's git-kept long tables (plots/study/), so they draw
in a fresh clone without `dvc pull`, and use the custom templates in .dvc/plots/:
colour is the architecture, dash the revision (`dvc plots diff`), one line per run
(not a mean and band: from three seeds a band says little, a diverging run hides in a
mean, and while a study trains the mean at epoch k would jump as runs reach it).
DVC's own templates colour by revision and tell files apart by 7 dash patterns, which
draws 12 architectures in 6-7 styles. The per-architecture plots read each run's
DVC-cached history and are there once it has been trained or pulled.
"""

from __future__ import annotations

STUDY_HISTORY = "plots/study/history.csv"
STUDY_ERRORS = "plots/study/errors.csv"
OVERLAY_TEMPLATE = "overlay_log"  # .dvc/plots/overlay_log.json
ERRORS_TEMPLATE = "errors_by_arch"  # .dvc/plots/errors_by_arch.json

# plot id (= column of the study history) -> what its y axis shows
OVERLAYS = {
    "val_error": "validation error (1 - accuracy)",
    "val_loss": "validation loss",
}


def overlays() -> list[dict]:
    return [
        {
            column: {
                "title": f"{what.capitalize()} per epoch, every run (log scale)",
                "template": OVERLAY_TEMPLATE,
                "x": "epoch",
                "x_label": "epoch",
                "y_label": f"{what}, log scale",
                "y": {STUDY_HISTORY: column},
            }
        }
        for column, what in OVERLAYS.items()
    ]


def errors() -> dict:
    # One faceted heat map of the off-diagonal cells: the diagonal (~1,000 a cell) would set the
    # colour scale and hide the errors; side by side the architectures compare at a glance; and
    # errors.csv is git-kept and 90 rows a run, where each run's confusion.csv is 10,000 (one
    # per test image, all embedded in the page) and DVC-cached.
    return {
        "errors": {
            "title": "Test-set errors: actual vs predicted digit, mean count per run (correct predictions left out)",
            "template": ERRORS_TEMPLATE,
            "x": "predicted",
            "x_label": "predicted",
            "y_label": "actual",
            "y": {STUDY_ERRORS: "actual"},
        }
    }


def per_architecture(arch: str) -> list[dict]:
    history = f"plots/{arch}/history.csv"
    return [
        {
            f"{arch}_{metric}": {
                "title": f"{arch}: train vs validation {metric}",
                "x": "epoch",
                "y": {history: [metric, f"val_{metric}"]},
            }
        }
        for metric in ("loss", "accuracy")
    ]


def plots(arch_ids: list[str]) -> list:
    images = ["plots/comparison.png", "plots/pareto.png", *(f"plots/{a}/loss.png" for a in arch_ids)]
    return [*overlays(), errors(), *(p for a in arch_ids for p in per_architecture(a)), *images]
