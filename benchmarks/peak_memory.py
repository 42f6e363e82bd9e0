"""Peak resident memory of the train stage on the full data (50,000 training + 10,000 validation images).

    python -m benchmarks.peak_memory [--arch conv2_k3] [--steps 30]

Each variant runs in a fresh process as `python -m stages.train` would: params.yaml's numerics
configured, prepare's split written as .npz and read back by stages.mnist.arrays.load_split, then
stages.training.loop.train() for one epoch, stopped after `--steps` training steps (memory does
not grow after the first steps), with the epoch's validation pass on all 10,000 images and the
end-of-epoch bookkeeping. Peak RSS is the process's ru_maxrss. Variants (benchmarks.variants):
the stage as it is, and as it was (oneDNN off, numpy arrays to fit()).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {  # name -> benchmarks.variants.Variant fields
    "stage (oneDNN on, tf.data feed)": {},
    "before (oneDNN off, numpy arrays to fit)": {"numerics": {"onednn": False}, "feed": "arrays"},
}


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child(args) -> None:
    from benchmarks.variants import Variant, configure, patched
    from stages.common import layout

    params = layout.load_params()
    variant = Variant(**json.loads(args.variant))
    configure(params["numerics"], variant)  # before TensorFlow loads, as the stage does

    import keras

    from stages.mnist.arrays import load_split
    from stages.training.loop import train

    train_data, val_data = (load_split(Path(args.tmp) / f"{name}.npz") for name in ("train", "val"))
    after_load = rss_mb()

    class StopAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 >= args.steps:
                self.model.stop_training = True

    settings = params["train"]
    with patched(variant):
        _, _, info = train(
            args.arch,
            params["architectures"][args.arch],
            train_data,
            val_data,
            epochs=1,
            batch_size=settings["batch_size"],
            seed=settings["seed"],
            eval_batch_size=settings["eval_batch_size"],
            input_shape=params["model"]["input_shape"],
            verbose=0,
            callbacks=[StopAfter()],
        )
    print(
        json.dumps(
            {
                "peak_rss_mb": rss_mb(),
                "info_peak_rss_mb": info["peak_rss_mb"],
                "after_load_split_mb": after_load,
                "train_images": len(train_data[1]),
                "val_images": len(val_data[1]),
            }
        )
    )


def main(argv=None) -> None:
    from benchmarks.train_throughput import DEFAULT_MNIST

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="conv2_k3")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--mnist", default=DEFAULT_MNIST)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    print(
        f"{args.arch}: peak RSS of one training epoch on the full data (stopped after {args.steps} steps; "
        f"validation on 10,000 images included)"
    )
    import numpy as np

    from stages.mnist.source import load_mnist
    from stages.prepare import split

    with tempfile.TemporaryDirectory() as tmp:
        splits = split(load_mnist(args.mnist), subset=0, validation="holdout", val_size=10000, test_subset=0)
        for name in ("train", "val"):  # as the prepare stage writes them
            np.savez(Path(tmp) / f"{name}.npz", x=splits[name][0], y=splits[name][1])
        for name, variant in VARIANTS.items():
            command = [
                sys.executable,
                "-m",
                "benchmarks.peak_memory",
                "--child",
                "--arch",
                args.arch,
                "--steps",
                str(args.steps),
                "--mnist",
                args.mnist,
                "--variant",
                json.dumps(variant),
                "--tmp",
                tmp,
            ]
            out = subprocess.run(
                command,
                cwd=ROOT,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                check=True,
                text=True,
                capture_output=True,
            ).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            print(
                f"  {name:42s} peak {figures['peak_rss_mb']:6.0f} MB  (train info's peak_rss_mb "
                f"{figures['info_peak_rss_mb']:.0f} MB; {figures['after_load_split_mb']:.0f} MB once load_split "
                f"read {figures['train_images']:,} + {figures['val_images']:,} images)"
            )


if __name__ == "__main__":
    main()
