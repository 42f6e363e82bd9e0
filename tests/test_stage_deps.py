"""Every stage's code deps in dvc.yaml cover what its command imports (stages.common.imports).

A stage whose command imports a project module that is not among its deps would leave stale
results after an edit to that module: `dvc status` would not see the change.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from stages.common.imports import closure_paths, imported_names

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
    train.write_text(train.read_text() + "\n\ndef _later():\n    from stages.reporting import stats  # noqa\n")
    missing = missing_code_deps(dvc, copy)
    # the main runs, the extra seeds, and validate, whose dvc_sync --check reads train.TRAINED_BY
    assert set(missing) == {"train", "train_seed", "validate"}
    assert "stages/reporting/stats.py" in missing["train"]
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
