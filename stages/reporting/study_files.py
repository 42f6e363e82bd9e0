"""What git keeps of the study, besides the summary and the figures: the per-run files are
DVC-cached, these are small and derived from them (formats: the project's contract).

* metrics/runs.json: {run: {metric: number}} for every run (RUN_METRICS, when numeric);
* metrics/study.json: {arch: {"mean": mean test accuracy, "sd": sample sd (n > 1), "runs": n,
  "ci_low", "ci_high", "rank_best", "rank_worst" (the headline's interval and rank set)}},
  compact, for `dvc exp show`;
* metrics/comparisons.json: one entry per pair of `report.comparisons` (COMPARISON_FIELDS), its
  verdict and price; differences, intervals and sds in accuracy points;
* plots/study/history.csv: every run's history, one row per run and epoch;
* plots/study/predictions.csv: the test labels and every run's predicted class;
* plots/study/errors.csv: every run's 90 off-diagonal confusion cells.

Pure functions of the loaded runs: text or JSON-ready dicts, written by `outputs`.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from stages.reporting.formatting import number
from stages.reporting.significance import over_seeds

RUN_METRICS = (
    "test_accuracy",
    "test_loss",
    "test_errors",
    "params",
    "flops",
    "epochs",
    "best_epoch",
    "best_val_accuracy",
    "best_val_loss",
    "last_val_accuracy",
    "last_val_loss",
    "train_seconds",
    "cpu_seconds",
    "peak_rss_mb",
    "latency_ms",
    "model_bytes",
)
HISTORY_COLUMNS = ("arch", "seed", "run", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_error")
ERRORS_COLUMNS = ("arch", "seed", "run", "actual", "predicted", "count")
CLASSES = 10


def _all_runs(records: dict):
    """Every run, architectures in params order, then by seed."""
    for record in records.values():
        yield from record["runs"].values()


def runs_json(records: dict) -> dict:
    return {
        run["name"]: {key: run["metrics"][key] for key in RUN_METRICS if number(run["metrics"].get(key)) is not None}
        for run in _all_runs(records)
    }


def study_json(records: dict, headline: dict | None = None) -> dict:
    """Per architecture: mean, sd and run count over seeds; with the report's headline, also the
    95% interval over seeds and test images and the rank set (`rank_best`..`rank_worst`)."""
    study = {}
    for arch, record in records.items():
        summary = over_seeds(record)
        entry = {
            "mean": summary["mean"]
        }  # not "test_accuracy": runs.json has that key, and DVC would prefix both columns
        if summary["n"] > 1:
            entry["sd"] = summary["std"]
        entry["runs"] = summary["n"]
        row = (headline or {}).get(arch) or {}
        if row.get("rank") is not None:
            entry.update(
                ci_low=row["ci_low"], ci_high=row["ci_high"], rank_best=row["rank"][0], rank_worst=row["rank"][1]
            )
        study[arch] = entry
    return study


COMPARISON_FIELDS = (
    "a",
    "b",
    "difference",
    "ci_low",
    "ci_high",
    "ci_level",
    "p_holm",
    "seeds_sd",
    "images_sd",
    "interaction_sd",
    "verdict",
    "reason",
    "seeds_needed",
    "hours_needed",
    "images_needed",
)


def _points(value) -> float | None:
    return None if value is None else round(100 * float(value), 4)


def _sd_points(variance) -> float | None:
    return None if variance is None else round(100 * float(variance) ** 0.5, 4)


def comparisons_json(results: list[dict]) -> list[dict]:
    """The verdicts as data (the price fields null where decided)."""
    entries = []
    for r in results:
        d, e, cost = r["decision"], r["estimate"], r["price"] or {}
        entry = {
            "a": r["a"],
            "b": r["b"],
            "difference": _points(None if e is None else e.value),
            "ci_low": _points(d["ci_low"]),
            "ci_high": _points(d["ci_high"]),
            "ci_level": None if d["ci_level"] is None else round(d["ci_level"], 6),
            "p_holm": None if d["p_holm"] is None else float(f"{d['p_holm']:.4g}"),
            "seeds_sd": _sd_points(None if e is None else e.seeds),
            "images_sd": _sd_points(None if e is None else e.images),
            "interaction_sd": _sd_points(None if e is None else e.interaction),
            "verdict": d["verdict"],
            "reason": d["reason"],
            "seeds_needed": cost.get("seeds"),
            "hours_needed": None if cost.get("hours") is None else round(cost["hours"], 2),
            "images_needed": cost.get("images"),
        }
        entries.append({key: entry[key] for key in COMPARISON_FIELDS})
    return entries


def _csv(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(value) -> str:
    """A history value as the CSV shows it: integers without ".0", missing values empty."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def history_csv(records: dict) -> str:
    rows = []
    for run in _all_runs(records):
        for row in run["history"] or []:
            val_accuracy = row.get("val_accuracy")
            val_error = None if val_accuracy is None else float(f"{1.0 - val_accuracy:.12g}")
            rows.append(
                [
                    run["arch"],
                    run["seed"],
                    run["name"],
                    *(_cell(row.get(key)) for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")),
                    _cell(val_error),
                ]
            )
    return _csv(HISTORY_COLUMNS, rows)


def predictions_csv(records: dict) -> str:
    """One row per test image (runs are on the same test images: checked when loading)."""
    runs = list(_all_runs(records))
    columns = np.column_stack([runs[0]["actual"], *(run["predicted"] for run in runs)])
    return _csv(["actual", *(run["name"] for run in runs)], columns.tolist())


def errors_csv(records: dict) -> str:
    rows = []
    for run in _all_runs(records):
        actual, predicted = run["actual"], run["predicted"]
        counts = np.bincount(actual * CLASSES + predicted, minlength=CLASSES**2)  # labels checked on loading
        rows += [
            [run["arch"], run["seed"], run["name"], a, p, int(counts[a * CLASSES + p])]
            for a in range(CLASSES)
            for p in range(CLASSES)
            if a != p
        ]
    return _csv(ERRORS_COLUMNS, rows)
