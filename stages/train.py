"""The `train@<id>` stage: train one architecture, keep its best validation epoch.

    python -m stages.train conv2_k3            # main run, seed `train.seed`
    python -m stages.train conv2_k3 --seed 1   # one of `train.extra_seeds`

Writes `models/<run>.keras`, the per-epoch history `plots/<run>/history.csv` (and dvclive's
`plots/<run>/live/`) as each epoch ends, and the run's record `metrics/train/<run>.json`
(best epoch, times, peak memory, numerics). A killed run resumes from its last epoch.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import layout
from stages.common.atomic import atomic_path, write_json
from stages.common.cli import run_stage
from stages.common.imports import closure
from stages.mnist.arrays import load_split
from stages.training import numerics
from stages.training.history import LiveHistory
from stages.training.loop import train
from stages.training.resume import ResumeState

TRAINED_BY = ("epochs", "batch_size", "restore_best", "monitor", "eval_batch_size")


def save_model(path, model) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp)


def resume_fingerprint(params: dict, arch_id: str, run_seed: int) -> dict:
    """What a resume state must match to be continued: anything else would end with weights
    that match no uninterrupted run (params, data, every file of this stage's code, numerics)."""
    code = closure("stages.train", layout.CODE_ROOT)
    return {
        "arch": params["architectures"][arch_id],
        # the train keys that change what is trained (not extra_seeds: adding one keeps a resume)
        "train": {key: params["train"][key] for key in TRAINED_BY},
        "seed": run_seed,
        "model": params["model"],
        "numerics": params["numerics"],
        "data": [layout.file_digest(p) for p in (layout.TRAIN_FILE, layout.VAL_FILE)],
        "code": {str(Path(p).relative_to(layout.CODE_ROOT)): layout.file_digest(p) for p in code},
    }


def run(arch_id: str, seed: int | None = None, params_file=layout.PARAMS_FILE) -> dict:
    """Train one run as the DVC stage does, writing its model, history and train record."""
    params = layout.load_params(params_file)
    numerics.configure(params["numerics"])
    arch, settings = params["architectures"][arch_id], params["train"]
    paths = layout.RunPaths(arch_id, seed)
    run_seed = settings["seed"] if seed is None else seed
    state = ResumeState(paths.resume, resume_fingerprint(params, arch_id, run_seed))
    history = LiveHistory(paths.history, paths.live)

    model, _, info = train(
        arch_id,
        arch,
        load_split(layout.TRAIN_FILE),
        load_split(layout.VAL_FILE),
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        seed=run_seed,
        monitor=settings["monitor"],
        restore_best=settings["restore_best"],
        eval_batch_size=settings["eval_batch_size"],
        input_shape=params["model"]["input_shape"],
        state=state,
        history=history,
        verbose=1 if sys.stdout.isatty() else 2,
    )  # a log gets one line per epoch

    info = {"arch": arch_id, "seed": run_seed, **info, "numerics": numerics.record()}
    save_model(paths.model, model)
    write_json(paths.train_info, info)
    history.end()
    state.clear()  # only once every output is in place
    return info


def main(argv=None) -> None:
    _, info = run_stage(__doc__, "train", run, argv)
    print(
        f"{info['arch']} (seed {info['seed']}): best epoch {info['best_epoch']}, "
        f"val_accuracy {info['best_val_accuracy']:.4f}, {info['train_seconds']:.0f} s wall, "
        f"{info['cpu_seconds']:.0f} s CPU"
    )


if __name__ == "__main__":
    main()
