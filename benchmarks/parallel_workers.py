"""The quick study (every architecture, 1 epoch, data.subset 2000) with 1 worker and with N.

    python -m benchmarks.parallel_workers                  # 1 vs 2 workers, 2 runs each, alternating
    python -m benchmarks.parallel_workers --repeats 3 --jobs 4 --keep --dir /tmp/pw

1 worker is what `make run` does: a plain `dvc repro` with numerics.threads = cores. N workers
is `python -m stages.tools.workers --jobs N` (`make run JOBS=N`): N queued DVC experiments
with cores // N threads each, then the workspace `dvc repro` restoring them from the run-cache.
Each timed run is the whole command up to every evaluate@ stage (validate and prepare included;
the report, a few seconds and the same in both, is left out), in a fresh copy of the
project (own git repo, own DVC cache, so its run-cache starts empty); variants alternate
(1, N, 1, N, ...) so that drift and other jobs on a shared machine hit both alike. The script
checks that the N-worker run's final `dvc repro` trained nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.tools.workers import run_targets

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ["stages", "reference", "params.yaml", "pyproject.toml", ".gitignore"]
KEEP_DIRS = ["metrics/seeds", "plots/seeds"]  # the report depends on both folders
VENV_BIN = Path(sys.executable).parent


def copy_project_files(source_root: Path, path: Path) -> Path:
    """PROJECT_FILES of `source_root` into a new folder `path`."""
    path.mkdir(parents=True)
    for name in PROJECT_FILES:
        source, target = source_root / name, path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return path


def snapshot(path: Path) -> Path:
    """The working tree's pipeline files, copied once: edits made while the benchmark runs
    would otherwise reach one variant and not the other."""
    return copy_project_files(ROOT, path)


def make_copy(path: Path, template: Path, threads: int, subset: int, env: dict) -> None:
    """A fresh project from `template`: quick-study params, its own git repo and DVC cache."""
    copy_project_files(template, path)
    for name in KEEP_DIRS:
        (path / name).mkdir(parents=True, exist_ok=True)
        (path / name / ".gitkeep").touch()
    params = yaml.safe_load((path / "params.yaml").read_text())
    params["train"]["epochs"] = 1
    params["train"]["extra_seeds"] = []  # the quick study is one seed: the N workers queue every run in params
    params["data"]["subset"] = subset
    params["numerics"]["threads"] = threads
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cache = path / ".dvc" / "cache"
    for command in (
        "git init -q -b main",
        "dvc init -q",
        "dvc config core.analytics false",
        "dvc config core.autostage true",
        f"dvc config --local cache.dir {cache}",
        f"{sys.executable} -m stages.tools.dvc_sync",
        "git add -A",
        "git -c user.name=bench -c user.email=b@example.com commit -qm quick-study",
    ):
        subprocess.run(command, shell=True, cwd=path, env=env, check=True, capture_output=True)
    if (cache / "runs").exists():
        raise SystemExit(f"{cache}/runs exists before the run: the run-cache is not empty")


def timed(command: list[str], cwd: Path, env: dict, log: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - started
    log.write_text(f"$ {' '.join(command)}  ({seconds:.1f} s, exit {result.returncode})\n{result.stdout}")
    if result.returncode != 0:
        raise SystemExit(
            f"`{' '.join(command)}` in {cwd} failed ({result.returncode}); log: {log}\n{result.stdout[-3000:]}"
        )
    return seconds, result.stdout


def check(variant: int, out: str, n_runs: int, log: Path) -> None:
    """The run trained what it should: 1 worker every run itself, N workers nothing in the workspace
    and exactly `n_runs` experiments (one per architecture, seed 0)."""
    if variant == 1:
        trained_here = out.count("Running stage 'train")
        if trained_here != n_runs:
            raise SystemExit(f"1-worker run trained {trained_here} runs, expected {n_runs}; log: {log}")
        return
    queued = re.search(r"workers: queued (\d+) experiments", out)
    if queued is None or int(queued.group(1)) != n_runs:
        raise SystemExit(
            f"{variant}-worker run queued {queued and queued.group(1)} experiments, expected {n_runs}; log: {log}"
        )
    if "0 training or evaluation stages ran" not in out or out.count("is cached - skipping run") < 2 * n_runs:
        raise SystemExit(f"{variant}-worker run: the workspace dvc repro did not restore every run; log: {log}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="workers of the parallel variant (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each variant (default 2)")
    parser.add_argument("--subset", type=int, default=2000, help="data.subset (default 2000)")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--mnist", default=os.environ.get("MNIST_SOURCE") or str(ROOT.parent / "shared" / "data" / "mnist")
    )
    parser.add_argument("--dir", type=Path, default=None, help="work here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the copies and their logs")
    args = parser.parse_args(argv)

    base = Path(args.dir or tempfile.mkdtemp(prefix="parallel-workers-"))
    base.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "MNIST_SOURCE": args.mnist,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "DVC_NO_ANALYTICS": "1",
    }
    params = yaml.safe_load((ROOT / "params.yaml").read_text())  # read before the snapshot: same file
    n_archs = len(params["architectures"])
    targets = run_targets({**params, "train": {**params["train"], "extra_seeds": []}})
    variants = {1: args.cores, args.jobs: max(1, args.cores // args.jobs)}  # workers -> threads each
    times: dict[int, list[float]] = {workers: [] for workers in variants}
    print(
        f"benchmarks.parallel_workers {time.strftime('%Y-%m-%d %H:%M:%S')}: quick study, {n_archs} architectures, "
        f"1 epoch, data.subset {args.subset}, {args.cores} cores, niceness {os.nice(0)}; "
        f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}; in {base}",
        flush=True,
    )
    try:
        template = snapshot(base / "template")
        for index in range(args.repeats):
            for workers, threads in variants.items():
                copy = base / f"run{index}-{workers}w"
                make_copy(copy, template, threads, args.subset, env)
                command = (
                    ["dvc", "repro", *targets]
                    if workers == 1
                    else [
                        sys.executable,
                        "-m",
                        "stages.tools.workers",
                        "--jobs",
                        str(workers),
                        "--final-targets",
                        *targets,
                    ]
                )
                log = base / f"run{index}-{workers}w.log"
                seconds, out = timed(command, copy, env, log)
                check(workers, out, n_archs, log)
                times[workers].append(seconds)
                print(
                    f"  repeat {index + 1}: {workers} worker(s) x {threads} thread(s): {seconds:7.1f} s "
                    f"(load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                if not args.keep:
                    shutil.rmtree(copy, ignore_errors=True)
        medians = {workers: statistics.median(values) for workers, values in times.items()}
        print(f"\n== wall time of the whole quick study, median of {args.repeats} alternating runs each")
        for workers, threads in variants.items():
            runs = ", ".join(f"{v:.1f}" for v in times[workers])
            print(f"  {workers} worker(s) x {threads} thread(s): {medians[workers]:7.1f} s   (runs: {runs})")
        print(
            f"  ratio 1 worker / {args.jobs} workers: {medians[1] / medians[args.jobs]:.2f}x "
            f"(above 1: {args.jobs} workers faster)"
        )
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
