"""A real `dvc repro` killed during epoch 2 of 3 resumes on the next `dvc repro` and ends exactly
as an uninterrupted run: same history, same weights, same test metrics.

About DVC's locks after a kill (DVC 3.x): `.dvc/tmp/lock` is an OS file lock, released when the
process dies. `.dvc/tmp/rwlock` is a JSON file naming the pid of each `dvc repro` holding stage
paths; the next `dvc repro` drops entries whose pid no longer exists ("... had been killed. Auto
removed it from the lock file.") and carries on. A killed process that has not been reaped yet
(a zombie) still exists for that check (psutil.pid_exists), and the rerun then fails with
"'data/params_checked.txt' is busy, it is being blocked by: (PID n)". In a terminal the shell
reaps the killed `dvc` at once; here `dvc` is started without a shell, so it is our child and
`wait()` reaps it, and `wait_until_gone` waits out any other pid the rwlock names. Only if that
pid really belongs to a live, unrelated process (pid reuse) is deleting `.dvc/tmp/rwlock` by hand
the recovery, as DVC's message says.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import psutil
import pytest

from conftest import VENV_BIN, Project, make_project, require_mnist, small_params

pytestmark = pytest.mark.slow

ARCH = "conv2_k3"
EPOCHS = 3
COMPARED = (
    "test_accuracy",
    "test_loss",
    "test_errors",
    "best_epoch",
    "best_val_loss",
    "best_val_accuracy",
    "last_val_loss",
    "last_val_accuracy",
    "epochs",
    "params",
)


def params() -> dict:
    # small_params' 1,000 training images: an epoch lasts a few seconds, time enough to kill it;
    # the main run only (the extra seeds' stages resume the same way, under their own names)
    return small_params(archs=(ARCH,), train={"epochs": EPOCHS, "extra_seeds": []})


def outcome(project) -> dict:
    import keras

    model = keras.models.load_model(project.path / f"models/{ARCH}.keras")
    return {
        "metrics": json.loads(project.read(f"metrics/{ARCH}.json")),
        "history": project.read(f"plots/{ARCH}/history.csv"),
        "weights": model.get_weights(),
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Project:
    """The project, made once: every run below is a copy of it, so all of them run the same code
    even while stages/*.py is being edited in the working tree the tests were started from
    (a copy of a git + DVC repo is a working repo; DVC's state lives outside it, per path)."""
    require_mnist()
    project = make_project(tmp_path_factory.mktemp("template"), params())
    project.run("dvc repro prepare")  # validate and prepare once, not in every copy
    return project


def copy_of(template: Project, tmp_path) -> Project:
    path = tmp_path / "project"
    shutil.copytree(template.path, path, symlinks=True)
    return Project(path)


@pytest.fixture(scope="module")
def uninterrupted(template, tmp_path_factory):
    project = copy_of(template, tmp_path_factory.mktemp("uninterrupted"))
    result = project.run("dvc repro")
    assert f"Running stage 'train@{ARCH}'" in result.stdout and "Resuming" not in result.stdout
    assert not (project.path / ".resume" / ARCH).exists()
    done = outcome(project)
    assert done["metrics"]["resumed_after_epoch"] == 0 and done["metrics"]["epochs"] == EPOCHS
    return done


def history_rows(history_file) -> int | None:
    """Epochs in the live history CSV (rewritten atomically at each epoch's end)."""
    try:
        return len(history_file.read_text().splitlines()) - 1
    except FileNotFoundError:
        return None


def finished_epochs(state_file) -> int | None:
    try:
        return len(json.loads(state_file.read_text())["history"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):  # not there yet
        return None


def group_members(pgid: int) -> list[psutil.Process]:
    """The live (not zombie) processes of a process group."""
    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.Error):
            pass
    return members


def wait_until_gone(pgid: int, lock_pids: set[int], timeout: float = 60) -> None:
    """Until every process of the group has exited and every pid in DVC's rwlock is reaped."""
    deadline = time.monotonic() + timeout
    while group_members(pgid) or any(psutil.pid_exists(pid) for pid in lock_pids):
        assert time.monotonic() < deadline, f"still running after the kill: {group_members(pgid)}"
        time.sleep(0.1)


def rwlock_pids(project) -> set[int]:
    try:
        locks = json.loads((project.path / ".dvc/tmp/rwlock").read_text())
    except FileNotFoundError:
        return set()
    return {
        entry["pid"]
        for mode in locks.values()
        for holders in mode.values()
        for entry in (holders if isinstance(holders, list) else [holders])
    }


def interrupt_during_second_epoch(project, signum: int, logs) -> tuple[str, str, str]:
    """Start `dvc repro`, signal its whole process group once epoch 1 reached the live history;
    return its stdout, stderr and the history as it was mid-run."""
    state_file = project.path / ".resume" / ARCH / "state.json"
    history_file = project.path / "plots" / ARCH / "history.csv"
    out_path, err_path = logs / "stdout.txt", logs / "stderr.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:  # files, not pipes: nothing can block
        process = subprocess.Popen(
            [str(VENV_BIN / "dvc"), "repro"],
            cwd=project.path,
            env=project.env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 600
            while (done := history_rows(history_file)) is None or done < 1:
                assert process.poll() is None, (
                    f"dvc repro ended before epoch 1 was saved:\n{err_path.read_text()[-3000:]}"
                )
                assert time.monotonic() < deadline, "epoch 1 never finished"
                time.sleep(0.05)
            assert done == 1, f"polled too late: {done} epochs already in the history"
            mid_run = history_file.read_text()
            os.killpg(process.pid, signum)  # dvc and the stage it runs: a new session made them a group
            process.wait(timeout=120)  # reaps dvc, the pid the rwlock names
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    wait_until_gone(process.pid, rwlock_pids(project))
    assert finished_epochs(state_file) == 1, "the kill came after epoch 2 had finished"
    assert not (project.path / f"models/{ARCH}.keras").exists()
    return out_path.read_text(), err_path.read_text(), mid_run


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_repro_killed_in_epoch_2_resumes_and_matches_uninterrupted_run(template, uninterrupted, tmp_path, signum):
    project = copy_of(template, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    _, stderr, mid_run = interrupt_during_second_epoch(project, signum, logs)
    # Live: mid-run, the history already held epoch 1, exactly as the finished run has it.
    assert mid_run.splitlines() == uninterrupted["history"].splitlines()[:2]
    if signum == signal.SIGTERM:  # the stage's one line, no traceback from it or from DVC
        assert f"train {ARCH}: interrupted; finished epochs are kept" in stderr
        assert "Traceback" not in stderr, stderr[-3000:]

    rerun = project.run("dvc repro")
    assert f"Resuming {ARCH} (seed 0) after epoch 1 of {EPOCHS}" in rerun.stdout
    assert f"Running stage 'train@{ARCH}'" in rerun.stdout

    resumed = outcome(project)
    assert resumed["metrics"]["resumed_after_epoch"] == 1
    for key in COMPARED:
        assert resumed["metrics"][key] == uninterrupted["metrics"][key], key
    assert resumed["history"] == uninterrupted["history"]
    assert len(list(csv.DictReader(resumed["history"].splitlines()))) == EPOCHS
    # dvclive's copy continues the same history too: one row per epoch, steps 0..EPOCHS-1, no second run.
    live_rows = (project.path / f"plots/{ARCH}/live/plots/metrics/val/loss.tsv").read_text().splitlines()[1:]
    assert [int(row.split("\t")[0]) for row in live_rows] == list(range(EPOCHS))
    assert len(resumed["weights"]) == len(uninterrupted["weights"])
    for mine, theirs in zip(resumed["weights"], uninterrupted["weights"], strict=True):
        assert np.array_equal(mine, theirs)

    assert not (project.path / ".resume" / ARCH).exists()  # cleared once every output was written
    # dvc.yaml's stages: the notebook's pipeline that dvc_sync generates beside it never runs here
    assert "Data and pipelines are up to date" in project.run("dvc status dvc.yaml").stdout
