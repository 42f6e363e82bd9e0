"""Every tool's and script's list of runs is `stages.study_runs` over params.yaml, names from
`layout.RunPaths`: over the study's params.yaml, and over one with a `seeds` section added and
an architecture removed. No TensorFlow, no training; `dvc` only to name the pipeline's stages.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_progress import fake_dvc, run_status

from stages.common import layout
from stages.study_runs import stage_name, study_runs
from stages.tools import dvc_sync, readme_results, workers

from conftest import ROOT

SCRIPTS = ROOT / ".github" / "scripts"
STUDY = layout.load_params(ROOT / "params.yaml")


def with_seeds(params: dict) -> dict:
    """One more seed for the first architecture (the `seeds` section), and the last one gone."""
    changed = copy.deepcopy(params)
    first, last = list(changed["architectures"])[0], list(changed["architectures"])[-1]
    del changed["architectures"][last]
    changed["seeds"] = {first: [7]}
    return changed


PARAMS = {"params.yaml": STUDY, "with a seeds section": with_seeds(STUDY)}


@pytest.fixture(params=list(PARAMS))
def case(request, tmp_path) -> tuple[dict, list[str], Path]:
    """(params, the names of its runs, a folder holding it as params.yaml)."""
    params = PARAMS[request.param]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params, [run.name for run in study_runs(params)], tmp_path


def test_the_seeds_case_adds_a_run_and_drops_an_architectures():
    names, changed = [r.name for r in study_runs(STUDY)], [r.name for r in study_runs(with_seeds(STUDY))]
    first, last = list(STUDY["architectures"])[0], list(STUDY["architectures"])[-1]
    assert f"{first}-seed7" in changed and f"{first}-seed7" not in names
    assert last in names and not any(name.startswith(last) for name in changed)


def test_the_readme_table_counts_the_study_runs(case):
    params, names, _ = case
    _, per_arch = readme_results.runs_by_arch({}, params)
    assert [name for arch_names in per_arch.values() for name in arch_names] == names


def test_the_workflow_matrix_is_the_study_runs(case):
    _, names, folder = case
    out = subprocess.run(
        [sys.executable, str(SCRIPTS / "study-matrix.py"), "gpu", str(folder / "params.yaml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out.splitlines()[0].removeprefix("runs=")) == names


def test_the_worker_script_takes_every_study_run(case):
    params, names, folder = case
    out = subprocess.run(
        [sys.executable, str(SCRIPTS / "study-targets.py"), *names], cwd=folder, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == workers.run_targets(params)


def test_the_queued_experiments_map_back_to_the_study_runs(case):
    params, names, _ = case
    runs = study_runs(params)
    queued = [workers.experiment_name("123456", run) for run in runs]
    assert [workers.run_of_experiment(name, runs).name for name in queued] == names
    assert workers.run_of_experiment("someone-elses-experiment", runs) is None


def test_status_lists_the_study_runs(case, tmp_path):
    _, names, folder = case
    (folder / ".dvc").mkdir()
    out = run_status(folder, fake_dvc(tmp_path, {}, []))  # nothing stale, no experiments
    rows = [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")]
    assert rows[1:] == names


@pytest.mark.slow  # runs the dvc CLI
def test_the_targets_are_the_pipelines_stages_as_dvc_names_them(case):
    """DVC's own names for the stages dvc_sync generates: each run has its train and evaluate stage."""
    params, _, folder = case
    (folder / "dvc.yaml").write_text(dvc_sync.render(params))
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=folder, check=True)
    listed = subprocess.run(
        ["dvc", "stage", "list", "--name-only"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.split()
    for run in study_runs(params):
        assert {stage_name(params, "train", run), stage_name(params, "evaluate", run)} <= set(listed), run.name
