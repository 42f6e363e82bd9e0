"""Every stage's code deps in dvc.yaml cover what its command imports (stages.common.imports).

A stage whose command imports a project module that is not among its deps would leave stale
results after an edit to that module: `dvc status` would not see the change. dvc_sync writes
the deps with the import reader of stages.common.imports; the slow witness below does not
read imports at all: it runs each stage and lists the project modules Python actually loaded.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from stages.common.imports import closure_paths, imported_names

from conftest import make_project, require_mnist, small_params

ROOT = Path(__file__).resolve().parent.parent
MODULE_COMMAND = re.compile(r"python -m ([\w.]+)")


def stage_definitions(dvc: dict) -> dict[str, dict]:
    """Each stage, `foreach`/`matrix` templates included, as {name: definition}."""
    return {name: stage.get("do", stage) for name, stage in dvc["stages"].items()}


def missing_code_deps(dvc: dict, root: Path) -> dict[str, list[str]]:
    """Project files each stage's command imports but its deps do not list."""
    missing = {}
    for name, stage in stage_definitions(dvc).items():
        modules = MODULE_COMMAND.findall(stage["cmd"])
        needed = closure_paths(modules, root)
        absent = sorted(set(needed) - set(stage.get("deps", [])))
        if absent:
            missing[name] = absent
    return missing


def test_every_stage_depends_on_every_project_file_its_command_imports():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert missing_code_deps(dvc, ROOT) == {}, "run `python -m stages.tools.dvc_sync`"


def test_an_import_added_without_its_dep_is_caught(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "stages", copy / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert missing_code_deps(dvc, copy) == {}
    # A function-level import, as the stages use for heavy modules: still a dependency.
    train = copy / "stages" / "train.py"
    train.write_text(train.read_text() + "\n\ndef _later():\n    from stages.reporting import tables  # noqa\n")
    missing = missing_code_deps(dvc, copy)
    # the main runs, the extra seeds, and validate, whose dvc_sync --check reads train.TRAINED_BY
    assert set(missing) == {"train", "train_seed", "validate"}
    assert "stages/reporting/tables.py" in missing["train"]
    assert "stages/reporting/__init__.py" in missing["train"]


def test_training_closure_stays_small():
    """An edit to the report, the validator or a tool must not retrain the 12 architectures."""
    train = closure_paths(["stages.train"], ROOT)
    assert not [path for path in train if path.startswith(("stages/reporting/", "stages/tools/", "stages/params/"))]
    assert "stages/report.py" not in train and "stages/validate.py" not in train


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import stages.model.layers\n", {"stages.model.layers"}),
        ("from stages.model import layers\n", {"stages.model", "stages.model.layers"}),
        ("from . import loop\n", {"stages.training", "stages.training.loop"}),
        ("from .loop import train\n", {"stages.training.loop", "stages.training.loop.train"}),
        ("def f():\n    import stages.common.atomic\n", {"stages.common.atomic"}),
        ("import numpy\nfrom os import path\n", set()),
    ],
)
def test_imported_names_read_every_kind_of_import(tmp_path, source, expected):
    module = tmp_path / "stages" / "training" / "example.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    assert imported_names(module, tmp_path) == expected


# `python -m <module> args` in a fresh interpreter that writes, at exit, every project file it
# imported (sys.modules, the lazy imports included) to the file named by its first argument.
WITNESS = """\
import atexit, os, runpy, sys
from pathlib import Path

out, module, root = sys.argv[1], sys.argv[2], Path.cwd().resolve()
sys.argv, sys.path[0] = [module, *sys.argv[3:]], str(root)  # as `python -m module` has them


def dump():
    files = {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    with open(out, "a") as f:
        f.writelines(f"{p.relative_to(root).as_posix()}\\n" for p in files if p.is_relative_to(root / "stages"))


atexit.register(dump)
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_witnessed(project, tmp_path: Path, name: str, stage: dict, arch: str, seed: int) -> set[str]:
    """Run one stage's command (one item of a foreach/matrix) in `project`; the project files it imported."""
    witness, out = tmp_path / "witness.py", tmp_path / f"{name}.imported"
    witness.write_text(WITNESS)
    cmd = stage["cmd"].replace("${key}", arch).replace("${item.arch}", arch).replace("${item.seed}", str(seed))
    project.run(MODULE_COMMAND.sub(lambda m: f"python {witness} {out} {m.group(1)}", cmd))
    return set(out.read_text().split()) if out.exists() else set()


@pytest.mark.slow
@pytest.mark.tensorflow
def test_each_stage_imports_only_its_deps_when_it_runs(tmp_path):
    """Every stage of a one-architecture project run in dvc.yaml's order (an extra seed too):
    the project files each command loads are among the stage's deps."""
    require_mnist()
    project = make_project(tmp_path, small_params(archs=("conv2_k3",), train={"extra_seeds": [1]}))
    imported = {}
    for name, stage in stage_definitions(yaml.safe_load(project.read("dvc.yaml"))).items():
        imported[name] = run_witnessed(project, tmp_path, name, stage, "conv2_k3", 1)
        assert imported[name] <= set(stage.get("deps", [])), (name, sorted(imported[name] - set(stage["deps"])))
    ran = {name for name, files in imported.items() if "stages/__init__.py" in files}
    assert ran == {"validate", "prepare", "train", "evaluate", "train_seed", "evaluate_seed", "report"}
    assert "stages/training/loop.py" in imported["train"] and "stages/params/schema.py" in imported["prepare"]


@pytest.mark.slow
def test_the_witness_sees_an_import_the_reader_cannot(tmp_path):
    """An import by computed name is invisible to the import reader, so dvc.yaml misses it;
    running the stage shows it."""
    project = make_project(tmp_path, small_params(archs=("conv2_k3",)))
    validate = project.path / "stages" / "validate.py"
    computed = 'import importlib\n\nimportlib.import_module("stages.tools." + "workers")\n\n\ndef main('
    validate.write_text(validate.read_text().replace("def main(", computed))
    project.run("python -m stages.tools.dvc_sync")
    stage = stage_definitions(yaml.safe_load(project.read("dvc.yaml")))["validate"]
    assert "stages/tools/workers.py" not in stage["deps"]
    assert "stages/tools/workers.py" in run_witnessed(project, tmp_path, "validate", stage, "conv2_k3", 1)
