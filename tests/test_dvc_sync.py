"""stages.tools.dvc_sync: dvc.yaml is what params.yaml gives, and stays so when architectures change.

Fast: no DVC, no TensorFlow. The per-architecture stages are DVC `foreach`/`matrix`
templates and the report depends on the runs' records as one folder; only the top-level
plots are spelled out per architecture, so those are what must follow params.yaml.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` (unlike `python -m pytest`) does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from stages.common.layout import load_params  # noqa: E402
from stages.tools import dvc_sync  # noqa: E402

NEW = "conv2_k3_wide"  # an architecture that params.yaml does not have


def with_new_architecture(params: dict, arch_id: str = NEW) -> dict:
    params = copy.deepcopy(params)
    assert arch_id not in params["architectures"]
    first = next(iter(params["architectures"].values()))
    params["architectures"][arch_id] = copy.deepcopy(first)
    return params


def rendered(params: dict) -> dict:
    return yaml.safe_load(dvc_sync.render(params))


def plots_by_id(dvc: dict) -> dict:
    """Top-level plots as {id: definition}; image plots (bare paths) map to None."""
    found = {}
    for entry in dvc["plots"]:
        if isinstance(entry, str):
            found[entry] = None
        else:
            ((plot_id, definition),) = entry.items()
            found[plot_id] = definition
    return found


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params(ROOT / "params.yaml")


def test_committed_dvc_yaml_is_in_sync_with_params(params):
    expected = dvc_sync.render(params)
    current = (ROOT / "dvc.yaml").read_text()
    if current != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    current.splitlines(True),
                    expected.splitlines(True),
                    "dvc.yaml (on disk)",
                    "dvc.yaml (from params.yaml)",
                )
            )[:60]
        )
        pytest.fail(
            "dvc.yaml is out of date with params.yaml (architecture added, removed or renamed?): "
            "run `python -m stages.tools.dvc_sync` and commit dvc.yaml\n" + diff,
            pytrace=False,
        )


def test_every_architecture_of_params_is_in_dvc_yaml(params):
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert "metrics/record" in dvc["stages"]["report"]["deps"]
    plots = plots_by_id(dvc)
    for arch in params["architectures"]:
        assert f"{arch}_loss" in plots, f"{arch}: run `python -m stages.tools.dvc_sync`"


def test_render_of_an_added_architecture_wires_its_plots_and_leaves_the_report_deps(params):
    dvc = rendered(with_new_architecture(params))
    old = rendered(params)

    # The report reads every run's record under metrics/record/ (one folder dependency, so an
    # added architecture's runs are in it without a new entry), never a run's own DVC-cached files.
    report_deps = dvc["stages"]["report"]["deps"]
    assert report_deps == old["stages"]["report"]["deps"]
    assert "metrics/record" in report_deps
    assert not [d for d in report_deps if d.startswith(("plots/", "metrics/")) and d != "metrics/record"]

    plots = plots_by_id(dvc)
    history = f"plots/{NEW}/history.csv"
    assert plots[f"{NEW}_loss"] == {
        "title": f"{NEW}: train vs validation loss",
        "x": "epoch",
        "y": {history: ["loss", "val_loss"]},
    }
    assert plots[f"{NEW}_accuracy"]["y"] == {history: ["accuracy", "val_accuracy"]}
    assert f"plots/{NEW}/loss.png" in plots and plots[f"plots/{NEW}/loss.png"] is None
    # The study-wide plots read the report's long tables, whatever the architectures.
    for plot_id in ("val_error", "val_loss", "errors"):
        assert plots[plot_id] == plots_by_id(old)[plot_id], plot_id

    # The per-architecture stages are templates over ${architectures}: nothing to add there.
    for name in ("train", "evaluate", "train_seed", "evaluate_seed", "record", "record_seed"):
        assert dvc["stages"][name] == old["stages"][name], name


def test_render_of_a_removed_architecture_drops_it_everywhere(params):
    gone = next(iter(params["architectures"]))
    fewer = copy.deepcopy(params)
    del fewer["architectures"][gone]
    dvc = rendered(fewer)
    assert not [d for d in dvc["stages"]["report"]["deps"] if gone in d]
    plots = plots_by_id(dvc)
    assert not {f"{gone}_loss", f"{gone}_accuracy", f"plots/{gone}/loss.png"} & set(plots)
    reading_its_files = [p for p, d in plots.items() if f"plots/{gone}/" in (p if d is None else yaml.safe_dump(d))]
    assert not reading_its_files, "no plot reads the removed architecture's files"


# The report's study tables (the contract between the report and these plots).
STUDY_TABLES = {
    "plots/study/history.csv": "arch,seed,run,epoch,loss,accuracy,val_loss,val_accuracy,val_error",
    "plots/study/errors.csv": "arch,seed,run,actual,predicted,count",
}


def filled_study_plot(plot_id: str, definition: dict) -> dict:
    """The spec DVC's renderer makes of a study plot from two revisions of a one-row table, as
    `dvc plots diff` would: fails if a template is missing or uses a column the table lacks."""
    from dvc_render.vega import VegaRenderer

    ((path, field),) = definition["y"].items()
    columns = STUDY_TABLES[path].split(",")
    one_row = {**dict.fromkeys(columns, "1"), "arch": "conv2_k3", "run": "conv2_k3", "actual": "3"}
    rows = [{**one_row, "rev": rev, "filename": path, "field": field} for rev in ("HEAD", "workspace")]
    properties = {k: v for k, v in definition.items() if k != "y"}
    renderer = VegaRenderer(rows, plot_id, **properties, y=field, template_dir=str(ROOT / ".dvc" / "plots"))
    return renderer.get_filled_template()


def test_study_plots_colour_by_architecture_and_dash_by_revision_on_log_axes(params):
    plots = plots_by_id(rendered(params))
    for plot_id, column in (("val_error", "val_error"), ("val_loss", "val_loss")):
        definition = plots[plot_id]
        assert definition["y"] == {"plots/study/history.csv": column}
        spec = filled_study_plot(plot_id, definition)
        assert "<DVC_METRIC" not in json.dumps(spec), f"{plot_id}: an anchor DVC does not fill"
        encoding = spec["encoding"]
        assert encoding["y"]["field"] == column and encoding["y"]["scale"]["type"] == "log"
        fields = (encoding["color"]["field"], encoding["strokeDash"]["field"], encoding["detail"]["field"])
        assert fields == ("arch", "rev", "run"), "colour per architecture, dash per revision, a line per run"
        assert len(set(encoding["color"]["scale"]["range"])) >= len(params["architectures"]), "a colour each"
        assert len(spec["data"]["values"]) == 2


def test_errors_plot_is_one_heat_map_per_architecture_without_the_diagonal(params):
    definition = plots_by_id(rendered(params))["errors"]
    assert definition["y"] == {"plots/study/errors.csv": "actual"} and definition["x"] == "predicted"
    spec = filled_study_plot("errors", definition)
    assert "<DVC_METRIC" not in json.dumps(spec)
    assert spec["facet"]["field"] == "panel"
    assert {"filter": "toNumber(datum['predicted']) != toNumber(datum['actual'])"} in spec["transform"]


def test_train_stage_params_leave_out_extra_seeds(params):
    """Adding a seed must never retrain (or re-evaluate) the main runs."""
    stages = rendered(params)["stages"]
    for name in ("train", "evaluate"):
        declared = stages[name]["do"]["params"]
        for key in declared:
            covers = key == "train.extra_seeds" or "train.extra_seeds".startswith(key + ".")
            assert not covers, f"{name}@<id> depends on `{key}`, which includes train.extra_seeds"
    assert "train.seed" in stages["train"]["do"]["params"]
    # The seed runs take their seed from the matrix, not from train.seed (nor train.extra_seeds).
    assert stages["train_seed"]["matrix"] == {"arch": "${architectures}", "seed": "${train.extra_seeds}"}
    assert not {"train", "train.seed", "train.extra_seeds"} & set(stages["train_seed"]["params"])
    # Only the report (and the cheap validate stage) read the list of seeds.
    assert "train.extra_seeds" in stages["report"]["params"]


def _copy_for_sync(tmp_path: Path, params: dict) -> Path:
    """A minimal tree where `python -m stages.tools.dvc_sync` works on its own params.yaml and dvc.yaml."""
    shutil.copytree(ROOT / "stages", tmp_path / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tmp_path


def _sync(path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # `python -m` puts the working directory first on sys.path: the copy's stages package runs,
    # and its layout.ROOT (so params.yaml and dvc.yaml) is the copy.
    return subprocess.run(
        [sys.executable, "-m", "stages.tools.dvc_sync", *args],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_exits_1_on_a_stale_dvc_yaml_and_0_in_sync(tmp_path, params):
    path = _copy_for_sync(tmp_path, params)

    missing = _sync(path, "--check")
    assert missing.returncode == 1, "no dvc.yaml at all must count as stale"

    written = _sync(path)
    assert written.returncode == 0, written.stderr
    assert (path / "dvc.yaml").read_text() == dvc_sync.render(params)
    assert not (ROOT / "dvc.yaml").samefile(path / "dvc.yaml")
    in_sync = _sync(path, "--check")
    assert in_sync.returncode == 0, in_sync.stderr
    assert _sync(path).stdout.strip() == "dvc.yaml files are up to date"
    # The notebook's-protocol pipeline is generated beside it, from the same params.
    notebook = yaml.safe_load((path / "notebook" / "params.yaml").read_text())
    assert notebook["data"]["validation"] == "test" and notebook["train"]["extra_seeds"] == []
    assert notebook["architectures"] == params["architectures"]
    # An experiment's `-S` on the main params leaves the notebook's pipeline valid (not stale).
    tuned = copy.deepcopy(params)
    tuned["numerics"]["threads"] = 1
    (path / "params.yaml").write_text(yaml.safe_dump(tuned, sort_keys=False))
    assert _sync(path, "--check").returncode == 0
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    (path / "params.yaml").write_text(yaml.safe_dump(with_new_architecture(params), sort_keys=False))
    stale = _sync(path, "--check")
    assert stale.returncode == 1
    assert "python -m stages.tools.dvc_sync" in stale.stderr
    assert (path / "dvc.yaml").read_text() == dvc_sync.render(params), "--check must not write"

    regenerated = _sync(path)
    assert regenerated.returncode == 0, regenerated.stderr
    assert f"plots/{NEW}/history.csv" in (path / "dvc.yaml").read_text()
    assert _sync(path, "--check").returncode == 0


def test_a_hyperparameter_change_does_not_make_dvc_yaml_stale(params):
    """`dvc exp run -S architectures.<id>.optimizer.learning_rate=...` needs no dvc_sync run."""
    changed = copy.deepcopy(params)
    arch = next(iter(changed["architectures"]))
    changed["architectures"][arch]["optimizer"]["learning_rate"] = 0.123
    changed["train"]["extra_seeds"] = [1, 2]
    changed["train"]["epochs"] = 1
    changed["data"]["subset"] = 2000
    assert dvc_sync.render(changed) == dvc_sync.render(params)


def test_the_committed_notebook_params_are_the_main_params_in_the_notebooks_protocol(params):
    committed = load_params(ROOT / "notebook" / "params.yaml")
    assert committed == dvc_sync.NOTEBOOK.params(params), "run `python -m stages.tools.dvc_sync`"


# --- artifacts: each architecture's main model, declared for `dvc artifacts get`


def test_every_architecture_main_model_is_a_model_artifact_with_a_valid_name(params):
    from gto.constants import assert_name_is_valid  # the rule DVC checks artifact names with

    for pipe in dvc_sync.PIPELINES:
        committed = yaml.safe_load(pipe.path("dvc.yaml").read_text())
        artifacts = committed["artifacts"]
        assert {a["meta"]["architecture"] for a in artifacts.values()} == set(params["architectures"])
        for name, artifact in artifacts.items():
            assert_name_is_valid(name)
            arch_id = artifact["meta"]["architecture"]
            assert name == arch_id.replace("_", "-")
            assert artifact["path"] == f"models/{arch_id}.keras", "train@<id>'s model, relative to the dvc.yaml"
            assert f"models/{arch_id}.keras" in [
                out.replace("${key}", arch_id) for out in committed["stages"]["train"]["do"]["outs"]
            ]
            assert artifact["type"] == "model"
            assert (
                artifact["desc"].startswith(arch_id)
                and artifact["labels"][0] == params["architectures"][arch_id]["optimizer"]["name"]
            )
            assert ("notebook-protocol" in artifact["labels"]) == (pipe is dvc_sync.NOTEBOOK)


def test_artifact_description_counts_parameters_as_keras_does(params):
    shape = params["model"]["input_shape"]
    arch = params["architectures"]
    # REFERENCE.md's totals (tests/test_architectures.py checks Keras' count_params() against them)
    assert dvc_sync.parameter_count(arch["conv3_k753"]["layers"], shape) == 722_186
    assert dvc_sync.parameter_count(arch["conv3_k7_bn"]["layers"], shape) == 395_930  # batch norm's 4 per channel
    assert dvc_sync.parameter_count(arch["conv3_k753_same"]["layers"], shape) == 947_466  # dense before flatten
    assert dvc_sync.model_description(arch["conv3_k753"], shape) == (
        "3 conv (7x7, 5x5, 3x3), valid padding, relu, dense 512, adadelta; 722,186 parameters"
    )
    assert dvc_sync.model_labels(arch["conv3_k5_bn"]) == [
        "adam",
        "conv-depth-3",
        "padding-valid",
        "activation-relu",
        "batchnorm",
    ]


def test_an_added_architecture_gets_an_artifact_and_a_removed_one_loses_it(params):
    added = rendered(with_new_architecture(params))["artifacts"]
    assert added[NEW.replace("_", "-")]["path"] == f"models/{NEW}.keras"
    gone = next(iter(params["architectures"]))
    fewer = copy.deepcopy(params)
    del fewer["architectures"][gone]
    assert gone.replace("_", "-") not in rendered(fewer)["artifacts"]
    # the stages are the same whatever the artifacts: only the plots and artifacts follow the ids
    assert rendered(fewer)["stages"] == rendered(params)["stages"]


@pytest.mark.parametrize("arch_id", ["a", "conv_", "conv__k3"])
def test_an_id_without_a_valid_artifact_name_is_refused_by_name(params, arch_id):
    with pytest.raises(dvc_sync.ArtifactNameError, match=f"id '{arch_id}'"):
        dvc_sync.render(with_new_architecture(params, arch_id))
