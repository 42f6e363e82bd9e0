"""Ctrl-C or SIGTERM ends a stage with one line, not a wall of tracebacks."""

from __future__ import annotations

import contextlib
import signal
import sys


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def exit_quietly_on_interrupt(what: str):
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    except KeyboardInterrupt:
        print(f"\n{what}: interrupted; finished epochs are kept, rerun `dvc repro` to resume.",
              file=sys.stderr, flush=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_stage(description: str, verb: str, run, argv=None):
    """The shared CLI of the per-run stages: `<arch> [--seed N]`, run quietly interruptible.

    Returns the run's paths and whatever `run(arch, seed)` returned.
    """
    import argparse

    from stages.config import RunPaths

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", help="architecture id (a key of `architectures` in params.yaml)")
    parser.add_argument("--seed", type=int, default=None, help="one of train.extra_seeds (default: the main run)")
    args = parser.parse_args(argv)
    paths = RunPaths(args.arch, args.seed)
    with exit_quietly_on_interrupt(f"{verb} {paths.name}"):
        return paths, run(args.arch, args.seed)
