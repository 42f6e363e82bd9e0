"""Resume state of a training run: the last finished epoch, the history so far and the
best epoch's weights, kept under `.resume/<run>/`, a folder DVC never deletes.

Each file is written atomically and weights files are named by epoch, so a kill at any
moment leaves a state.json that points at complete files.
"""

from __future__ import annotations

import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np

from stages.common.atomic import atomic_path, write_json


class ResumeState:
    def __init__(self, directory: Path | None, fingerprint: dict | None = None):
        self.directory = Path(directory) if directory else None
        self.fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True)) if fingerprint else None
        self.history: list[dict] = []
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.seconds = 0.0
        self.epoch_seconds: list[float] = []  # each epoch's wall time: `make status` takes their median
        self.cpu_seconds = 0.0
        self.resumed_after = 0
        self._cpu_mark = time.process_time()

    # -- reading ---------------------------------------------------------------------------
    def _state_file(self) -> Path:
        return self.directory / "state.json"

    def restore(self, model) -> int:
        """Load a matching saved state into `model`; return the number of epochs already done."""
        if not self.directory or not self._state_file().exists():
            return 0
        state = json.loads(self._state_file().read_text())
        if state.get("fingerprint") != self.fingerprint:
            print(f"Ignoring resume state in {self.directory}: params or data changed", flush=True)
            self.clear()
            return 0
        model.optimizer.build(model.trainable_variables)  # so its variables exist to be loaded
        model.load_weights(self.directory / state["weights"])
        with np.load(self.directory / state["best_weights"]) as best:
            self.best_weights = [best[f"w{i}"] for i in range(len(best.files))]
        self.history = state["history"]
        self.best_value, self.best_epoch = state["best_value"], state["best_epoch"]
        self.seconds, self.cpu_seconds = state["seconds"], state["cpu_seconds"]
        self.epoch_seconds = state.get("epoch_seconds", [])
        self.resumed_after = len(self.history)
        return self.resumed_after

    # -- writing ---------------------------------------------------------------------------
    def end_epoch(self, model, row: dict, improved: bool, monitor: str, seconds: float) -> None:
        now = time.process_time()
        self.cpu_seconds += now - self._cpu_mark
        self._cpu_mark = now
        self.seconds += seconds
        self.epoch_seconds.append(round(seconds, 2))
        self.history.append(row)
        if improved:
            self.best_value, self.best_epoch = row[monitor], row["epoch"]
            self.best_weights = [np.array(w) for w in model.get_weights()]
        if self.directory:
            self._save(model, row["epoch"])

    def _save(self, model, epoch: int) -> None:
        weights, best = f"epoch-{epoch}.weights.h5", f"best-{self.best_epoch}.npz"
        with atomic_path(self.directory / weights, suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
        if not (self.directory / best).exists():
            with atomic_path(self.directory / best) as tmp:
                np.savez(tmp, **{f"w{i}": w for i, w in enumerate(self.best_weights)})
        write_json(
            self._state_file(),
            {
                "fingerprint": self.fingerprint,
                "weights": weights,
                "best_weights": best,
                "history": self.history,
                "best_value": self.best_value,
                "best_epoch": self.best_epoch,
                "seconds": self.seconds,
                "cpu_seconds": self.cpu_seconds,
                "epoch_seconds": self.epoch_seconds,
            },
        )
        for stale in self.directory.iterdir():  # files the new state.json no longer names
            if stale.name not in (weights, best, "state.json") and not stale.name.startswith("."):
                stale.unlink()

    def clear(self) -> None:
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- the record kept with the model ----------------------------------------------------
    def summary(self, monitor: str, restore_best: bool) -> dict:
        best = self.history[self.best_epoch - 1] if self.best_epoch else {}
        last = self.history[-1] if self.history else {}
        return {
            "epochs": len(self.history),
            "monitor": monitor,
            "restored_best": bool(restore_best),
            "best_epoch": self.best_epoch,
            "best_val_accuracy": best.get("val_accuracy"),
            "best_val_loss": best.get("val_loss"),
            "last_val_accuracy": last.get("val_accuracy"),
            "last_val_loss": last.get("val_loss"),
            "train_seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "epoch_seconds": self.epoch_seconds,
            "resumed_after_epoch": self.resumed_after,
            # ru_maxrss is in KiB on Linux
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
