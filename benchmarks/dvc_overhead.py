"""Pipeline overhead: how long `dvc status` and a no-op `dvc repro` take when every stage is done.

    python -m benchmarks.dvc_overhead                  # a throwaway clone, every stage run once first
    python -m benchmarks.dvc_overhead --repeats 5 --keep --dir /tmp/noop
    python -m benchmarks.dvc_overhead --dir /tmp/noop --reuse   # time the kept clone again

It clones this repository into a temporary folder, lays the working tree's pipeline files over
it (stages/, params.yaml, dvc.yaml, reference/: uncommitted edits count), shrinks the data
(data.subset, val_size, test_subset) and the epochs to 1 so that a first `dvc repro` of all
stages finishes quickly, then times `dvc status` and `dvc repro` in turns (nothing left to run:
the script checks that no stage ran). With --profile, one more no-op `dvc repro` runs under
cProfile and the top functions by cumulative time are printed.
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from benchmarks._lockstep import fmt_runs, load_average, median, now

ROOT = Path(__file__).resolve().parent.parent
OVERLAY = ["stages", "params.yaml", "dvc.yaml", "reference"]


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    command: list[str], cwd: Path, env: dict, log: Path | None = None, cpu: list | None = None
) -> tuple[float, str]:
    """Run `command`; return its wall seconds and output. Its CPU seconds are appended to `cpu`:
    on a shared machine they say what the command costs, while wall time also counts waiting."""
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, text=True, capture_output=True)
    seconds = time.perf_counter() - started
    if cpu is not None:
        cpu.append(children_cpu_seconds() - cpu_before)
    if log:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(command)}  ({seconds:.2f} s, exit {result.returncode})\n")
            f.write(f"{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise SystemExit(
            f"`{' '.join(command)}` failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return seconds, result.stdout + result.stderr


def setup(clone: Path, base: Path, env: dict, dvc: list[str], log: Path, args) -> dict:
    """Clone this repository with the working tree's pipeline files, shrink its data and
    epochs, and run every stage once. Returns the clone's params."""
    run(["git", "clone", "-q", str(ROOT), str(clone)], base, env)
    for name in OVERLAY:
        source, target = ROOT / name, clone / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["data"].update(subset=args.subset, val_size=500, test_subset=500)
    params["train"].update(epochs=1, eval_batch_size=500)
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run([sys.executable, "-m", "stages.tools.dvc_sync"], clone, env, log)
    n_arch = len(params["architectures"])
    n_runs = n_arch * (1 + len(params["train"]["extra_seeds"]))
    print(
        f"first `dvc repro` ({n_arch} architectures, {n_runs} training runs of 1 epoch on "
        f"{args.subset} images, their evaluations and the report) ...",
        flush=True,
    )
    seconds, out = run(dvc + ["repro"], clone, env, log)
    print(f"  done in {seconds:.0f} s ({out.count('Running stage')} stages ran)")
    return params


def main(argv=None) -> None:
    from benchmarks.train_throughput import DEFAULT_MNIST

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--subset", type=int, default=1000, help="data.subset of the clone (default 1000)")
    parser.add_argument("--mnist", default=DEFAULT_MNIST)
    parser.add_argument("--dir", type=Path, default=None, help="clone here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    parser.add_argument("--profile", action="store_true", help="cProfile one more no-op dvc repro")
    parser.add_argument(
        "--reuse", action="store_true", help="with --dir: time the clone a previous --keep run left there (no setup)"
    )
    args = parser.parse_args(argv)

    base = Path(args.dir or tempfile.mkdtemp(prefix="dvc-overhead-"))
    base.mkdir(parents=True, exist_ok=True)
    clone = base / "noop"
    log = base / "commands.log"
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
        "MNIST_SOURCE": args.mnist,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "DVC_NO_ANALYTICS": "1",
    }
    dvc = [str(venv_bin / "dvc")]
    if args.reuse and not (args.dir and (clone / "dvc.lock").exists()):
        raise SystemExit(f"--reuse needs --dir holding a clone from a --keep run ({clone}/dvc.lock not found)")
    try:
        print(f"benchmarks.dvc_overhead: {now()}, load average {load_average()}; clone in {clone}", flush=True)
        if args.reuse:
            params = yaml.safe_load((clone / "params.yaml").read_text())
        else:
            params = setup(clone, base, env, dvc, log, args)
        n_arch = len(params["architectures"])

        timings = {"dvc status": [], "dvc repro (no-op)": []}
        cpu_times = {name: [] for name in timings}
        for index in range(args.repeats):
            order = list(timings) if index % 2 == 0 else list(timings)[::-1]
            for name in order:
                command = dvc + (["status"] if name == "dvc status" else ["repro"])
                seconds, out = run(command, clone, env, log, cpu=cpu_times[name])
                if name == "dvc status" and "up to date" not in out:
                    raise SystemExit(f"dvc status is not clean:\n{out}")
                if name != "dvc status" and "Running stage" in out:
                    raise SystemExit(f"the no-op dvc repro ran a stage:\n{out}")
                timings[name].append(seconds)
        seconds, _ = run([sys.executable, "-c", "import dvc.cli, dvc.repo"], clone, env)
        print(
            f"\n== {args.repeats} alternating runs each, every stage up to date ({n_arch} architectures; "
            f"commands: {log})"
        )
        for name, values in timings.items():
            print(
                f"  {name:18s} {median(values):5.2f} s median   (runs: {fmt_runs(values, 2)} s)   "
                f"CPU {median(cpu_times[name]):5.2f} s median"
            )
        print(f"  (of which starting Python and importing dvc: {seconds:.2f} s)")
        verdict = "meets" if median(timings["dvc repro (no-op)"]) < 5 else "MISSES"
        print(
            f"  no-op dvc repro {verdict} the 5 s target in wall time; load average {load_average()} "
            f"(wall time well above CPU time means other jobs held the cores)"
        )

        if args.profile:
            dump = base / "repro.prof"
            run(dvc + ["repro", "--cprofile-dump", str(dump)], clone, env, log)
            print("\n== cProfile of one no-op dvc repro, top 25 by cumulative time")
            pstats.Stats(str(dump)).sort_stats("cumulative").print_stats(25)
    finally:
        if args.keep:
            print(f"kept {clone}")
        elif args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
