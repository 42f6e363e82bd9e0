"""stages.tools.prune: once params.yaml drops an architecture, `dvc_sync` removes its dvc.lock
entries (which DVC keeps for foreach items it no longer generates) and its record folders,
and leaves every other byte of dvc.lock as it was."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stages.tools import prune

from conftest import of_arch

ROOT = Path(__file__).resolve().parent.parent


def removed_lines_only(before: str, after: str) -> list[str]:
    """The lines `after` lacks; fails if it adds or changes any."""
    diff = [d for d in difflib.ndiff(before.splitlines(), after.splitlines()) if d[:1] in "+-?"]
    assert not [d for d in diff if d[:1] != "-"], "lines added or changed, not only removed"
    return [d[2:] for d in diff]


def test_an_architecture_s_entries_are_cut_out_and_every_other_byte_kept():
    text = (ROOT / "dvc.lock").read_text()
    stages = yaml.safe_load(text)["stages"]
    arch = next(name.partition("@")[2] for name in stages if name.startswith("train@"))
    gone = {name for name in stages if of_arch(name, arch)}
    assert {f"train@{arch}", f"evaluate@{arch}", f"record@{arch}"} <= gone
    kept = prune.without_entries(text, gone)
    assert yaml.safe_load(kept)["stages"] == {k: v for k, v in stages.items() if k not in gone}
    removed = removed_lines_only(text, kept)
    assert {line for line in removed if line.startswith("  ") and not line.startswith("   ")} == {
        f"  {name}:" for name in gone
    }


def test_the_last_entry_and_a_quoted_name():
    text = "schema: '2.0'\nstages:\n  a:\n    cmd: echo a\n  'b@x':\n    cmd: echo b\n    outs:\n    - path: b\n"
    assert prune.without_entries(text, {"b@x"}) == "schema: '2.0'\nstages:\n  a:\n    cmd: echo a\n"
    assert (
        prune.without_entries(text, {"a"})
        == "schema: '2.0'\nstages:\n  'b@x':\n    cmd: echo b\n    outs:\n    - path: b\n"
    )
    assert prune.without_entries(text, set()) == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("stages: [\n", "dvc.lock: not YAML"),
        ("stages:\n    a:\n      cmd: x\n", "not laid out as DVC writes them"),
    ],
)
def test_a_lock_it_cannot_cut_safely_is_named_and_left_alone(text, message):
    with pytest.raises(prune.PruneError, match=message):
        prune.without_entries(text, {"a"})


def test_records_of_runs_the_study_no_longer_has_are_removed(tmp_path):
    params = {"architectures": {"kept": {}}, "train": {"seed": 0, "extra_seeds": [1]}}
    records = tmp_path / "metrics" / "record"
    for run in ("kept", "kept-seed1", "kept-seed2", "gone", "gone-seed1"):
        (records / run).mkdir(parents=True)
        (records / run / "metrics.json").write_text("{}")
    assert prune.prune_records(tmp_path, params) == ["gone", "gone-seed1", "kept-seed2"]
    assert sorted(p.name for p in records.iterdir()) == ["kept", "kept-seed1"]


@pytest.mark.slow  # runs the dvc CLI
def test_dvc_sync_prunes_a_removed_architecture_from_both_pipelines(tmp_path):
    """The real dvc.lock files and records, in a copy: drop an architecture from params.yaml and
    run dvc_sync as users do; its lock entries and records go, the rest stays byte for byte, and
    dvc.yaml's stages are as they were (only the top-level plots name the architectures)."""
    copy = tmp_path / "project"
    for name in ("stages", "params.yaml", "dvc.yaml", "dvc.lock", "notebook", "metrics/record", "reference"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "plots", "models", "data")
            )
        else:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=copy, check=True, env=env)
    params = yaml.safe_load((copy / "params.yaml").read_text())
    gone = list(params["architectures"])[-1]
    del params["architectures"][gone]
    for comparison in params["report"]["comparisons"]:
        comparison["architectures"] = [a for a in comparison["architectures"] if a != gone]
        comparison["pairs"] = [p for p in comparison["pairs"] if gone not in p]
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = {name: (copy / name).read_text() for name in ("dvc.yaml", "dvc.lock", "notebook/dvc.lock")}

    synced = subprocess.run(
        [sys.executable, "-m", "stages.tools.dvc_sync"], cwd=copy, env=env, capture_output=True, text=True, timeout=300
    )
    assert synced.returncode == 0, synced.stderr
    assert f"removed from dvc.lock: evaluate@{gone}" in synced.stdout, synced.stdout
    assert f"removed from notebook/dvc.lock: evaluate@{gone}" in synced.stdout, synced.stdout

    for lock in ("dvc.lock", "notebook/dvc.lock"):
        after = (copy / lock).read_text()
        left = [name for name in yaml.safe_load(after)["stages"] if of_arch(name, gone)]
        assert not left, f"{lock}: {left}"
        removed = removed_lines_only(before[lock], after)
        assert f"  train@{gone}:" in removed and f"  record@{gone}:" in removed
        old = yaml.safe_load(before[lock])["stages"]
        assert yaml.safe_load(after)["stages"] == {k: v for k, v in old.items() if not of_arch(k, gone)}
    records = sorted(p.name for p in (copy / "metrics" / "record").iterdir())
    assert records and not [r for r in records if r == gone or r.startswith(f"{gone}-seed")]
    assert not (copy / "notebook" / "metrics" / "record" / gone).exists()
    stages_part = before["dvc.yaml"].split("\nplots:\n", 1)[0]
    assert (copy / "dvc.yaml").read_text().split("\nplots:\n", 1)[0] == stages_part, "dvc.yaml's stages changed"

    again = subprocess.run(
        [sys.executable, "-m", "stages.tools.dvc_sync"], cwd=copy, env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0 and again.stdout.strip() == "dvc.yaml files are up to date", again.stdout
