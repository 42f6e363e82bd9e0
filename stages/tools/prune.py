"""What `dvc_sync` removes once params.yaml no longer has an architecture (or a seed).

DVC keeps the dvc.lock entries of `foreach`/`matrix` items that dvc.yaml no longer generates,
and the run's record (`metrics/record/<run>/`, git-kept outputs of its record stage) stays in
the workspace. Both would outlive the run: a stale lock entry is shown by nothing but read
by tools that walk dvc.lock, and a stale record folder is part of the report's input folder.
So after dvc_sync has written each pipeline's dvc.yaml, this removes, in each pipeline:

- the dvc.lock entries of stages that `dvc stage list` (DVC's own expansion of dvc.yaml) no
  longer names. The entries are cut out of the text, not re-dumped: DVC writes dvc.lock with
  ruamel's layout, which PyYAML does not reproduce (399 lines of today's dvc.lock would change),
  so every other entry stays byte for byte; the result is parsed back and must equal the old
  data without the removed entries.
- the record folders of runs that `stages.study_runs` no longer lists. git keeps them, so
  `git checkout` brings one back.

The DVC-cached outputs of a removed run (its model, history, live plots) are left in the
workspace: they are git-ignored and in DVC's cache, and deleting a trained model is the user's call.
The plot series and runs.json entries of a removed run go when the report reruns, since
it reads the runs params.yaml lists (`dvc repro` reruns it: its params include `architectures`).

    python -m stages.tools.prune     # what `python -m stages.tools.dvc_sync` runs after writing
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from stages.common import layout
from stages.common.atomic import write_text
from stages.common.records import RECORD_DIRNAME
from stages.study_runs import study_runs
from stages.tools.dvc_sync import PIPELINES


class PruneError(ValueError):
    """A file prune cannot read or rewrite safely; the message names it."""


def stage_names(folder: Path) -> set[str]:
    """The stages the folder's dvc.yaml defines, foreach and matrix items expanded by DVC."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "stage", "list", "--name-only", "--fail", "dvc.yaml"],
        cwd=folder,
        text=True,
        capture_output=True,
    )
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise PruneError(f"{folder / 'dvc.yaml'}: `dvc stage list` failed: {message[-1] if message else ''}")
    return set(result.stdout.split())


def _entry_spans(text: str) -> dict[str, tuple[int, int]]:
    """{stage name: (start, end) of its block in dvc.lock's text}: each entry of `stages:` starts
    at a line indented by two spaces and runs to the next such line or the end of the mapping."""
    body = re.search(r"^stages:\n", text, re.M)
    if body is None:
        return {}
    starts = list(re.finditer(r"^  (?! )([^\n:#][^\n]*?):[ \t]*$", text[body.end() :], re.M))
    end_of_stages = re.search(r"^\S", text[body.end() :], re.M)
    limit = body.end() + (end_of_stages.start() if end_of_stages else len(text) - body.end())
    spans = {}
    for i, match in enumerate(starts):
        start = body.end() + match.start()
        end = body.end() + starts[i + 1].start() if i + 1 < len(starts) else limit
        name = yaml.safe_load(match.group(1))  # a quoted name is unquoted
        spans[str(name)] = (start, end)
    return spans


def without_entries(text: str, names: set[str], where: str = "dvc.lock") -> str:
    """dvc.lock's text without the named stage entries; every other byte as it was."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise PruneError(f"{where}: not YAML: {error}") from error
    stages = data.get("stages") or {}
    spans = _entry_spans(text)
    if set(spans) != set(stages):
        raise PruneError(f"{where}: its stage entries are not laid out as DVC writes them; left as it is")
    kept = text
    for start, end in sorted((spans[name] for name in names if name in spans), reverse=True):
        kept = kept[:start] + kept[end:]
    expected = {**data, "stages": {k: v for k, v in stages.items() if k not in names}}
    if yaml.safe_load(kept) != expected:  # the cut must be exactly the entries
        raise PruneError(f"{where}: removing {sorted(names)} would change other entries; left as it is")
    return kept


def prune_lock(folder: Path) -> list[str]:
    """Remove the folder's dvc.lock entries of stages its dvc.yaml no longer has; their names."""
    lock = folder / "dvc.lock"
    if not lock.is_file():
        return []
    text = lock.read_text()
    locked = set((yaml.safe_load(text) or {}).get("stages") or {})
    stale = sorted(locked - stage_names(folder))
    if stale:
        write_text(lock, without_entries(text, set(stale), str(lock)))
    return stale


def prune_records(folder: Path, params: dict) -> list[str]:
    """Remove `metrics/record/<run>/` of runs the study no longer has; their names."""
    records = folder / layout.METRICS_DIR.relative_to(layout.ROOT) / RECORD_DIRNAME
    if not records.is_dir():
        return []
    runs = {run.name for run in study_runs(params)}
    stale = sorted(path.name for path in records.iterdir() if path.is_dir() and path.name not in runs)
    for name in stale:
        shutil.rmtree(records / name)
    return stale


def prune(folder: Path) -> list[str]:
    """Prune one pipeline's folder (its dvc.yaml, dvc.lock, params.yaml); what it removed, said."""
    params = layout.load_params(folder / "params.yaml")
    done = []
    where = folder.relative_to(layout.CODE_ROOT).as_posix() if folder != layout.CODE_ROOT else ""
    prefix = f"{where}/" if where else ""
    stale_entries = prune_lock(folder)
    if stale_entries:
        done.append(f"removed from {prefix}dvc.lock: {', '.join(stale_entries)}")
    stale_records = prune_records(folder, params)
    if stale_records:
        done.append(f"removed {prefix}metrics/{RECORD_DIRNAME}/: {', '.join(stale_records)}")
    return done


def main(folders: list[Path] | None = None) -> int:
    """Prune every pipeline of the study (the main one and the notebook's); 1 if one could not be."""
    folders = folders or [pipe.path("") for pipe in PIPELINES]
    status = 0
    for folder in folders:
        if not (folder / "dvc.yaml").is_file():
            continue
        try:
            for line in prune(folder):
                print(line)
        except (PruneError, OSError, yaml.YAMLError) as error:
            print(f"prune: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
