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
