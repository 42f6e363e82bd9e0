"""The `train@<id>` stage: train one architecture, keep its best validation epoch.

    python -m stages.train conv2_k3            # main run, seed `train.seed`
    python -m stages.train conv2_k3 --seed 1   # one of `train.extra_seeds`

Every epoch is a pure function of (seed, epoch): its shuffle order and the
dropout masks are re-derived from them, so a run resumed from its last finished
epoch ends with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep Keras' progress, drop TF's start-up chatter

import numpy as np

from stages import config
from stages.checkpoint import ResumeState
from stages.io import atomic_path, write_json, write_text

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")


def load_split(path) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 in [0, 1] with a channel axis, labels as int32 (as the notebook scaled them)."""
    with np.load(path) as data:
        x, y = data["x"], data["y"]
    return (x.astype(np.float32) / 255.0)[..., np.newaxis], y.astype(np.int32)


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def reseed(model, seed: int, epoch: int) -> None:
    """Put every random layer (dropout) in a state that depends only on (seed, epoch)."""
    import keras

    keras.utils.set_random_seed(seed * 100_003 + epoch)
    generators = [layer.seed_generator for layer in model.layers if hasattr(layer, "seed_generator")]
    for index, generator in enumerate(generators):
        state = np.random.default_rng([seed, epoch, index]).integers(0, 2**31, size=2)
        generator.state.assign(state.astype(generator.state.dtype))


def is_better(monitor: str, value: float, best: float | None) -> bool:
    if best is None:
        return True
    return value < best if monitor == "val_loss" else value > best


def train(arch_id: str, arch: dict, train_data, val_data, *, epochs: int, batch_size: int,
          seed: int, monitor: str = "val_loss", restore_best: bool = True,
          eval_batch_size: int = 1000, input_shape=(28, 28, 1), state: ResumeState | None = None,
          verbose: int = 1):
    """Train and return (model, history rows, info). `state` persists progress between epochs."""
    import keras
    import tensorflow as tf

    from stages.architectures import build_model, compile_model

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = compile_model(build_model(arch_id, arch, input_shape), arch["optimizer"])
    (x_train, y_train), (x_val, y_val) = train_data, val_data

    state = state or ResumeState(None)
    start_epoch = state.restore(model)
    if start_epoch and verbose:
        print(f"Resuming {arch_id} (seed {seed}) after epoch {start_epoch} of {epochs}", flush=True)

    for epoch in range(start_epoch, epochs):
        started = time.perf_counter()
        order = epoch_order(len(x_train), seed, epoch)
        reseed(model, seed, epoch)
        fit = model.fit(x_train[order], y_train[order], batch_size=batch_size, shuffle=False,
                        epochs=epoch + 1, initial_epoch=epoch, verbose=verbose,
                        validation_data=(x_val, y_val), validation_batch_size=eval_batch_size)
        row = {"epoch": epoch + 1, **{k: float(fit.history[k][-1]) for k in HISTORY_COLUMNS[1:]}}
        improved = is_better(monitor, row[monitor], state.best_value)
        state.end_epoch(model, row, improved, monitor, seconds=time.perf_counter() - started)

    if restore_best and state.best_weights is not None:
        model.set_weights(state.best_weights)
    return model, state.history, state.summary(monitor, restore_best)


def save_history(path, history: list[dict]) -> None:
    lines = [",".join(HISTORY_COLUMNS)]
    lines += [",".join(f"{row[c]:.6g}" if c != "epoch" else str(row[c]) for c in HISTORY_COLUMNS)
              for row in history]
    write_text(path, "\n".join(lines) + "\n")


def save_model(path, model) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp)


def run(arch_id: str, seed: int | None = None, params_file=config.PARAMS_FILE) -> dict:
    """Train one run as the DVC stage does, writing its model, history and train record."""
    params = config.load_params(params_file)
    arch, settings = params["architectures"][arch_id], params["train"]
    paths = config.RunPaths(arch_id, seed)
    run_seed = settings["seed"] if seed is None else seed
    fingerprint = {"arch": arch, "train": settings, "seed": run_seed, "model": params["model"],
                   "data": [config.file_digest(p) for p in (config.TRAIN_FILE, config.VAL_FILE)]}
    state = ResumeState(paths.resume, fingerprint)

    model, history, info = train(
        arch_id, arch, load_split(config.TRAIN_FILE), load_split(config.VAL_FILE),
        epochs=settings["epochs"], batch_size=settings["batch_size"], seed=run_seed,
        monitor=settings["monitor"], restore_best=settings["restore_best"],
        eval_batch_size=settings["eval_batch_size"], input_shape=params["model"]["input_shape"],
        state=state)

    info = {"arch": arch_id, "seed": run_seed, **info}
    save_model(paths.model, model)
    save_history(paths.history, history)
    write_json(paths.train_info, info)
    state.clear()  # only once every output is in place
    return info


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", help="architecture id (a key of `architectures` in params.yaml)")
    parser.add_argument("--seed", type=int, default=None, help="an extra seed (default: train.seed)")
    args = parser.parse_args(argv)
    from stages.interrupt import exit_quietly_on_interrupt

    with exit_quietly_on_interrupt(f"train {config.RunPaths(args.arch, args.seed).name}"):
        info = run(args.arch, args.seed)
    print(f"{info['arch']} (seed {info['seed']}): best epoch {info['best_epoch']}, "
          f"val_accuracy {info['best_val_accuracy']:.4f}, {info['train_seconds']:.0f} s wall, "
          f"{info['cpu_seconds']:.0f} s CPU")


if __name__ == "__main__":
    main()
