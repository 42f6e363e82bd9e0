"""Each speed lever of the train stage, measured against its alternative in one lockstep run.

    python -m benchmarks.levers                    # every group below
    python -m benchmarks.levers onednn feed        # some of them
    python -m benchmarks.levers --list

A group is a handful of variants that differ in one lever; they run as worker processes taking
turns (benchmarks._lockstep), so their medians and the per-run ratios to the group's first
variant compare like with like even on a busy machine. "project" variants are the train
stage's stages.training.loop.train() with one thing changed (a benchmarks.variants.Variant:
params.yaml numerics, thread pools, feed, steps_per_execution; or an environment variable);
"keras" variants are the plain-Keras model of benchmarks.notebook, for levers that the
train stage cannot switch (XLA, op determinism).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._lockstep import alternate, fmt_runs, load_average, median, now
from benchmarks.train_throughput import DEFAULT_MNIST
from stages.common import layout
from stages.model.shapes import forward_flops

ON, OFF = {"TF_ENABLE_ONEDNN_OPTS": "1"}, {"TF_ENABLE_ONEDNN_OPTS": "0"}  # for "keras" variants
NO_ONEDNN = {"onednn": False}  # project variants take oneDNN from numerics, as the stage does


def project(env=None, **variant):
    """The train stage with benchmarks.variants.Variant(**variant) and extra environment variables."""
    return {"kind": "project", "env": env or {}, "variant": variant}


def keras(env, determinism=True, **compile_options):
    return {"kind": "notebook", "env": env, "determinism": determinism, "compile": compile_options}


# name -> (what it decides, phases to measure, {variant: worker config}); the first variant is the reference
GROUPS = {
    "onednn": (
        "numerics.onednn, i.e. TF_ENABLE_ONEDNN_OPTS (stage: true)",
        ["steps"],
        {
            "oneDNN off (TensorFlow's default here)": project(numerics=NO_ONEDNN, feed="arrays"),
            "oneDNN on": project(feed="arrays"),
        },
    ),
    "isa": (
        "numerics.onednn_max_cpu_isa, oneDNN's instruction-set cap (stage: AVX2); other numerics",
        ["steps"],
        {
            "AVX2 (the stage)": project(),
            "native (uncapped)": project(numerics={"onednn_max_cpu_isa": "native"}),
        },
    ),
    "feed": (
        "numpy arrays to fit() vs tf.data over tensors made once (stage: dataset)",
        ["steps", "epoch"],
        {
            "numpy arrays (Keras adapter)": project(feed="arrays"),
            "tf.data over tensors": project(feed="dataset"),
        },
    ),
    "caller-thread": (
        "TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD (stage: unset)",
        ["steps"],
        {
            "unset": project(),
            "1": project({"TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD": "1"}),
        },
    ),
    "threads": (
        "intra/inter-op thread pools (stage: both numerics.threads)",
        ["steps"],
        {
            "numerics.threads": project(),
            "TensorFlow's default (one per core)": project(intra_op_threads=0, inter_op_threads=0),
            "inter-op 1": project(inter_op_threads=1),
            "intra-op 1, inter-op 1": project(intra_op_threads=1, inter_op_threads=1),
        },
    ),
    "spe": (
        "steps_per_execution (stage: 1)",
        ["steps"],
        {
            "1": project(steps_per_execution=1),
            "16": project(steps_per_execution=16),
        },
    ),
    "determinism": (
        "cost of tf.config.experimental.enable_op_determinism() (stage: on, required)",
        ["steps"],
        {
            "op determinism on": keras(ON, determinism=True),
            "op determinism off": keras(ON, determinism=False),
        },
    ),
    "xla": (
        "jit_compile (XLA) of the train step, without op determinism (Keras refuses XLA with it)",
        ["steps"],
        {
            "no XLA": keras(ON, determinism=False),
            "XLA, oneDNN on": keras(ON, determinism=False, jit_compile=True),
            "XLA, oneDNN off": keras(OFF, determinism=False, jit_compile=True),
        },
    ),
    "eval": (
        "validation batch size (params.yaml train.eval_batch_size: 1000); epoch of 1,280 training "
        "+ 10,000 validation images",
        ["eval"],
        {
            "1000": {**project(), "train": {"eval_batch_size": 1000}},
            "250": {**project(), "train": {"eval_batch_size": 250}},
            "128": {**project(), "train": {"eval_batch_size": 128}},
        },
    ),
}


def phases_for(names, args):
    phases = []
    for name in names:
        if name == "steps":
            phases.append({"phase": "steps", "warmup": args.warmup, "steps": args.steps, "repeats": args.repeats})
        elif name == "epoch":
            phases.append({"phase": "epoch", "subset": args.subset, "repeats": args.repeats})
        elif name == "eval":
            phases.append({"phase": "epoch", "subset": 1280, "val": 10000, "repeats": args.repeats})
    return phases


def run_group(key, args, params, flops) -> None:
    title, phase_names, variants = GROUPS[key]
    steps = args.xla_steps if key == "xla" else args.steps
    phases = phases_for(phase_names, argparse.Namespace(**{**vars(args), "steps": steps}))
    common = {
        "arch": args.arch,
        "mnist": args.mnist,
        "batch_size": params["train"]["batch_size"],
        "phases": phases,
        "params_file": str(layout.PARAMS_FILE),
    }
    print(
        f"\n== {key}: {title}; {args.arch}, {args.repeats} alternating runs per variant "
        f"({now()}, load {load_average()})",
        flush=True,
    )
    result = alternate(
        {name: {**common, **config} for name, config in variants.items()},
        args.log_dir / key if args.log_dir else None,
        progress=lambda line: None,
    )
    names = list(variants)
    for phase, chunks in zip(phases, result["phases"], strict=True):
        if phase["phase"] == "steps":
            rates = {n: [c["images"] / c["seconds"] for c in chunks[n]] for n in names}
            cpu_rates = {n: [c["images"] / c["cpu_seconds"] for c in chunks[n]] for n in names}
            print(
                f"training steps ({phase['steps']} per run): images/s per run, median, GFLOP/s, "
                f"median of per-run ratios to '{names[0]}' | images per CPU-second: median, ratio | CPU use"
            )
            for n in names:
                ratio = median(a / b for a, b in zip(rates[n], rates[names[0]], strict=True))
                cpu_ratio = median(a / b for a, b in zip(cpu_rates[n], cpu_rates[names[0]], strict=True))
                use = median(c["cpu_seconds"] / c["seconds"] for c in chunks[n])
                print(
                    f"  {n:40s} {fmt_runs(rates[n]):28s} {median(rates[n]):6.0f} "
                    f"{median(rates[n]) * 3 * flops / 1e9:6.1f} {ratio:6.2f}x | {median(cpu_rates[n]):6.0f} "
                    f"{cpu_ratio:6.2f}x | {use:5.2f}"
                )
        else:
            seconds = {n: [c["seconds"] for c in chunks[n]] for n in names}
            what = (
                "epochs (validation included)"
                if phase.get("val") is None
                else f"epochs of {phase['subset']} training + {phase['val']} validation images"
            )
            cpu = {n: [c["cpu_seconds"] for c in chunks[n]] for n in names}
            print(
                f"{what}: seconds per run, median, median of per-run ratios to '{names[0]}' | "
                f"CPU-seconds: median, ratio"
            )
            for n in names:
                ratio = median(a / b for a, b in zip(seconds[n], seconds[names[0]], strict=True))
                cpu_ratio = median(a / b for a, b in zip(cpu[n], cpu[names[0]], strict=True))
                print(
                    f"  {n:40s} {fmt_runs(seconds[n], 2):28s} {median(seconds[n]):6.2f} {ratio:6.2f}x | "
                    f"{median(cpu[n]):6.2f} {cpu_ratio:6.2f}x"
                )
    print(
        "  started: "
        + "; ".join(
            f"{n}: oneDNN={s['onednn']}, threads intra/inter {s['intra_op_threads']}/{s['inter_op_threads']}"
            for n, s in result["started"].items()
        )
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help=f"groups to run (default all): {', '.join(GROUPS)}")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--arch", default="conv2_k3")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--xla-steps", type=int, default=10, help="steps per run in the xla group (slow)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--subset", type=int, default=6400)
    parser.add_argument("--mnist", default=DEFAULT_MNIST)
    parser.add_argument("--log-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.list:
        for key, (title, _, variants) in GROUPS.items():
            print(f"{key:12s} {title}: {' | '.join(variants)}")
        return
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups {', '.join(sorted(unknown))}; see --list")
    params = layout.load_params()
    flops = forward_flops(params["architectures"][args.arch]["layers"], params["model"]["input_shape"])
    for key in args.groups or GROUPS:
        run_group(key, args, params, flops)


if __name__ == "__main__":
    main()
