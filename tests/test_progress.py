"""`python -m stages.tools.progress`: each run's state read from files, and the time left.

Most tests build a synthetic project in a temporary folder (params.yaml, a dvc.yaml of the
shape `stages.tools.dvc_sync` writes, dvc.lock entries hashed from the files, run files);
no DVC, no TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from stages.common import layout
from stages.tools import progress, run_state
from stages.tools.progress import estimate, render
from stages.tools.run_state import DONE, INTERRUPTED, STALE, TRAINED, TRAINING, WAITING, RunStatus, run_status
from stages.tools.stage_freshness import DvcFiles, FreshnessError, held_outputs

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 4
ADADELTA = "optimizer: {name: adadelta, learning_rate: 1.0, epsilon: 1.0e-7}\n"

PIPELINE = {
    "stages": {
        "train": {
            "foreach": "${architectures}",
            "do": {
                "cmd": "python -m stages.train ${key}",
                "deps": ["code.py"],
                "params": ["architectures.${key}", "train.epochs", "train.seed"],
                "outs": ["models/${key}.keras", "plots/${key}/history.csv", "metrics/train/${key}.json"],
            },
        },
        "evaluate": {
            "foreach": "${architectures}",
            "do": {
                "cmd": "python -m stages.evaluate ${key}",
                "deps": ["models/${key}.keras"],
                "params": ["architectures.${key}"],
                "outs": ["metrics/${key}.json"],
            },
        },
        "train_seed": {
            "matrix": {"arch": "${architectures}", "seed": "${train.extra_seeds}"},
            "cmd": "python -m stages.train ${item.arch} --seed ${item.seed}",
            "deps": ["code.py"],
            "params": ["architectures.${item.arch}", "train.epochs"],
            "outs": [
                "models/seeds/${item.arch}-seed${item.seed}.keras",
                "plots/seeds/${item.arch}-seed${item.seed}/history.csv",
                "metrics/seeds/train/${item.arch}-seed${item.seed}.json",
            ],
        },
        "evaluate_seed": {
            "matrix": {"arch": "${architectures}", "seed": "${train.extra_seeds}"},
            "cmd": "python -m stages.evaluate ${item.arch} --seed ${item.seed}",
            "deps": ["models/seeds/${item.arch}-seed${item.seed}.keras"],
            "params": ["architectures.${item.arch}"],
            "outs": ["metrics/seeds/${item.arch}-seed${item.seed}.json"],
        },
        "record": {
            "foreach": "${architectures}",
            "do": {
                "cmd": "cp metrics/${key}.json metrics/train/${key}.json metrics/record/${key}/",
                "deps": ["metrics/${key}.json", "metrics/train/${key}.json"],
                "outs": [
                    {"metrics/record/${key}/metrics.json": {"cache": False}},
                    {"metrics/record/${key}/train.json": {"cache": False}},
                ],
            },
        },
    }
}


class Study:
    """A synthetic project: architectures `a` and `b`, extra seed 1, EPOCHS epochs."""

    def __init__(self, root: Path):
        self.root = root
        (root / "params.yaml").write_text(
            f"train: {{epochs: {EPOCHS}, seed: 0, extra_seeds: [1]}}\narchitectures:\n"
            f"  a: {{{ADADELTA.strip()}, layers: [dense]}}\n  b: {{{ADADELTA.strip()}, layers: [conv]}}\n"
        )
        (root / "dvc.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
        (root / "code.py").write_text("print('v1')\n")
        self.lock: dict = {}

    def path(self, layout_path: Path) -> Path:
        return self.root / layout_path.relative_to(layout.ROOT)

    def write(self, layout_path: Path, text: str) -> Path:
        path = self.path(layout_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def _lock(self, name: str, cmd: str, deps: list[Path], params: dict, outs: list[Path]) -> None:
        def entry(path: Path) -> dict:
            return {
                "path": str(path.relative_to(self.root)),
                "hash": "md5",
                "md5": hashlib.md5(path.read_bytes()).hexdigest(),
                "size": path.stat().st_size,
            }

        self.lock[name] = {
            "cmd": cmd,
            "deps": [entry(p) for p in deps],
            "params": {"params.yaml": params},
            "outs": [entry(p) for p in outs],
        }
        # dvc.lock as DVC writes it: ruamel prints 1.0e-7 as 1e-07, which PyYAML reads as a string
        text = yaml.safe_dump({"schema": "2.0", "stages": self.lock}, sort_keys=True)
        (self.root / "dvc.lock").write_text(text.replace("1.0e-07", "1e-07"))

    def arch_params(self, arch: str) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())["architectures"][arch]

    def train(self, arch: str, seed: int | None = None, seconds: float = 40.0) -> None:
        """A finished training run and its dvc.lock entry."""
        run = layout.RunPaths(arch, seed)
        rows = "".join(f"{e},0.1,0.9,0.1,0.9\n" for e in range(1, EPOCHS + 1))
        outs = [
            self.write(run.model, "model"),
            self.write(run.history, "epoch,loss\n" + rows),
            self.write(run.train_info, json.dumps({"epochs": EPOCHS, "train_seconds": seconds})),
        ]
        params = {f"architectures.{arch}": self.arch_params(arch), "train.epochs": EPOCHS}
        if seed is None:
            self._lock(
                f"train@{arch}",
                f"python -m stages.train {arch}",
                [self.root / "code.py"],
                {**params, "train.seed": 0},
                outs,
            )
        else:
            self._lock(
                f"train_seed@{arch}-{seed}",
                f"python -m stages.train {arch} --seed {seed}",
                [self.root / "code.py"],
                params,
                outs,
            )

    def evaluate(self, arch: str, seed: int | None = None) -> None:
        run = layout.RunPaths(arch, seed)
        metrics = self.write(run.metrics, '{"test_accuracy": 0.99}')
        name = f"evaluate@{arch}" if seed is None else f"evaluate_seed@{arch}-{seed}"
        cmd = f"python -m stages.evaluate {arch}" + ("" if seed is None else f" --seed {seed}")
        self._lock(name, cmd, [self.path(run.model)], {f"architectures.{arch}": self.arch_params(arch)}, [metrics])

    def record(self, arch: str) -> None:
        """The main run's record, as its record stage copies it for git."""
        run = layout.RunPaths(arch)
        folder = self.root / "metrics" / "record" / arch
        folder.mkdir(parents=True, exist_ok=True)
        outs = []
        for source, name in ((run.metrics, "metrics.json"), (run.train_info, "train.json")):
            (folder / name).write_bytes(self.path(source).read_bytes())
            outs.append(folder / name)
        cmd = f"cp metrics/{arch}.json metrics/train/{arch}.json metrics/record/{arch}/"
        self._lock(f"record@{arch}", cmd, [self.path(run.metrics), self.path(run.train_info)], {}, outs)

    def mid_run(self, arch: str, seed: int | None = None, done: int = 2, seconds: float = 30.0) -> None:
        """A run that has finished `done` epochs: its live history and resume state."""
        run = layout.RunPaths(arch, seed)
        self.write(run.history, "epoch,loss\n" + "".join(f"{e},0.1\n" for e in range(1, done + 1)))
        params = yaml.safe_load((self.root / "params.yaml").read_text())
        fingerprint = {"train": params["train"], "code": {"code.py": layout.file_digest(self.root / "code.py")}}
        state = {"fingerprint": fingerprint, "history": [{"epoch": e} for e in range(1, done + 1)], "seconds": seconds}
        self.write(run.resume / "state.json", json.dumps(state))

    def hold(self, layout_path: Path, pid: int) -> None:
        """DVC's rwlock as a running `dvc repro` leaves it: the stage's outputs held for writing."""
        lock = self.root / ".dvc" / "tmp" / "rwlock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(json.dumps({"write": {str(self.path(layout_path)): {"pid": pid, "cmd": "dvc repro"}}}))

    def status(self, arch: str, seed: int | None = None, now: float | None = None) -> RunStatus:
        return run_status(
            layout.RunPaths(arch, seed),
            EPOCHS,
            DvcFiles(self.root),
            held_outputs(self.root),
            time.time() if now is None else now,
        )


@pytest.fixture
def study(tmp_path) -> Study:
    return Study(tmp_path)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --------------------------------------------------------------------------- run states


def test_a_run_with_nothing_is_waiting(study):
    status = study.status("a")
    assert (status.state, status.epochs_done, status.seconds) == (WAITING, 0, None)


def test_trained_and_evaluated_with_matching_lock_is_done(study):
    study.train("a", seconds=40.0)
    study.evaluate("a")
    status = study.status("a")
    assert (status.state, status.epochs_done, status.seconds, status.current) == (DONE, EPOCHS, 40.0, True)


def test_an_extra_seed_run_uses_the_matrix_stage_names(study):
    study.train("b", seed=1)
    study.evaluate("b", seed=1)
    assert study.status("b", seed=1).state == DONE
    assert study.status("b").state == WAITING  # the main run of b is another stage


def test_trained_but_not_evaluated_is_trained(study):
    study.train("a")
    status = study.status("a")
    assert status.state == TRAINED
    assert "never run" in status.note


def test_changed_params_make_a_finished_run_stale(study):
    study.train("a")
    study.evaluate("a")
    params = study.root / "params.yaml"
    params.write_text(params.read_text().replace("layers: [dense]", "layers: [dense, dense]"))
    status = study.status("a")
    assert status.state == STALE
    assert status.note.startswith("params changed: architectures.a")
    assert status.current is False


def test_changed_code_makes_a_finished_run_stale(study):
    study.train("a")
    study.evaluate("a")
    (study.root / "code.py").write_text("print('v2')\n")
    status = study.status("a")
    assert (status.state, status.note) == (STALE, "deps changed: code.py")


def test_a_run_finished_elsewhere_is_done_from_its_record_in_git(study):
    """A clone of main: the lock and the run's record, none of the run's DVC-cached files."""
    study.train("a", seconds=40.0)
    study.evaluate("a")
    study.record("a")
    run = layout.RunPaths("a")
    for path in (run.model, run.history, run.train_info, run.metrics):
        study.path(path).unlink()
    status = study.status("a")
    assert (status.state, status.epochs_done, status.seconds) == (DONE, EPOCHS, 40.0)
    assert status.note == "only its record here (dvc pull for the rest)"
    params = study.root / "params.yaml"
    params.write_text(params.read_text().replace("layers: [dense]", "layers: [dense, dense]"))
    assert study.status("a").state == STALE


def test_a_lost_output_is_not_done(study):
    study.train("a")
    study.evaluate("a")
    study.path(layout.RunPaths("a").metrics).unlink()
    assert study.status("a").state != DONE


def test_running_stage_in_dvc_rwlock_is_training_with_its_epoch_and_speed(study):
    study.mid_run("a", done=2, seconds=30.0)
    study.hold(layout.RunPaths("a").history, os.getpid())
    status = study.status("a")
    assert (status.state, status.epochs_done, status.seconds) == (TRAINING, 2, 30.0)
    table = render([status], *estimate([status]))
    assert "| 3 of 4 " in table and "| 15.0 " in table  # epoch under way, 30 s / 2 epochs


def test_first_epoch_under_way_has_a_header_only_history(study):
    study.write(layout.RunPaths("a").history, "epoch,loss,accuracy,val_loss,val_accuracy\n")
    study.hold(layout.RunPaths("a").history, os.getpid())
    status = study.status("a")
    assert (status.state, status.epochs_done, status.seconds) == (TRAINING, 0, None)


def test_a_killed_dvc_repro_leaves_an_interrupted_run(study):
    study.mid_run("a", done=2)
    study.hold(layout.RunPaths("a").history, dead_pid())  # its rwlock entry outlives it
    status = study.status("a")  # even right after the kill
    assert (status.state, status.note) == (INTERRUPTED, "resumes after epoch 2")


def test_an_interrupted_run_under_other_params_or_code_restarts(study):
    study.mid_run("a", done=2)
    later = time.time() + 2 * run_state.RECENT_SECONDS
    (study.root / "code.py").write_text("print('v2')\n")
    assert study.status("a", now=later).note == "restarts: code changed"
    params = study.root / "params.yaml"
    params.write_text(params.read_text().replace("extra_seeds: [1]", "extra_seeds: [1, 2]"))
    assert study.status("a", now=later).note == "restarts: train, code changed"


def test_while_dvc_runs_another_unfinished_run_is_interrupted_not_training(study):
    study.mid_run("a", done=2)
    study.hold(layout.RunPaths("b").history, os.getpid())
    assert study.status("a").state == INTERRUPTED
    assert study.status("b").state == TRAINING


def test_without_rwlock_a_recently_written_run_is_training(study):
    study.mid_run("a", done=1, seconds=10.0)
    assert study.status("a").state == TRAINING
    assert study.status("a", now=time.time() + 2 * run_state.RECENT_SECONDS).state == INTERRUPTED


def test_a_run_trained_in_an_experiment_copy_is_training_there(study):
    """`make run JOBS=N` trains in queued experiments' copies under .dvc/tmp/exps/tmp*/."""
    (study.root / ".dvc" / "tmp" / "exps" / "tmpabc123").mkdir(parents=True)
    copy = Study(study.root / ".dvc" / "tmp" / "exps" / "tmpabc123")
    copy.mid_run("b", seed=1, done=3, seconds=45.0)
    copy.hold(layout.RunPaths("b", 1).history, os.getpid())
    copies = {copy.root: held_outputs(copy.root)}
    status = run_status(layout.RunPaths("b", 1), EPOCHS, DvcFiles(study.root), {}, time.time(), copies)
    assert (status.state, status.epochs_done, status.seconds) == (TRAINING, 3, 45.0)
    assert status.note == "in experiment copy tmpabc123"
    assert progress.main(["--root", str(study.root)]) == 0  # the command finds the copy itself


def test_unreadable_resume_state_is_an_error_naming_the_file(study):
    study.write(layout.RunPaths("a").resume / "state.json", "{not json")
    with pytest.raises(FreshnessError, match=r"state\.json"):
        study.status("a")


def test_the_command_prints_every_run_and_the_summary_line(study, capsys):
    study.train("a", seconds=40.0)
    study.evaluate("a")
    study.mid_run("b", done=2, seconds=20.0)
    study.hold(layout.RunPaths("b").history, os.getpid())
    assert progress.main(["--root", str(study.root)]) == 0
    out = capsys.readouterr().out
    for run in ("a", "a-seed1", "b", "b-seed1"):
        assert f"| {run} " in out
    # a: 10 s/epoch, b: 10 s/epoch; left: b 2 epochs (minus the seconds since its last write),
    # a-seed1 and b-seed1 4 each: at most 100 s, rounded to 2 min
    assert out.strip().splitlines()[-1] == (
        "1 of 4 runs done, 1 training, time left ≈ 0 h 02 min (from 6 measured epochs)"
    )


def test_missing_train_epochs_is_a_clear_error(study, capsys):
    (study.root / "params.yaml").write_text("architectures: {a: {}}\ntrain: {seed: 0}\n")
    assert progress.main(["--root", str(study.root)]) == 1
    assert "train.epochs" in capsys.readouterr().err


# --------------------------------------------------------------------------- the estimate


def run(name, arch, state, done=0, seconds=None, current=True, since_write=0.0) -> RunStatus:
    return RunStatus(name, arch, state, EPOCHS, done, seconds, current, since_write=since_write)


def test_estimate_per_architecture_rate_else_median_of_rates():
    statuses = [
        run("a", "a", DONE, 4, 40.0),  # a: (40 + 20) s / 6 epochs = 10 s
        run("a-seed1", "a", TRAINING, 2, 20.0, since_write=4.0),  # 6 s of epoch 3, then epoch 4: 16 s
        run("b", "b", INTERRUPTED, 1, 30.0),  # b: 30 s; 3 epochs left: 90 s
        run("b-seed1", "b", STALE, 4, 400.0, current=False),  # b has today's measure: not used; 120 s
        run("c", "c", WAITING),  # median of (10, 30, 100) = 30 s x 4 epochs: 120 s
        run("d", "d", STALE, 4, 400.0, current=False),  # d's only measure: 100 s x 4: 400 s
    ]
    study, per_run = estimate(statuses)
    assert per_run == pytest.approx({"a": 0.0, "a-seed1": 16.0, "b": 90.0, "b-seed1": 120.0, "c": 120.0, "d": 400.0})
    assert (study.seconds_left, study.measured_epochs, study.stale_epochs, study.parallel) == (
        pytest.approx(746.0),
        11,
        4,
        1,
    )
    assert render(statuses, study, per_run).endswith(
        "1 of 6 runs done, 1 training, time left ≈ 0 h 12 min (from 11 measured epochs, 4 timed before a change)"
    )


def test_estimate_from_stale_records_only():
    statuses = [run("a", "a", STALE, 4, 7200.0, current=False), run("b", "b", WAITING)]
    study, per_run = estimate(statuses)
    assert per_run == {"a": 7200.0, "b": 7200.0}
    assert render(statuses, study, per_run).endswith(
        "time left ≈ 4 h 00 min (from 4 measured epochs, 4 timed before a change)"
    )


def test_runs_training_side_by_side_share_the_time_left():
    statuses = [run("a", "a", TRAINING, 2, 200.0), run("b", "a", TRAINING, 2, 200.0)]
    study, _ = estimate(statuses)
    assert (study.seconds_left, study.parallel) == (pytest.approx(200.0), 2)  # (2 x 200 s) / 2


def test_nothing_measured_means_no_estimate():
    statuses = [run("a", "a", WAITING), run("b", "b", TRAINING)]
    study, _ = estimate(statuses)
    assert study.seconds_left is None
    assert render(statuses, study, {"a": None, "b": None}).endswith(
        "0 of 2 runs done, 1 training, time left unknown (no epoch measured yet)"
    )


# --------------------------------------------------------------------------- the real dvc.yaml


def test_the_generated_dvc_yaml_resolves_for_every_stage_kind():
    dvc = DvcFiles(ROOT)
    name, stage = dvc.stage("train_seed", "conv2_k3", 1)
    assert name == "train_seed@conv2_k3-1"
    assert stage["cmd"] == "python -m stages.train conv2_k3 --seed 1"
    assert "plots/seeds/conv2_k3-seed1/history.csv" in stage["outs"]
    name, stage = dvc.stage("evaluate", "conv3_k5_bn")
    assert (name, stage["cmd"]) == ("evaluate@conv3_k5_bn", "python -m stages.evaluate conv3_k5_bn")
    assert "${" not in json.dumps(stage)
