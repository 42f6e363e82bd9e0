"""The PR report: the exact McNemar test, render() on hand-written DVC diffs and predictions, then
the CLI on a real throwaway git + DVC repo with hand-made study files (no training)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stages.common.imports import closure
from stages.review import cells, comment, run_sections
from stages.review.comment import render
from stages.review.predictions import Predictions, parse
from stages.statistics.mcnemar import discordant, holm, mcnemar_p

ROOT = Path(__file__).resolve().parent.parent  # the repo that holds `stages/`
DVC = Path(sys.executable).parent / "dvc"  # the venv's dvc, also when the venv is not activated


# --------------------------------------------------------------------------- exact McNemar


@pytest.mark.parametrize(
    "b, c, p",
    [
        (0, 10, 2 / 1024),
        (10, 0, 2 / 1024),
        (1, 10, 2 * (1 + 11) / 2**11),
        (0, 1, 1.0),  # one discordant image can never be significant
        (0, 0, 1.0),  # never disagree on correctness
        (7, 7, 1.0),
        (250, 250, 1.0),
    ],
)
def test_mcnemar_known_values(b, c, p):
    assert mcnemar_p(b, c) == pytest.approx(p, rel=1e-12)


def test_mcnemar_tiny_p_is_not_negative_or_nan():
    assert 0.0 <= mcnemar_p(0, 3000) < 1e-300


def test_mcnemar_rejects_negative_counts():
    with pytest.raises(ValueError, match="b=-1"):
        mcnemar_p(-1, 3)


def test_mcnemar_matches_scipy_binomtest():
    scipy_stats = pytest.importorskip("scipy.stats")
    for b in range(0, 40, 3):
        for c in range(0, 60, 7):
            if b + c:
                expected = min(1.0, scipy_stats.binomtest(b, b + c, 0.5).pvalue)
                assert mcnemar_p(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300), (b, c)


def test_discordant_counts_only_images_one_side_gets_right():
    actual = [0, 1, 2, 3, 4]
    base = [0, 1, 9, 9, 4]  # right on 0, 1, 4
    head = [0, 9, 2, 8, 4]  # right on 0, 2, 4; image 3 wrong on both sides (differently)
    assert discordant(actual, base, head) == (1, 1)
    with pytest.raises(ValueError, match="different lengths"):
        discordant(actual, base, head[:-1])


def test_holm_step_down_in_input_order():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == [1.0, 1.0] and holm([]) == []
    np_stats = pytest.importorskip("stages.statistics.classic")
    values = [0.001, 0.2, 0.04, 0.04, 0.7]
    assert holm(values) == pytest.approx(np_stats.holm(values))


def _imports(path: Path, module_level: bool) -> list[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level else list(ast.walk(tree))
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module)
    return names


def test_review_package_needs_the_standard_library_only():
    """The PR workflow may install DVC alone: what pr_report imports at module level, transitively,
    is stdlib or ours; numpy/scipy come only through stages.review.architectures' function-level
    import of stages.statistics, which falls back to McNemar without them."""
    allowed = {"stages", "__future__"}
    for path in closure("stages.tools.pr_report", ROOT):
        if path.parent.name == "statistics" and path.name != "mcnemar.py":
            continue  # reached only through the lazy import below
        for name in _imports(path, module_level=True):
            top = name.split(".")[0]
            assert top in allowed or top in sys.stdlib_module_names, (path, name)
    lazy = [n for n in _imports(ROOT / "stages/review/architectures.py", module_level=False) if "statistics" in n]
    assert lazy and not any("statistics" in n for n in _imports(ROOT / "stages/review/architectures.py", True))


def test_without_numpy_the_review_falls_back_to_mcnemar():
    code = (
        "import sys; sys.modules['numpy'] = None; sys.modules['scipy'] = None\n"
        "from stages.review.comment import render\n"
        "from stages.review.predictions import Predictions\n"
        "actual = tuple(i % 10 for i in range(40))\n"
        "base = Predictions('b', actual, {'a': actual, 'a-seed1': actual})\n"
        "wrong = tuple((y + 1) % 10 if i < 3 else y for i, y in enumerate(actual))\n"
        "head = Predictions('h', actual, {'a': wrong, 'a-seed1': wrong})\n"
        "print(render({}, {}, 'main', base_predictions=base, head_predictions=head))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "numpy/scipy not installed" in result.stdout and "### Runs whose predictions changed" in result.stdout


# --------------------------------------------------------------------------- predictions.csv


def test_parse_predictions():
    p = parse("actual,a,b\n7,7,1\n2,2,2\n", "x.csv")
    assert p.actual == (7, 2) and p.runs == {"a": (7, 2), "b": (1, 2)} and list(p.runs) == ["a", "b"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("run,a\n1,1\n", "x.csv: the header must start with 'actual'"),
        ("", "x.csv: the header must start with 'actual'"),
        ("actual,a,a\n1,1,1\n", "run names must be unique"),
        ("actual,a\n1,1\n2\n", "x.csv, line 3: 1 fields, the header has 2"),
        ("actual,a\n1,seven\n", "x.csv, line 2: 'seven' is not a class index"),
    ],
)
def test_malformed_predictions_name_file_line_and_value(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse(text, "x.csv")


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    "old, new, text",
    [
        (0.98, 0.985, "+0.50"),
        (0.9925, 0.9905, "-0.20"),
        (0.99, 0.99, "+0.00"),
        (0.98, 0.98005, "+0.01"),  # exact decimal arithmetic: half a hundredth rounds up
        (0.98, 0.97996, "-0.00"),  # tiny losses keep their sign
        (None, 0.99, "—"),
        (0.99, None, "—"),
    ],
)
def test_delta_is_signed_percentage_points_with_two_decimals(old, new, text):
    assert cells.delta(old, new) == text


def test_delta_rounds_half_away_from_zero():
    assert cells.delta(0.98, 0.97875) == "-0.13"
    assert cells.delta(0.98, 0.98125) == "+0.13"


def test_cells():
    assert cells.percent(0.9921) == "99.21%" and cells.percent(None) == cells.percent("n/a") == "—"
    assert [cells.fmt_param(v) for v in (True, 0.1, "a|b", [1, 2], None)] == [
        "`true`",
        "`0.1`",
        "`a\\|b`",
        "`[1, 2]`",
        "—",
    ]
    assert cells.details("2 runs", "body") == "<details><summary>2 runs</summary>\n\nbody\n\n</details>"


# --------------------------------------------------------------------------- render() on hand-written inputs


def entry(old, new):
    """One value of a DVC diff: `diff` only when both sides are numbers, as DVC does."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    return {"old": old, "new": new, "diff": new - old} if numbers else {"old": old, "new": new}


def flat_diff(old: dict, new: dict) -> dict:
    """How DVC flattens {run: {metric: value}} on both sides: {"run.metric": entry}."""
    pairs = {(run, metric) for side in (old, new) for run, values in side.items() for metric in values}
    return {f"{r}.{m}": entry(old.get(r, {}).get(m), new.get(r, {}).get(m)) for r, m in sorted(pairs)}


def metrics_diff(old: dict, new: dict, study_old: dict | None = None, study_new: dict | None = None) -> dict:
    """`dvc metrics diff --all --json` of metrics/runs.json (and metrics/study.json)."""
    out = {"metrics/runs.json": flat_diff(old, new)}
    if study_old is not None or study_new is not None:
        out["metrics/study.json"] = flat_diff(study_old or {}, study_new or {})
    return out


def params(alpha=0.05, **changed) -> dict:
    """`dvc params diff --all --json`: report.alpha unchanged, plus the given changes."""
    diff = {"report.alpha": entry(alpha, alpha), "train.epochs": entry(15, 15)}
    diff.update({k.replace("__", "."): entry(*v) for k, v in changed.items()})
    return {"params.yaml": diff}


ACTUAL = tuple(i % 10 for i in range(40))


def preds(source: str, actual=ACTUAL, **runs) -> Predictions:
    return Predictions(source, tuple(actual), {name: tuple(p) for name, p in runs.items()})


def wrong_on(count: int, actual=ACTUAL, start: int = 0) -> tuple[int, ...]:
    """Predictions right on every image except `count` of them from `start` on."""
    return tuple((y + 1) % 10 if start <= i < start + count else y for i, y in enumerate(actual))


def m(acc, loss=0.03, params=1000, seconds=10.0):
    return {"test_accuracy": acc, "test_loss": loss, "params": params, "train_seconds": seconds}


# a: 12 wrong in the base, 2 in the branch (10 fixed, none broken); b and c: identical predictions
BASE = preds("base", a=wrong_on(12), b=wrong_on(3), c=wrong_on(4))
HEAD = preds("head", a=wrong_on(2), b=wrong_on(3), c=wrong_on(4))
OLD = {"a": m(0.70), "b": m(0.925, params=2000), "c": m(0.90)}
NEW = {"a": m(0.95, loss=0.02), "b": m(0.925, params=2000), "c": m(0.90)}


def row(text: str, name: str) -> list[str]:
    """The cells of the first table row whose first cell is `name` in backticks (or bold)."""
    for line in text.splitlines():
        cells_ = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and name in (cells_[0].strip("`*"), cells_[0].split()[-1].strip("`*")):
            return cells_
    raise AssertionError(f"no row for {name} in:\n{text}")


def section(text: str, title: str) -> str:
    """The text under `title`, up to the next heading or folded block."""
    rest = text.split(title, 1)[1]
    return min((rest.split(end, 1)[0] for end in ("\n### ", "<details>", "**Best in")), key=len)


def test_changed_run_gets_its_p_value_and_verdict():
    text = render(params(), metrics_diff(OLD, NEW), "origin/main", base_predictions=BASE, head_predictions=HEAD)
    assert text.startswith("## ") and "`origin/main`" in text.splitlines()[0]
    changed = section(text, "### Runs whose predictions changed")
    assert row(changed, "a") == ["`a`", "70.00%", "95.00%", "+25.00", "10", "0", "0.002", "**significant**: better"]
    assert "`b`" not in changed and "`c`" not in changed
    assert "40 test images" in changed and "α = 0.05" in changed and "Holm" not in changed
    assert "**Significant at α = 0.05:** `a` (better, p = 0.002)." in changed


def test_unchanged_runs_collapse_into_one_details_block():
    text = render(params(), metrics_diff(OLD, NEW), "main", base_predictions=BASE, head_predictions=HEAD)
    folded = text.split(
        "<details><summary>2 runs with unchanged predictions (the same class on all 40 test images)</summary>"
    )[1].split("</details>")[0]
    assert row(folded, "b")[1:] == ["92.50%", "0.0300", "0.0300", "2,000", "10.0"]
    assert row(folded, "c")[1] == "90.00%" and "`a`" not in folded
    assert text.count("<details>") == 1


def test_alpha_comes_from_the_params_and_decides_the_verdict():
    text = render(params(alpha=0.001), metrics_diff(OLD, NEW), "main", base_predictions=BASE, head_predictions=HEAD)
    assert row(text, "a")[-1] == "not significant: within test-set noise"
    assert "**Not significant:** the change of `a` is within test-set noise." in text
    no_alpha = render({}, metrics_diff(OLD, NEW), "main", base_predictions=BASE, head_predictions=HEAD)
    assert "no `report.alpha` in the params of this branch: significance at α = 0.05" in no_alpha
    with pytest.raises(ValueError, match=r"params.yaml: report.alpha must be a number between 0 and 1, got 5"):
        render(params(alpha=5), {}, "main")


def test_worse_and_several_changed_runs_use_holm():
    head = preds("head", a=wrong_on(2), b=wrong_on(13), c=wrong_on(5))  # b: 10 broken; c: 1 broken
    new = {**NEW, "b": m(0.675), "c": m(0.875)}
    text = render(params(), metrics_diff(OLD, new), "main", base_predictions=BASE, head_predictions=head)
    changed = section(text, "### Runs whose predictions changed")
    assert "p adjusted by Holm over the 3 changed runs" in changed
    assert row(changed, "a")[5:] == ["0", "0.002", "0.0059", "**significant**: better"]  # 3 x 2/1024
    assert row(changed, "b")[4:] == ["0", "10", "0.002", "0.0059", "**significant**: worse"]  # step-down: not below a's
    assert row(changed, "c")[-2:] == ["1", "not significant: within test-set noise"]
    assert "`a` (better, p = 0.0059), `b` (worse, p = 0.0059); 1 of 3 changed runs not." in changed
    assert "<details>" not in text


def test_two_seeds_on_both_sides_use_the_study_s_test_over_seeds_and_images():
    """a has 2 seeds on both sides and fixes 10 images on each: tested as an architecture (the
    report's test), not run by run; c has one run: McNemar as before."""
    actual = tuple(i % 10 for i in range(400))
    base = preds("base", actual, a=wrong_on(14, actual), **{"a-seed1": wrong_on(13, actual)}, c=wrong_on(4, actual))
    head = preds("head", actual, a=wrong_on(4, actual), **{"a-seed1": wrong_on(3, actual)}, c=wrong_on(6, actual))
    text = render(params(), metrics_diff(OLD, NEW), "main", base_predictions=base, head_predictions=head)
    archs = section(text, "### Architectures whose runs changed, over seeds and test images")
    assert row(archs, "a")[:5] == ["`a`", "2 → 2", "96.63%", "99.13%", "+2.50"]
    assert row(archs, "a")[-1] == "**better** than the base"
    assert "Holm over the 1 architecture(s)" in archs and "±0.10 points" in archs
    per_run = section(text, "### Runs whose predictions changed")
    assert "`c`" in per_run and "`a`" not in per_run and "`a-seed1`" not in per_run


def test_changed_predictions_with_the_same_correctness():
    head = preds(
        "head",
        a=tuple((y + 2) % 10 if i < 12 else y for i, y in enumerate(ACTUAL)),  # other wrong classes
        b=wrong_on(3),
        c=wrong_on(4),
    )
    text = render(params(), metrics_diff(OLD, OLD), "main", base_predictions=BASE, head_predictions=head)
    assert row(text, "a")[3:] == ["+0.00", "0", "0", "1", "not significant (as many images fixed as broken)"]


def test_different_test_set_is_said_and_not_tested():
    other = tuple((y + 1) % 10 if i == 5 else y for i, y in enumerate(ACTUAL))
    head = preds("head", actual=other, a=wrong_on(2, other), b=wrong_on(3, other), c=wrong_on(4, other))
    text = render(params(), metrics_diff(OLD, NEW), "main", base_predictions=BASE, head_predictions=head)
    assert "The test set differs between the revisions (the true class differs on 1 of the 40 test images)" in text
    assert "no McNemar test" in text and "### Runs whose predictions changed" not in text
    assert row(text, "a")[1:] == ["70.00%", "95.00%", "+25.00", "different test set"]
    shorter = preds("head", actual=ACTUAL[:30], a=wrong_on(2, ACTUAL[:30]))
    text = render(params(), metrics_diff(OLD, NEW), "main", base_predictions=BASE, head_predictions=shorter)
    assert "40 test images in the base, 30 in this branch" in text


def test_base_without_study_files():
    text = render(params(), metrics_diff({}, NEW), "abc1234", base_predictions=None, head_predictions=HEAD)
    assert comment.NO_BASE_STUDY in text
    runs = section(text, "### Runs\n")
    assert [row(runs, n)[1] for n in "abc"] == ["95.00%", "92.50%", "90.00%"]
    assert "Runs added" not in text and "McNemar p" not in text and "<details>" not in text


def test_runs_added_and_removed():
    base = preds("base", a=wrong_on(12), b=wrong_on(3), gone=wrong_on(1))
    head = preds("head", a=wrong_on(2), b=wrong_on(3), fresh=wrong_on(0))
    old = {"a": OLD["a"], "b": OLD["b"], "gone": m(0.975)}
    new = {"a": NEW["a"], "b": NEW["b"], "fresh": m(1.0, params=5000)}
    text = render(params(), metrics_diff(old, new), "main", base_predictions=base, head_predictions=head)
    assert row(section(text, "### Runs added"), "fresh")[1:] == ["100.00%", "0.0300", "5,000", "10.0"]
    assert "**Removed:** `gone` (base 97.50%)." in text
    assert row(section(text, "### Runs whose predictions changed"), "a")[6] == "0.002"
    assert "1 run with unchanged predictions" in text


def test_predictions_missing_on_one_side_is_not_tested():
    text = render(params(), metrics_diff(OLD, NEW), "main", base_predictions=None, head_predictions=HEAD)
    assert comment.NO_BASE_STUDY not in text  # the base has metrics/runs.json
    assert row(text, "a")[-1] == "no predictions in the base"
    text = render(params(), metrics_diff(OLD, NEW), "main", base_predictions=BASE, head_predictions=None)
    assert row(text, "a")[-1] == "no predictions in this branch"


def test_nothing_changed():
    text = render(params(), metrics_diff(OLD, OLD), "main", base_predictions=BASE, head_predictions=BASE)
    assert "No run's predictions changed." in text and "3 runs with unchanged predictions" in text


def test_nothing_at_all_renders():
    text = render({}, {}, "abc1234")
    assert comment.NO_BASE_STUDY in text and "no study files in the new tree either" in text
    assert "No params changed." in text


def test_best_main_run_ignores_seed_runs():
    head = preds("head", a=wrong_on(2), b=wrong_on(3), c=wrong_on(4), **{"b-seed1": wrong_on(0)})
    new = {**NEW, "b-seed1": m(1.0)}
    text = render(params(), metrics_diff(OLD, new), "main", base_predictions=BASE, head_predictions=head)
    assert f"**Best in this branch:** {run_sections.BEST_MARK} `a` with 95.00% test accuracy." in text
    assert row(section(text, "### Runs added"), "b-seed1")[1] == "100.00%"


def test_mean_over_seeds_only_when_some_architecture_has_several_runs():
    study_old = {"a": {"mean": 0.7, "sd": 0.01, "runs": 2}, "b": {"mean": 0.9, "sd": 0.02, "runs": 2}}
    study_new = {"a": {"mean": 0.95, "sd": 0.005, "runs": 2}, "b": study_old["b"]}
    diff = metrics_diff(OLD, NEW, study_old, study_new)
    text = render(params(), diff, "main", base_predictions=BASE, head_predictions=HEAD)
    seeds = section(text, "### Mean over seeds")
    assert row(seeds, "a")[1:] == ["70.00%", "95.00%", "+25.00", "1.00%", "0.50%", "2"]
    assert "1 other architecture unchanged" in seeds and "`b`" not in seeds
    single = {k: {"mean": v["mean"], "runs": 1} for k, v in study_new.items()}
    text = render(
        params(), metrics_diff(OLD, NEW, single, single), "main", base_predictions=BASE, head_predictions=HEAD
    )
    assert "Mean over seeds" not in text


def test_params_table_leaves_unchanged_params_out():
    text = render(params(train__lr=(0.1, 0.25), data__validation=("holdout", "test")), {}, "main")
    assert "| `train.lr` | `0.1` | `0.25` |" in text and "| `data.validation` | `holdout` | `test` |" in text
    assert "epochs" not in text and "report.alpha" not in text and "no params yet" not in text


def test_params_of_a_base_before_the_pipeline_are_folded():
    text = render({"params.yaml": {f"p{i}": entry(None, i) for i in range(30)}}, {}, "abc")
    assert "no params yet: 30 params added" in text and "<details>" in text


def test_list_params_diff_per_changed_layer_argument():
    old = "[{'type': 'conv', 'filters': 32, 'kernel_size': 3}, {'type': 'flatten'}]"
    new = "[{'type': 'conv', 'filters': 32, 'kernel_size': 5}, {'type': 'flatten'}]"
    longer = "[{'type': 'conv', 'filters': 32, 'kernel_size': 3}, {'type': 'batchnorm'}, {'type': 'flatten'}]"
    diff = {
        "params.yaml": {
            "architectures.a.layers": entry(old, new),
            "architectures.b.layers": entry(old, longer),
            "train.extra_seeds": entry("[]", "[1, 2]"),
        }
    }
    text = render(diff, {}, "main")
    assert "| `architectures.a.layers[0].kernel_size` | `3` | `5` |" in text
    assert "`architectures.b.layers` | `[{'type': 'conv'" in text  # different lengths: whole lists
    assert "| `train.extra_seeds` | `[]` | `[1, 2]` |" in text


def test_params_of_other_files_are_prefixed_and_pipes_escaped():
    text = render({"params.yaml": {"x": entry(1, 2)}, "other.yaml": {"y": entry("a|b", "c")}}, {}, "main")
    assert "`params.yaml:x`" in text and "`other.yaml:y` | `a\\|b` | `c` |" in text


def test_plots_reference():
    assert "![architecture comparison](plots/comparison.png)" in render({}, {}, "m", plots="plots/comparison.png")
    assert "![" not in render({}, {}, "m")


# --------------------------------------------------------------------------- the CLI on a real repo

needs_tools = pytest.mark.skipif(shutil.which("git") is None or not DVC.exists(), reason="needs git and the venv's dvc")

DVC_YAML = """\
stages:
  report:
    cmd: "true"
    params:
      - report
      - train
      - architectures
    outs:
      - plots/study/predictions.csv:
          cache: false
    metrics:
      - metrics/study.json:
          cache: false
      - metrics/runs.json:
          cache: false
"""


def params_yaml(lr_a: float) -> str:
    return (
        f"train:\n  epochs: 3\nreport:\n  alpha: 0.02\n"
        f"architectures:\n  a: {{lr: {lr_a}}}\n  b: {{lr: 0.1}}\n  c: {{lr: 0.1}}\n"
    )


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
    for cmd in (
        ["init", "-q"],
        ["config", "user.name", "Test"],
        ["config", "user.email", "test@example.com"],
        ["config", "commit.gpgsign", "false"],
    ):
        run(["git", *cmd], path)
    return path


def write_study(repo: Path, runs: dict, predictions: Predictions) -> None:
    """What the report stage would commit: metrics/runs.json, metrics/study.json, plots/study/predictions.csv."""
    (repo / "metrics").mkdir(exist_ok=True)
    (repo / "metrics" / "runs.json").write_text(json.dumps(runs))
    study = {name: {"mean": values["test_accuracy"], "runs": 1} for name, values in runs.items()}
    (repo / "metrics" / "study.json").write_text(json.dumps(study))
    (repo / "plots" / "study").mkdir(parents=True, exist_ok=True)
    names = list(predictions.runs)
    lines = [",".join(["actual", *names])]
    lines += [
        ",".join(str(v) for v in (y, *(predictions.runs[n][i] for n in names)))
        for i, y in enumerate(predictions.actual)
    ]
    (repo / "plots" / "study" / "predictions.csv").write_text("\n".join(lines) + "\n")


def init_pipeline(repo: Path) -> None:
    run([DVC, "init", "-q"], repo)
    (repo / "params.yaml").write_text(params_yaml(0.1))
    (repo / "dvc.yaml").write_text(DVC_YAML)


def report(repo: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "stages.tools.pr_report", *args], repo, check=check)


# The branch changes a's learning rate and retrains only a: of the base's 12 errors (images 0-11) it
# fixes 10 and it breaks image 20, so b = 1, c = 10 and p = 2 * (1 + 11) / 2**11 = 0.0117.
A_HEAD = tuple((y + 1) % 10 if i in (10, 11, 20) else y for i, y in enumerate(ACTUAL))
CLI_BASE = preds("base", a=wrong_on(12), b=wrong_on(3), c=wrong_on(4))
CLI_HEAD = preds("head", a=A_HEAD, b=wrong_on(3), c=wrong_on(4))
CLI_NEW = {**OLD, "a": m(0.925, loss=0.025, seconds=12.5)}


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory) -> Path:
    repo = new_repo(tmp_path_factory.mktemp("pr_report") / "repo")
    init_pipeline(repo)
    write_study(repo, OLD, CLI_BASE)
    commit(repo, "base")
    (repo / "params.yaml").write_text(params_yaml(0.25))
    write_study(repo, CLI_NEW, CLI_HEAD)
    commit(repo, "change a's lr, retrain a")
    return repo


@pytest.mark.slow  # the real dvc CLI in a git repo: not in `make test-fast`
@needs_tools
def test_cli_prints_the_changed_runs_p_value_and_collapses_the_others(two_commits):
    text = report(two_commits, "--base", "HEAD~1").stdout
    assert text.startswith("## ") and "`HEAD~1`" in text.splitlines()[0]
    assert "| `architectures.a.lr` | `0.1` | `0.25` |" in text
    params_table = section(text, "### Params changed")
    assert "epochs" not in params_table and "report.alpha" not in params_table  # unchanged ones left out
    changed = section(text, "### Runs whose predictions changed")
    assert row(changed, "a") == ["`a`", "70.00%", "92.50%", "+22.50", "10", "1", "0.012", "**significant**: better"]
    assert "**Significant at α = 0.02:** `a` (better, p = 0.012)." in changed
    assert "no `report.alpha`" not in text  # read from the head's params.yaml through `dvc params diff --all`
    assert "2 runs with unchanged predictions (the same class on all 40 test images)" in text
    assert row(text.split("<details>")[1], "b")[1] == "92.50%" and "`c`" in text.split("<details>")[1]
    assert comment.NO_BASE_STUDY not in text


@pytest.mark.slow  # the real dvc CLI in a git repo: not in `make test-fast`
@needs_tools
def test_cli_out_file_and_head_option(two_commits):
    work = preds("work", a=A_HEAD, b=wrong_on(3), c=wrong_on(14))  # uncommitted: c breaks 10 more
    write_study(two_commits, {**CLI_NEW, "c": m(0.65)}, work)
    try:
        report(two_commits, "--base", "HEAD~1", "--out", "out/report.md", "--plots", "plots/comparison.png")
        text = (two_commits / "out" / "report.md").read_text()
        assert row(text, "c")[-1] == "**significant**: worse"  # the working tree by default
        assert "Holm over the 2 changed runs" in text
        assert "![architecture comparison](plots/comparison.png)" in text
        committed = report(two_commits, "--base", "HEAD~1", "--head", "HEAD").stdout
        assert "`HEAD` vs `HEAD~1`" in committed and "2 runs with unchanged predictions" in committed
    finally:
        write_study(two_commits, CLI_NEW, CLI_HEAD)
        shutil.rmtree(two_commits / "out", ignore_errors=True)


@pytest.mark.slow  # the real dvc CLI in a git repo: not in `make test-fast`
@needs_tools
def test_cli_base_before_the_study(tmp_path):
    repo = new_repo(tmp_path / "repo")
    (repo / "README.md").write_text("before DVC\n")
    commit(repo, "before the pipeline")
    init_pipeline(repo)
    write_study(repo, NEW, HEAD)
    commit(repo, "pipeline and its first study")
    text = report(repo, "--base", "HEAD~1").stdout
    assert comment.NO_BASE_STUDY in text and "| `report.alpha` | — | `0.02` |" in text
    assert [row(section(text, "### Runs\n"), n)[1] for n in "abc"] == ["95.00%", "92.50%", "90.00%"]
    assert "McNemar p" not in text


@pytest.mark.slow  # the real dvc CLI in a git repo: not in `make test-fast`
@needs_tools
def test_cli_malformed_predictions_is_a_clear_error(two_commits):
    path = two_commits / "plots" / "study" / "predictions.csv"
    path.write_text("actual,a,b,c\n1,1,1,1\n2,2,x,2\n")
    try:
        done = report(two_commits, "--base", "HEAD~1", check=False)
    finally:
        write_study(two_commits, CLI_NEW, CLI_HEAD)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert f"{path}, line 3: 'x' is not a class index" in done.stderr


@pytest.mark.slow  # the real dvc CLI in a git repo: not in `make test-fast`
@needs_tools
def test_cli_unknown_base_is_a_clear_error(two_commits):
    done = report(two_commits, "--base", "no-such-branch", check=False)
    assert done.returncode != 0 and done.stdout == ""
    assert "no-such-branch" in done.stderr and "not found" in done.stderr
    assert "Traceback" not in done.stderr
