"""The whole pipeline with real `dvc repro` on a small slice of real MNIST."""

from __future__ import annotations

import csv
import json
import statistics

import pytest

from conftest import make_project, require_mnist, small_params

pytestmark = pytest.mark.slow

ARCHS = ("conv2_k3", "conv3_k5_bn")
SEED = 1  # one extra seed: train_seed@/evaluate_seed@ run too, and the study has a spread
RUNS = [name for arch in ARCHS for name in (arch, f"{arch}-seed{SEED}")]  # params order, then seed


@pytest.fixture
def project(tmp_path):
    require_mnist()
    return make_project(tmp_path, small_params(ARCHS, train={"extra_seeds": [SEED]}))


def csv_rows(project, relative: str) -> list[dict]:
    return list(csv.DictReader(project.read(relative).splitlines()))


def run_files(run: str) -> dict[str, str]:
    """Where the train and evaluate stages write one run: the main one, or an extra seed's under seeds/."""
    seeds = "seeds/" if "-seed" in run else ""
    return {
        "model": f"models/{seeds}{run}.keras",
        "history": f"plots/{seeds}{run}/history.csv",
        "train": f"metrics/{seeds}train/{run}.json",
        "metrics": f"metrics/{seeds}{run}.json",
        "confusion": f"plots/{seeds}{run}/confusion.csv",
        "loss": f"plots/{seeds}{run}/loss.png",
    }


def test_repro_produces_every_output_then_is_up_to_date(project):
    first = project.run("dvc repro")
    for arch in ARCHS:
        assert f"Running stage 'train@{arch}'" in first.stdout
        assert f"Running stage 'train_seed@{arch}-{SEED}'" in first.stdout
        assert f"Running stage 'evaluate_seed@{arch}-{SEED}'" in first.stdout
    for run in RUNS:
        files = run_files(run)
        for output in files.values():
            assert (project.path / output).stat().st_size > 0, output
        metrics = json.loads(project.read(files["metrics"]))
        for key in (
            "test_accuracy",
            "test_loss",
            "params",
            "epochs",
            "best_epoch",
            "best_val_accuracy",
            "train_seconds",
        ):
            assert key in metrics, key
        assert metrics["epochs"] == 1 and metrics["test_images"] == 500
        assert 0.2 < metrics["test_accuracy"] <= 1.0  # 1,000 images, one epoch: above chance (0.1)
        history = project.read(files["history"]).splitlines()
        assert history[0] == "epoch,loss,accuracy,val_loss,val_accuracy" and len(history) == 2
        assert len(project.read(files["confusion"]).splitlines()) == 501
    for output in ("metrics/summary.md", "plots/comparison.png", "plots/pareto.png"):
        assert (project.path / output).stat().st_size > 0, output
    assert "conv2_k3" in project.read("metrics/summary.md")

    # What git keeps of the study, written by the report from the DVC-cached per-run files.
    runs = json.loads(project.read("metrics/runs.json"))
    assert list(runs) == RUNS
    for run in RUNS:
        metrics = json.loads(project.read(run_files(run)["metrics"]))
        assert runs[run]["test_accuracy"] == metrics["test_accuracy"]
        assert {"test_loss", "params", "flops", "best_epoch", "train_seconds"} <= set(runs[run])
        assert all(isinstance(value, (int, float)) for value in runs[run].values()), runs[run]
    study = json.loads(project.read("metrics/study.json"))
    assert list(study) == list(ARCHS)
    for arch in ARCHS:
        accuracies = [runs[arch]["test_accuracy"], runs[f"{arch}-seed{SEED}"]["test_accuracy"]]
        assert study[arch]["runs"] == 2
        assert study[arch]["mean"] == pytest.approx(statistics.mean(accuracies))
        assert study[arch]["sd"] == pytest.approx(statistics.stdev(accuracies))
    assert project.read("plots/study/history.csv").splitlines()[0] == (
        "arch,seed,run,epoch,loss,accuracy,val_loss,val_accuracy,val_error"
    )
    history = csv_rows(project, "plots/study/history.csv")
    assert [(row["run"], row["epoch"]) for row in history] == [(run, "1") for run in RUNS]
    for row in history:
        (own,) = csv_rows(project, run_files(row["run"])["history"])
        assert {key: float(row[key]) for key in own} == {key: float(value) for key, value in own.items()}, row["run"]
        assert float(row["val_error"]) == pytest.approx(1 - float(own["val_accuracy"]))
    predictions = csv_rows(project, "plots/study/predictions.csv")
    assert len(predictions) == 500 and list(predictions[0]) == ["actual", *RUNS]
    for run in RUNS:
        confusion = csv_rows(project, run_files(run)["confusion"])
        assert [row[run] for row in predictions] == [row["predicted"] for row in confusion], run
        assert [row["actual"] for row in predictions] == [row["actual"] for row in confusion], run
    errors = csv_rows(project, "plots/study/errors.csv")
    assert len(errors) == 90 * len(RUNS) and all(row["actual"] != row["predicted"] for row in errors)
    for run in RUNS:
        wrong = sum(int(row["count"]) for row in errors if row["run"] == run)
        assert wrong == runs[run]["test_errors"], run

    # dvc.yaml only: the notebook's pipeline (notebook/dvc.yaml, generated beside it) never ran here.
    assert "Data and pipelines are up to date" in project.run("dvc status dvc.yaml").stdout
    second = project.run("dvc repro")
    assert "Running stage" not in second.stdout

    # The per-run metrics are DVC-cached outputs; DVC's metrics are the report's two files.
    shown = json.loads(project.run("dvc metrics show --json").stdout)
    files = shown[""]["data"]
    main_files = {name for name in files if not name.startswith("notebook/")}
    assert main_files == {"metrics/runs.json", "metrics/study.json"}, files.keys()
    assert files["metrics/runs.json"]["data"] == runs
