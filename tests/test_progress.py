"""`make status` (`python -m stages.tools.progress`): each run's state from DVC's JSON and the
runs' own files, and the time left.

The fast tests build the files of a project by hand and put a stand-in `dvc` on PATH that
prints given JSON; the slow one runs a real `dvc repro` and asks the status while it trains.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from stages.common import layout, records
from stages.tools import progress
from stages.tools.progress import Run, changes, classify, read_run, time_left

from conftest import ROOT, make_project, require_mnist, small_params

EPOCHS = 4
PARAMS = {"architectures": {"a": {}, "b": {}}, "train": {"epochs": EPOCHS, "seed": 0, "extra_seeds": [1]}}


def put(folder: Path, path: Path, text: str, age: float = 0.0) -> Path:
    """Write a layout file under `folder` (a pipeline, or an experiment's copy), `age` seconds old."""
    file = folder / path.relative_to(layout.ROOT)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    os.utime(file, (time.time() - age, time.time() - age))
    return file


def history(epochs: int) -> str:
    return "epoch,loss\n" + "".join(f"{e},0.5\n" for e in range(1, epochs + 1))


def finished(folder: Path, paths: layout.RunPaths, epochs: int = EPOCHS, seconds: float = 40.0) -> None:
    put(folder, paths.train_info, json.dumps({"epochs": epochs, "train_seconds": seconds}))
    put(folder, paths.metrics, "{}")


def unfinished(folder: Path, paths: layout.RunPaths, epochs: int, seconds: float, age: float) -> None:
    put(folder, paths.history, history(epochs), age)
    state = {"history": [{"epoch": e} for e in range(1, epochs + 1)], "seconds": seconds}
    put(folder, paths.resume / "state.json", json.dumps(state), age)


def read(folder: Path, paths: layout.RunPaths) -> Run:
    run = Run(paths)
    read_run(run, folder, time.time())
    return run


# --------------------------------------------------------------------------- the runs' files


def test_a_finished_run_has_its_records_epochs_and_seconds(tmp_path):
    finished(tmp_path, layout.RunPaths("a"), epochs=4, seconds=50.0)
    run = read(tmp_path, layout.RunPaths("a"))
    assert (run.done, run.seconds, run.age, run.note) == (4, 50.0, None, "")


def test_an_unfinished_run_has_its_resume_states_epochs_and_seconds(tmp_path):
    paths = layout.RunPaths("a", 1)
    unfinished(tmp_path, paths, epochs=2, seconds=30.0, age=100)
    run = read(tmp_path, paths)
    assert (run.done, run.seconds) == (2, 30.0)
    assert 99 < run.age < 110


def test_the_first_epoch_under_way_is_a_history_with_its_header_only(tmp_path):
    put(tmp_path, layout.RunPaths("a").history, "epoch,loss\n")
    run = read(tmp_path, layout.RunPaths("a"))
    assert (run.done, run.seconds) == (0, None) and run.age is not None


def test_a_run_finished_elsewhere_is_read_from_its_committed_record(tmp_path):
    paths = layout.RunPaths("b")
    record = records.record_files(tmp_path, paths)["train_info"]
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"epochs": 3, "train_seconds": 9.0}))
    run = read(tmp_path, paths)
    assert (run.done, run.seconds, run.age) == (3, 9.0, None)
    assert "only its record here" in run.note


def test_a_train_record_that_is_no_json_is_named_in_one_line(tmp_path):
    put(tmp_path, layout.RunPaths("a").train_info, "{not json")
    with pytest.raises(SystemExit, match=r"progress: .*metrics/train/a\.json: not readable JSON"):
        read(tmp_path, layout.RunPaths("a"))


# --------------------------------------------------------------------------- DVC's word


def test_changes_leave_out_files_missing_on_this_machine():
    entries = [
        {"changed deps": {"models/a.keras": "deleted", "data/prepared": "not in cache", "stages/train.py": "modified"}},
        {"changed deps": {"params.yaml": {"architectures.a": "modified"}}},
        {"changed outs": {"models/a.keras": "not in cache"}},
        "changed command",
    ]
    assert changes(entries) == [
        "dep stages/train.py modified",
        "param architectures.a modified",
        "changed command",
    ]
    assert changes([{"changed outs": {"models/a.keras": "deleted"}}]) == []


def classified(folder: Path, paths: layout.RunPaths, status, exp=None) -> Run:
    run = read(folder, paths)
    params = {"train": {"extra_seeds": [] if paths.seed is None else [paths.seed]}}  # a seed of train_seed@
    classify(run, status, exp, time.time(), params)
    return run


def test_a_finished_run_is_done_stale_or_to_evaluate_as_dvc_status_says(tmp_path):
    finished(tmp_path, layout.RunPaths("a"))
    a = layout.RunPaths("a")
    assert classified(tmp_path, a, {}).state == "done"
    assert classified(tmp_path, a, {"train@b": ["changed command"]}).state == "done"  # another run's stage
    stale = classified(tmp_path, a, {"train@a": [{"changed deps": {"params.yaml": {"train.epochs": "modified"}}}]})
    assert (stale.state, stale.note) == ("stale", "param train.epochs modified")
    evaluate = classified(tmp_path, a, {"evaluate@a": [{"changed deps": {"stages/evaluate.py": "modified"}}]})
    assert (evaluate.state, evaluate.note) == ("waiting", "to evaluate: dep stages/evaluate.py modified")
    seed = layout.RunPaths("a", 1)
    finished(tmp_path, layout.RunPaths("a", 1))
    assert classified(tmp_path, seed, {"train_seed@a-1": ["changed command"]}).state == "stale"


def test_while_a_repro_runs_a_finished_run_is_done_and_its_staleness_unknown(tmp_path):
    finished(tmp_path, layout.RunPaths("a"))
    run = classified(tmp_path, layout.RunPaths("a"), "ERROR: 'metrics/train/b.json' is busy")
    assert (run.state, run.note) == ("done", "stale: unknown while a repro runs")


def test_an_unfinished_run_is_training_while_written_to_else_interrupted(tmp_path):
    a, b = layout.RunPaths("a"), layout.RunPaths("b")
    unfinished(tmp_path, a, epochs=2, seconds=20.0, age=5)
    unfinished(tmp_path, b, epochs=2, seconds=20.0, age=progress.RECENT + 60)
    assert classified(tmp_path, a, {}).state == "training"
    interrupted = classified(tmp_path, b, {})
    assert (interrupted.state, interrupted.note) == ("waiting", "interrupted: resumes after epoch 2")
    never = classified(tmp_path, layout.RunPaths("c"), {"train@c": ["changed command"]})
    assert (never.state, never.note) == ("waiting", "")  # no results yet: waiting, not stale


def test_a_run_of_a_running_experiment_is_read_in_its_workspace(tmp_path):
    workspace, copy = tmp_path / "workspace", tmp_path / "exp-copy"
    a = layout.RunPaths("a")
    finished(workspace, layout.RunPaths("a"))  # an older result in the workspace: not what the experiment does
    unfinished(copy, a, epochs=1, seconds=12.0, age=2)
    run = classified(workspace, a, {}, ("workers-1-a", "running", copy))
    assert (run.state, run.done, run.seconds, run.note) == ("training", 1, 12.0, "in experiment workers-1-a")
    queued = classified(workspace, layout.RunPaths("b"), {}, ("workers-1-b", "queued", None))
    assert (queued.state, queued.note) == ("waiting", "queued (experiment workers-1-b)")
    trained = classified(workspace, layout.RunPaths("b"), {}, ("workers-1-b", "success", None))
    assert trained.state == "done"


# --------------------------------------------------------------------------- time left


def test_time_left_from_each_architectures_speed_or_their_median():
    runs = [Run(layout.RunPaths(name)) for name in ("a", "b", "c", "d")]
    runs[0].state, runs[0].done, runs[0].seconds = "done", EPOCHS, 40.0  # a: 10 s/epoch
    runs[1].state, runs[1].done, runs[1].seconds, runs[1].age = "training", 1, 30.0, 10.0  # b: 30 s/epoch
    runs[2].state = "stale"  # c: never measured: the median, 20 s/epoch, for every epoch
    runs[3].done, runs[3].seconds, runs[3].age = 2, 40.0, 9999.0  # d: interrupted, resumes after epoch 2
    total, parallel = time_left(runs, EPOCHS)
    assert [r.left for r in runs] == [0.0, 20.0 + 2 * 30.0, 4 * 20.0, 2 * 20.0]
    assert (total, parallel) == (200.0, 1)
    runs[2].state, runs[2].age = "training", 0.0
    assert time_left(runs, EPOCHS)[1] == 2


def test_no_epoch_timed_yet_leaves_the_time_left_unknown():
    assert time_left([Run(layout.RunPaths("a"))], EPOCHS)[0] is None


# --------------------------------------------------------------------------- the command


def fake_dvc(tmp_path: Path, status, shown: list, exit_code: int = 0, exp_fails_first: bool = False) -> dict:
    """A `dvc` on PATH that answers `status --json` and `exp show --json` with given JSON (the
    latter failing once first, as while a queue worker creates its workspace, if `exp_fails_first`)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "status.json").write_text(json.dumps(status))
    (tmp_path / "exps.json").write_text(json.dumps(shown))
    (bin_dir / "dvc").write_text(
        f'#!/bin/sh\ncase "$1" in\n  status) cat {tmp_path}/status.json'
        f'; [ {exit_code} = 0 ] || echo "ERROR: the lock is busy" >&2; exit {exit_code} ;;\n'
        f"  exp) if [ {int(exp_fails_first)} = 1 ] && [ ! -e {tmp_path}/exp-failed ]; then touch {tmp_path}/exp-failed"
        '; echo "ERROR: unexpected error - directory .dvc/tmp/exps/tmp1/.dvc does not exist" >&2; exit 1; fi'
        f"; cat {tmp_path}/exps.json ;;\nesac\n"
    )
    (bin_dir / "dvc").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def exp(name: str, state: str, root: Path | None = None) -> dict:
    local = {"root": str(root), "pid": 1} if root else {"root": None}
    return {"revs": [{"name": name}], "name": name, "executor": {"state": state, "name": "dvc-task", "local": local}}


def run_status(project: Path, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "stages.tools.progress", "--root", str(project)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def rows(out: str) -> dict[str, list[str]]:
    table = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in table[1:]}


def test_the_command_prints_every_run_of_params_yaml_with_its_state(tmp_path):
    project, copy = tmp_path / "project", tmp_path / "copy"
    (project / ".dvc").mkdir(parents=True)
    (project / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    finished(project, layout.RunPaths("a"), seconds=40.0)
    finished(project, layout.RunPaths("a", 1), seconds=40.0)
    unfinished(copy, layout.RunPaths("b"), epochs=1, seconds=20.0, age=1)
    shown = [{"rev": "abc", "experiments": [exp("workers-7-b", "running", copy), exp("workers-7-b-seed1", "queued")]}]
    env = fake_dvc(tmp_path, {"train_seed@a-1": [{"changed deps": {"params.yaml": {"train.seed": "new"}}}]}, shown)

    out = run_status(project, env)
    assert rows(out) == {
        "a": ["done", f"{EPOCHS}/{EPOCHS}", "10.0", "", ""],
        "a-seed1": ["stale", f"{EPOCHS}/{EPOCHS}", "10.0", "0:01", "param train.seed new"],
        "b": ["training", f"2 of {EPOCHS}", "20.0", "0:01", "in experiment workers-7-b"],
        "b-seed1": ["waiting", "", "", "0:01", "queued (experiment workers-7-b-seed1)"],
    }, out
    assert out.strip().endswith("1 done, 1 training, 1 stale of 4 runs; time left ≈ 0:03 h:mm"), out


def test_an_experiment_list_that_fails_once_is_asked_again(tmp_path):
    """`dvc exp show` fails while a queue worker creates its workspace; the next answer is used."""
    (tmp_path / "project" / ".dvc").mkdir(parents=True)
    (tmp_path / "project" / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    shown = [{"rev": "abc", "experiments": [exp("workers-7-b", "queued")]}]
    out = run_status(tmp_path / "project", fake_dvc(tmp_path, {}, shown, exp_fails_first=True))
    assert (tmp_path / "exp-failed").exists()
    assert rows(out)["b"] == ["waiting", "", "", "", "queued (experiment workers-7-b)"], out


def test_the_command_says_staleness_is_unknown_when_dvc_status_cannot_answer(tmp_path):
    (tmp_path / "project" / ".dvc").mkdir(parents=True)
    (tmp_path / "project" / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    finished(tmp_path / "project", layout.RunPaths("a"))
    out = run_status(tmp_path / "project", fake_dvc(tmp_path, {}, [], exit_code=1))
    assert rows(out)["a"][0] == "done" and rows(out)["a"][-1] == "stale: unknown while a repro runs"
    assert out.strip().endswith("stale: unknown while a repro runs (dvc status: ERROR: the lock is busy)"), out


def test_status_is_under_200_lines():
    """The issue's budget: the whole feature, counting every module only it uses."""
    assert len((ROOT / "stages" / "tools" / "progress.py").read_text().splitlines()) < 200


# --------------------------------------------------------------------------- a real repro


def watch(project, process: subprocess.Popen, wanted, seconds: float = 900) -> str:
    """`make status`'s main table, asked again and again while `process` runs, until `wanted(rows)`."""
    deadline = time.time() + seconds
    while process.poll() is None and time.time() < deadline:
        out = project.run(f"{sys.executable} -m stages.tools.progress").stdout
        if wanted(rows(out)):
            return out
        time.sleep(1)
    return ""


def background(project, command: str) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        shell=True,
        cwd=project.path,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_status_during_and_after_a_real_repro(tmp_path):
    require_mnist()
    params = small_params(("conv2_k3", "conv3_k5_bn"), data={"subset": 3000}, train={"epochs": 3})
    project = make_project(tmp_path, params)
    repro = background(project, "dvc repro dvc.yaml")
    try:  # a run training, past its first epoch: its speed and the time left are known
        seen = watch(project, repro, lambda table: any(r[0] == "training" and r[2] for r in table.values()))
        print(f"during the repro:\n{seen}")
        assert seen, "never saw a run training past its first epoch"
        states = {name: cells[0] for name, cells in rows(seen).items()}
        assert list(states) == ["conv2_k3", "conv3_k5_bn"] and "training" in states.values(), seen
        assert "time left ≈ " in seen and "stale: unknown while a repro runs (dvc status: " in seen
    finally:
        log = repro.communicate(timeout=1800)[0]
    assert repro.returncode == 0, log[-3000:]

    status = f"{sys.executable} -m stages.tools.progress"
    after = project.run(status).stdout
    print(f"after the repro:\n{after}")
    assert {name: cells[0] for name, cells in rows(after).items()} == {"conv2_k3": "done", "conv3_k5_bn": "done"}
    assert "unknown" not in after and after.strip().endswith(
        "2 done, 0 training, 0 stale of 2 runs; time left ≈ 0:00 h:mm"
    )

    params["architectures"]["conv2_k3"]["optimizer"]["rho"] = 0.9  # DVC's word: its stages changed
    project.write_params(params)
    changed = project.run(status).stdout
    print(f"after a change to conv2_k3:\n{changed}")
    assert rows(changed)["conv2_k3"][0] == "stale" and "param architectures.conv2_k3 modified" in changed
    assert rows(changed)["conv3_k5_bn"][0] == "done"
