"""Shared fixtures: a copy of the project in a temporary git + DVC repo, on real MNIST."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PROJECT_FILES = [
    "stages",
    "reference",
    "params.yaml",
    "pyproject.toml",
    "metrics/seeds/.gitkeep",
    "plots/seeds/.gitkeep",
]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- tiers: a test that imports TensorFlow in-process is marked `tensorflow` ------------------

_TF_BEFORE = pytest.StashKey[bool]()  # was TensorFlow imported before this test?


def pytest_runtest_setup(item):
    """Before the first `tensorflow` test, give TensorFlow params.yaml's numerics (oneDNN, thread
    pools, op determinism), as the stages do before they compute anything; the other tests, the
    fast tier (`make test-fast`), never import it."""
    item.stash[_TF_BEFORE] = "tensorflow" in sys.modules
    if item.get_closest_marker("tensorflow") and not item.stash[_TF_BEFORE]:
        from stages.training import numerics

        numerics.configure(yaml.safe_load((ROOT / "params.yaml").read_text())["numerics"])


def pytest_runtest_teardown(item):
    if (
        not item.stash.get(_TF_BEFORE, True)
        and "tensorflow" in sys.modules
        and not item.get_closest_marker("tensorflow")
    ):
        pytest.fail(f"{item.nodeid} imports TensorFlow: mark it @pytest.mark.tensorflow")


# --- tiers: a test that runs the dvc CLI is marked `slow` ---------------------------------------


# the real dvc executables (or the stub below, which stands for them): a test's own fake `dvc`
# on PATH is fine in the fast tier
_REAL_DVC = {Path(p).resolve() for p in (shutil.which("dvc"), VENV_BIN / "dvc") if p and Path(p).exists()}


def _runs_dvc(args, env) -> bool:
    """Is this subprocess argv the real dvc CLI (`dvc ...` or `python -m dvc ...`)?"""
    argv = [str(a) for a in ([args] if isinstance(args, (str, os.PathLike)) else args)]
    words = argv[0].split() if len(argv) == 1 else argv  # a shell string, or an argv list
    if words[1:3] == ["-m", "dvc"]:
        return True
    found = words and Path(words[0]).name == "dvc" and shutil.which(words[0], path=(env or os.environ).get("PATH"))
    return bool(found) and (Path(found).resolve() in _REAL_DVC or Path(found).parent.name == "no-dvc-cli")


@pytest.fixture(autouse=True)
def _no_dvc_cli_in_the_fast_tier(request, monkeypatch, tmp_path_factory):
    """An unmarked test (the fast tier) that starts the dvc CLI fails: in-process through
    subprocess, and in the processes it starts through a `dvc` on PATH that refuses to run."""
    if request.node.get_closest_marker("slow"):
        return
    stub = tmp_path_factory.getbasetemp() / "no-dvc-cli"
    if not stub.exists():
        stub.mkdir()
        (stub / "dvc").write_text('#!/bin/sh\necho "the fast tier runs no dvc CLI: mark the test slow" >&2\nexit 97\n')
        (stub / "dvc").chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub}{os.pathsep}{os.environ['PATH']}")
    popen_init = subprocess.Popen.__init__

    def guarded(self, args, *rest, **kwargs):
        if _runs_dvc(args, kwargs.get("env")):
            pytest.fail(f"{request.node.nodeid} runs the dvc CLI ({args!r}): mark it @pytest.mark.slow")
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)


def mnist_source() -> str:
    """Where tests take the real MNIST from: MNIST_SOURCE (a folder or URL prefix), else ../shared/data/mnist."""
    return os.environ.get("MNIST_SOURCE") or str(ROOT.parent / "shared" / "data" / "mnist")


def require_mnist() -> str:
    """mnist_source(), or skip the calling test when there is no such folder. With MNIST_SOURCE or CI
    set it fails instead: there the real-data tests must run, and a suite that skipped them would pass."""
    source = mnist_source()
    if "://" in source or Path(source).is_dir():
        return source
    if os.environ.get("MNIST_SOURCE") or os.environ.get("CI"):
        pytest.fail(f"no MNIST at {source}: MNIST_SOURCE or CI is set, so the real-data tests must run")
    pytest.skip(f"no MNIST at {source} (set MNIST_SOURCE)")


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]  # the documents users read
REFERENCE_ARCHITECTURES_FILE = ROOT / "reference" / "architectures.yaml"  # the notebook's 12 models
RAN = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)


def reference_architectures() -> dict:
    """The notebook's 12 models, a fresh copy each call (tests edit what they get)."""
    return yaml.safe_load(REFERENCE_ARCHITECTURES_FILE.read_text())["architectures"]


def ran_stages(output: str) -> set[str]:
    """The stages a `dvc repro` ran (not those it found unchanged or restored)."""
    return set(RAN.findall(output))


def of_arch(name: str, arch: str) -> bool:
    """Whether a stage (`train@<id>`, `train_seed@<id>-<seed>`) or run (`<id>`, `<id>-seed<n>`) is the arch's
    (ids have no '-')."""
    item = name.partition("@")[2] if "@" in name else name
    return item == arch or item.startswith(arch + "-")


def small_params(archs=("conv2_k3", "conv3_k5_bn"), **overrides) -> dict:
    """The real params.yaml cut down to a few architectures, one epoch, small data."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    # an id params.yaml has dropped is taken from the notebook's reference entries
    known = {**reference_architectures(), **params["architectures"]}
    params["architectures"] = {a: known[a] for a in archs}
    params["data"].update(subset=1000, val_size=500, test_subset=500)
    params["train"].update(epochs=1, eval_batch_size=500, extra_seeds=[])  # tests that need seeds add them
    params["report"]["comparisons"] = (
        [{"title": "Test pair", "architectures": list(archs), "pairs": [list(archs[:2])]}] if len(archs) >= 2 else []
    )
    for section, values in overrides.items():
        params[section].update(values)
    return params


def project_env(**extra: str) -> dict:
    """The environment a test's copy of the project runs in: the venv first on PATH, the real
    MNIST, quiet TensorFlow and DVC, a git author; `extra` last."""
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "MNIST_SOURCE": mnist_source(),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        **extra,
    }


class Project:
    """A temporary copy of the project: its own git repo, DVC repo and dvc.yaml."""

    def __init__(self, path: Path):
        self.path = path
        self.env = project_env()

    def run(self, command: str, check: bool = True, timeout: float = 1200) -> subprocess.CompletedProcess:
        result = subprocess.run(
            command, shell=True, cwd=self.path, env=self.env, text=True, capture_output=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`{command}` exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
                f"\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result

    def write_params(self, params: dict) -> subprocess.CompletedProcess:
        """params.yaml written, then `dvc_sync` (its output returned), as a user edits the study."""
        (self.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        return self.run("python -m stages.tools.dvc_sync")

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text()

    def commit(self, message: str) -> None:
        self.run(f"git add -A && git commit -qm '{message}'")


def make_project(tmp_path: Path, params: dict | None = None) -> Project:
    path = tmp_path / "project"
    path.mkdir()
    for name in PROJECT_FILES:
        source, target = ROOT / name, path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    shutil.copy2(ROOT / ".gitignore", path / ".gitignore")
    project = Project(path)
    project.run(
        "git init -q -b main && dvc init -q && dvc config core.analytics false && dvc config core.autostage true"
    )
    shutil.copytree(ROOT / ".dvc" / "plots", path / ".dvc" / "plots")  # the plots' custom templates
    project.write_params(params or small_params())
    project.commit("project")
    return project


@pytest.fixture
def project(tmp_path) -> Project:
    require_mnist()
    return make_project(tmp_path)
