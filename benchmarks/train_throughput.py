"""Training throughput of the train stage against the notebook's plain-Keras way, same machine, one run.

    python -m benchmarks.train_throughput                      # conv2_k3
    python -m benchmarks.train_throughput --arch conv3_k753 --repeats 5
    python benchmarks/train_throughput.py --steps 50 --no-epoch   # quicker

Two worker processes, one per variant, take turns (A B, B A, ...; see benchmarks._lockstep):
  notebook  the same architecture written out as a plain keras.Sequential (benchmarks.notebook),
            one-hot labels, categorical_crossentropy, model.fit on numpy arrays, batch 128,
            TensorFlow's default settings (TF_ENABLE_ONEDNN_OPTS unset);
  project   stages.training.loop.train() as `python -m stages.train` runs it (params.yaml's
            numerics: oneDNN, threads, op determinism; the builder, its input pipeline,
            per-epoch reseeding), batch 128.
Training steps: images/s over `--repeats` timed chunks of `--steps` steps each, after
`--warmup` untimed steps; validation excluded. GFLOP/s = images/s x 3 x forward FLOPs per
image (stages.model.shapes.forward_flops), against the CPU's fp32 peak. Then the end-to-end time
of an epoch, validation included, on a subset epoch (`--subset` training images, a fifth as
many validation images, the ratio of the real 50,000/10,000 split), after one untimed epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/train_throughput.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._lockstep import alternate, cpu_peak, fmt_runs, load_average, median, now
from stages.common import layout
from stages.model.shapes import forward_flops

DEFAULT_MNIST = os.environ.get("MNIST_SOURCE") or str(layout.ROOT.parent / "shared" / "data" / "mnist")


def worker_configs(args, params) -> dict:
    phases = [{"phase": "steps", "warmup": args.warmup, "steps": args.steps, "repeats": args.repeats}]
    if not args.no_epoch:
        phases.append({"phase": "epoch", "subset": args.subset, "repeats": args.repeats})
    common = {
        "arch": args.arch,
        "mnist": args.mnist,
        "batch_size": params["train"]["batch_size"],
        "phases": phases,
        "params_file": str(args.params),
    }
    return {
        "notebook": {**common, "kind": "notebook", "env": {"TF_ENABLE_ONEDNN_OPTS": None}},
        "project": {**common, "kind": "project", "env": {}},
    }


def summarise(args, params, result) -> dict:
    flops = forward_flops(params["architectures"][args.arch]["layers"], params["model"]["input_shape"])
    peak, derivation = cpu_peak(args.peak_gflops)
    steps = result["phases"][0]
    rates = {name: [c["images"] / c["seconds"] for c in chunks] for name, chunks in steps.items()}
    cpu_use = {name: median(c["cpu_seconds"] / c["seconds"] for c in chunks) for name, chunks in steps.items()}
    summary = {
        "arch": args.arch,
        "forward_mflop": flops / 1e6,
        "train_mflop_per_image": 3 * flops / 1e6,
        "peak_gflops": peak,
        "peak_derivation": derivation,
        "images_per_s": rates,
        "median_images_per_s": {n: median(r) for n, r in rates.items()},
        "cpu_use": cpu_use,
        "paired_ratios": [p / n for p, n in zip(rates["project"], rates["notebook"], strict=True)],
        "started": result["started"],
        "done": result["done"],
    }
    if len(result["phases"]) > 1:
        epochs = result["phases"][1]
        summary["epoch_seconds"] = {n: [c["seconds"] for c in chunks] for n, chunks in epochs.items()}
    return summary


def report(args, params, s) -> None:
    batch = params["train"]["batch_size"]
    print(
        f"\n== Training steps: {args.arch}, batch {batch}; {args.repeats} alternating runs of {args.steps} "
        f"steps per variant ({args.steps * batch:,} images), after {args.warmup} untimed warm-up steps; "
        f"validation excluded"
    )
    print(
        f"Cost: 3 x {s['forward_mflop']:.1f} MFLOP forward = {s['train_mflop_per_image']:.1f} MFLOP per "
        f"training image (stages.model.shapes.forward_flops)"
    )
    print(f"CPU fp32 peak: {s['peak_derivation']}")
    for name, started in s["started"].items():
        print(
            f"  {name:8s} TF {started['tensorflow']}, TF_ENABLE_ONEDNN_OPTS={started['onednn']}, "
            f"threads intra/inter {started['intra_op_threads'] or 'default'}/"
            f"{started['inter_op_threads'] or 'default'} (as set before training)"
        )
    print(f"{'variant':10s} {'images/s per run':32s} {'median':>8s} {'GFLOP/s':>8s} {'of peak':>8s} {'CPU use':>8s}")
    for name, rates in s["images_per_s"].items():
        m = s["median_images_per_s"][name]
        gflops = m * s["train_mflop_per_image"] / 1000
        print(
            f"{name:10s} {fmt_runs(rates):32s} {m:8.0f} {gflops:8.1f} {gflops / s['peak_gflops']:8.1%} "
            f"{s['cpu_use'][name]:7.2f}x"
        )
    ratio_of_medians = s["median_images_per_s"]["project"] / s["median_images_per_s"]["notebook"]
    print(
        f"project / notebook: {ratio_of_medians:.2f}x (ratio of medians); "
        f"per adjacent pair {fmt_runs(s['paired_ratios'], 2)}, median {median(s['paired_ratios']):.2f}x"
    )
    print(
        "(CPU use = process CPU seconds / wall seconds over the timed runs; below the core count means "
        "the run waited for cores, e.g. other jobs on the machine)"
    )
    if "epoch_seconds" in s:
        n_val = max(args.subset // 5, 1)
        print(
            f"\n== End-to-end epoch, validation included: SUBSET epoch of {args.subset:,} training images "
            f"({-(-args.subset // batch)} steps) + {n_val:,} validation images; {args.repeats} alternating "
            f"runs per variant after one untimed epoch"
        )
        print(f"{'variant':10s} {'seconds per run':32s} {'median':>8s} {'x 50000/subset':>15s}")
        for name, seconds in s["epoch_seconds"].items():
            m = median(seconds)
            print(f"{name:10s} {fmt_runs(seconds, 2):32s} {m:8.2f} {m * 50000 / args.subset:13.0f} s")
        notebook, project = s["epoch_seconds"]["notebook"], s["epoch_seconds"]["project"]
        pairs = [n / p for n, p in zip(notebook, project, strict=True)]
        print(
            f"notebook / project epoch time: {median(notebook) / median(project):.2f}x "
            f"(ratio of medians); per adjacent pair {fmt_runs(pairs, 2)}"
        )
        print(
            "(the last column scales the subset epoch to the full 50,000 + 10,000 split: an extrapolation, "
            "not a measurement)"
        )
    print(
        "\nPeak RSS of each worker (subset data): "
        + ", ".join(f"{n} {d['peak_rss_mb']:.0f} MB" for n, d in s["done"].items())
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="conv2_k3", help="architecture id in params.yaml (default conv2_k3)")
    parser.add_argument("--steps", type=int, default=100, help="training steps per timed run (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant, >= 3 (default 3)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed training steps first (default 10)")
    parser.add_argument(
        "--subset",
        type=int,
        default=6400,
        help="training images of the end-to-end subset epoch (default 6400 = 50 steps)",
    )
    parser.add_argument("--no-epoch", action="store_true", help="skip the end-to-end epoch measurement")
    parser.add_argument("--peak-gflops", type=float, default=None, help="the CPU's fp32 peak, if not derived")
    parser.add_argument("--mnist", default=DEFAULT_MNIST, help=f"MNIST folder or URL (default {DEFAULT_MNIST})")
    parser.add_argument("--params", type=Path, default=layout.PARAMS_FILE)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--log-dir", type=Path, default=None, help="workers' logs (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.repeats < 3:
        parser.error("--repeats must be at least 3")
    params = layout.load_params(args.params)
    if args.arch not in params["architectures"]:
        parser.error(f"unknown architecture {args.arch!r}; one of: {', '.join(params['architectures'])}")

    print(
        f"benchmarks.train_throughput --arch {args.arch} --steps {args.steps} --repeats {args.repeats} "
        f"--warmup {args.warmup} --subset {args.subset}; {now()}, load average {load_average()}"
    )
    result = alternate(worker_configs(args, params), args.log_dir)
    summary = summarise(args, params, result)
    report(args, params, summary)
    print(f"finished {now()}, load average {load_average()}; worker logs in {result['log_dir']}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, **summary}, indent=1))


if __name__ == "__main__":
    main()
