"""Checks the train stage's two guarantees on a small subset, each run in a fresh process:

1. determinism: two runs with the same seed and params end with bit-identical weights
   and the same history (floats compared exactly);
2. resume: a run of 2 epochs, and a run of 1 epoch whose process then ends, resumed by a
   new process from its ResumeState for the 2nd epoch, end with bit-identical weights.

  python -m benchmarks.check_determinism [--arch conv2_k3] [--train 2000] [--val 512]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def child(args) -> None:
    import numpy as np

    from stages.common import layout
    from stages.mnist.source import load_mnist
    from stages.training import numerics
    from stages.training.loop import train
    from stages.training.resume import ResumeState

    params = layout.load_params()
    numerics.configure(params["numerics"])  # op determinism, oneDNN and threads, as the stage sets them
    arrays = load_mnist(args.mnist)
    x, y = arrays["x_train"], arrays["y_train"]

    def scale(images):  # stages.mnist.arrays.load_split's
        return (images.astype(np.float32) / 255.0)[..., np.newaxis]

    data = (
        (scale(x[: args.train]), y[: args.train].astype(np.int32)),
        (scale(x[50000 : 50000 + args.val]), y[50000 : 50000 + args.val].astype(np.int32)),
    )
    state = ResumeState(Path(args.resume), {"check": args.arch}) if args.resume else None
    model, history, info = train(
        args.arch,
        params["architectures"][args.arch],
        *data,
        epochs=args.epochs,
        batch_size=params["train"]["batch_size"],
        seed=0,
        restore_best=False,
        eval_batch_size=params["train"]["eval_batch_size"],
        input_shape=params["model"]["input_shape"],
        state=state,
        verbose=0,
    )
    np.savez(args.out, *model.get_weights())
    Path(args.out).with_suffix(".json").write_text(json.dumps({"history": history, "info": info}))


def spawn(out: Path, epochs: int, args, resume: Path | None = None) -> tuple[list, dict]:
    import numpy as np

    command = [
        sys.executable,
        "-m",
        "benchmarks.check_determinism",
        "--child",
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        "--arch",
        args.arch,
        "--train",
        str(args.train),
        "--val",
        str(args.val),
        "--mnist",
        args.mnist,
    ] + (["--resume", str(resume)] if resume else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(command, cwd=ROOT, env=env, check=True, stderr=subprocess.DEVNULL)
    with np.load(out) as weights:
        return [weights[f"arr_{i}"] for i in range(len(weights.files))], json.loads(
            out.with_suffix(".json").read_text()
        )


def main(argv=None) -> int:
    from benchmarks.train_throughput import DEFAULT_MNIST

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="conv2_k3")
    parser.add_argument(
        "--train", type=int, default=2000, help="default 2000: 15 full batches and a partial one, like 50,000"
    )
    parser.add_argument("--val", type=int, default=512)
    parser.add_argument("--mnist", default=DEFAULT_MNIST)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--resume", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    import hashlib

    import numpy as np

    def same(a, b):
        return len(a) == len(b) and all(p.shape == q.shape and np.array_equal(p, q) for p, q in zip(a, b, strict=True))

    def digest(weights):
        return hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest()[:16]

    from stages.common import layout

    numerics = layout.load_params()["numerics"]
    print(
        f"{args.arch}, {args.train} training + {args.val} validation images, batch 128, seed 0, "
        f"params.yaml numerics: oneDNN {numerics['onednn']}, {numerics['threads']} threads; "
        f"every run in a fresh process"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        first, first_record = spawn(tmp / "a.npz", 2, args)
        second, second_record = spawn(tmp / "b.npz", 2, args)
        one, one_record = spawn(tmp / "c1.npz", 1, args, resume=tmp / "resume")
        resumed, resumed_record = spawn(tmp / "c2.npz", 2, args, resume=tmp / "resume")
    checks = {
        "run 1 vs run 2: weights bit-identical": same(first, second),
        "run 1 vs run 2: history identical": first_record["history"] == second_record["history"],
        "resumed run really resumed (resumed_after_epoch == 1)": resumed_record["info"]["resumed_after_epoch"] == 1,
        "1 epoch + resume vs 2 epochs: weights bit-identical": same(first, resumed),
        "1 epoch + resume vs 2 epochs: history identical": first_record["history"] == resumed_record["history"],
        "after epoch 1 the runs differ from after epoch 2 (the check can fail)": not same(first, one),
    }
    print(
        f"weights sha256: run 1 {digest(first)}, run 2 {digest(second)}, "
        f"1 epoch {digest(one)}, 1 epoch + resume {digest(resumed)}"
    )
    for row in first_record["history"]:
        print("  history " + ", ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
