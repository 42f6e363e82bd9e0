"""`make quick`: the quick look, every architecture of params.yaml on 2,000 training images for
one epoch, one seed, tested on all 10,000 test images, as a temporary DVC experiment.

    python -m stages.tools.quick            # make quick
    python -m stages.tools.quick --force    # rerun every stage, none restored from the run-cache

It runs `dvc exp run --temp -n quick-<time> -S train.epochs=1 -S data.subset=2000
-S 'train.extra_seeds=[]'`: DVC copies the repository under .dvc/tmp/exps/, runs the pipeline
there and keeps the result as an experiment (`dvc exp show`, `dvc exp apply <name>`); your
workspace (params, dvc.lock, metrics, plots, models) stays as it was. Then it prints the
experiment's metrics/summary.md and writes its plots beside your workspace's with `dvc plots
diff <name>` into dvc_plots/<name>/index.html (git ignores dvc_plots/).

One difference from typing that command: the experiment starts from an empty dvc.lock. Every
stage of the quick configuration runs anyway (its params differ from the study's), and DVC
re-reads and rewrites the whole dvc.lock after each stage: with the study's 400 KB of entries
that is 3 s of CPU a stage, 39 times (benchmarks/README.md, "Quick look"). So dvc.lock is moved aside
while DVC snapshots the workspace for the experiment and put back, byte for byte, as soon as
the experiment starts (and on any error or Ctrl-C); the experiment's dvc.lock then holds
exactly its own 39 runs.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from stages.common import layout
from stages.tools.workers import ENV

QUICK_PARAMS = ("train.epochs=1", "data.subset=2000", "train.extra_seeds=[]")
STARTED = "Reproducing experiment"  # DVC's line once the experiment's copy is made
PLOTS_DIR = "dvc_plots"


class QuickError(Exception):
    """Printed as one line, exit status 1."""


def quick_command(name: str, force: bool = False, verbose: bool = False, params=QUICK_PARAMS) -> list[str]:
    command = ["dvc", "exp", "run", "--temp", "-n", name]
    command += ["-f"] * force + ["-v"] * verbose
    for param in params:
        command += ["-S", param]
    return command


class LockAside:
    """dvc.lock moved out of the workspace until `restore()` (idempotent), its bytes kept in
    memory and in .dvc/tmp/ (in case this process is killed: the message names that copy)."""

    def __init__(self, root: Path):
        self.lock = root / "dvc.lock"
        self.backup = root / ".dvc" / "tmp" / "quick-dvc.lock"
        self.data: bytes | None = None

    def __enter__(self):
        if self.lock.is_file():
            self.data = self.lock.read_bytes()
            self.backup.parent.mkdir(parents=True, exist_ok=True)
            self.backup.write_bytes(self.data)
            self.lock.unlink()
        return self

    def restore(self) -> None:
        if self.data is not None:
            self.lock.write_bytes(self.data)
            self.data = None
            self.backup.unlink(missing_ok=True)

    def __exit__(self, *exc):
        self.restore()


def run_experiment(command: list[str], root: Path, env: dict, fresh_lock: bool = True) -> list[str]:
    """Run `command` (a `dvc exp run --temp`), echoing its output; returns the output lines."""
    lines: list[str] = []
    with LockAside(root) if fresh_lock else contextlib.nullcontext() as aside:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            for line in process.stdout:
                if aside is not None and STARTED in line:
                    aside.restore()  # DVC has made its copy: the workspace's lock is not read again
                print(line, end="", flush=True)
                lines.append(line)
            returncode = process.wait()
        except BaseException:
            process.terminate()
            process.wait()
            raise
    if returncode != 0:
        raise QuickError(f"`{' '.join(command)}` exited {returncode}")
    return lines


def read_summary(name: str, root: Path) -> str:
    """The experiment's metrics/summary.md (kept in git, so in the experiment's commit)."""
    import dvc.api

    return dvc.api.read(str(layout.SUMMARY_FILE.relative_to(layout.ROOT)), repo=str(root), rev=name)


def write_plots(name: str, root: Path, env: dict) -> Path:
    """`dvc plots diff <name>`: the experiment's plots beside the workspace's, as one HTML page."""
    out = Path(PLOTS_DIR) / name
    result = subprocess.run(
        ["dvc", "plots", "diff", name, "-o", str(out)],
        cwd=root,
        env=env,
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise QuickError(f"`dvc plots diff {name}` exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", help="the experiment's name (default: quick-<date>-<time>)")
    parser.add_argument("--force", action="store_true", help="rerun every stage (dvc exp run -f): no run-cache")
    parser.add_argument("--verbose", action="store_true", help="DVC's debug log (dvc exp run -v)")
    parser.add_argument(
        "--keep-lock", action="store_true", help="run with the workspace's dvc.lock (about 3 s more of CPU per stage)"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip `dvc plots diff`")
    args = parser.parse_args(argv)

    root = layout.CODE_ROOT
    name = args.name or time.strftime("quick-%Y%m%d-%H%M%S")
    if shutil.which("dvc", path=ENV["PATH"]) is None:  # ENV: the venv's bin/ first; dvc.yaml calls `python`
        print("quick: error: no `dvc` on PATH (run `make venv`)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        run_experiment(quick_command(name, args.force, args.verbose), root, ENV, fresh_lock=not args.keep_lock)
        seconds = time.perf_counter() - started
        summary = read_summary(name, root)
        html = None if args.no_plots else write_plots(name, root, ENV)
    except QuickError as error:
        print(f"quick: error: {error}", file=sys.stderr)
        return 1
    print(f"\n== metrics/summary.md of experiment {name}\n")
    print(summary)
    print(f"quick: experiment {name} ran in {seconds:.0f} s; `dvc exp show` lists it, `dvc exp remove {name}` drops it")
    if html is not None:
        print(f"quick: plots (the experiment beside your workspace): {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
