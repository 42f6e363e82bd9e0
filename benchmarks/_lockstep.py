"""The parent side: start one worker process per variant and let them take turns.

Only one worker computes at a time; the others wait at a fixed point. Run r goes
through the variants in order, run r+1 in reverse order (A B, B A, A B, ...), so a
drift in machine speed (other jobs, thermal state) hits every variant alike, and the
medians and ratios compare like with like. Warm-up (start-up, tracing, the first steps
or epoch) runs in all workers at once and is never timed.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class WorkerFailed(RuntimeError):
    pass


class Worker:
    def __init__(self, name: str, config: dict, log_dir: Path):
        self.name, self.config = name, config
        self.log_path = log_dir / f"{name.replace(' ', '_').replace('/', '_')}.log"
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks._worker", json.dumps(config)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                bufsize=1,
            )
        self.started: dict = {}

    def receive(self, expected: str) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            tail = "".join(self.log_path.read_text().splitlines(keepends=True)[-25:])
            raise WorkerFailed(f"worker {self.name!r} exited with {code}; end of {self.log_path}:\n{tail}")
        message = json.loads(line)
        if message["event"] != expected:
            raise WorkerFailed(f"worker {self.name!r}: expected {expected!r}, got {message}")
        return message

    def go(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def alternate(configs: dict[str, dict], log_dir: Path | None = None, progress=print) -> dict:
    """Run every phase of `configs` (name -> worker config, all with the same phases) in lockstep.

    Returns {"started": {name: message}, "phases": [{name: [chunk messages]}], "done": {name: message}}.
    """
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="bench-logs-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    phases = next(iter(configs.values()))["phases"]
    workers = [Worker(name, config, log_dir) for name, config in configs.items()]
    result = {"log_dir": str(log_dir), "started": {}, "phases": [], "done": {}}
    try:
        for worker in workers:
            result["started"][worker.name] = worker.receive("started")
        for phase in phases:
            progress(f"  {phase['phase']} phase: warming up {len(workers)} workers (in parallel, not timed)")
            for worker in workers:
                worker.receive("ready")
            chunks = {worker.name: [] for worker in workers}
            for run in range(phase["repeats"]):
                order = workers if run % 2 == 0 else workers[::-1]
                for worker in order:
                    worker.go()
                    chunks[worker.name].append(worker.receive("chunk"))
                progress(
                    f"  {phase['phase']} run {run + 1}/{phase['repeats']}: "
                    + ", ".join(f"{w.name} {chunks[w.name][-1]['seconds']:.2f} s" for w in order)
                )
            result["phases"].append(chunks)
            for worker in workers:
                worker.go()  # released to finish the phase (untimed) and go on
        for worker in workers:
            result["done"][worker.name] = worker.receive("done")
            worker.process.wait()
    finally:
        for worker in workers:
            worker.stop()
    return result


def median(values) -> float:
    return statistics.median(values)


def fmt_runs(values, digits=0) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


# -- the CPU's fp32 peak -----------------------------------------------------------------------


def cpu_peak(override_gflops: float | None = None) -> tuple[float, str]:
    """(GFLOP/s, how it was derived): physical cores x GHz x fp32 FLOP per cycle per core."""
    if override_gflops:
        return override_gflops, f"{override_gflops:g} GFLOP/s (--peak-gflops)"
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    blocks = [b for b in info.split("\n\n") if b.strip()]
    fields = [
        dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in b.splitlines())) for b in blocks
    ]
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    fields = [f for f in fields if f.get("processor", "").isdigit() and int(f["processor"]) in usable] or fields
    cores = (
        len({(f.get("physical id"), f.get("core id")) for f in fields})
        if fields and "core id" in fields[0]
        else len(usable)
    )
    model = fields[0].get("model name", platform.processor()) if fields else platform.processor()
    mhz, source = _max_mhz()
    if mhz is None and fields and "cpu MHz" in fields[0]:
        mhz, source = max(float(f["cpu MHz"]) for f in fields), "/proc/cpuinfo 'cpu MHz'"
    flags = set(fields[0].get("flags", "").split()) if fields else set()
    if "avx512f" in flags:
        per_cycle, isa = 64, "AVX-512 FMA: 2 units x 16 fp32 lanes x 2 FLOP"
    elif {"avx2", "fma"} <= flags:
        per_cycle, isa = 32, "AVX2 FMA: 2 units x 8 fp32 lanes x 2 FLOP"
    elif "avx" in flags:
        per_cycle, isa = 16, "AVX: 8-lane add + 8-lane multiply"
    else:
        per_cycle, isa = 8, "SSE: 4-lane add + 4-lane multiply"
    if not mhz:
        return float("nan"), "unknown (no clock speed found; pass --peak-gflops)"
    peak = cores * mhz / 1000 * per_cycle
    return peak, (
        f"{cores} cores x {mhz / 1000:.3f} GHz x {per_cycle} FLOP/cycle = {peak:.1f} GFLOP/s "
        f"[{model}; cores: /proc/cpuinfo (physical id, core id) pairs usable by this process; "
        f"GHz: {source}; FLOP/cycle: {isa}, from the cpu flags]"
    )


def _max_mhz():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "CPU max MHz" and value.strip():
            return float(value), "lscpu 'CPU max MHz'"
    return None, None


def load_average() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")
