"""stages.report on a synthetic project: fake metrics, histories and predictions in a tmp dir.

No training, no Keras: every number below is constructed, so the tables, the tests and
the verdicts can be checked exactly.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from stages import report
from stages.common import layout
from stages.mnist.splits import split
from stages.model.shapes import forward_flops
from stages.reporting import (
    conclusions,
    describe,
    document,
    figures,
    formatting,
    outputs,
    reproduction,
    significance,
)
from stages.reporting.inputs import run_files
from stages.statistics import classic as stats
from stages.statistics import seeds_images as si

from conftest import reference_architectures

ROOT = Path(__file__).resolve().parent.parent
REAL_PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
# sample architectures: the notebook's, as declared in reference/ (params.yaml may have dropped some)
REAL_PARAMS["architectures"] = reference_architectures()
N_TEST = 1000
ACTUAL = np.random.default_rng(0).integers(0, 10, size=N_TEST)

# errors of each main run (indices of the test images it gets wrong):
#   conv2_k5 vs conv2_k3: conv2_k5 right / conv2_k3 wrong on 0..9 (b = 10), never the reverse (c = 0)
#   conv3_k753 vs conv2_k3: 5 / 5 discordant images
#   conv2_k3_wide (not in the notebook): the very same predictions as conv2_k3
ERRORS = {
    "conv2_k3": list(range(20)),
    "conv2_k5": list(range(10, 20)),
    "conv3_k753": list(range(15)) + list(range(500, 505)),
    "conv2_k3_wide": list(range(20)),
}
# extra seeds' test accuracies; each seed run gets that many errors on images 100 * seed onwards
#   conv2_k5 vs conv2_k3: 1 point better on every seed (supported over seeds)
#   conv2_k3_wide vs conv2_k3: the same mean, wider spread (not supported)
SEED_ACCURACIES = {
    "conv2_k3": {1: 0.982, 2: 0.978},
    "conv2_k5": {1: 0.991, 2: 0.989},
    "conv2_k3_wide": {1: 0.983, 2: 0.977},
}
EPOCH1_VAL = {"conv2_k3": 0.951, "conv2_k5": 0.962, "conv3_k753": 0.973, "conv2_k3_wide": 0.944}


def record(root: Path, run: str) -> Path:
    """The folder of a run's record, which the report reads (stages.common.records)."""
    return root / "metrics" / "record" / run


def synthetic_params(extra_seeds=(1, 2)) -> dict:
    params = copy.deepcopy(REAL_PARAMS)
    archs = {a: params["architectures"][a] for a in ("conv2_k3", "conv2_k5", "conv3_k753")}
    wide = copy.deepcopy(archs["conv2_k3"])
    wide["layers"][5]["units"] = 256
    archs["conv2_k3_wide"] = wide
    params["architectures"] = archs
    params["train"].update(epochs=3, seed=0, extra_seeds=list(extra_seeds))
    params["report"] = {
        "alpha": 0.05,
        "margin": 0.1,
        "reproduction_tolerance": 0.003,
        "comparisons": [
            {
                "title": "Kernels and layers",
                "architectures": ["conv2_k3", "conv2_k5", "conv3_k753"],
                "pairs": [["conv2_k5", "conv2_k3"], ["conv3_k753", "conv2_k3"]],
            },
            {
                "title": "Width",
                "architectures": ["conv2_k3", "conv2_k3_wide"],
                "pairs": [["conv2_k3_wide", "conv2_k3"]],
            },
        ],
    }
    return params


def errors_of(arch: str, seed: int | None, accuracy: float) -> list[int]:
    if seed is None:
        return ERRORS[arch]
    return list(range(100 * seed, 100 * seed + round((1 - accuracy) * N_TEST)))


def predictions(arch: str, seed: int | None = None, accuracy: float = 0.0) -> np.ndarray:
    predicted = ACTUAL.copy()
    wrong = errors_of(arch, seed, accuracy)
    predicted[wrong] = (ACTUAL[wrong] + 1) % 10
    return predicted


def write_run(root: Path, arch: str, seed: int | None, accuracy: float, params: dict) -> None:
    files = run_files(root, arch, seed)
    spec = params["architectures"][arch]
    metrics = {
        "test_accuracy": accuracy,
        "test_loss": 0.05,
        "test_errors": round((1 - accuracy) * N_TEST),
        "test_images": N_TEST,
        "params": 100_000 * (len(arch) % 7 + 1),
        "epochs": 3,
        "best_epoch": 2,
        "train_seconds": 90.0,
        "flops": forward_flops(spec["layers"], params["model"]["input_shape"]),
        "latency_ms": 1.5,
        "model_bytes": 4_200_000,
        "seed": 0 if seed is None else seed,
        "monitor": "val_loss",
    }
    files["metrics"].parent.mkdir(parents=True, exist_ok=True)
    files["metrics"].write_text(json.dumps(metrics))
    files["history"].parent.mkdir(parents=True, exist_ok=True)
    first = EPOCH1_VAL[arch] + (seed or 0) * 0.001
    files["history"].write_text(
        "epoch,loss,accuracy,val_loss,val_accuracy\n"
        f"1,0.3,0.9,0.2,{first}\n2,0.1,0.97,0.08,{first + 0.02}\n"
        f"3,0.05,0.99,0.09,{first + 0.021}\n"
    )
    rows = "\n".join(f"{a},{p}" for a, p in zip(ACTUAL, predictions(arch, seed, accuracy), strict=True))
    files["confusion"].write_text("actual,predicted\n" + rows + "\n")


def make_project(root: Path, params: dict) -> Path:
    (root / "reference").mkdir(parents=True)
    shutil.copy2(ROOT / "reference" / "notebook.yaml", root / "reference" / "notebook.yaml")
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for arch in params["architectures"]:
        write_run(root, arch, None, 1 - len(ERRORS[arch]) / N_TEST, params)
        for seed, accuracy in SEED_ACCURACIES.get(arch, {}).items():
            if seed in params["train"]["extra_seeds"]:
                write_run(root, arch, seed, accuracy, params)
    return root


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path / "project", synthetic_params())


def pair(results, a, b) -> dict:
    return next(r for r in results if (r["a"], r["b"]) == (a, b))


def table_row(text: str, first_cell: str) -> list[str]:
    """Cells of the Markdown table row that starts with `first_cell`."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


def table_rows(text: str) -> list[list[str]]:
    """Cells of every Markdown table row under the header and the alignment row."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines[2:]]


def section(text: str, title: str) -> str:
    """From `title` to the next heading of its level or above ("## ..." ends a "### ..." section)."""
    start = text.index(title)
    level = title.split(" ")[0]
    ends = [text.find(f"\n{'#' * n} ", start + len(title)) for n in range(2, len(level) + 1)]
    ends = [end for end in ends if end >= 0]
    return text[start : min(ends)] if ends else text[start:]


# --------------------------------------------------------------------------- describe


def test_describe_derives_the_attributes_from_the_real_layer_specs():
    archs = REAL_PARAMS["architectures"]
    k753 = describe.describe(archs["conv3_k753"])
    assert (k753["conv_layers"], k753["kernels"]) == (3, "(7x7),(5x5),(3x3)")
    assert (k753["padding"], k753["activation"], k753["batchnorm"]) == ("valid", "relu", "no")
    assert describe.describe(archs["conv2_k3"])["kernels"] == "(3x3),(3x3)"
    assert describe.describe(archs["conv2_k3_same"])["padding"] == "same"
    assert describe.describe(archs["conv3_k7_bn"])["batchnorm"] == "yes"
    s2, k5 = describe.describe(archs["conv3_k7_s2"]), describe.describe(archs["conv3_k5"])
    assert s2["pool_strides"] == ["2", "2"] and k5["pool_strides"] == ["2", "1"]  # the stride-2 pool
    assert s2["strides"] != k5["strides"]
    assert s2["padding"] == "same,valid,valid"
    assert describe.describe(archs["conv3_k753_sigmoid"])["activation"] == "conv relu,sigmoid,sigmoid; dense sigmoid"
    for spec in archs.values():  # every real architecture can be described
        assert describe.describe(spec)["conv_layers"] >= 2


def test_pareto_front_keeps_only_points_no_cheaper_point_beats():
    points = [("a", 10, 99.0), ("b", 1, 98.0), ("c", 5, 97.5), ("d", 20, 99.0), ("e", 3, 98.5)]
    assert figures.pareto_front(points) == ["b", "e", "a"]
    assert figures.pareto_front([]) == []


def test_cost_points_skip_runs_without_a_positive_number():
    runs = {
        arch: {"metrics": {"test_accuracy": 0.99, "flops": flops}}
        for arch, flops in (("a", 2_500_000), ("b", None), ("c", 0), ("d", True), ("e", float("nan")))
    }
    assert figures.cost_points(runs, "flops", scale=1e6) == [("a", 2.5, 99.0)]
    assert figures.cost_points(runs, "params") == []


# --------------------------------------------------------------------------- significance


def test_verdicts_over_seeds_and_images(project):
    """conv2_k5 is 1 point better on every seed (a_better); conv3_k753 has one seed (undecided,
    no price); conv2_k3_wide has conv2_k3's mean with a wider spread (undecided, with a price)."""
    study = document.build(synthetic_params(), project)["study"]
    results = study["results"]
    k5 = pair(results, "conv2_k5", "conv2_k3")
    runs = document.build(synthetic_params(), project)["runs"]
    expected = si.difference(significance.correctness(runs["conv2_k5"]), significance.correctness(runs["conv2_k3"]))
    assert float(k5["estimate"].value) == pytest.approx(0.01)
    assert float(k5["estimate"].variance) == pytest.approx(float(expected.variance))
    assert k5["decision"]["verdict"] == "a_better" and k5["decision"]["ci_low"] > 0
    assert k5["price"] is None and not k5["exploratory"]
    one_seed = pair(results, "conv3_k753", "conv2_k3")
    assert one_seed["estimate"] is None and one_seed["price"] is None
    assert one_seed["decision"]["verdict"] == "undecided"
    assert one_seed["decision"]["reason"] == "1 vs 3 seeds: the test needs 2 or more on each side"
    wide = pair(results, "conv2_k3_wide", "conv2_k3")
    assert wide["decision"]["verdict"] == "undecided" and "contains 0" in wide["decision"]["reason"]
    assert wide["price"]["seeds"] > 3 and wide["price"]["hours"] == pytest.approx(
        2 * (wide["price"]["seeds"] - 3) * 90 / 3600
    )
    # Holm over the 2 testable pairs: the price is asked at Holm's first step among the 1 undecided
    assert study["undecided_level"] == pytest.approx(0.05)
    assert study["archs"]["conv3_k753"]["rank"] is None  # one seed: no interval, no rank set
    # simultaneous intervals over the 3 pairs with seeds (Bonferroni, 2-4 df): conv2_k5 surely above
    # conv2_k3, not surely above conv2_k3_wide (same mean as conv2_k3, a wider spread)
    assert study["archs"]["conv2_k5"]["rank"] == (1, 2)
    assert study["archs"]["conv2_k3"]["rank"] == (2, 3)


def test_appendix_keeps_welch_and_mcnemar_per_seed(project):
    results = document.build(synthetic_params(), project)["results"]
    k5 = pair(results, "conv2_k5", "conv2_k3")
    assert k5["welch"]["p_value"] == pytest.approx(stats.welch([0.99, 0.991, 0.989], [0.98, 0.982, 0.978])["p_value"])
    seed0 = next(t for t in k5["per_seed"] if t["seed"] == 0)
    assert (seed0["mcnemar"]["a_only"], seed0["mcnemar"]["b_only"]) == (10, 0)
    assert seed0["mcnemar"]["p_value"] == pytest.approx(0.001953125)  # 2 * 0.5**10, before Holm
    assert seed0["holm_p"] == pytest.approx(3 * 0.001953125)  # 3 pairs on seed 0
    assert pair(results, "conv3_k753", "conv2_k3")["welch"]["p_value"] is None  # one seed: undefined
    same = pair(results, "conv2_k3_wide", "conv2_k3")
    assert next(t for t in same["per_seed"] if t["seed"] == 0)["mcnemar"]["p_value"] == 1.0  # same predictions


def test_comparisons_json_has_exactly_the_contract_fields(project):
    report.run(project, draw_figures=False)
    entries = json.loads((project / "metrics" / "comparisons.json").read_text())
    assert [(e["a"], e["b"]) for e in entries] == [
        ("conv2_k5", "conv2_k3"),
        ("conv3_k753", "conv2_k3"),
        ("conv2_k3_wide", "conv2_k3"),
    ]
    fields = ["a", "b", "difference", "ci_low", "ci_high", "ci_level", "p_holm", "seeds_sd", "images_sd"]
    fields += ["interaction_sd", "verdict", "reason", "seeds_needed", "hours_needed", "images_needed"]
    assert all(list(e) == fields for e in entries)
    k5, one_seed, wide = entries
    assert k5["verdict"] == "a_better" and k5["difference"] == pytest.approx(1.0)  # accuracy points
    assert k5["ci_low"] > 0 and k5["reason"] is None
    assert k5["seeds_needed"] is k5["hours_needed"] is k5["images_needed"] is None  # decided: no price
    assert one_seed["verdict"] == "undecided" and one_seed["difference"] is None
    assert wide["verdict"] == "undecided" and wide["seeds_needed"] > 3 and wide["reason"]


def test_added_seeds_make_the_verdicts_exploratory(tmp_path):
    """Seeds from the `seeds` section are a second look: their pairs are labelled exploratory."""
    params = synthetic_params()
    params["seeds"] = {"conv2_k5": [3]}
    root = make_project(tmp_path / "p", params)
    write_run(root, "conv2_k5", 3, 0.99, params)
    built = document.build(params, root)
    assert built["runs"]["conv2_k5"]["seeds"] == {0: 0.99, 1: 0.991, 2: 0.989, 3: 0.99}
    k5 = pair(built["results"], "conv2_k5", "conv2_k3")
    assert k5["exploratory"] and k5["n_a"] == 4
    assert not pair(built["results"], "conv3_k753", "conv2_k3")["exploratory"]
    assert "(exploratory)" in report.run(root, draw_figures=False)["markdown"]


def test_different_test_images_are_refused(project):
    confusion = run_files(project, "conv2_k5")["confusion"]
    lines = confusion.read_text().splitlines()
    a, p = lines[1].split(",")
    lines[1] = f"{(int(a) + 1) % 10},{p}"
    confusion.write_text("\n".join(lines) + "\n")
    with pytest.raises(report.ReportError, match=r"not on the same test images.*1 labels differ"):
        document.build(synthetic_params(), project)


# --------------------------------------------------------------------------- the report


def test_summary_tables_figures_and_terminal(project, capsys):
    report.main(["--root", str(project)])
    out = capsys.readouterr().out
    summary = (project / "metrics" / "summary.md").read_text()
    for png in ("comparison.png", "pareto.png"):
        assert (project / "plots" / png).read_bytes().startswith(b"\x89PNG")

    # 1. protocol and the one-seed caution (conv3_k753 has one seed)
    assert "holdout" in summary and "Epochs: 3" in summary
    assert "extra seeds 1 (3 of 4 architectures), 2 (3 of 4 architectures)" in summary
    assert "1 of 4 architectures have one seed only (conv3_k753)" in summary
    assert conclusions.NOISE_NOTE in summary

    # 2. comparison tables: mean ± sd and t-CI over 3 seeds, seed 0's figure, the notebook's
    first = section(summary, "### 1. Kernels and layers")
    assert table_row(first, "Architecture")[3:6] == [
        "Mean ± sd over seeds (%)",
        "95% CI over seeds",
        "Test acc (seed 0, %)",
    ]
    k3 = table_row(first, "conv2_k3")
    ci = stats.mean_ci([0.98, 0.982, 0.978])
    assert k3 == [
        "conv2_k3",
        "2",
        "(3x3),(3x3)",
        "98.00 ± 0.20 (n=3)",
        f"[{100 * ci['ci_low']:.2f}, {100 * ci['ci_high']:.2f}]",
        "98.00",
        "2",
        "99.05",
        "99.21 @ 10",
    ]
    assert k3[4] == "[97.50, 98.50]"
    assert table_row(first, "conv3_k753")[2:6] == ["(7x7),(5x5),(3x3)", "98.00 (n=1)", "—", "98.00"]
    assert table_row(section(summary, "### 2. Width"), "conv2_k3_wide")[-2:] == ["—", "—"]  # not in the notebook

    # 3. the headline: mean over seeds, its interval over seeds and images, the rank set
    heads = section(summary, "## Architectures")
    assert table_row(heads, "Architecture") == [
        "Architecture",
        "Mean over seeds (%)",
        "95% interval (%)",
        "Rank set",
        "Seeds",
    ]
    assert [row[0] for row in table_rows(heads)] == ["conv2_k5", "conv2_k3", "conv3_k753", "conv2_k3_wide"]
    k5_row = table_row(heads, "conv2_k5")
    assert k5_row[1] == "99.00" and k5_row[3:] == ["1–2", "3"]
    assert table_row(heads, "conv3_k753")[2:] == ["—", "—", "1"]  # one seed: no interval, no rank

    # 4. verdicts: one row per pair, the interval at its Holm level, the variance split, the price
    verdicts = section(summary, "## Verdicts")
    assert "**3 pairs: 1 A better, 2 undecided.**" in verdicts
    k5 = table_row(verdicts, "1")
    assert k5[1:4] == ["conv2_k5", "conv2_k3", "+1.00"] and k5[5] == "**A better**" and k5[7] == "—"
    assert k5[4].endswith("(97.50%)")  # Holm's first step over the 2 testable pairs: α / 2
    wide = next(r for r in table_rows(verdicts) if r[1] == "conv2_k3_wide")
    assert wide[5] == "**undecided**" and " seeds (" in wide[7] and wide[7].endswith(" h")
    assert "±0.10 points (`report.margin`)" in verdicts  # the default margin
    assert "new test images drawn like MNIST's" in verdicts  # what the interval generalizes to

    # 5. the appendix: Welch and McNemar per seed, each Holm-adjusted, in one row per pair
    appendix = section(summary, "## Appendix: Welch and McNemar")
    welch = stats.welch([0.99, 0.991, 0.989], [0.98, 0.982, 0.978])
    holm = stats.holm([welch["p_value"], None, stats.welch([0.98, 0.983, 0.977], [0.98, 0.982, 0.978])["p_value"]])
    assert table_row(appendix, "1")[1:] == [
        "conv2_k5",
        "conv2_k3",
        "+1.00",
        formatting.p_cell(holm[0]),
        "0: +1.00 (0.0059); 1: +0.90 (0.0078); 2: +1.10 (0.002)",
    ]
    assert "narrower" in appendix.lower()

    # 6. cost
    cost = section(summary, "## Cost")
    flops = forward_flops(REAL_PARAMS["architectures"]["conv2_k3"]["layers"], [28, 28, 1])
    assert table_row(cost, "conv2_k3")[2:] == [f"{flops / 1e6:,.2f}", "1.50", "4.20", "90", "30.0", "147"]
    assert table_row(cost, "conv3_k753")[-1] == "—"  # the notebook printed no time for it

    # 7. against the notebook: over seeds, seed 0 vs notebook, epoch-1 validation accuracy from history.csv
    assert table_row(section(summary, "## Against the notebook"), "conv2_k3") == [
        "conv2_k3",
        "98.00 ± 0.20 (n=3)",
        "[97.50, 98.50]",
        "98.00",
        "99.05",
        "-1.05",
        "2",
        "10",
        "95.10",
        "98.26",
    ]
    assert table_row(section(summary, "## Against the notebook"), "conv2_k3_wide")[4:6] == ["—", "—"]

    # the terminal shows the same tables, in PrettyTable's default style
    assert "+--------" in out and "Architecture | Conv layers |" in out
    assert "98.00 ± 0.20 (n=3)" in out and "A better" in out
    assert (
        "Wrote metrics/summary.md, plots/comparison.png, plots/pareto.png, metrics/runs.json, "
        "metrics/study.json, metrics/comparisons.json, plots/study/history.csv, plots/study/predictions.csv, "
        "plots/study/errors.csv"
    ) in out
    assert "+----" not in summary  # no ASCII borders in the Markdown file


def test_one_seed_everywhere_leaves_every_pair_undecided(tmp_path):
    root = make_project(tmp_path / "p", synthetic_params(extra_seeds=()))
    result = report.run(root, draw_figures=False)
    assert {r["decision"]["verdict"] for r in result["results"]} == {"undecided"}
    assert "**3 pairs: 3 undecided.**" in result["markdown"]
    assert all(r["price"] is None for r in result["results"])  # no spread over seeds to price


def test_varying_attribute_columns(tmp_path):
    params = synthetic_params(extra_seeds=())
    params["architectures"]["conv2_k3_same"] = REAL_PARAMS["architectures"]["conv2_k3_same"]
    ERRORS["conv2_k3_same"], EPOCH1_VAL["conv2_k3_same"] = list(range(12)), 0.95
    try:
        params["report"]["comparisons"] = [
            {
                "title": "Padding",
                "architectures": ["conv2_k3", "conv2_k3_same"],
                "pairs": [["conv2_k3_same", "conv2_k3"]],
            }
        ]
        root = make_project(tmp_path / "p", params)
        text = report.run(root, draw_figures=False)["markdown"]
    finally:
        del ERRORS["conv2_k3_same"], EPOCH1_VAL["conv2_k3_same"]
    table = section(text, "### 1. Padding")
    assert table_row(table, "Architecture")[:5] == [
        "Architecture",
        "Conv layers",
        "Kernels",
        "Padding",
        "Mean ± sd over seeds (%)",
    ]
    assert table_row(table, "conv2_k3_same")[3] == "same" and table_row(table, "conv2_k3")[3] == "valid"


def test_one_seed_everywhere_gets_the_caution(tmp_path):
    root = make_project(tmp_path / "p", synthetic_params(extra_seeds=()))
    text = report.run(root, draw_figures=False)["markdown"]
    assert "Every architecture was trained with one seed only" in text
    assert "one seed per architecture cannot measure how large that noise is" in text
    assert "points are within run-to-run noise" not in text  # no noise figure that was not computed
    assert "the `seeds` section that `make plan` fills" in text
    assert "no extra seeds" in text and "(n=3)" not in text


def test_no_caution_when_every_architecture_has_seeds(tmp_path):
    params = synthetic_params()
    params["architectures"] = {a: params["architectures"][a] for a in ("conv2_k3", "conv2_k5")}
    params["report"]["comparisons"] = params["report"]["comparisons"][:1]
    params["report"]["comparisons"][0].update(architectures=["conv2_k3", "conv2_k5"], pairs=[["conv2_k5", "conv2_k3"]])
    text = report.run(make_project(tmp_path / "p", params), draw_figures=False)["markdown"]
    assert "Caution" not in text


# --------------------------------------------------------------------------- errors


def test_missing_metrics_names_the_file_and_writes_nothing(project, capsys):
    (record(project, "conv2_k5") / "metrics.json").unlink()
    missing = r"missing metrics/record/conv2_k5/metrics\.json.*`dvc repro record@conv2_k5`"
    with pytest.raises(report.ReportError, match=missing):
        report.run(project)
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--root", str(project)])
    assert exit_info.value.code == 1
    assert "metrics/record/conv2_k5/metrics.json" in capsys.readouterr().err
    assert not any(path.exists() for path in outputs.output_files(project).values())


def test_missing_predictions_name_the_file(project):
    (record(project, "conv3_k753") / "confusion.csv").unlink()
    with pytest.raises(report.ReportError, match=r"metrics/record/conv3_k753/confusion\.csv.*record@conv3_k753"):
        report.run(project)
    assert not (project / "metrics" / "summary.md").exists()


def _truncate(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


def _replace_line(path: Path, index: int, line: str) -> None:
    lines = path.read_text().splitlines()
    lines[index] = line
    path.write_text("\n".join(lines) + "\n")


def _set_params(root: Path, section: str, key: str, value) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params[section][key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


BAD_INPUTS = {
    "truncated metrics": (
        lambda root: _truncate(record(root, "conv2_k5") / "metrics.json"),
        r"metrics/record/conv2_k5/metrics\.json: not valid JSON .*`dvc repro record@conv2_k5`",
    ),
    "truncated seed metrics": (
        lambda root: _truncate(record(root, "conv2_k3-seed1") / "metrics.json"),
        r"metrics/record/conv2_k3-seed1/metrics\.json: not valid JSON .*record_seed@conv2_k3-1",
    ),
    "metrics not an object": (
        lambda root: (record(root, "conv2_k3") / "metrics.json").write_text("[0.99]\n"),
        r"metrics/record/conv2_k3/metrics\.json: expected a JSON object, got list",
    ),
    "history non-number": (
        lambda root: _replace_line(record(root, "conv3_k753") / "history.csv", 2, "2,0.1,0.97,0.08,0.9x"),
        r"metrics/record/conv3_k753/history\.csv: line 3, column 'val_accuracy': '0\.9x' is not a "
        r"number; rerun `dvc repro record@conv3_k753`",
    ),
    "history extra value": (
        lambda root: _replace_line(record(root, "conv3_k753") / "history.csv", 1, "1,0.3,0.9,0.2,0.95,7"),
        r"metrics/record/conv3_k753/history\.csv: line 2 has more values than the header",
    ),
    "confusion non-integer": (
        lambda root: _replace_line(record(root, "conv2_k3") / "confusion.csv", 5, "3,seven"),
        r"metrics/record/conv2_k3/confusion\.csv: expected two integer labels per row.*"
        r"`dvc repro record@conv2_k3`",
    ),
    "confusion three columns": (
        lambda root: (record(root, "conv2_k3") / "confusion.csv").write_text("actual,predicted\n1,1,0\n2,2,0\n"),
        r"metrics/record/conv2_k3/confusion\.csv: expected two integer labels per row.*got 3 values",
    ),
    "notebook not YAML": (
        lambda root: (root / "reference" / "notebook.yaml").write_text("conv2_k3: {a: [1\n"),
        r"reference/notebook\.yaml: not valid YAML",
    ),
    "alpha not a number": (
        lambda root: _set_params(root, "report", "alpha", "abc"),
        r"params\.yaml: report: alpha 'abc' must be a number",
    ),
    "seed confusion missing": (
        lambda root: (record(root, "conv2_k5-seed2") / "confusion.csv").unlink(),
        r"missing metrics/record/conv2_k5-seed2/confusion\.csv: the predictions of 'conv2_k5' "
        r"\(seed 2\).*`dvc repro record_seed@conv2_k5-2`",
    ),
    "label out of range": (
        lambda root: _replace_line(record(root, "conv2_k3-seed1") / "confusion.csv", 4, "3,11"),
        r"metrics/record/conv2_k3-seed1/confusion\.csv: line 5: labels must be 0-9, got 3,11; "
        r"rerun `dvc repro record_seed@conv2_k3-1`",
    ),
    "seed on other test images": (
        lambda root: _replace_line(record(root, "conv2_k3-seed1") / "confusion.csv", 3, "9,9"),
        r"metrics/record/conv2_k3/confusion\.csv and metrics/record/conv2_k3-seed1/confusion\.csv are "
        r"not on the same test images .*record@conv2_k3 record_seed@conv2_k3-1",
    ),
    "params not YAML": (
        lambda root: (root / "params.yaml").write_text("train: [\n"),
        r"^params\.yaml: not valid YAML \(.* at line 2, column 1\)",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_names_the_file_or_key_and_writes_nothing(project, capsys, case):
    spoil, message = BAD_INPUTS[case]
    spoil(project)
    with pytest.raises(report.ReportError, match=message):
        report.run(project)
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--root", str(project)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("report: error: ") and re.search(message, err.removeprefix("report: error: ")), err
    assert not any(path.exists() for path in outputs.output_files(project).values())


def test_comparison_with_an_unknown_id(project):
    params = synthetic_params()
    params["report"]["comparisons"][1]["architectures"].append("conv9_typo")
    with pytest.raises(report.ReportError, match=r"report\.comparisons\[1\].*'conv9_typo'"):
        document.build(params, project)
    params = synthetic_params()
    params["report"]["comparisons"][0]["pairs"].append(["conv2_k3", "nope"])
    with pytest.raises(report.ReportError, match=r"report\.comparisons\[0\]\.pairs\[2\].*'nope'"):
        document.build(params, project)


def test_missing_history_shows_a_dash(project):
    (record(project, "conv3_k753") / "history.csv").unlink()
    text = report.run(project)["markdown"]
    assert table_row(section(text, "## Against the notebook"), "conv3_k753")[8] == "—"  # epoch-1 val acc
    assert (project / "plots" / "comparison.png").exists()


def _stamp(path: Path):
    """What changes when a file is rewritten, even with the same bytes (write_text replaces it)."""
    if not path.exists():
        return None
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, info.st_size


def test_cli_process_without_keras(project):
    """`--root` is honoured: the outputs go to the given project, and the repository's own
    (layout.ROOT's) summary and figures are left alone; no Keras is imported."""
    code = (
        "import sys; from stages import report; report.main(['--root', sys.argv[1]]); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')]; "
        "assert not bad, bad"
    )
    assert layout.ROOT == ROOT
    repo_outputs = list(outputs.output_files(ROOT).values())
    before = [_stamp(path) for path in repo_outputs]
    result = subprocess.run([sys.executable, "-c", code, str(project)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "## Verdicts" in result.stdout
    assert (project / "metrics" / "summary.md").read_text().startswith("# MNIST CNN architectures: report")
    assert [_stamp(path) for path in repo_outputs] == before


# --------------------------------------------------------------------------- reproduction


def write_history(path: Path, last_val_accuracy: float, epochs: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"{epoch},0.1,0.97,0.08,0.95" for epoch in range(1, epochs)]
    path.write_text(
        "\n".join(["epoch,loss,accuracy,val_loss,val_accuracy", *rows, f"{epochs},0.1,0.97,0.08,{last_val_accuracy}"])
        + "\n"
    )


def test_reproduction_compares_the_last_epoch_with_the_notebook_and_weighs_seeds(tmp_path):
    """Notebook's protocol: conv2_k3 within 0.3 points, conv2_k5 outside but inside its seeds'
    spread, conv3_k753 outside with one seed, conv2_k3_wide has no notebook figure."""
    params = synthetic_params()
    params["data"]["validation"] = "test"
    root = make_project(tmp_path / "p", params)
    last = {"conv2_k3": 0.9890, "conv2_k5": 0.9890, "conv3_k753": 0.9900, "conv2_k3_wide": 0.99}
    for arch, value in last.items():
        write_history(run_files(root, arch)["history"], value)
    for seed, value in {1: 0.9925, 2: 0.9931}.items():
        write_history(run_files(root, "conv2_k5", seed)["history"], value)
    for seed, value in {1: 0.9885, 2: 0.9895}.items():
        write_history(run_files(root, "conv2_k3", seed)["history"], value)

    text = section(report.run(root, draw_figures=False)["markdown"], "## Reproduction of the notebook")

    assert table_row(text, "conv2_k3") == ["conv2_k3", "98.90", "99.05", "-0.15", "yes", "98.85 – 98.95 (n=3)"]
    assert table_row(text, "conv2_k5") == ["conv2_k5", "98.90", "99.34", "-0.44", "no", "98.90 – 99.31 (n=3)"]
    assert table_row(text, "conv3_k753")[3:5] == ["-0.51", "no"]
    assert "**1 of 3** architectures within 0.30 points" in text
    assert "conv2_k5 (-0.44): our 3 seeds give 98.90 – 99.31, so the notebook's figure is within" in text
    assert "Outside, with one seed only: conv3_k753 (-0.51); a second seed" in text
    assert "Not comparable" in text  # 2-epoch histories against the notebook's 15
    assert "Not compared (no history or no notebook figure): conv2_k3_wide" in text


def test_reproduction_tolerance_is_a_param(tmp_path):
    params = synthetic_params()
    params["data"]["validation"] = "test"
    params["report"]["reproduction_tolerance"] = 0.006
    root = make_project(tmp_path / "p", params)
    for arch, value in {"conv2_k3": 0.9890, "conv2_k5": 0.9890, "conv3_k753": 0.9900}.items():
        write_history(run_files(root, arch)["history"], value, epochs=reproduction.NOTEBOOK_EPOCHS)
    text = section(report.run(root, draw_figures=False)["markdown"], "## Reproduction of the notebook")
    assert "**3 of 3** architectures within 0.60 points" in text
    assert "Not comparable" not in text

    params["report"]["reproduction_tolerance"] = "0.3%"
    with pytest.raises(report.ReportError, match="params.yaml: report: reproduction_tolerance '0.3%' must be a number"):
        document.build(params, root)


def test_holdout_runs_are_not_held_to_the_notebook_s_figures(project):
    text = section(report.run(project, draw_figures=False)["markdown"], "## Reproduction of the notebook")
    assert "not expected to equal the notebook's figures" in text
    assert "`notebook/dvc.yaml` (`make run-notebook`)" in text
    assert "dvc exp run -S data.validation=test" in text


# --------------------------------------------------------------------------- protocol


@pytest.mark.parametrize(
    "validation, subset, expected",
    [
        ("holdout", 0, "every training image (`subset: 0`), less the holdout"),
        ("holdout", 20, "the first 20 training images (none of them in the holdout, the last 30)"),
        ("test", 0, "every training image (`subset: 0`)"),
        ("test", 20, "the first 20 training images"),
    ],
)
def test_protocol_states_the_training_data_as_prepare_splits_it(validation, subset, expected):
    data = {"subset": subset, "validation": validation, "val_size": 30, "test_subset": 0}
    params = {"data": data, "train": {"seed": 0, "epochs": 3}}
    lines = conclusions.protocol(params, {})
    assert f"- Training data (`data.subset`): {expected}" in lines
    # what stages.mnist.splits.split does with those params, on 100 training images numbered 0..99
    images = np.arange(100)
    splits = split({"x_train": images, "y_train": images, "x_test": images[:10], "y_test": images[:10]}, data)
    train, val = splits["train"][0], splits["val"][0]
    assert list(train) == list(range(subset or (70 if validation == "holdout" else 100)))  # the first N
    if validation == "holdout":
        assert list(val) == list(range(70, 100)) and not set(train) & set(val)  # the last val_size, apart


# --------------------------------------------------------------------------- study files


def test_study_files_hold_every_run_in_the_contract_formats(project):
    written = report.run(project, draw_figures=False)["outputs"]
    assert list(written) == [
        "summary",
        "runs",
        "study",
        "comparisons",
        "history",
        "predictions",
        "errors",
    ]  # no figures
    names = [
        "conv2_k3",
        "conv2_k3-seed1",
        "conv2_k3-seed2",
        "conv2_k5",
        "conv2_k5-seed1",
        "conv2_k5-seed2",
        "conv3_k753",
        "conv2_k3_wide",
        "conv2_k3_wide-seed1",
        "conv2_k3_wide-seed2",
    ]  # params order, then seed

    runs = json.loads((project / "metrics" / "runs.json").read_text())
    assert list(runs) == names
    assert runs["conv2_k5-seed1"] == {
        "test_accuracy": 0.991,
        "test_loss": 0.05,
        "test_errors": 9,
        "params": 200_000,
        "flops": runs["conv2_k5"]["flops"],
        "epochs": 3,
        "best_epoch": 2,
        "train_seconds": 90.0,
        "latency_ms": 1.5,
        "model_bytes": 4_200_000,
    }
    assert "seed" not in runs["conv2_k3"] and "monitor" not in runs["conv2_k3"]  # not study metrics / not numbers

    study = json.loads((project / "metrics" / "study.json").read_text())
    assert list(study) == ["conv2_k3", "conv2_k5", "conv3_k753", "conv2_k3_wide"]
    conv2_k3 = study["conv2_k3"]
    assert {k: conv2_k3[k] for k in ("mean", "sd", "runs")} == pytest.approx({"mean": 0.98, "sd": 0.002, "runs": 3})
    assert conv2_k3["ci_low"] < conv2_k3["mean"] < conv2_k3["ci_high"]  # the headline's interval and rank set
    assert 1 <= conv2_k3["rank_best"] <= conv2_k3["rank_worst"] <= 3  # of the 3 architectures with seeds
    assert study["conv3_k753"] == {"mean": 0.98, "runs": 1}  # no sd, interval or rank from one run

    history = list(csv.DictReader((project / "plots" / "study" / "history.csv").open()))
    assert list(history[0]) == [
        "arch",
        "seed",
        "run",
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "val_error",
    ]
    assert len(history) == 3 * len(names)
    row = next(r for r in history if r["run"] == "conv2_k5-seed2" and r["epoch"] == "2")
    assert (row["arch"], row["seed"], row["loss"]) == ("conv2_k5", "2", "0.1")
    assert float(row["val_accuracy"]) == pytest.approx(0.962 + 0.002 + 0.02)
    assert float(row["val_error"]) == pytest.approx(1 - float(row["val_accuracy"]), abs=1e-12)

    predictions_file = (project / "plots" / "study" / "predictions.csv").read_text().splitlines()
    assert predictions_file[0] == "actual," + ",".join(names)
    table = np.loadtxt(predictions_file[1:], delimiter=",", dtype=int)
    assert table.shape == (N_TEST, 1 + len(names))
    assert np.array_equal(table[:, 0], ACTUAL)
    assert np.array_equal(table[:, names.index("conv2_k5-seed1") + 1], predictions("conv2_k5", 1, 0.991))

    errors = list(csv.DictReader((project / "plots" / "study" / "errors.csv").open()))
    assert list(errors[0]) == ["arch", "seed", "run", "actual", "predicted", "count"]
    assert len(errors) == 90 * len(names)
    for name in names:
        mine = [r for r in errors if r["run"] == name]
        assert len(mine) == 90 and all(r["actual"] != r["predicted"] for r in mine)
        assert sum(int(r["count"]) for r in mine) == runs[name]["test_errors"]
    wrong = predictions("conv3_k753") != ACTUAL  # each error predicts actual + 1
    cell = next(r for r in errors if r["run"] == "conv3_k753" and r["actual"] == "3" and r["predicted"] == "4")
    assert int(cell["count"]) == int((wrong & (ACTUAL == 3)).sum())


def test_a_seed_not_evaluated_yet_is_left_out_and_said(project):
    for path in run_files(project, "conv2_k5", 2).values():
        path.unlink()
    result = report.run(project, draw_figures=False)
    assert "extra seeds 1 (3 of 4 architectures), 2 (2 of 4 architectures)" in result["markdown"]
    assert result["runs"]["conv2_k5"]["missing_seeds"] == [2]
    assert "conv2_k5-seed2" not in json.loads((project / "metrics" / "runs.json").read_text())
    assert json.loads((project / "metrics" / "study.json").read_text())["conv2_k5"]["runs"] == 2


def test_comparison_figure_draws_the_spread_over_seeds(project):
    runs = document.build(synthetic_params(), project)["runs"]
    epochs, mean, low, high = figures.seed_curves(runs["conv2_k3"], "val_accuracy")
    assert epochs == [1.0, 2.0, 3.0]
    assert mean[0] == pytest.approx(0.951 + 0.001) and (low[0], high[0]) == (0.951, 0.953)
    one = figures.seed_curves(runs["conv3_k753"], "val_accuracy")
    assert one[1] == one[2] == one[3]  # one seed: no band
    assert figures.comparison_figure(runs).startswith(b"\x89PNG")


def _record(arch: str, accuracies: dict[int, float]) -> dict:
    """A study record as runs.load_runs makes it, with only what the statistics read."""
    runs = {
        seed: {
            "seed": seed,
            "actual": ACTUAL,
            "predicted": predictions(arch, seed or None, accuracy),
            "metrics": {"train_seconds": 3600.0},
        }
        for seed, accuracy in accuracies.items()
    }
    return {"id": arch, "runs": runs, "seeds": accuracies}


def test_a_pair_the_second_side_wins_and_a_pair_without_spread():
    """B better: the verdict names B; identical accuracies on every seed and image: no
    variance at all, and no difference: equivalent."""
    runs = {
        "conv2_k3": _record("conv2_k3", {0: 0.98, 1: 0.982, 2: 0.978}),
        "conv2_k5": _record("conv2_k5", {0: 0.99, 1: 0.991, 2: 0.989}),
        "conv2_k3_wide": _record("conv2_k3", {0: 0.98, 1: 0.98, 2: 0.98}),
        "conv3_k753": _record("conv2_k3", {0: 0.98, 1: 0.98, 2: 0.98}),
    }
    comparisons = [{"title": "t", "pairs": [["conv2_k3", "conv2_k5"], ["conv2_k3_wide", "conv3_k753"]]}]
    study = significance.significance(runs, comparisons, 0.05, 0.001)
    losing, same = study["results"]
    assert losing["decision"]["verdict"] == "b_better" and float(losing["estimate"].value) < 0
    assert same["decision"]["verdict"] == "equivalent" and float(same["estimate"].variance) == 0
    assert study["archs"]["conv2_k5"]["rank"][0] == 1
