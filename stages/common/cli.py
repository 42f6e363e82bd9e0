"""The shared command line of the per-run stages (`<arch> [--seed N]`): a clear error in one
line, and Ctrl-C or SIGTERM ending the stage with one line, not a wall of tracebacks."""

from __future__ import annotations

import contextlib
import signal
import sys


class StageError(Exception):
    """A problem the user can fix (a setting, an input); printed as one line, exit status 1."""


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def exit_quietly_on_interrupt(what: str):
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    except KeyboardInterrupt:
        print(
            f"\n{what}: interrupted; finished epochs are kept, rerun `dvc repro` to resume.",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)
    except StageError as error:
        print(f"{what}: error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_stage(description: str, verb: str, run, argv=None):
    """Parse `<arch> [--seed N]`, then call `run(arch, seed)` quietly interruptible.

    Returns the run's paths and whatever `run` returned.
    """
    import argparse

    from stages.common.layout import RunPaths

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", help="architecture id (a key of `architectures` in params.yaml)")
    parser.add_argument("--seed", type=int, default=None, help="one of train.extra_seeds (default: the main run)")
    args = parser.parse_args(argv)
    paths = RunPaths(args.arch, args.seed)
    with exit_quietly_on_interrupt(f"{verb} {paths.name}"):
        return paths, run(args.arch, args.seed)
