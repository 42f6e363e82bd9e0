"""The `train@<id>` stage: train one architecture, keep its best validation epoch.

    python -m stages.train conv2_k3            # main run, seed `train.seed`
    python -m stages.train conv2_k3 --seed 1   # one of `train.extra_seeds`

Every epoch is a pure function of (seed, epoch): its shuffle order and the
dropout masks are re-derived from them, so a run resumed from its last finished
epoch ends with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep Keras' progress, drop TF's start-up chatter
# oneDNN's convolution and matmul kernels instead of Eigen's: TensorFlow leaves them off on
# CPUs without AVX-512 VNNI/BF16/AMX, yet on this project's 2-core AVX2 machine training steps
# run 1.19x faster with them (benchmarks/README.md; results stay bit-reproducible run to run,
# though not bit-equal to Eigen's). Read once, when TensorFlow is imported, so it is set here,
# before any import of it; an explicit TF_ENABLE_ONEDNN_OPTS=0 in the environment wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

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


@dataclass(frozen=True)
class Speed:
    """How `train()` runs on a CPU; none of it changes what is computed (same model, batch size,
    optimizer, loss, epochs, shuffle order and dropout masks). Each default was measured
    against the alternative with `python -m benchmarks.levers` (figures in benchmarks/README.md)."""

    feed: str = "dataset"          # "dataset": tf.data over tensors made once per run, batches
                                   # gathered in the epoch's order; "arrays": numpy arrays to fit()
    steps_per_execution: int = 1   # training steps per call into TensorFlow
    intra_op_threads: int = 0      # 0 = TensorFlow's default (one per core)
    inter_op_threads: int = 0      # 0 = TensorFlow's default


SPEED = Speed()


def configure_threads(speed: Speed) -> None:
    """Thread pools are fixed when TensorFlow's runtime starts: set them before, skip if equal."""
    import tensorflow as tf

    threading = tf.config.threading
    for wanted, get, set_ in ((speed.intra_op_threads, threading.get_intra_op_parallelism_threads,
                               threading.set_intra_op_parallelism_threads),
                              (speed.inter_op_threads, threading.get_inter_op_parallelism_threads,
                               threading.set_inter_op_parallelism_threads)):
        if wanted and get() != wanted:
            set_(wanted)


class Feed:
    """The training and validation data as `model.fit` takes them.

    With `feed="dataset"` the arrays become tensors once per run; each epoch is a tf.data
    pipeline that gathers every batch from them in that epoch's order (`epoch_order`), so no
    epoch copies the training set or goes through Keras' numpy adapter. The batches are the
    ones `fit(x[order], y[order], batch_size, shuffle=False)` makes, last partial one included.
    """

    def __init__(self, train_data, val_data, batch_size: int, eval_batch_size: int, speed: Speed):
        (self.x, self.y), (self.x_val, self.y_val) = train_data, val_data
        self.batch_size, self.eval_batch_size, self.speed = batch_size, eval_batch_size, speed
        if speed.feed == "dataset":
            import tensorflow as tf

            self.tensors = tf.data.Dataset.from_tensors((tf.constant(self.x), tf.constant(self.y))).repeat()
            self.validation = self._plain(tf.data.Dataset.from_tensor_slices((self.x_val, self.y_val))
                                          .batch(eval_batch_size).prefetch(1))
        elif speed.feed != "arrays":
            raise ValueError(f"unknown feed {speed.feed!r}")

    @staticmethod
    def _plain(dataset):
        import tensorflow as tf

        options = tf.data.Options()  # no graph rewrites: they would serialise the tensors
        options.experimental_optimization.apply_default_optimizations = False
        return dataset.with_options(options)

    def fit_arguments(self, order: np.ndarray) -> dict:
        if self.speed.feed == "arrays":
            return {"x": self.x[order], "y": self.y[order], "batch_size": self.batch_size, "shuffle": False,
                    "validation_data": (self.x_val, self.y_val), "validation_batch_size": self.eval_batch_size}
        import tensorflow as tf

        batches = tf.data.Dataset.from_tensor_slices(order).batch(self.batch_size)
        dataset = tf.data.Dataset.zip(batches, self.tensors).map(
            lambda index, data: (tf.gather(data[0], index), tf.gather(data[1], index)))
        return {"x": self._plain(dataset.prefetch(2)), "shuffle": False, "validation_data": self.validation}


def is_better(monitor: str, value: float, best: float | None) -> bool:
    if best is None:
        return True
    return value < best if monitor == "val_loss" else value > best


def train(arch_id: str, arch: dict, train_data, val_data, *, epochs: int, batch_size: int,
          seed: int, monitor: str = "val_loss", restore_best: bool = True,
          eval_batch_size: int = 1000, input_shape=(28, 28, 1), state: ResumeState | None = None,
          verbose: int = 1, callbacks=None, speed: Speed | None = None):
    """Train and return (model, history rows, info). `state` persists progress between epochs;
    `callbacks` (Keras callbacks) are passed to every epoch's `fit`; `speed` defaults to `SPEED`."""
    import keras
    import tensorflow as tf

    from stages.architectures import build_model, compile_model

    speed = speed or SPEED
    configure_threads(speed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = compile_model(build_model(arch_id, arch, input_shape), arch["optimizer"])
    model.steps_per_execution = speed.steps_per_execution
    feed = Feed(train_data, val_data, batch_size, eval_batch_size, speed)

    state = state or ResumeState(None)
    start_epoch = state.restore(model)
    if start_epoch and verbose:
        print(f"Resuming {arch_id} (seed {seed}) after epoch {start_epoch} of {epochs}", flush=True)

    # One fit() per epoch, so that each epoch's order and dropout come from (seed, epoch) alone.
    # Asking fit() for every epoch and stopping it after one keeps Keras' "Epoch 3/15" true.
    stop_after_one = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda *_: setattr(model, "stop_training", True))
    for epoch in range(start_epoch, epochs):
        started = time.perf_counter()
        order = epoch_order(len(feed.x), seed, epoch)
        reseed(model, seed, epoch)
        fit = model.fit(**feed.fit_arguments(order), epochs=epochs, initial_epoch=epoch,
                        verbose=verbose, callbacks=[*(callbacks or []), stop_after_one])
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
    # A resume state is used only by the same params, data, code and numerics settings:
    # anything else would end with weights that match no uninterrupted run.
    code = [config.ROOT / "stages" / name for name in ("train.py", "checkpoint.py", "architectures.py")]
    fingerprint = {"arch": arch, "train": settings, "seed": run_seed, "model": params["model"],
                   "data": [config.file_digest(p) for p in (config.TRAIN_FILE, config.VAL_FILE)],
                   "code": [config.file_digest(p) for p in code],
                   "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS")}
    state = ResumeState(paths.resume, fingerprint)

    model, history, info = train(
        arch_id, arch, load_split(config.TRAIN_FILE), load_split(config.VAL_FILE),
        epochs=settings["epochs"], batch_size=settings["batch_size"], seed=run_seed,
        monitor=settings["monitor"], restore_best=settings["restore_best"],
        eval_batch_size=settings["eval_batch_size"], input_shape=params["model"]["input_shape"],
        state=state, verbose=1 if sys.stdout.isatty() else 2)  # a log gets one line per epoch

    info = {"arch": arch_id, "seed": run_seed, **info}
    save_model(paths.model, model)
    save_history(paths.history, history)
    write_json(paths.train_info, info)
    state.clear()  # only once every output is in place
    return info


def main(argv=None) -> None:
    from stages.interrupt import run_stage

    _, info = run_stage(__doc__, "train", run, argv)
    print(f"{info['arch']} (seed {info['seed']}): best epoch {info['best_epoch']}, "
          f"val_accuracy {info['best_val_accuracy']:.4f}, {info['train_seconds']:.0f} s wall, "
          f"{info['cpu_seconds']:.0f} s CPU")


if __name__ == "__main__":
    main()
