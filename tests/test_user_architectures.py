"""A user's architectures work as ours do: added, then removed, with the commands users run.

On a copy of the project (two architectures, one epoch, 1,000 training images): the study runs;
an architecture is added to params.yaml and `validate`, `dvc_sync`, `dvc repro`, the report,
`dvc plots show`, the README table generator, the progress report (`make status`) and the PR
report all take it in, while no stage of the other runs reruns; then one is removed, and
nothing of it is left: no stage, no dvc.lock entry, no record, no plot series or runs.json entry.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import yaml

from stages.tools import readme_results

from conftest import make_project, of_arch, ran_stages, require_mnist, small_params

pytestmark = pytest.mark.slow

ARCHS = ("conv2_k3", "conv3_k5_bn")
NEW = "user_conv1_k5"  # a user's architecture: one conv layer, no reference figures
NEW_SPEC = {
    "optimizer": {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1.0e-7},
    "layers": [
        {"type": "conv", "filters": 8, "kernel_size": 5},
        {"type": "pool", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 10, "activation": "softmax"},
    ],
}
README = f"# A user's study\n\n{readme_results.START}\n{readme_results.END}\n"


def params_of(project) -> dict:
    return yaml.safe_load(project.read("params.yaml"))


def run_names(project, relative: str) -> set[str]:
    """The `run` column of one of the report's study tables (plots/study/*.csv)."""
    lines = project.read(relative).splitlines()
    column = lines[0].split(",").index("run")
    return {line.split(",")[column] for line in lines[1:]}


def inventory(project) -> tuple[list[tuple[str, str]], str]:
    """What the study holds, read once: (where, stage or run name) of its stages, lock entries,
    records, series and runs; and dvc.yaml's text."""
    items = [("stage", n) for n in project.run("dvc stage list --name-only").stdout.split()]
    items += [("dvc.lock", n) for n in yaml.safe_load(project.read("dvc.lock"))["stages"]]
    items += [("record", p.name) for p in (project.path / "metrics" / "record").iterdir()]
    for table in ("plots/study/history.csv", "plots/study/errors.csv"):
        items += [(table, run) for run in run_names(project, table)]
    items += [("metrics/runs.json", run) for run in json.loads(project.read("metrics/runs.json"))]
    header = project.read("plots/study/predictions.csv").splitlines()[0].split(",")
    items += [("plots/study/predictions.csv", run) for run in header]
    return items, project.read("dvc.yaml")


def everything_of(study: tuple[list[tuple[str, str]], str], arch: str) -> list[str]:
    """What the study (an `inventory`) still holds of an architecture."""
    items, dvc_yaml = study
    left = [f"{where} {name}" for where, name in items if of_arch(name, arch)]
    return left + (["dvc.yaml"] if re.search(rf"\b{re.escape(arch)}\b", dvc_yaml) else [])


def test_a_user_adds_an_architecture_then_removes_one(tmp_path):
    require_mnist()
    timings = {}
    start = time.monotonic()
    project = make_project(tmp_path, small_params(ARCHS))
    (project.path / "README.md").write_text(README)
    first = project.run("dvc repro")
    assert ran_stages(first.stdout) >= {f"train@{a}" for a in ARCHS}
    project.commit("study of two")
    base = project.run("git rev-parse HEAD").stdout.strip()
    timings["first study"] = time.monotonic() - start

    # ---- add an architecture, as "Architectures are YAML" says
    start = time.monotonic()
    params = params_of(project)
    params["architectures"][NEW] = NEW_SPEC
    project.write_params(params)
    validated = project.run("python -m stages.validate")
    assert f"OK ({len(ARCHS) + 1} architectures)" in validated.stdout + validated.stderr
    status = json.loads(project.run("dvc status --json dvc.yaml").stdout)
    assert f"train@{NEW}" in status and not [s for s in status if s.startswith("train@") and s != f"train@{NEW}"]
    added = project.run("dvc repro")
    assert ran_stages(added.stdout) == {"validate", f"train@{NEW}", f"evaluate@{NEW}", f"record@{NEW}", "report"}, (
        added.stdout
    )
    assert json.loads(project.run("dvc status --json dvc.yaml").stdout) == {}
    timings["add and repro"] = time.monotonic() - start

    start = time.monotonic()
    assert NEW in project.read("metrics/summary.md")
    assert NEW in json.loads(project.read("metrics/runs.json"))
    assert NEW in run_names(project, "plots/study/history.csv")
    project.run(f"dvc plots show -o {tmp_path / 'added'}")
    assert NEW in (tmp_path / "added" / "index.html").read_text()
    project.run("python -m stages.tools.readme_results")
    table = project.read("README.md")
    assert re.search(rf"\| `{NEW}` \| [\d,]+ \| 1 of 1 \|", table), table
    project.run("python -m stages.tools.readme_results --check")
    progress = project.run("python -m stages.tools.progress")  # `make status`
    assert "Traceback" not in progress.stderr
    project.commit("a user architecture added")
    pr = project.run(f"python -m stages.tools.pr_report --base {base}")
    assert "### Runs added" in pr.stdout and f"`{NEW}`" in pr.stdout.split("### Runs added", 1)[1], pr.stdout
    timings["report, plots, README, status, PR report"] = time.monotonic() - start

    # ---- remove one of the first two (and its comparison)
    start = time.monotonic()
    gone, kept = ARCHS[1], ARCHS[0]
    params = params_of(project)
    del params["architectures"][gone]
    params["report"]["comparisons"] = [{"title": "Test pair", "architectures": [kept, NEW], "pairs": [[NEW, kept]]}]
    synced = project.write_params(params)
    project.run("python -m stages.validate")
    assert f"removed from dvc.lock: evaluate@{gone}, record@{gone}, train@{gone}" in synced.stdout, synced.stdout
    assert f"removed metrics/record/: {gone}" in synced.stdout, synced.stdout
    removed = project.run("dvc repro")
    assert ran_stages(removed.stdout) == {"validate", "report"}, removed.stdout
    assert json.loads(project.run("dvc status --json dvc.yaml").stdout) == {}
    study = inventory(project)
    assert everything_of(study, gone) == []
    assert everything_of(study, kept) != [] and everything_of(study, NEW) != []  # the check can see
    assert gone not in project.read("metrics/summary.md")
    project.run(f"dvc plots show -o {tmp_path / 'removed'}")
    assert gone not in (tmp_path / "removed" / "index.html").read_text()
    project.run("python -m stages.tools.readme_results")
    assert f"`{gone}`" not in project.read("README.md")
    project.commit("architecture removed")
    pr = project.run(f"python -m stages.tools.pr_report --base {base}")
    assert f"**Removed:** `{gone}`" in pr.stdout, pr.stdout
    timings["remove and repro"] = time.monotonic() - start
    print("timings: " + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in timings.items()))
