"""stages.tools.pr_report: render() on hand-written DVC diffs, then the CLI on a real throwaway git + DVC repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from stages.tools import pr_report
from stages.tools.pr_report import render

ROOT = Path(__file__).resolve().parent.parent  # the repo that holds `stages/`
DVC = Path(sys.executable).parent / "dvc"     # the venv's dvc, also when the venv is not activated


def entry(old, new):
    """One value of a DVC diff: `diff` only when both sides are numbers, as DVC does."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    return {"old": old, "new": new, "diff": new - old} if numbers else {"old": old, "new": new}


def metrics_file(old: dict | None, new: dict | None) -> dict:
    keys = list((old or {}) | (new or {}))
    return {k: entry((old or {}).get(k), (new or {}).get(k)) for k in keys}


A_OLD = {"test_accuracy": 0.9912, "test_loss": 0.02811, "params": 1199882, "train_seconds": 301.24,
         "epochs": 15, "best_epoch": 9, "best_val_accuracy": 0.9901}
A_NEW = {**A_OLD, "test_accuracy": 0.9921, "test_loss": 0.02623, "train_seconds": 298.75}
B_OLD = {**A_OLD, "test_accuracy": 0.9925, "test_loss": 0.025, "params": 3274634}
B_NEW = {**B_OLD, "test_accuracy": 0.9905, "test_loss": 0.0301}

METRICS = {
    "metrics/conv2_k3.json": metrics_file(A_OLD, A_NEW),
    "metrics/conv2_k5.json": metrics_file(B_OLD, B_NEW),
}
PARAMS = {"params.yaml": {"train.epochs": entry(15, 20), "data.validation": entry("holdout", "test")}}


def table_row(text: str, name: str) -> list[str]:
    """The cells of the metrics-table row whose first cell mentions `name`."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 8 and name in cells[0]:
            return cells
    raise AssertionError(f"no metrics row for {name} in:\n{text}")


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize("old, new, text", [
    (0.98, 0.985, "+0.50"),
    (0.9925, 0.9905, "-0.20"),
    (0.99, 0.99, "+0.00"),
    (0.98, 0.98005, "+0.01"),      # exact decimal arithmetic: half a hundredth rounds up
    (0.98, 0.97996, "-0.00"),      # tiny losses keep their sign
    (None, 0.99, "—"),
    (0.99, None, "—"),
])
def test_delta_is_signed_percentage_points_with_two_decimals(old, new, text):
    assert pr_report.fmt_delta(pr_report.delta_pp(old, new)) == text


def test_delta_rounds_half_away_from_zero():
    assert pr_report.fmt_delta(Decimal("-0.125")) == "-0.13"
    assert pr_report.fmt_delta(Decimal("0")) == "+0.00"


def test_number_formats():
    assert pr_report.fmt_pct(0.9921) == "99.21%"
    assert pr_report.fmt_loss(0.02623) == "0.0262"
    assert pr_report.fmt_count(1199882) == "1,199,882"
    assert pr_report.fmt_seconds(298.75) == "298.8"
    assert pr_report.fmt_pct(None) == pr_report.fmt_loss("n/a") == pr_report.fmt_count(True) == "—"


# --------------------------------------------------------------------------- render()


def test_render_params_and_metrics():
    text = render(PARAMS, METRICS, "origin/main")
    assert text.startswith("## ") and "`origin/main`" in text.splitlines()[0]
    assert "### Params changed" in text
    assert "| `train.epochs` | `15` | `20` |" in text
    assert "| `data.validation` | `holdout` | `test` |" in text
    assert "### Metrics" in text

    a = table_row(text, "conv2_k3")
    assert a[1:8] == ["99.12%", "**99.21%**", "+0.09", "0.0281", "0.0262", "1,199,882", "298.8"]
    b = table_row(text, "conv2_k5")
    assert b[1:8] == ["99.25%", "99.05%", "-0.20", "0.0250", "0.0301", "3,274,634", "301.2"]
    assert pr_report.NO_BASE_METRICS not in text


def test_best_by_new_accuracy_is_bold_with_marker_and_listed_first():
    text = render({}, METRICS, "main")
    best, other = table_row(text, "conv2_k3"), table_row(text, "conv2_k5")
    assert best[0] == f"{pr_report.BEST_MARK} **conv2_k3**" and best[2] == "**99.21%**"
    assert "**" not in other[0] and pr_report.BEST_MARK not in other[0]
    assert text.index("**conv2_k3**") < text.index("`conv2_k5`")
    assert "**Best:**" in text and "`conv2_k3`" in text.split("**Best:**")[1].splitlines()[0]
    summary = next(line for line in text.splitlines() if line.startswith("**Best:**"))
    assert "Biggest gain:** `conv2_k3` (+0.09 pp)" in summary
    assert "biggest loss:** `conv2_k5` (-0.20 pp)" in summary


def test_ties_broken_by_lower_loss():
    metrics = {"metrics/x.json": metrics_file(None, {"test_accuracy": 0.99, "test_loss": 0.03}),
               "metrics/y.json": metrics_file(None, {"test_accuracy": 0.99, "test_loss": 0.02})}
    assert "**y**" in table_row(render({}, metrics, "main"), "y")[0]


def test_no_losses_and_no_gains_are_said():
    metrics = {"metrics/a.json": metrics_file(A_OLD, A_NEW)}
    summary = next(line for line in render({}, metrics, "m").splitlines() if line.startswith("**Best:**"))
    assert "no architecture lost accuracy" in summary
    same = {"metrics/a.json": metrics_file(A_OLD, A_OLD)}
    summary = next(line for line in render({}, same, "m").splitlines() if line.startswith("**Best:**"))
    assert "no architecture gained accuracy" in summary and "no architecture lost accuracy" in summary


def test_added_and_removed_architectures_show_a_dash_on_the_missing_side():
    metrics = dict(METRICS)
    metrics["metrics/conv3_k5_bn.json"] = metrics_file(None, {**A_NEW, "test_accuracy": 0.9941})
    metrics["metrics/gone.json"] = metrics_file({**A_OLD, "test_accuracy": 0.97}, None)
    text = render({}, metrics, "main")

    added = table_row(text, "conv3_k5_bn")
    assert "(new)" in added[0] and "**conv3_k5_bn**" in added[0]  # also the new best
    assert added[1] == "—" and added[2] == "**99.41%**" and added[3] == "—" and added[4] == "—"
    removed = table_row(text, "gone")
    assert "(removed)" in removed[0]
    assert removed[1:] == ["97.00%", "—", "—", "0.0281", "—", "—", "—"]
    assert text.index("`conv2_k5`") < text.index("`gone`")  # removed ones come last
    assert "**conv2_k3**" not in text


def test_base_without_metrics():
    metrics = {p: metrics_file(None, {k: v["new"] for k, v in e.items()}) for p, e in METRICS.items()}
    text = render(PARAMS, metrics, "abc1234")
    assert pr_report.NO_BASE_METRICS in text
    a = table_row(text, "conv2_k3")
    assert a[1] == "—" and a[2] == "**99.21%**" and a[3] == "—"
    assert "*(new)*" not in text  # everything is new: the note says so once
    assert "Biggest" not in text


def test_nothing_at_all_renders():
    text = render({}, {}, "abc1234")
    assert pr_report.NO_BASE_METRICS in text
    assert "No params changed." in text
    assert "No architecture metrics found" in text


def test_params_of_a_base_before_the_pipeline_are_folded():
    params = {"params.yaml": {f"p{i}": entry(None, i) for i in range(30)}}
    text = render(params, {}, "abc")
    assert "no params yet: 30 params added" in text and "<details>" in text


def test_list_params_diff_per_changed_layer_argument():
    old = "[{'type': 'conv', 'filters': 32, 'kernel_size': 3}, {'type': 'flatten'}]"
    new = "[{'type': 'conv', 'filters': 32, 'kernel_size': 5}, {'type': 'flatten'}]"
    longer = "[{'type': 'conv', 'filters': 32, 'kernel_size': 3}, {'type': 'batchnorm'}, {'type': 'flatten'}]"
    params = {"params.yaml": {"architectures.a.layers": entry(old, new), "architectures.b.layers": entry(old, longer),
                              "train.extra_seeds": entry("[]", "[1, 2]")}}
    text = render(params, {}, "main")
    assert "| `architectures.a.layers[0].kernel_size` | `3` | `5` |" in text
    assert "`architectures.b.layers` | `[{'type': 'conv'" in text  # different lengths: whole lists
    assert "| `train.extra_seeds` | `[]` | `[1, 2]` |" in text


def test_params_of_other_files_are_prefixed_and_pipes_escaped():
    params = {"params.yaml": {"x": entry(1, 2)}, "other.yaml": {"y": entry("a|b", "c")}}
    text = render(params, {}, "main")
    assert "`params.yaml:x`" in text and "`other.yaml:y` | `a\\|b` | `c` |" in text


def test_seed_runs_are_not_architectures():
    metrics = dict(METRICS)
    metrics["metrics/seeds/conv2_k3-seed1.json"] = metrics_file({"test_accuracy": 0.99}, {"test_accuracy": 0.999})
    metrics["metrics/train/conv2_k3.json"] = metrics_file({"train_seconds": 1.0}, {"train_seconds": 2.0})
    text = render({}, metrics, "main")
    metrics_table = text.split("### Metrics")[1].split("**Best:**")[0]
    assert "seed1" not in metrics_table and "train/" not in metrics_table
    assert "Per-seed runs (1)" in text and "| `conv2_k3-seed1` | 99.00% | 99.90% | +0.90 |" in text
    assert "**conv2_k3**" in text  # 99.9 % of a seed run does not make it the best architecture row


def test_plots_reference():
    assert "![architecture comparison](plots/comparison.png)" in render({}, METRICS, "m", plots="plots/comparison.png")
    assert "![" not in render({}, METRICS, "m")


# --------------------------------------------------------------------------- the CLI on a real repo

needs_tools = pytest.mark.skipif(shutil.which("git") is None or not DVC.exists(),
                                 reason="needs git and the venv's dvc")

DVC_YAML = """\
stages:
  evaluate:
    cmd: "true"
    params:
      - train
      - architectures
    metrics:
      - metrics/a.json:
          cache: false
      - metrics/b.json:
          cache: false
"""


def params_yaml(lr: float) -> str:
    return f"train:\n  epochs: 3\n  lr: {lr}\narchitectures:\n  a: {{filters: 32}}\n  b: {{filters: 64}}\n"


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def run(cmd: list, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=clean_env(), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", message], repo)


def new_repo(path: Path) -> Path:
    path.mkdir()
    run(["git", "init", "-q"], path)
    run(["git", "config", "user.name", "Test"], path)
    run(["git", "config", "user.email", "test@example.com"], path)
    run(["git", "config", "commit.gpgsign", "false"], path)
    return path


def init_pipeline(repo: Path, lr: float, metrics: dict | None) -> None:
    run([DVC, "init", "-q"], repo)
    (repo / "params.yaml").write_text(params_yaml(lr))
    (repo / "dvc.yaml").write_text(DVC_YAML)
    write_metrics(repo, metrics or {})


def write_metrics(repo: Path, metrics: dict) -> None:
    (repo / "metrics").mkdir(exist_ok=True)
    for name, values in metrics.items():
        (repo / "metrics" / f"{name}.json").write_text(json.dumps(values))


def report(repo: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "stages.tools.pr_report", *args], repo, check=check)


OLD = {"a": {"test_accuracy": 0.98, "test_loss": 0.06, "params": 1000, "train_seconds": 10.0},
       "b": {"test_accuracy": 0.99, "test_loss": 0.04, "params": 2000, "train_seconds": 20.0}}
NEW = {"a": {"test_accuracy": 0.9935, "test_loss": 0.03, "params": 1000, "train_seconds": 11.0},
       "b": {"test_accuracy": 0.9875, "test_loss": 0.05, "params": 2000, "train_seconds": 21.0}}


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory) -> Path:
    repo = new_repo(tmp_path_factory.mktemp("pr_report") / "repo")
    init_pipeline(repo, lr=0.1, metrics=OLD)
    commit(repo, "base")
    (repo / "params.yaml").write_text(params_yaml(0.25))
    write_metrics(repo, NEW)
    commit(repo, "change lr, retrain")
    return repo


@needs_tools
def test_cli_against_previous_commit(two_commits):
    text = report(two_commits, "--base", "HEAD~1").stdout
    assert "`HEAD~1`" in text.splitlines()[0]
    assert "| `train.lr` | `0.1` | `0.25` |" in text
    assert "epochs" not in text.split("### Metrics")[0]  # unchanged params are left out
    a, b = table_row(text, "a"), table_row(text, "b")
    assert a[0] == f"{pr_report.BEST_MARK} **a**"
    assert a[1:4] == ["98.00%", "**99.35%**", "+1.35"]
    assert b[0] == "`b`" and b[1:4] == ["99.00%", "98.75%", "-0.25"]
    assert a[4:] == ["0.0600", "0.0300", "1,000", "11.0"]
    assert pr_report.NO_BASE_METRICS not in text


@needs_tools
def test_cli_out_file_and_head_option(two_commits):
    write_metrics(two_commits, {"a": {**NEW["a"], "test_accuracy": 0.5}})  # uncommitted
    try:
        run([sys.executable, "-m", "stages.tools.pr_report", "--base", "HEAD~1", "--out", "out/report.md",
             "--plots", "plots/comparison.png"], two_commits)
        text = (two_commits / "out" / "report.md").read_text()
        assert table_row(text, "a")[2] == "50.00%"  # the working tree by default
        assert "![architecture comparison](plots/comparison.png)" in text
        committed = report(two_commits, "--base", "HEAD~1", "--head", "HEAD").stdout
        assert table_row(committed, "a")[2] == "**99.35%**"
    finally:
        write_metrics(two_commits, NEW)
        shutil.rmtree(two_commits / "out", ignore_errors=True)


@needs_tools
def test_cli_base_before_the_pipeline(tmp_path):
    repo = new_repo(tmp_path / "repo")
    (repo / "README.md").write_text("before DVC\n")
    commit(repo, "before the pipeline")
    init_pipeline(repo, lr=0.1, metrics=NEW)
    commit(repo, "pipeline")
    text = report(repo, "--base", "HEAD~1").stdout
    assert pr_report.NO_BASE_METRICS in text
    assert "| `train.lr` | — | `0.1` |" in text
    a, b = table_row(text, "a"), table_row(text, "b")
    assert a[0] == f"{pr_report.BEST_MARK} **a**" and a[1:4] == ["—", "**99.35%**", "—"]
    assert b[1:4] == ["—", "98.75%", "—"]


@needs_tools
def test_cli_base_without_metrics_files(tmp_path):
    repo = new_repo(tmp_path / "repo")
    init_pipeline(repo, lr=0.1, metrics=None)  # dvc.yaml declares them, nothing has been run yet
    commit(repo, "pipeline, not run")
    write_metrics(repo, NEW)
    commit(repo, "first results")
    text = report(repo, "--base", "HEAD~1").stdout
    assert pr_report.NO_BASE_METRICS in text and "No params changed." in text
    assert table_row(text, "a")[1:4] == ["—", "**99.35%**", "—"]


@needs_tools
def test_cli_unknown_base_is_a_clear_error(two_commits):
    done = report(two_commits, "--base", "no-such-branch", check=False)
    assert done.returncode != 0 and done.stdout == ""
    assert "no-such-branch" in done.stderr and "not found" in done.stderr
    assert "Traceback" not in done.stderr
