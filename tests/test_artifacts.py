"""Each architecture's main model is a DVC artifact (dvc.yaml's `artifacts:`, written by
stages.tools.dvc_sync): after training and `dvc push`, `dvc artifacts get` from the
repository returns the workspace model's bytes.

`dvc artifacts get` fetches a *registered version* of an artifact: a GTO git tag
(`<name>@v<semver>`), which `gto register` (installed with DVC) or Studio's model registry
creates. A declaration alone is not enough; the test registers one as a user would.

Slow: trains one architecture for one epoch in a temporary git + DVC repository.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import yaml

from stages.tools import dvc_sync

from conftest import make_project, require_mnist, small_params

pytestmark = pytest.mark.slow

ARCH = "conv2_k3"  # any id of params.yaml; one is enough: the artifact section is one entry per id


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_dvc_artifacts_get_returns_the_pushed_model(tmp_path):
    require_mnist()
    project = make_project(tmp_path, small_params(archs=(ARCH,)))
    name = dvc_sync.artifact_name(ARCH)
    declared = yaml.safe_load(project.read("dvc.yaml"))["artifacts"]
    assert list(declared) == [name] and declared[name]["path"] == f"models/{ARCH}.keras"
    assert declared[name]["type"] == "model"

    remote = tmp_path / "remote"
    project.run(f"dvc remote add -d storage {remote}")  # in .dvc/config: the clone that `get` makes reads it
    project.run(f"dvc repro train@{ARCH}")
    project.commit("train")
    project.run("dvc push")
    model = (project.path / "models" / f"{ARCH}.keras").read_bytes()
    # The model's parameter count in the artifact's description is Keras' own (evaluate's metrics
    # would say it too; the train stage's model file is what we have here).
    assert f"{declared[name]['meta']['parameters']:,} parameters" in declared[name]["desc"]

    # Without a registered version, `dvc artifacts get` finds nothing: say so, and register one.
    unregistered = project.run(f"dvc artifacts get {project.path} {name}", check=False)
    assert unregistered.returncode != 0, "DVC now gets unregistered artifacts: drop the registration below"
    said = unregistered.stderr.strip().splitlines()[-1]
    project.run(f"gto register {name} HEAD --version v0.0.1")

    # Only the remote has the model now: the repository's cache is gone.
    shutil.rmtree(project.path / ".dvc" / "cache")
    out = tmp_path / "downloaded"
    out.mkdir()
    got = project.run(f"dvc artifacts get {project.path} {name} -o {out}/")
    fetched = out / f"{ARCH}.keras"
    assert fetched.is_file(), got.stdout + got.stderr
    assert sha256(fetched.read_bytes()) == sha256(model)
    print(json.dumps({"artifact": name, "bytes": len(model), "sha256": sha256(model), "unregistered": said}))
    print(got.stdout.strip())
