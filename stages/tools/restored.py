"""Did `dvc repro` restore every run's stages from the run-cache, or did some train here?

    python -m stages.tools.restored snapshot DIR        # before `dvc repro`
    python -m stages.tools.restored check DIR [--all]   # after it; --all: every run must be in dvc.lock

Read as data, not from DVC's log: dvc.lock (each stage's outputs now) and the run-cache (each
entry a stage's command, deps, params and outputs, under `$(dvc cache dir)/runs/`). A stage that
made a run's model or metrics was restored if its outputs are those of a run-cache entry that was
there before `dvc repro`, or if its dvc.lock entry did not change (up to date, or pulled). One that
trained here has outputs no earlier entry has: its train record holds its own timings.
Used by `make run JOBS=N` (stages.tools.workers) and the study's aggregator (study-aggregate.sh).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from stages.common import layout
from stages.study_runs import study_runs


def lock_stages(root: Path) -> dict:
    path = root / "dvc.lock"
    return (yaml.safe_load(path.read_text()) or {}).get("stages") or {} if path.is_file() else {}


def outputs(entry: dict) -> list:
    """A lock or run-cache entry's outputs as sorted [path, md5] pairs."""
    return sorted([out["path"], out.get("md5")] for out in entry.get("outs") or [])


def snapshot(root: Path) -> dict:
    """dvc.lock's stages and every run-cache entry's outputs, as JSON data."""
    out = subprocess.run(["dvc", "cache", "dir"], cwd=root, capture_output=True, text=True, check=True).stdout
    entries = sorted((Path(out.strip()) / "runs").rglob("*"))
    return {
        "lock": lock_stages(root),
        "run_cache": [outputs(yaml.safe_load(f.read_text()) or {}) for f in entries if f.is_file()],
    }


def per_run_stages(lock: dict, runs: list) -> dict[str, str]:
    """{stage: run name} of the stages in dvc.lock that make a run's model or metrics."""
    files = {str(getattr(r, kind).relative_to(layout.ROOT)): r.name for r in runs for kind in ("model", "metrics")}
    return {name: files[p] for name, entry in lock.items() for p, _ in outputs(entry) if p in files}


def compare(before: dict, root: Path, runs: list) -> tuple[dict[str, str], list[str], list[str]]:
    """(the per-run stages in dvc.lock now, those that ran here, the runs lacking a train or evaluate stage)."""
    after = lock_stages(root)
    stages = per_run_stages(after, runs)
    cached = {json.dumps(outs) for outs in before["run_cache"]}
    ran = [s for s in stages if after[s] != before["lock"].get(s) and json.dumps(outputs(after[s])) not in cached]
    missing = [r.name for r in runs if list(stages.values()).count(r.name) < 2]
    return stages, ran, missing


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("snapshot", "check"):
        raise SystemExit(__doc__)
    state, root = Path(argv[1]) / "before.json", Path(".")
    if argv[0] == "snapshot":
        state.write_text(json.dumps(snapshot(root)))
        return 0
    runs = study_runs(layout.load_params(root / "params.yaml"))
    stages, ran, missing = compare(json.loads(state.read_text()), root, runs)
    if ran:
        print(
            f"study-aggregate: these stages ran here instead of being restored from the run-cache: {', '.join(ran)}",
            file=sys.stderr,
        )
        return 1
    if missing and "--all" in argv:
        print(
            f"study-aggregate: {len(missing)} of {len(runs)} runs lack a train or evaluate stage: {missing}",
            file=sys.stderr,
        )
        return 1
    print(f"study-aggregate: {len(stages)} train/evaluate stages restored from the run-cache or up to date, none ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
