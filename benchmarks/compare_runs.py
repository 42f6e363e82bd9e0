"""Do two checkouts of the project hold the same runs? Weights, histories, confusion pairs, test figures.

    python -m benchmarks.compare_runs OLD_TREE NEW_TREE [--runs conv2_k3 ...]

For a change to the training stages' code: run the quick configuration (every architecture,
1 epoch, `data.subset` 2,000) with the old and the new code in two clones, then compare them
here. Timing fields and the `.keras` file's save date differ by nature, so weights are compared
array by array, not file bytes. Exits 1 if any run differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COMPARED_METRICS = ("test_accuracy", "test_loss", "test_errors", "best_epoch", "best_val_loss", "best_val_accuracy")


def run_files(tree: Path, run: str) -> dict[str, Path]:
    return {
        "model": tree / "models" / f"{run}.keras",
        "history": tree / "plots" / run / "history.csv",
        "confusion": tree / "plots" / run / "confusion.csv",
        "metrics": tree / "metrics" / f"{run}.json",
    }


def differences(old: Path, new: Path, run: str) -> list[str]:
    import keras
    import numpy as np

    a, b = run_files(old, run), run_files(new, run)
    found = []
    for kind in ("history", "confusion"):
        if a[kind].read_bytes() != b[kind].read_bytes():
            found.append(f"{kind} differs")
    metrics_a, metrics_b = (json.loads(p["metrics"].read_text()) for p in (a, b))
    found += [
        f"{key}: {metrics_a[key]} != {metrics_b[key]}" for key in COMPARED_METRICS if metrics_a[key] != metrics_b[key]
    ]
    weights_a = keras.models.load_model(a["model"]).get_weights()
    weights_b = keras.models.load_model(b["model"]).get_weights()
    if len(weights_a) != len(weights_b) or not all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(weights_a, weights_b, strict=True)
    ):
        found.append("weights differ")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--runs", nargs="*", help="run names (default: every models/*.keras of OLD)")
    args = parser.parse_args(argv)
    runs = args.runs or sorted(p.stem for p in (args.old / "models").glob("*.keras"))
    failed = 0
    for run in runs:
        found = differences(args.old, args.new, run)
        failed += bool(found)
        print(f"{run}: {'identical' if not found else '; '.join(found)}")
    print(f"{len(runs) - failed} of {len(runs)} runs identical (weights, history, confusion pairs, test figures)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
