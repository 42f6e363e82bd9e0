"""params.yaml's `seeds` section: its own DVC stages (the committed runs' stages untouched) and
`python -m stages.tools.plan --write`, which fills it."""

from __future__ import annotations

import copy
import difflib
from pathlib import Path

import yaml
from test_report import make_project, synthetic_params

from stages.common import layout
from stages.tools import dvc_sync, plan

ROOT = Path(__file__).resolve().parent.parent
PARAMS = layout.load_params(ROOT / "params.yaml")


def _with_seeds(seeds: dict) -> dict:
    params = copy.deepcopy(PARAMS)
    params["seeds"] = seeds
    return params


def test_added_seeds_only_add_stages():
    """Every line of dvc.yaml without added seeds is still there, in order: no existing stage's
    name, command, deps or params changes (what keeps the 48 committed runs' `dvc status`)."""
    arch = next(iter(PARAMS["architectures"]))
    before = dvc_sync.render(_with_seeds({}))
    after = dvc_sync.render(_with_seeds({arch: [7, 8]}))
    removed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("- ")]
    assert removed == []
    added = yaml.safe_load(after)["stages"].keys() - yaml.safe_load(before)["stages"].keys()
    assert added == {"train_more", "evaluate_more", "record_more"}
    stage = yaml.safe_load(after)["stages"]["train_more"]
    assert list(stage["foreach"]) == [f"{arch}-7", f"{arch}-8"]
    assert stage["do"]["cmd"] == "python -m stages.train ${item.arch} --seed ${item.seed}"
    assert "seeds" not in str(stage["do"]["params"])  # a seed added elsewhere never makes these stale


def test_an_empty_section_adds_nothing_and_the_notebook_pipeline_has_none():
    assert dvc_sync.seed_stages(_with_seeds({})) == {}
    notebook = dvc_sync.NOTEBOOK.params(_with_seeds({next(iter(PARAMS["architectures"])): [7]}))
    assert notebook["seeds"] == {}
    assert yaml.safe_load((ROOT / "notebook" / "params.yaml").read_text())["seeds"] == {}
    assert PARAMS["seeds"] == {} or isinstance(PARAMS["seeds"], dict)


def test_plan_writes_the_proposed_seeds_into_params_yaml(tmp_path, capsys):
    params = synthetic_params()
    params["seeds"] = {}
    root = make_project(tmp_path / "p", params)
    text = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text(text.replace("seeds: {}", "# more seeds\nseeds: {}\n# kept"))
    assert plan.main(["--root", str(root), "--write"]) == 0
    out = capsys.readouterr().out
    assert "conv2_k3_wide" in out and "hours of training" in out and "make dvc-sync" in out
    written = yaml.safe_load((root / "params.yaml").read_text())
    # the undecided pair conv2_k3_wide − conv2_k3: both get the same seeds, the smallest unused (3, 4, ...)
    assert set(written["seeds"]) == {"conv2_k3_wide", "conv2_k3"}
    assert written["seeds"]["conv2_k3"][0] == 3 and written["seeds"]["conv2_k3"] == written["seeds"]["conv2_k3_wide"]
    assert "# more seeds" in (root / "params.yaml").read_text() and "# kept" in (root / "params.yaml").read_text()
    assert {k: v for k, v in written.items() if k != "seeds"} == {k: v for k, v in params.items() if k != "seeds"}


def test_plan_without_a_seeds_entry_says_so(tmp_path, capsys):
    params = synthetic_params()
    params.pop("seeds", None)
    root = make_project(tmp_path / "p", params)
    assert plan.main(["--root", str(root), "--write"]) == 1
    assert "no top-level `seeds:` entry" in capsys.readouterr().err
