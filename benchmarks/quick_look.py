"""Where the quick look's time goes, and the median of alternating runs of two ways to run it.

    python -m benchmarks.quick_look                      # readme vs quick, 2 alternating runs each
    python -m benchmarks.quick_look --repeats 3 --keep --dir /tmp/ql
    python -m benchmarks.quick_look --analyze LOG        # the breakdown of a saved run's log

Variants (each forced to rerun every stage: `dvc exp run` has no `--no-run-cache`, and
`-f` is what skips the run-cache restore; without it every run after the first restores
the previous one's results):

* readme: the README's line as written, `dvc exp run --temp -S train.epochs=1 -S
  data.subset=2000 -S 'train.extra_seeds=[]'` (+ `-f -v -n <name>`);
* quick: `python -m stages.tools.quick --force --verbose --name <name>` (`make quick`: the
  same experiment started from an empty dvc.lock, then the summary and `dvc plots diff`).

All runs happen in one clone of this repository's HEAD (commit first) with its own DVC
cache, so the workspace here is never touched; variants alternate (A B, B A, ...) so that
other jobs on a shared machine hit both alike. Each run's output is stamped line by line
(seconds since its start) into <dir>/<experiment name>.log; the breakdown comes from DVC's
`-v` log lines (when a stage starts, when its command returns, when DVC has saved its
outputs, updated dvc.lock and staged its files), the runs' own training times
(`train_seconds` of metrics/record/<id>/train.json in the experiment's commit) and a probe of
`python -c "import keras"` (the start-up every TensorFlow stage pays).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.dvc_overhead import children_cpu_seconds
from benchmarks.train_throughput import DEFAULT_MNIST
from stages.tools.quick import quick_command

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEBUG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING|ERROR)")
RUNNING = re.compile(r"^Running stage '([^']+)'")
REPRODUCED = re.compile(r"DEBUG: stage: '([^']+)' was reproduced")
STAGED = "DEBUG: Staging stage-related files"
KINDS = ("validate", "prepare", "train", "evaluate", "record", "report")


def variant_command(variant: str, name: str) -> list[str]:
    if variant == "readme":  # the README's line (quick_command only builds the argv: no lock moved aside)
        return quick_command(name, force=True, verbose=True)
    if variant == "quick":
        return [sys.executable, "-m", "stages.tools.quick", "--force", "--verbose", "--name", name]
    raise SystemExit(f"unknown variant {variant!r}: readme or quick")


def stamped_run(command: list[str], cwd: Path, env: dict, log: Path) -> tuple[float, float]:
    """Run `command`, writing each output line to `log` as `<seconds since start> <line>`.
    Returns (wall seconds, CPU seconds of the command and every process it waited for)."""
    cpu = children_cpu_seconds()
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for line in process.stdout:
            out.write(f"{time.perf_counter() - started:9.3f} {line}")
        code = process.wait()
        seconds = time.perf_counter() - started
        out.write(f"{seconds:9.3f} (exit {code})\n")
    if code != 0:
        raise SystemExit(f"`{' '.join(command)}` exited {code}; log: {log}")
    return seconds, children_cpu_seconds() - cpu


@dataclass
class Stage:
    name: str
    start: float
    command_end: float | None = None
    saved: float | None = None
    staged: float | None = None
    end: float | None = None  # the next stage's start, or the experiment's end

    @property
    def kind(self) -> str:
        return self.name.split("@")[0]


@dataclass
class Breakdown:
    total: float
    stages: list[Stage] = field(default_factory=list)
    experiment_end: float = 0.0  # DVC's last line (the driver's summary and plots come after)

    def trained(self) -> list[str]:
        return [stage.name.split("@", 1)[1] for stage in self.stages if stage.kind == "train"]

    def parts(self) -> dict[str, list[float]]:
        """{part: [seconds per stage]} (command time by stage kind; DVC's work after each)."""
        parts: dict[str, list[float]] = defaultdict(list)
        for stage in self.stages:
            parts[f"command: {stage.kind}"].append(stage.command_end - stage.start)
            parts["DVC: hash + cache the outputs"].append(stage.saved - stage.command_end)
            parts["DVC: update dvc.lock + git add"].append((stage.staged or stage.end) - stage.saved)
            parts["DVC: remove next outputs, start"].append(stage.end - (stage.staged or stage.end))
        parts["DVC: before the first stage"].append(self.stages[0].start)
        return parts


def parse(log: Path) -> Breakdown:
    """The stages of one stamped `-v` log: start, command end, outputs saved, lock staged."""
    stages: list[Stage] = []
    total = last_dvc = 0.0
    for raw in log.read_text().splitlines():
        stamp, _, line = raw.strip().partition(" ")
        try:
            t = float(stamp)
        except ValueError:
            continue
        total = t
        if match := RUNNING.match(line):
            if stages and stages[-1].end is None:
                stages[-1].end = t
            stages.append(Stage(match.group(1), t))
            continue
        if DEBUG.match(line):
            last_dvc = t
            if stages and stages[-1].command_end is None:
                stages[-1].command_end = t
        if stages and (match := REPRODUCED.search(line)) and match.group(1) == stages[-1].name:
            stages[-1].saved = t
        elif stages and STAGED in line and stages[-1].saved is not None:
            stages[-1].staged = t
    if not stages:
        raise SystemExit(f"{log}: no `Running stage` line (a -v log of dvc exp run?)")
    if stages[-1].saved is None:  # an interrupted run's log: its last stage never finished
        print(f"  ({log}: stage {stages.pop().name} did not finish; left out)")
    stages[-1].end = stages[-1].end or stages[-1].staged or last_dvc
    return Breakdown(total, stages, experiment_end=stages[-1].end)


def experiment_files(clone: Path, name: str, runs: list[str]) -> dict[str, dict]:
    """metrics/record/<run>/train.json of the experiment `name`'s `runs`, from its commit
    (which also holds the baseline's records of runs it did not make: extra seeds)."""
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/exps"], cwd=clone, capture_output=True, text=True
    ).stdout.split()
    ref = next((r for r in refs if r.endswith("/" + name)), None)
    if ref is None:
        return {}
    return {
        run: json.loads(
            subprocess.run(
                ["git", "show", f"{ref}:metrics/record/{run}/train.json"], cwd=clone, capture_output=True, text=True
            ).stdout
        )
        for run in runs
    }


def experiment_of(log: Path) -> str | None:
    match = re.search(r"Reproducing experiment '([^']+)'", log.read_text())
    return match and match.group(1)


def probe(command: str, env: dict, repeats: int = 3) -> float:
    """Median wall seconds of `python -c <command>`."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", command], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def print_breakdown(label: str, breakdown: Breakdown, train: dict[str, dict], keras_start: float) -> None:
    parts = breakdown.parts()
    rows = []
    for kind in KINDS:
        key = f"command: {kind}"
        if key in parts:
            rows.append((key, parts[key]))
    for key in sorted(k for k in parts if k.startswith("DVC")):
        rows.append((key, parts[key]))
    after = breakdown.total - breakdown.experiment_end
    print(f"\n== {label}: {breakdown.total:.1f} s wall, {len(breakdown.stages)} stages")
    print(f"  {'part':38} {'n':>3} {'total s':>8} {'per stage s':>12} {'share':>6}")
    for key, values in rows:
        total = sum(values)
        print(f"  {key:38} {len(values):3d} {total:8.1f} {total / len(values):12.2f} {total / breakdown.total:6.1%}")
    print(f"  {'after the last stage (commit, summary, plots)':38} {'':3} {after:8.1f}")
    trainings = sum(info.get("train_seconds", 0.0) for info in train.values())
    n_tf = sum(1 for s in breakdown.stages if s.kind in ("train", "evaluate"))
    if train:
        train_cmd = sum(parts.get("command: train", []))
        print(
            f"  of the train commands: training (train_seconds) {trainings:.1f} s, the rest "
            f"(start-up, data, saving, exit) {train_cmd - trainings:.1f} s"
        )
    print(
        f"  `python -c 'import keras'` takes {keras_start:.2f} s: {n_tf} TensorFlow stages pay "
        f"{n_tf * keras_start:.1f} s of start-up"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="readme,quick", help="comma-separated, run alternately")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each variant (default 2)")
    parser.add_argument("--dir", type=Path, help="work here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the clone, logs and experiments")
    parser.add_argument("--analyze", type=Path, nargs="*", help="only print the breakdown of these logs")
    parser.add_argument("--clone", type=Path, help="with --analyze: the clone the logs' experiments are in")
    parser.add_argument("--mnist", default=DEFAULT_MNIST)
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "MNIST_SOURCE": args.mnist,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "DVC_NO_ANALYTICS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    keras_start = probe("import keras", env)
    if args.analyze:
        for log in args.analyze:
            breakdown = parse(log)
            name = experiment_of(log)
            train = experiment_files(args.clone, name, breakdown.trained()) if args.clone and name else {}
            print_breakdown(str(log), breakdown, train, keras_start)
        return

    base = Path(args.dir or tempfile.mkdtemp(prefix="quick-look-"))
    base.mkdir(parents=True, exist_ok=True)
    clone = base / "clone"
    if not clone.exists():
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["dvc", "config", "core.analytics", "false"], cwd=clone, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True)
    variants = args.variants.split(",")
    python_start = probe("pass", env)
    print(
        f"benchmarks.quick_look {time.strftime('%Y-%m-%d %H:%M:%S')}: commit {head.stdout.strip()}, "
        f"{len(os.sched_getaffinity(0))} cores, niceness {os.nice(0)}, load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; in {clone}\n"
        f"  start-up probes: python -c pass {python_start:.2f} s, python -c 'import keras' {keras_start:.2f} s",
        flush=True,
    )
    times: dict[str, list[float]] = {v: [] for v in variants}
    cpus: dict[str, list[float]] = {v: [] for v in variants}
    for repeat in range(args.repeats):
        order = variants if repeat % 2 == 0 else variants[::-1]
        for variant in order:
            name = f"bench-{variant}-{repeat + 1}-{time.strftime('%H%M%S')}"
            log = base / f"{name}.log"
            seconds, cpu = stamped_run(variant_command(variant, name), clone, env, log)
            times[variant].append(seconds)
            cpus[variant].append(cpu)
            breakdown = parse(log)
            print_breakdown(
                f"{variant}, run {repeat + 1} ({cpu:.0f} CPU s; load average {os.getloadavg()[0]:.1f}; log {log})",
                breakdown,
                experiment_files(clone, name, breakdown.trained()),
                keras_start,
            )
            done = ", ".join(f"{v} {statistics.median(ts):.1f} s (n={len(ts)})" for v, ts in times.items() if ts)
            print(f"  medians so far: {done}", flush=True)
            if not args.keep:
                subprocess.run(["dvc", "exp", "remove", name], cwd=clone, env=env, capture_output=True)
    print("\n== wall time of the whole command, median of alternating runs")
    for variant in variants:
        runs = ", ".join(f"{t:.1f}" for t in times[variant])
        print(
            f"  {variant:8} {statistics.median(times[variant]):7.1f} s   (runs: {runs}); "
            f"CPU {statistics.median(cpus[variant]):.0f} s"
        )
    if len(variants) == 2:
        a, b = (statistics.median(times[v]) for v in variants)
        print(f"  ratio {variants[0]} / {variants[1]}: {a / b:.2f}x (above 1: {variants[1]} faster)")


if __name__ == "__main__":
    main()
