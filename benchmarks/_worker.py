"""One measured variant, in its own process: `python -m benchmarks._worker '<json config>'`.

It trains the way its config says (`kind`: "notebook" or "project") and stops at fixed
points to wait for the parent (benchmarks._lockstep), which lets one worker at a time run a
timed chunk: after the warm-up, after every chunk of `steps` training steps (phase "steps",
timed from the parent's go to the end of the chunk's last step, so validation is outside),
and at every epoch boundary (phase "epoch": whole epochs, validation included).

Protocol: one JSON line per event on the original stdout; the parent answers each with
"go" on stdin. Everything else this process prints goes to stderr (the worker's log).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

POOL = 50_000  # the training pool of the real split: the last 10,000 images are the holdout


class Channel:
    def __init__(self):
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)  # Keras and TensorFlow output goes to the log, not into the protocol

    def send(self, **message) -> None:
        self.out.write(json.dumps(message) + "\n")
        self.out.flush()

    def wait(self) -> None:
        if sys.stdin.readline().strip() != "go":
            os._exit(0)  # the parent is gone


def chunk_callbacks(channel: Channel, phase: dict, batch_size: int):
    import keras

    class Mark:
        def __init__(self):
            self.start()

        def start(self):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def elapsed(self) -> dict:
            return {"seconds": time.perf_counter() - self.wall, "cpu_seconds": time.process_time() - self.cpu}

    class StepChunks(keras.callbacks.Callback):
        """Phase "steps": ready after `warmup` steps, then `repeats` chunks of `steps` steps."""

        def __init__(self):
            super().__init__()
            self.mark, self.done_chunks, self.next_stop, self.first = Mark(), -1, phase["warmup"], 0

        def on_train_batch_end(self, batch, logs=None):
            steps = batch + 1  # `batch` is the last step of the call (steps_per_execution)
            if steps < self.next_stop or self.done_chunks >= phase["repeats"]:
                return
            if self.done_chunks < 0:
                channel.send(event="ready", phase="steps")
            else:
                chunk = steps - self.first
                channel.send(
                    event="chunk", phase="steps", steps=chunk, images=chunk * batch_size, **self.mark.elapsed()
                )
            self.done_chunks += 1
            channel.wait()
            self.mark.start()
            self.first, self.next_stop = steps, steps + phase["steps"]

    class EpochChunks(keras.callbacks.Callback):
        """Phase "epoch": ready when the first (warm-up) epoch ends, then one chunk per epoch."""

        def __init__(self):
            super().__init__()
            self.mark = Mark()

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 0:
                return
            if epoch == 1:
                channel.send(event="ready", phase="epoch")
            else:
                channel.send(event="chunk", phase="epoch", epoch=epoch, **self.mark.elapsed())
            channel.wait()
            self.mark.start()

        def finish(self, epochs: int):  # the last epoch ends when training returns
            channel.send(event="chunk", phase="epoch", epoch=epochs, **self.mark.elapsed())
            channel.wait()

    return StepChunks if phase["phase"] == "steps" else EpochChunks


def split(arrays: dict, phase: dict, batch_size: int):
    """uint8 (train, val) of a phase, from the real split's pool and holdout."""
    import numpy as np

    x, y = arrays["x_train"], arrays["y_train"]
    if phase["phase"] == "steps":
        n_train = (phase["warmup"] + phase["steps"] * phase["repeats"]) * batch_size
        n_val = 1000  # validation runs once, after the timed chunks
    else:
        n_train, n_val = phase["subset"], phase.get("val") or max(phase["subset"] // 5, 1)
    index = np.arange(n_train) % POOL  # the pool again if a long run needs more images
    return (x[index], y[index]), (x[POOL : POOL + n_val], y[POOL : POOL + n_val])


def run_project(config, params, arch, phase, data, callbacks, epochs):
    """stages.training.loop.train() as the train stage calls it, on arrays read by its load_split,
    with the config's benchmarks.variants.Variant (numerics were configured by main())."""
    import numpy as np

    from benchmarks.variants import patched
    from stages.mnist.arrays import load_split
    from stages.training.loop import train

    settings = {**params["train"], **config.get("train", {})}
    with tempfile.TemporaryDirectory() as tmp:
        loaded = []
        for name, (x, y) in zip(("train", "val"), data, strict=True):
            np.savez(Path(tmp) / f"{name}.npz", x=x, y=y)
            loaded.append(load_split(Path(tmp) / f"{name}.npz"))
    with patched(variant_of(config)):
        train(
            config["arch"],
            arch,
            *loaded,
            epochs=epochs,
            batch_size=config["batch_size"],
            seed=settings["seed"],
            monitor=settings["monitor"],
            restore_best=settings["restore_best"],
            eval_batch_size=settings["eval_batch_size"],
            input_shape=params["model"]["input_shape"],
            verbose=0,
            callbacks=callbacks,
        )


def variant_of(config):
    from benchmarks.variants import Variant

    return Variant(**config.get("variant", {}))


def run_notebook(config, params, arch, phase, data, callbacks, epochs):
    from benchmarks import notebook

    if config.get("determinism"):
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(0)  # op determinism refuses unseeded random ops (fit's shuffle)
        tf.config.experimental.enable_op_determinism()
    (x, y), (x_val, y_val) = (notebook.prepare(*part) for part in data)
    model = notebook.compiled(config["arch"], arch, **config.get("compile", {}))
    model.fit(
        x,
        y,
        batch_size=config["batch_size"],
        epochs=epochs,
        verbose=0,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        validation_batch_size=config.get("train", {}).get("eval_batch_size"),
    )


def check_notebook_model(config, arch, params) -> None:
    """The written-out model must be the builder's, layer for layer."""
    from benchmarks import notebook
    from stages.model.builder import build_model

    ours = build_model(config["arch"], arch, params["model"]["input_shape"])
    theirs = notebook.build(config["arch"], arch)
    mine = [(type(layer).__name__, tuple(layer.output.shape), layer.count_params()) for layer in ours.layers]
    written = [(type(layer).__name__, tuple(layer.output.shape), layer.count_params()) for layer in theirs.layers]
    if mine != written:
        raise SystemExit(f"benchmarks.notebook's {config['arch']} differs from the builder's:\n{written}\n{mine}")


def main() -> None:
    config = json.loads(sys.argv[1])
    channel = Channel()
    for key, value in config.get("env", {}).items():  # before TensorFlow is imported
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)
    from stages.common import layout
    from stages.mnist.source import load_mnist

    params = layout.load_params(config.get("params_file") or layout.PARAMS_FILE)
    if config["kind"] == "project":  # as `python -m stages.train` starts, before TensorFlow loads
        from benchmarks.variants import configure

        configure(params["numerics"], variant_of(config))
    arch = params["architectures"][config["arch"]]
    arrays = load_mnist(config["mnist"])
    if config["kind"] == "notebook":
        check_notebook_model(config, arch, params)
    runner = run_project if config["kind"] == "project" else run_notebook

    import tensorflow as tf

    channel.send(
        event="started",
        onednn=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(unset)"),
        tensorflow=tf.__version__,
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
    )
    spe = max(
        config.get("variant", {}).get("steps_per_execution", 1), config.get("compile", {}).get("steps_per_execution", 1)
    )
    for phase in config["phases"]:
        if phase["phase"] == "steps":  # chunks end on a call's last step
            phase = {**phase, **{k: -(-phase[k] // spe) * spe for k in ("warmup", "steps")}}
        callback = chunk_callbacks(channel, phase, config["batch_size"])()
        data = split(arrays, phase, config["batch_size"])
        epochs = 1 if phase["phase"] == "steps" else 1 + phase["repeats"]
        runner(config, params, arch, phase, data, [callback], epochs)
        if phase["phase"] == "epoch":
            callback.finish(epochs)
    channel.send(event="done", peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))


if __name__ == "__main__":
    main()
