"""Train N runs at a time with DVC's experiment queue, then finish with one `dvc repro`.

    python -m stages.tools.workers --jobs 2      # `make run JOBS=2`

1. Sets `numerics.threads` in params.yaml to max(1, cores // N), so N workers do not
   oversubscribe the cores (written the way `dvc exp run -S` writes params, comments kept).
   The thread count is a param of every training and evaluation stage: a result computed
   with 1 thread is never served from the run-cache as a 2-thread one. The new value stays
   in params.yaml (and dvc.lock): a later plain `dvc repro` keeps it; setting it back
   retrains every run. Runs are deterministic for a given thread count, not across counts.
2. `dvc repro prepare` once in the workspace.
3. Queues one experiment per run (`evaluate@<arch>`, `evaluate_seed@<arch>-<seed>`), starts
   N queue workers (`dvc queue start -j N`) and waits for them. Queued experiments run in
   copies under .dvc/tmp/exps/ that share this repository's DVC cache, so every stage they
   finish lands in the run-cache.
4. `dvc repro` in the workspace: each finished stage is restored from the run-cache, only the
   report runs, and dvc.lock ends as if one `dvc repro` had trained everything. Whether a stage
   ran instead is read from dvc.lock and the run-cache (`stages.tools.restored`).
5. Removes the experiments it queued (their refs and queue entries), never others.

Queued experiments see committed files and modified tracked ones, not untracked files
(DVC's queue stashes the workspace without them): `git add` new files first.

Ctrl-C (or SIGTERM) while the workers train: the runs it queued are taken off the queue
(`dvc queue remove`), the running ones are killed (`dvc queue kill`), the workers stopped
(`dvc queue stop`) and its experiments removed. Stages that had finished stay in the
run-cache: run the command again and it trains only the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from stages.common import layout
from stages.study_runs import stage_name, study_runs
from stages.tools import restored

THREADS_KEY = "numerics.threads"
UNFINISHED = {"Queued", "Running"}
LOG_TAIL_LINES = 40


class WorkersError(Exception):
    """Something the user must look at; printed as one paragraph, exit status 1."""


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def threads_per_worker(jobs: int, cores: int) -> int:
    return max(1, cores // jobs)


def run_targets(params: dict) -> list[str]:
    """The last stage of every run of `stages.study_runs`, in its order."""
    return [stage_name(params, "evaluate", run) for run in study_runs(params)]


def experiment_name(token: str, run: layout.RunPaths) -> str:
    """A git-ref-safe experiment name: `workers-<token>-<run name>`."""
    return f"workers-{token}-{run.name}"


def run_of_experiment(name: str, runs: list):
    """The run (a RunPaths, or an object with `.paths`) that `experiment_name` named `name`, or None."""
    prefix, token, rest = (name.split("-", 2) + ["", ""])[:3]
    for run in runs:
        if prefix == "workers" and token.isdigit() and rest == getattr(run, "paths", run).name:
            return run
    return None


def set_threads(threads: int, path=layout.PARAMS_FILE) -> bool:
    """Write numerics.threads into params.yaml as `dvc exp run -S` would; False if already so."""
    from dvc.utils.hydra import apply_overrides

    if layout.load_params(path)["numerics"]["threads"] == threads:
        return False
    apply_overrides(path, [f"{THREADS_KEY}={threads}"])
    return True


# The venv's bin/ first on PATH: the queue workers DVC spawns run `dvc` and the stages `python`.
ENV = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}


def dvc(*args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess:
    command = ["dvc", *args]
    result = subprocess.run(
        command, cwd=layout.ROOT, text=True, env=ENV, capture_output=capture, stdin=subprocess.DEVNULL
    )
    if check and result.returncode != 0:
        detail = f":\n{result.stdout}{result.stderr}".rstrip() if capture else ""
        raise WorkersError(f"`{' '.join(command)}` exited {result.returncode}{detail}")
    return result


def shown_experiments(cwd=layout.ROOT, env: dict | None = None, waits=(1, 2, 4, 8)) -> list:
    """`dvc exp show --json` of HEAD's experiments. It fails while a queue worker is still creating
    its workspace, so a failure is asked again after each of `waits` seconds; WorkersError after the last."""
    command = ["dvc", "exp", "show", "--json", "--hide-workspace"]
    for wait in (*waits, None):
        result = subprocess.run(command, cwd=cwd, text=True, env=env, capture_output=True, stdin=subprocess.DEVNULL)
        if result.returncode == 0:
            return json.loads(result.stdout or "[]")
        if wait is None:
            raise WorkersError(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stderr}".rstrip())
        time.sleep(wait)


def queue_statuses() -> dict[str, str]:
    """{experiment name: Queued | Running | Success | Failed} of HEAD's experiments, from
    `dvc exp show --json` (`dvc queue status` has no machine-readable form)."""
    shown = shown_experiments(env=ENV)
    return {
        exp["name"]: str((exp.get("executor") or {}).get("state") or "success").capitalize()
        for baseline in shown
        for exp in baseline.get("experiments") or []
        if exp.get("name")
    }


def untracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=layout.ROOT,
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    return out.split()


def queue_runs(params: dict, runs: list[layout.RunPaths], token: str, threads: int, names: list[str]) -> None:
    """Queue one experiment per run, appending each name as soon as it is queued (so that
    Ctrl-C while queueing still removes the ones already there)."""
    for run in runs:
        name = experiment_name(token, run)
        target = stage_name(params, "evaluate", run)
        dvc("exp", "run", "--queue", "-n", name, "-S", f"{THREADS_KEY}={threads}", target, capture=True)
        names.append(name)
    print(f"workers: queued {len(names)} experiments: {', '.join(names)}", flush=True)


def wait(names: list[str], poll_seconds: float, idle_seconds: float = 120) -> dict[str, str]:
    """Poll the queue until none of `names` is queued or running; returns their statuses."""
    last, idle_since = None, None
    while True:
        statuses = queue_statuses()
        ours = {name: statuses.get(name, "Unknown") for name in names}
        counts = {
            state: sum(1 for s in ours.values() if s == state) for state in ("Success", "Failed", "Running", "Queued")
        }
        summary = ", ".join(f"{n} {state.lower()}" for state, n in counts.items() if n)
        if summary != last:
            print(f"[{time.strftime('%H:%M:%S')}] {summary}", flush=True)
            last = summary
        if not any(status in UNFINISHED for status in ours.values()):
            return ours
        # runs queued and none running for minutes (a worker takes the next one in seconds): the workers are gone
        idle_since = (idle_since or time.time()) if counts["Running"] == 0 else None
        if idle_since and time.time() - idle_since > idle_seconds:
            raise WorkersError("the DVC queue runs none of the queued runs (workers killed?): see `dvc queue status`")
        time.sleep(poll_seconds)


def log_tail(name: str) -> str:
    out = dvc("queue", "logs", name, capture=True, check=False)
    lines = (out.stdout + out.stderr).rstrip().splitlines()
    return "\n".join("    " + line for line in lines[-LOG_TAIL_LINES:])


def stop_runs(names: list[str]) -> None:
    """Take our queued runs off the queue, kill our running ones, stop the workers."""
    statuses = queue_statuses()
    queued = [n for n in names if statuses.get(n) == "Queued"]
    running = [n for n in names if statuses.get(n) == "Running"]
    if queued:
        dvc("queue", "remove", *queued, capture=True, check=False)
    if running:
        dvc("queue", "kill", *running, capture=True, check=False)
    dvc("queue", "stop", capture=True, check=False)


def remove_experiments(names: list[str]) -> None:
    """Forget what we queued: finished experiments' refs and every queue entry of ours."""
    statuses = queue_statuses()
    succeeded = [n for n in names if statuses.get(n) == "Success"]
    others = [n for n in names if n in statuses and n not in succeeded]
    if succeeded:
        dvc("exp", "remove", *succeeded, capture=True, check=False)
    if others:
        dvc("queue", "remove", *others, capture=True, check=False)


def run_workspace_repro(targets: list[str] | None) -> None:
    """The final `dvc repro`; then which runs' stages it restored and which ran here, from dvc.lock
    and the run-cache as data (`stages.tools.restored`)."""
    print("dvc repro in the workspace (finished stages come from the run-cache) ...", flush=True)
    before = restored.snapshot(layout.ROOT)
    result = subprocess.run(["dvc", "repro", *(targets or [])], cwd=layout.ROOT, env=ENV, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise WorkersError(f"`dvc repro` in the workspace exited {result.returncode} (output above)")
    stages, ran, _ = restored.compare(before, layout.ROOT, study_runs(layout.load_params()))
    print(
        f"workers: {len(stages) - len(ran)} train/evaluate stages restored from the run-cache or up to date; "
        f"{len(ran)} ran in the workspace" + (f": {', '.join(ran)}" if ran else ""),
        flush=True,
    )


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stages.tools.workers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", "-j", type=int, required=True, help="runs trained at a time (queue workers)")
    parser.add_argument(
        "--cores",
        type=int,
        default=None,
        help=f"cores to share among the workers (default: usable cores, {available_cores()} here)",
    )
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between polls of `dvc exp show --json`")
    parser.add_argument(
        "--final-targets",
        nargs="*",
        default=["dvc.yaml"],
        help="targets of the workspace `dvc repro` (default: dvc.yaml, the main pipeline, as `make run`)",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")

    signal.signal(signal.SIGTERM, _terminate)
    names: list[str] = []
    try:
        statuses = queue_statuses()
        busy = sorted(n for n, s in statuses.items() if s in UNFINISHED)
        if busy:
            raise WorkersError(
                f"the DVC queue already holds queued or running experiments ({', '.join(busy)}); "
                "run them (`dvc queue start`) or remove them (`dvc queue remove --queued`) first"
            )
        untracked = untracked_files()
        if untracked:
            print(
                f"workers: warning: untracked files are not seen by queued experiments "
                f"(`git add` them if the pipeline needs them): {', '.join(untracked)}",
                flush=True,
            )

        threads = threads_per_worker(args.jobs, args.cores or available_cores())
        if set_threads(threads):
            print(f"workers: params.yaml: {THREADS_KEY} set to {threads} ({args.jobs} workers)", flush=True)
        dvc("repro", "prepare")

        params = layout.load_params()
        queue_runs(params, study_runs(params), f"{int(time.time()) % 10**6:06d}", threads, names)
        dvc("queue", "start", "-j", str(args.jobs))
        final = wait(names, args.poll)
        failed = [n for n, s in final.items() if s != "Success"]
        if failed:
            tails = "\n".join(f"  {n} ({final[n]}), last lines of `dvc queue logs {n}`:\n{log_tail(n)}" for n in failed)
            raise WorkersError(
                f"{len(failed)} of {len(names)} runs failed:\n{tails}\n"
                "Finished runs are in the run-cache: fix the cause and rerun; only the rest trains."
            )
        run_workspace_repro(args.final_targets)
    except KeyboardInterrupt:
        print("\nworkers: interrupted; stopping the queued runs ...", file=sys.stderr, flush=True)
        stop_runs(names)
        print(
            "workers: stopped. Finished stages are in the run-cache: rerun to train only the rest.",
            file=sys.stderr,
            flush=True,
        )
        return 130
    except WorkersError as error:
        print(f"workers: error: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        if names:
            remove_experiments(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
