"""A run's per-epoch history: `plots/<run>/history.csv`, written as each epoch ends.

The CSV is the contract path that dvc.yaml's plots and the report read. Each finished
epoch rewrites it atomically, so `dvc plots show` during a run, or the VS Code extension
watching it, sees the curves grow, never half a line. The same rows go to dvclive's
folder beside it (`plots/<run>/live/`), which is what DVC Studio's live view reads when a
user connects it. A resumed run starts from the resume state's rows, so it continues the
same history instead of starting a second one.
"""

from __future__ import annotations

import csv
from pathlib import Path

from stages.common.atomic import write_text

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
# dvclive's names: train/ and val/ folders, as its Keras callback would write them
LIVE_NAMES = {
    "loss": "train/loss",
    "accuracy": "train/accuracy",
    "val_loss": "val/loss",
    "val_accuracy": "val/accuracy",
}


def history_text(rows: list[dict]) -> str:
    lines = [",".join(HISTORY_COLUMNS)]
    lines += [",".join(f"{row[c]:.6g}" if c != "epoch" else str(row[c]) for c in HISTORY_COLUMNS) for row in rows]
    return "\n".join(lines) + "\n"


def save_history(path: Path | str, rows: list[dict]) -> None:
    write_text(path, history_text(rows))


def read_history(path: Path | str) -> list[dict]:
    """The rows of a history CSV, every value a float (no checks: see the report's loader)."""
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


class LiveHistory:
    """Writes every finished epoch to the history CSV and to dvclive, as the epoch ends."""

    def __init__(self, csv_path: Path | str, live_dir: Path | str | None):
        self.csv_path, self.live_dir = Path(csv_path), live_dir
        self.rows: list[dict] = []
        self.live = None

    def begin(self, earlier_rows: list[dict]) -> None:
        """Start (or, after a resume, restart) with the epochs already done."""
        if self.live_dir is not None:
            from dvclive import Live

            # dvc repro removed the outputs before this run: replay the resumed epochs into a
            # fresh folder rather than trust what an interrupted process left behind.
            self.live = Live(
                str(self.live_dir), resume=False, report=None, save_dvc_exp=False, dvcyaml=False, monitor_system=False
            )
        self.rows = []
        for row in earlier_rows:
            self._add(row)
        save_history(self.csv_path, self.rows)

    def _add(self, row: dict) -> None:
        self.rows.append(row)
        if self.live is not None:
            self.live.step = int(row["epoch"]) - 1
            for key, name in LIVE_NAMES.items():
                self.live.log_metric(name, row[key])
            self.live.next_step()

    def add(self, row: dict) -> None:
        self._add(row)
        save_history(self.csv_path, self.rows)

    def end(self) -> None:
        if self.live is not None:
            self.live.end()
