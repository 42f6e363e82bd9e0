"""DVC's run-cache serves every configuration that was trained before: nothing is trained twice.

Every output of the per-run stages is DVC-cached (DVC turns the run-cache off for a stage with
a plain `cache: false` output), so `dvc repro` back at an earlier configuration, or after
`dvc.lock` was deleted (DVC's documented fix of a merge conflict in it), restores the stage:
"Stage '...' is cached - skipping run, checking out outputs". The numerics it was computed with
are part of the key: another thread count trains again.
"""

from __future__ import annotations

import copy
import hashlib

import pytest

from conftest import make_project, require_mnist, small_params

pytestmark = pytest.mark.slow

ARCH = "conv2_k3"
RUN_FILES = (f"models/{ARCH}.keras", f"plots/{ARCH}/history.csv", f"metrics/{ARCH}.json", f"plots/{ARCH}/confusion.csv")
TARGET = f"evaluate@{ARCH}"


def digests(project) -> dict[str, str]:
    return {name: hashlib.md5((project.path / name).read_bytes()).hexdigest() for name in RUN_FILES}


def restored(log: str) -> bool:
    return all(
        f"Stage '{stage}@{ARCH}' is cached - skipping run, checking out outputs" in log
        for stage in ("train", "evaluate")
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project whose run-cache holds conv2_k3 at two learning rates; the workspace at the second."""
    require_mnist()
    params = small_params(archs=(ARCH,))
    project = make_project(tmp_path_factory.mktemp("run_cache"), params)
    first = project.run(f"dvc repro {TARGET}")
    assert f"Running stage 'train@{ARCH}'" in first.stdout
    original = digests(project)

    changed = copy.deepcopy(params)
    changed["architectures"][ARCH]["optimizer"]["learning_rate"] = 0.5
    project.write_params(changed)
    second = project.run(f"dvc repro {TARGET}")
    assert f"Running stage 'train@{ARCH}'" in second.stdout
    assert digests(project)[f"models/{ARCH}.keras"] != original[f"models/{ARCH}.keras"]
    return project, params, original


def test_back_at_an_earlier_configuration_nothing_is_trained(trained):
    project, params, original = trained
    project.write_params(params)
    back = project.run(f"dvc repro {TARGET}")
    assert restored(back.stdout), back.stdout
    assert "Running stage" not in back.stdout.replace("Running stage 'validate'", "")
    assert digests(project) == original  # the very bytes of the first run, model included


def test_a_deleted_dvc_lock_retrains_nothing(trained):
    project, params, original = trained
    project.write_params(params)
    project.run(f"dvc repro {TARGET}")
    (project.path / "dvc.lock").unlink()
    again = project.run(f"dvc repro {TARGET}")
    assert restored(again.stdout), again.stdout
    assert digests(project) == original


def test_another_thread_count_is_not_served_from_the_run_cache(trained):
    project, params, _ = trained
    other = copy.deepcopy(params)
    other["numerics"]["threads"] = 1 if params["numerics"]["threads"] != 1 else 2
    project.write_params(other)
    result = project.run(f"dvc repro {TARGET}")
    assert f"Running stage 'train@{ARCH}'" in result.stdout, result.stdout
    assert not restored(result.stdout)
