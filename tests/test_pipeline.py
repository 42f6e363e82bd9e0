"""The whole pipeline with real `dvc repro` on a small slice of real MNIST."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

ARCHS = ("conv2_k3", "conv3_k5_bn")


def test_repro_produces_every_output_then_is_up_to_date(project):
    first = project.run("dvc repro")
    for arch in ARCHS:
        assert f"Running stage 'train@{arch}'" in first.stdout
        for output in (
            f"models/{arch}.keras",
            f"plots/{arch}/history.csv",
            f"metrics/train/{arch}.json",
            f"metrics/{arch}.json",
            f"plots/{arch}/confusion.csv",
            f"plots/{arch}/loss.png",
        ):
            assert (project.path / output).stat().st_size > 0, output
        metrics = json.loads(project.read(f"metrics/{arch}.json"))
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
        history = project.read(f"plots/{arch}/history.csv").splitlines()
        assert history[0] == "epoch,loss,accuracy,val_loss,val_accuracy" and len(history) == 2
        assert len(project.read(f"plots/{arch}/confusion.csv").splitlines()) == 501
    for output in ("metrics/summary.md", "plots/comparison.png", "plots/pareto.png"):
        assert (project.path / output).stat().st_size > 0, output
    assert "conv2_k3" in project.read("metrics/summary.md")

    assert "Data and pipelines are up to date" in project.run("dvc status").stdout
    second = project.run("dvc repro")
    assert "Running stage" not in second.stdout

    shown = json.loads(project.run("dvc metrics show --json").stdout)
    files = next(iter(shown.values()))["data"]
    assert {f"metrics/{a}.json" for a in ARCHS} <= set(files)
