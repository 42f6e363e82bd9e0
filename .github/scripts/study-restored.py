"""Did `dvc repro` restore every run's stages from the run-cache, or did some train here?

Read as data, not from DVC's log: dvc.lock (what each stage's outputs are now) and the run-cache
(the outputs the workers pushed: each entry is a stage's command, deps, params and outs, under
`$(dvc cache dir)/runs/`). A stage that made a run's model or metrics passed if its outputs are
those of a run-cache entry that was here before `dvc repro`, or if its dvc.lock entry did not
change (it was up to date, or its outputs were pulled). One that trained here has outputs no
worker pushed: its train record holds its own timings.

usage: study-restored.py snapshot DIR        before `dvc repro`: dvc.lock and the run-cache's outputs
       study-restored.py check DIR [--all]   after it; --all: every run of params.yaml must be in dvc.lock
"""

import json
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: stages/

from stages.common import layout  # noqa: E402
from stages.study_runs import study_runs  # noqa: E402


def lock_stages(path: Path = Path("dvc.lock")) -> dict:
    return (yaml.safe_load(path.read_text()) or {}).get("stages") or {} if path.is_file() else {}


def outputs(entry: dict) -> list:
    """A lock or run-cache entry's outputs as sorted [path, md5] pairs (a directory's md5 ends in .dir)."""
    return sorted([out["path"], out.get("md5")] for out in entry.get("outs") or [])


def run_cache_outputs() -> list:
    cache = Path(subprocess.run(["dvc", "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip())
    return [outputs(yaml.safe_load(f.read_text()) or {}) for f in sorted((cache / "runs").rglob("*")) if f.is_file()]


def per_run_stages(lock: dict, runs: list) -> dict[str, str]:
    """{stage: run name} of the stages in dvc.lock that make a run's model or metrics."""
    files = {str(getattr(r, kind).relative_to(layout.ROOT)): r.name for r in runs for kind in ("model", "metrics")}
    return {name: files[p] for name, entry in lock.items() for p, _ in outputs(entry) if p in files}


def check(state: Path, every_run: bool) -> int:
    before, after = json.loads((state / "before.json").read_text()), lock_stages()
    runs = study_runs(layout.load_params("params.yaml"))
    stages = per_run_stages(after, runs)
    cached = {json.dumps(outs) for outs in before["run_cache"]}
    ran = [s for s in stages if after[s] != before["lock"].get(s) and json.dumps(outputs(after[s])) not in cached]
    if ran:
        print(
            f"study-aggregate: these stages ran here instead of being restored from the run-cache: {', '.join(ran)}",
            file=sys.stderr,
        )
        return 1
    missing = [r.name for r in runs if every_run and list(stages.values()).count(r.name) < 2]
    if missing:
        print(
            f"study-aggregate: {len(missing)} of {len(runs)} runs lack a train or evaluate stage: {missing}",
            file=sys.stderr,
        )
        return 1
    print(f"study-aggregate: {len(stages)} train/evaluate stages restored from the run-cache or up to date, none ran")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("snapshot", "check"):
        raise SystemExit(__doc__)
    folder = Path(sys.argv[2])
    if sys.argv[1] == "snapshot":
        (folder / "before.json").write_text(json.dumps({"lock": lock_stages(), "run_cache": run_cache_outputs()}))
        sys.exit(0)
    sys.exit(check(folder, "--all" in sys.argv[3:]))
