"""`python -m stages.tools.workers --jobs N` (`make run JOBS=N`): N queued DVC experiments train
the runs, then one workspace `dvc repro` restores every one of them from the run-cache."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from test_progress import background, watch

from stages.common.layout import PARAMS_FILE, RunPaths
from stages.tools import workers
from stages.tools.workers import experiment_name, run_targets, set_threads, threads_per_worker

from conftest import make_project, require_mnist, small_params

ARCHS = ("conv2_k3", "conv3_k5_bn")


@pytest.mark.parametrize("jobs, cores, threads", [(1, 2, 2), (2, 2, 1), (3, 2, 1), (4, 16, 4), (3, 16, 5)])
def test_threads_share_the_cores(jobs, cores, threads):
    assert threads_per_worker(jobs, cores) == threads


def test_one_target_per_run_in_study_runs_order():
    params = {"architectures": {"b": {}, "a": {}}, "train": {"seed": 0, "extra_seeds": [1, 2]}, "seeds": {"a": [7]}}
    assert run_targets(params) == [
        "evaluate@b",
        "evaluate_seed@b-1",
        "evaluate_seed@b-2",
        "evaluate@a",
        "evaluate_seed@a-1",
        "evaluate_seed@a-2",
        "evaluate_more@a-7",  # the seeds section's stages (dvc_sync.seed_stages)
    ]
    assert experiment_name("123456", RunPaths("a", 2)) == "workers-123456-a-seed2"


def experiments(*exps: tuple) -> str:
    """`dvc exp show --json` as DVC 3.67 prints it: the baseline, its experiments under it."""
    ranges = [
        {"revs": [{"rev": f"r{i}", "name": name}], "name": name, "executor": state and {"state": state, "local": {}}}
        for i, (name, state) in enumerate(exps)
    ]
    return json.dumps([{"rev": "abc", "name": "main", "experiments": ranges}, {"rev": "def", "experiments": None}])


def test_the_queue_is_read_from_dvc_exp_show_json(tmp_path, monkeypatch):
    shown = experiments(
        ("w-1-a", "queued"), ("w-1-b", "running"), ("w-1-c", "success"), ("w-1-d", "failed"), ("x", None)
    )
    (tmp_path / "dvc").write_text(f"#!/bin/sh\necho '{shown}'\n")
    (tmp_path / "dvc").chmod(0o755)
    monkeypatch.setattr(workers, "ENV", {**workers.ENV, "PATH": f"{tmp_path}:{workers.ENV['PATH']}"})
    assert workers.queue_statuses() == {
        "w-1-a": "Queued",
        "w-1-b": "Running",
        "w-1-c": "Success",
        "w-1-d": "Failed",
        "x": "Success",  # an experiment DVC ran outside the queue: done, no executor left
    }


def test_setting_threads_changes_one_line_of_params_yaml(tmp_path):
    copy = tmp_path / "params.yaml"
    shutil.copy(PARAMS_FILE, copy)
    current = yaml.safe_load(copy.read_text())["numerics"]["threads"]
    assert set_threads(current, copy) is False
    assert copy.read_text() == PARAMS_FILE.read_text()
    assert set_threads(current + 1, copy) is True
    before, after = PARAMS_FILE.read_text().splitlines(), copy.read_text().splitlines()
    assert len(before) == len(after)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) == 1, changed
    assert changed[0][1].startswith(f"  threads: {current + 1} ") and "#" in changed[0][1]  # comment kept


@pytest.mark.slow
def test_targets_are_the_pipelines_stage_names(tmp_path):
    require_mnist()
    params = small_params(ARCHS, train={"extra_seeds": [1]})
    project = make_project(tmp_path, params)
    stages = {line.split()[0] for line in project.run("dvc stage list").stdout.splitlines()}
    assert set(run_targets(params)) <= stages, sorted(stages)


@pytest.mark.slow
def test_two_workers_then_the_workspace_repro_trains_nothing(tmp_path):
    require_mnist()
    project = make_project(tmp_path, small_params(ARCHS, data={"subset": 500}))

    workers = background(project, "python -m stages.tools.workers --jobs 2 --cores 2 --poll 2")
    try:  # `make status` sees the runs training in the experiments' workspaces
        seen = watch(
            project, workers, lambda table: any(r[0] == "training" and "in experiment" in r[-1] for r in table.values())
        )
        print(f"status while the workers train:\n{seen}")
        assert seen, "never saw a run training in an experiment"
    finally:
        out = workers.communicate(timeout=3000)[0]
    assert workers.returncode == 0, out[-3000:]

    for arch in ARCHS:
        for stage in (f"train@{arch}", f"evaluate@{arch}"):
            assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in out, out[-3000:]
        assert (project.path / "models" / f"{arch}.keras").stat().st_size > 0
    assert "Running stage 'train" not in out and "Running stage 'evaluate" not in out
    assert f"workers: {2 * len(ARCHS)} train/evaluate stages restored from the run-cache or up to date; 0 ran" in out

    lock = yaml.safe_load(project.read("dvc.lock"))["stages"]
    per_run = {f"{s}@{a}" for a in ARCHS for s in ("train", "evaluate", "record")}
    assert set(lock) == {"validate", "prepare", "report", *per_run}
    assert lock[f"train@{ARCHS[0]}"]["params"]["params.yaml"]["numerics"]["threads"] == 1  # 2 cores / 2 workers
    assert yaml.safe_load(project.read("params.yaml"))["numerics"]["threads"] == 1
    assert "up to date" in project.run("dvc status dvc.yaml").stdout  # as if one `dvc repro` had run

    # Only its own experiments were created, and they are gone again.
    assert project.run("dvc exp list --all-commits").stdout.strip() == ""
    assert json.loads(project.run("dvc exp show --json --hide-workspace").stdout)[0]["experiments"] in (None, [])


def test_waiting_ends_when_every_run_is_done_or_when_none_runs_for_too_long(monkeypatch):
    polls = iter([{"a": "Queued", "b": "Running"}, {"a": "Running", "b": "Success"}, {"a": "Failed", "b": "Success"}])
    monkeypatch.setattr(workers, "queue_statuses", lambda: next(polls))
    assert workers.wait(["a", "b"], poll_seconds=0) == {"a": "Failed", "b": "Success"}

    monkeypatch.setattr(workers, "queue_statuses", lambda: {"a": "Queued", "b": "Success"})
    with pytest.raises(workers.WorkersError, match="runs none of the queued runs"):
        workers.wait(["a", "b"], poll_seconds=0.01, idle_seconds=0.05)
