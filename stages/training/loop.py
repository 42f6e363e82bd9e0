"""Training one architecture: every epoch a pure function of (seed, epoch).

Each epoch's shuffle order and dropout masks are re-derived from the seed and the epoch
number, so a run resumed from its last finished epoch ends with exactly the weights of an
uninterrupted one.
"""

from __future__ import annotations

import time

import numpy as np

from stages.training.history import HISTORY_COLUMNS, LiveHistory
from stages.training.resume import ResumeState


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


class Feed:
    """The training and validation data as `model.fit` takes them.

    The arrays become tensors once per run; each epoch is a tf.data pipeline that gathers
    every batch from them in that epoch's order (`epoch_order`), so no epoch copies the
    training set or goes through Keras' numpy adapter (benchmarks/README.md measures both).
    The batches are the ones `fit(x[order], y[order], batch_size, shuffle=False)` makes,
    last partial one included.
    """

    def __init__(self, train_data, val_data, batch_size: int, eval_batch_size: int):
        import tensorflow as tf

        (self.x, self.y), (x_val, y_val) = train_data, val_data
        self.batch_size = batch_size
        self.tensors = tf.data.Dataset.from_tensors((tf.constant(self.x), tf.constant(self.y))).repeat()
        self.validation = self._plain(
            tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(eval_batch_size).prefetch(1)
        )

    @staticmethod
    def _plain(dataset):
        import tensorflow as tf

        options = tf.data.Options()  # no graph rewrites: they would serialise the tensors
        options.experimental_optimization.apply_default_optimizations = False
        return dataset.with_options(options)

    def fit_arguments(self, order: np.ndarray) -> dict:
        import tensorflow as tf

        batches = tf.data.Dataset.from_tensor_slices(order).batch(self.batch_size)
        dataset = tf.data.Dataset.zip(batches, self.tensors).map(
            lambda index, data: (tf.gather(data[0], index), tf.gather(data[1], index))
        )
        return {"x": self._plain(dataset.prefetch(2)), "shuffle": False, "validation_data": self.validation}


def is_better(monitor: str, value: float, best: float | None) -> bool:
    if best is None:
        return True
    return value < best if monitor == "val_loss" else value > best


def train(
    arch_id: str,
    arch: dict,
    train_data,
    val_data,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    monitor: str = "val_loss",
    restore_best: bool = True,
    eval_batch_size: int = 1000,
    input_shape=(28, 28, 1),
    state: ResumeState | None = None,
    history: LiveHistory | None = None,
    verbose: int = 1,
    callbacks=None,
):
    """Train and return (model, history rows, info).

    `state` persists progress between epochs; `history` receives each finished epoch's row
    as it ends; `callbacks` (Keras callbacks) are passed to every epoch's `fit`. TensorFlow's
    numerics (threads, oneDNN, determinism) are `stages.training.numerics.configure`'s job.
    """
    import keras

    from stages.model.builder import build_model, compile_model

    keras.utils.set_random_seed(seed)
    model = compile_model(build_model(arch_id, arch, input_shape), arch["optimizer"])
    feed = Feed(train_data, val_data, batch_size, eval_batch_size)

    state = state or ResumeState(None)
    start_epoch = state.restore(model)
    if start_epoch and verbose:
        print(f"Resuming {arch_id} (seed {seed}) after epoch {start_epoch} of {epochs}", flush=True)
    if history is not None:
        history.begin(state.history)

    # One fit() per epoch, so that each epoch's order and dropout come from (seed, epoch) alone.
    # Asking fit() for every epoch and stopping it after one keeps Keras' "Epoch 3/15" true.
    stop_after_one = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: setattr(model, "stop_training", True))
    for epoch in range(start_epoch, epochs):
        started = time.perf_counter()
        order = epoch_order(len(feed.x), seed, epoch)
        reseed(model, seed, epoch)
        fit = model.fit(
            **feed.fit_arguments(order),
            epochs=epochs,
            initial_epoch=epoch,
            verbose=verbose,
            callbacks=[*(callbacks or []), stop_after_one],
        )
        row = {"epoch": epoch + 1, **{k: float(fit.history[k][-1]) for k in HISTORY_COLUMNS[1:]}}
        improved = is_better(monitor, row[monitor], state.best_value)
        state.end_epoch(model, row, improved, monitor, seconds=time.perf_counter() - started)
        if history is not None:
            history.add(row)

    if restore_best and state.best_weights is not None:
        model.set_weights(state.best_weights)
    return model, state.history, state.summary(monitor, restore_best)
