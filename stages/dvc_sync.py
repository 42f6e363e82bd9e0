"""Writes dvc.yaml from params.yaml, or checks that it is in sync (`--check`).

Per-architecture stages use DVC's own `foreach`/`matrix`, so `dvc exp run -S` needs
nothing from here. Two parts of dvc.yaml cannot be templated by DVC and are spelled
out per architecture: the report's dependencies and the top-level plots. Adding an
architecture to params.yaml therefore means running this command once; the
`validate` stage and the test suite fail until you do.

    python -m stages.dvc_sync           # rewrite dvc.yaml
    python -m stages.dvc_sync --check   # exit 1 if dvc.yaml is stale
"""

from __future__ import annotations

import argparse
import sys

import yaml

from stages import config
from stages.io import write_text

DVC_FILE = config.ROOT / "dvc.yaml"
HEADER = ("# Generated from params.yaml by `python -m stages.dvc_sync`: edit stages/dvc_sync.py\n"
          "# (or params.yaml, then rerun it), not this file. `--check` tells whether it is stale.\n")

STAMP = "data/params_checked.txt"
COMMON_CODE = ["stages/config.py", "stages/io.py"]
TRAIN_CODE = ["stages/train.py", "stages/checkpoint.py", "stages/architectures.py", *COMMON_CODE]
EVALUATE_CODE = ["stages/evaluate.py", "stages/shapes.py", *COMMON_CODE]
# Only the train keys that change what is trained: adding an extra seed must not retrain the main runs.
TRAIN_PARAMS = ["train.epochs", "train.batch_size", "train.restore_best", "train.monitor", "model"]
NO_CACHE = {"cache": False}


def _train_stage(key: str, seed_arg: str, run: str, prefix: str, seed_param: list[str]) -> dict:
    return {
        "cmd": f"python -m stages.train {key}{seed_arg}",
        "deps": [STAMP, "data/prepared/train.npz", "data/prepared/val.npz", *TRAIN_CODE],
        "params": [f"architectures.{key}", *seed_param, *TRAIN_PARAMS, "train.eval_batch_size"],
        "outs": [f"models/{prefix}{run}.keras",
                 {f"plots/{prefix}{run}/history.csv": NO_CACHE},
                 {f"metrics/{prefix}train/{run}.json": NO_CACHE}],
    }


def _evaluate_stage(key: str, seed_arg: str, run: str, prefix: str) -> dict:
    return {
        "cmd": f"python -m stages.evaluate {key}{seed_arg}",
        "deps": [f"models/{prefix}{run}.keras", f"plots/{prefix}{run}/history.csv",
                 f"metrics/{prefix}train/{run}.json", "data/prepared/test.npz", *EVALUATE_CODE],
        "params": [f"architectures.{key}", "train.eval_batch_size", "model"],
        "metrics": [{f"metrics/{prefix}{run}.json": NO_CACHE}],
        "outs": [{f"plots/{prefix}{run}/confusion.csv": NO_CACHE},
                 {f"plots/{prefix}{run}/loss.png": NO_CACHE}],
    }


def stages(arch_ids: list[str]) -> dict:
    seed_matrix = {"arch": "${architectures}", "seed": "${train.extra_seeds}"}
    seed_run = "${item.arch}-seed${item.seed}"
    return {
        # Upstream of every training stage: `dvc repro` deletes a stage's outputs before
        # running it, so a bad edit must fail here, before any model is touched.
        "validate": {
            "cmd": f"python -m stages.dvc_sync --check && python -m stages.validate --stamp {STAMP}",
            "deps": ["stages/validate.py", "stages/architectures.py", "stages/shapes.py", "stages/dvc_sync.py",
                     *COMMON_CODE],
            "params": ["data", "train", "model", "architectures", "report"],
            "outs": [STAMP],
        },
        "prepare": {
            "cmd": "python -m stages.prepare",
            "deps": [STAMP, "stages/prepare.py", "stages/mnist.py", *COMMON_CODE],
            "params": ["data"],
            "outs": ["data/prepared"],
        },
        "train": {"foreach": "${architectures}",
                  "do": _train_stage("${key}", "", "${key}", "", ["train.seed"])},
        "evaluate": {"foreach": "${architectures}",
                     "do": _evaluate_stage("${key}", "", "${key}", "")},
        "train_seed": {"matrix": seed_matrix,
                       **_train_stage("${item.arch}", " --seed ${item.seed}", seed_run, "seeds/", [])},
        "evaluate_seed": {"matrix": seed_matrix,
                          **_evaluate_stage("${item.arch}", " --seed ${item.seed}", seed_run, "seeds/")},
        "report": {
            "cmd": "python -m stages.report",
            "deps": [*(f"metrics/{a}.json" for a in arch_ids),
                     *(f"plots/{a}/confusion.csv" for a in arch_ids),
                     *(f"plots/{a}/history.csv" for a in arch_ids),
                     "metrics/seeds", "reference/notebook.yaml",
                     "stages/report.py", "stages/figures.py", "stages/stats.py", "stages/validate.py",
                     "stages/architectures.py", "stages/shapes.py", *COMMON_CODE],
            "params": ["report", "architectures", "data", "train.epochs", "train.seed", "train.extra_seeds",
                       "train.restore_best", "train.monitor"],
            "outs": [{"metrics/summary.md": NO_CACHE},
                     {"plots/comparison.png": NO_CACHE},
                     {"plots/pareto.png": NO_CACHE}],
        },
    }


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


class _PlainDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # repeated values written out, no &anchors
        return True


def render(params: dict) -> str:
    arch_ids = list(params["architectures"])
    body = yaml.dump({"stages": stages(arch_ids), "plots": plots(arch_ids)}, Dumper=_PlainDumper,
                     sort_keys=False, default_flow_style=False, width=100)
    return HEADER + body


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml is not what params.yaml gives")
    args = parser.parse_args(argv)
    try:
        expected = render(config.load_params())
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as error:
        print(f"dvc_sync: cannot read {config.PARAMS_FILE.name}: {error}", file=sys.stderr)
        return 1
    current = DVC_FILE.read_text() if DVC_FILE.exists() else ""
    if args.check:
        if current != expected:
            print("dvc.yaml is out of date with params.yaml (architectures added or removed?): "
                  "run `python -m stages.dvc_sync` and commit dvc.yaml", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        write_text(DVC_FILE, expected)
        print(f"wrote {DVC_FILE.name} for {len(config.load_params()['architectures'])} architectures")
    else:
        print("dvc.yaml is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
