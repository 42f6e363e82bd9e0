"""Writes dvc.yaml from params.yaml, or checks that it is in sync (`--check`).

Per-architecture stages use DVC's own `foreach`/`matrix`, so `dvc exp run -S` needs
nothing from here. Two parts of dvc.yaml cannot be templated by DVC and are spelled
out per architecture: the report's dependencies and the top-level plots. Adding an
architecture to params.yaml therefore means running this command once; the
`validate` stage and the test suite fail until you do.

    python -m stages.tools.dvc_sync           # rewrite dvc.yaml
    python -m stages.tools.dvc_sync --check   # exit 1 if dvc.yaml is stale
"""

from __future__ import annotations

import argparse
import sys

import yaml

from stages.common import layout
from stages.common.atomic import write_text
from stages.common.imports import closure_paths
from stages.tools.dvc_plots import plots

DVC_FILE = layout.ROOT / "dvc.yaml"
HEADER = (
    "# Generated from params.yaml by `python -m stages.tools.dvc_sync`: edit stages/tools/dvc_sync.py\n"
    "# (or params.yaml, then rerun it), not this file. `--check` tells whether it is stale.\n"
)

STAMP = "data/params_checked.txt"
# Only the train keys that change what is trained: adding an extra seed must not retrain the main runs.
TRAIN_PARAMS = ["train.epochs", "train.batch_size", "train.restore_best", "train.monitor", "model"]
NO_CACHE = {"cache": False}


def code_deps(*entries: str) -> list[str]:
    """The project files the stage's command imports (`stages.common.imports`): never a missing
    one, and no more, so an edit to the report's code does not retrain anything."""
    return closure_paths(list(entries), layout.CODE_ROOT)


def _train_stage(key: str, seed_arg: str, run: str, prefix: str, seed_param: list[str]) -> dict:
    # Every output is DVC-cached, so the run-cache can restore the stage anywhere it was
    # pushed; git gets the study-level files the report writes from them.
    return {
        "cmd": f"python -m stages.train {key}{seed_arg}",
        "deps": [STAMP, "data/prepared/train.npz", "data/prepared/val.npz", *code_deps("stages.train")],
        "params": [f"architectures.{key}", *seed_param, *TRAIN_PARAMS, "train.eval_batch_size", "numerics"],
        "outs": [
            f"models/{prefix}{run}.keras",
            f"plots/{prefix}{run}/history.csv",
            f"plots/{prefix}{run}/live",
            f"metrics/{prefix}train/{run}.json",
        ],
    }


def _evaluate_stage(key: str, seed_arg: str, run: str, prefix: str) -> dict:
    return {
        "cmd": f"python -m stages.evaluate {key}{seed_arg}",
        "deps": [
            f"models/{prefix}{run}.keras",
            f"plots/{prefix}{run}/history.csv",
            f"metrics/{prefix}train/{run}.json",
            "data/prepared/test.npz",
            *code_deps("stages.evaluate"),
        ],
        "params": [f"architectures.{key}", "train.eval_batch_size", "model", "numerics"],
        "outs": [f"metrics/{prefix}{run}.json", f"plots/{prefix}{run}/confusion.csv", f"plots/{prefix}{run}/loss.png"],
    }


def stages(arch_ids: list[str]) -> dict:
    seed_matrix = {"arch": "${architectures}", "seed": "${train.extra_seeds}"}
    seed_run = "${item.arch}-seed${item.seed}"
    return {
        # Upstream of every training stage: `dvc repro` deletes a stage's outputs before
        # running it, so a bad edit must fail here, before any model is touched.
        "validate": {
            "cmd": f"python -m stages.tools.dvc_sync --check && python -m stages.validate --stamp {STAMP}",
            "deps": code_deps("stages.tools.dvc_sync", "stages.validate"),
            "params": ["data", "train", "model", "numerics", "architectures", "report"],
            "outs": [STAMP],
        },
        "prepare": {
            "cmd": "python -m stages.prepare",
            "deps": [STAMP, *code_deps("stages.prepare")],
            "params": ["data"],
            "outs": ["data/prepared"],
        },
        "train": {"foreach": "${architectures}", "do": _train_stage("${key}", "", "${key}", "", ["train.seed"])},
        "evaluate": {"foreach": "${architectures}", "do": _evaluate_stage("${key}", "", "${key}", "")},
        "train_seed": {
            "matrix": seed_matrix,
            **_train_stage("${item.arch}", " --seed ${item.seed}", seed_run, "seeds/", []),
        },
        "evaluate_seed": {
            "matrix": seed_matrix,
            **_evaluate_stage("${item.arch}", " --seed ${item.seed}", seed_run, "seeds/"),
        },
        # The report is cheap and writes what git keeps of the study (the per-run files are
        # DVC's): its outputs stay where users read them, uncached, so it always reruns here.
        "report": {
            "cmd": "python -m stages.report",
            "deps": [
                *(f"metrics/{a}.json" for a in arch_ids),
                *(f"plots/{a}/confusion.csv" for a in arch_ids),
                *(f"plots/{a}/history.csv" for a in arch_ids),
                "metrics/seeds",
                "plots/seeds",
                "reference/notebook.yaml",
                *code_deps("stages.report"),
            ],
            "params": [
                "report",
                "architectures",
                "data",
                "train.epochs",
                "train.seed",
                "train.extra_seeds",
                "train.restore_best",
                "train.monitor",
            ],
            "outs": [
                {"metrics/summary.md": NO_CACHE},
                {"plots/comparison.png": NO_CACHE},
                {"plots/pareto.png": NO_CACHE},
                {"plots/study/predictions.csv": NO_CACHE},
                # read by the top-level plots (stages/tools/dvc_plots.py) with their own
                # templates; as stage plots DVC would draw them a second time, unreadably
                {"plots/study/history.csv": NO_CACHE},
                {"plots/study/errors.csv": NO_CACHE},
            ],
            "metrics": [{"metrics/study.json": NO_CACHE}, {"metrics/runs.json": NO_CACHE}],
        },
    }


class _PlainDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # repeated values written out, no &anchors
        return True


def render(params: dict) -> str:
    arch_ids = list(params["architectures"])
    body = yaml.dump(
        {"stages": stages(arch_ids), "plots": plots(arch_ids)},
        Dumper=_PlainDumper,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    return HEADER + body


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml is not what params.yaml gives")
    args = parser.parse_args(argv)
    try:
        expected = render(layout.load_params())
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as error:
        print(f"dvc_sync: cannot read {layout.PARAMS_FILE.name}: {error}", file=sys.stderr)
        return 1
    current = DVC_FILE.read_text() if DVC_FILE.exists() else ""
    if args.check:
        if current != expected:
            print(
                "dvc.yaml is out of date with params.yaml (architectures added or removed?): "
                "run `python -m stages.tools.dvc_sync` and commit dvc.yaml",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != expected:
        write_text(DVC_FILE, expected)
        print(f"wrote {DVC_FILE.name} for {len(layout.load_params()['architectures'])} architectures")
    else:
        print("dvc.yaml is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
