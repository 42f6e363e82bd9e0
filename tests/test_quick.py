"""`make quick` (stages/tools/quick.py): the quick look as a temporary DVC experiment."""

from __future__ import annotations

import shutil
import sys

import pytest
import yaml

from stages.tools import quick

from conftest import ROOT, make_project, require_mnist, small_params


def test_the_command_is_the_readme_quick_look_as_a_named_temporary_experiment():
    command = quick.quick_command("quick-x", force=True)
    assert command[:6] == ["dvc", "exp", "run", "--temp", "-n", "quick-x"]
    assert "-f" in command and "-v" not in command
    assert [command[i + 1] for i, word in enumerate(command) if word == "-S"] == list(quick.QUICK_PARAMS)
    assert "train.extra_seeds=[]" in quick.QUICK_PARAMS


def fake_dvc(tmp_path, then: str) -> list[str]:
    """A stand-in for `dvc exp run --temp`: reports whether dvc.lock was there when it started,
    prints DVC's start line, then runs `then`."""
    script = [
        "import pathlib, sys, time",
        'lock = pathlib.Path("dvc.lock")',
        'print("lock at start:", lock.exists(), flush=True)',
        "print(\"Reproducing experiment 'x'\", flush=True)",
        then,
    ]
    return [sys.executable, "-c", "\n".join(script)]


def test_the_lock_is_aside_while_dvc_snapshots_and_back_as_soon_as_the_experiment_starts(tmp_path, capsys):
    (tmp_path / "dvc.lock").write_bytes(b"schema: '2.0'\nstages: {}  # the study's\n")
    before = (tmp_path / "dvc.lock").read_bytes()
    # the fake experiment waits for the lock to come back: it does only if the driver restores
    # it on the start line, not when the command ends
    wait = "\n".join(
        [
            "deadline = time.time() + 20",
            "while not lock.exists() and time.time() < deadline: time.sleep(0.05)",
            "sys.exit(0 if lock.exists() else 3)",
        ]
    )
    lines = quick.run_experiment(fake_dvc(tmp_path, wait), tmp_path, env=None)
    assert lines[0] == "lock at start: False\n"
    assert (tmp_path / "dvc.lock").read_bytes() == before
    assert not (tmp_path / ".dvc" / "tmp" / "quick-dvc.lock").exists()
    assert "Reproducing experiment" in capsys.readouterr().out


def test_a_failed_experiment_leaves_the_lock_as_it_was(tmp_path):
    (tmp_path / "dvc.lock").write_bytes(b"schema: '2.0'\n")
    fails_before_starting = [sys.executable, "-c", "import sys; print('ERROR: no'); sys.exit(2)"]
    with pytest.raises(quick.QuickError, match="exited 2"):
        quick.run_experiment(fails_before_starting, tmp_path, env=None)
    assert (tmp_path / "dvc.lock").read_bytes() == b"schema: '2.0'\n"


def test_keep_lock_runs_with_the_workspace_lock(tmp_path):
    (tmp_path / "dvc.lock").write_bytes(b"x")
    lines = quick.run_experiment(fake_dvc(tmp_path, "pass"), tmp_path, env=None, fresh_lock=False)
    assert lines[0] == "lock at start: True\n"


@pytest.mark.slow
def test_make_quick_runs_a_temporary_experiment_and_leaves_the_workspace_as_it_was(tmp_path):
    """Two architectures, 500 test images: `make quick` end to end on a copy whose committed
    dvc.lock holds other runs' entries (the real study's)."""
    require_mnist()
    archs = ("conv2_k3", "conv3_k5_bn")
    project = make_project(tmp_path, small_params(archs))
    shutil.copy2(ROOT / "Makefile", project.path / "Makefile")
    shutil.copy2(ROOT / "dvc.lock", project.path / "dvc.lock")
    project.commit("a lock with the study entries")
    before = {name: (project.path / name).read_bytes() for name in ("dvc.lock", "params.yaml", "dvc.yaml")}

    # -o: the copy has no venv of its own; the tests' python and dvc are first on PATH
    out = project.run("make -o .venv/.installed quick", timeout=600).stdout

    assert project.run("git status --porcelain").stdout == ""
    assert {name: (project.path / name).read_bytes() for name in before} == before
    name = out.split("quick: experiment ")[1].split()[0]
    assert name.startswith("quick-")
    refs = project.run("git for-each-ref '--format=%(refname)' refs/exps").stdout.split()
    ref = next(r for r in refs if r.endswith("/" + name))
    summary = project.run(f"git show {ref}:metrics/summary.md").stdout
    assert summary.strip() and summary.strip() in out  # printed, from the experiment's commit
    assert "Epochs: 1 (`train.epochs`)" in summary
    params = yaml.safe_load(project.run(f"git show {ref}:params.yaml").stdout)
    assert (params["train"]["epochs"], params["data"]["subset"], params["train"]["extra_seeds"]) == (1, 2000, [])
    # the experiment's dvc.lock: exactly its own stages, none of the study's other entries
    lock = yaml.safe_load(project.run(f"git show {ref}:dvc.lock").stdout)
    per_run = {f"{kind}@{arch}" for kind in ("train", "evaluate", "record") for arch in archs}
    expected = {"validate", "prepare", "report"} | per_run
    assert set(lock["stages"]) == expected
    html = project.path / out.split("quick: plots (the experiment beside your workspace): ")[1].split()[0]
    assert html.is_file() and name in html.read_text()
    assert name in project.run("dvc exp list --name-only").stdout.split()
