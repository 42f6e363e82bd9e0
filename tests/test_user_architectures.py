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

from conftest import make_project, require_mnist, small_params

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


def ran_stages(output: str) -> set[str]:
    """The stages `dvc repro` ran (not those it found unchanged or restored)."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def params_of(project) -> dict:
    return yaml.safe_load(project.read("params.yaml"))


def run_names(project, relative: str) -> set[str]:
    """The `run` column of one of the report's study tables (plots/study/*.csv)."""
    lines = project.read(relative).splitlines()
    column = lines[0].split(",").index("run")
    return {line.split(",")[column] for line in lines[1:]}


def of_arch(name: str, arch: str) -> bool:
    """Whether a stage (`train@<id>`, `train_seed@<id>-<seed>`) or run (`<id>`, `<id>-seed<n>`) is the arch's."""
    item = name.partition("@")[2] if "@" in name else name
    return item == arch or item.startswith(arch + "-")


def everything_of(project, arch: str) -> list[str]:
    """What the study still holds of an architecture: stages, lock entries, records, series, runs."""
    left = [f"stage {n}" for n in project.run("dvc stage list --name-only").stdout.split() if of_arch(n, arch)]
    left += [f"dvc.lock {n}" for n in yaml.safe_load(project.read("dvc.lock"))["stages"] if of_arch(n, arch)]
    left += [f"record {p.name}" for p in (project.path / "metrics" / "record").iterdir() if of_arch(p.name, arch)]
    for table in ("plots/study/history.csv", "plots/study/errors.csv"):
        left += [f"{table} {run}" for run in run_names(project, table) if of_arch(run, arch)]
    left += [f"metrics/runs.json {run}" for run in json.loads(project.read("metrics/runs.json")) if of_arch(run, arch)]
    header = project.read("plots/study/predictions.csv").splitlines()[0].split(",")
    left += [f"plots/study/predictions.csv {run}" for run in header if of_arch(run, arch)]
    if re.search(rf"\b{re.escape(arch)}\b", project.read("dvc.yaml")):
        left.append("dvc.yaml")
    return left


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
    (project.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    validated = project.run("python -m stages.validate")
    assert f"OK ({len(ARCHS) + 1} architectures)" in validated.stdout + validated.stderr
    project.run("python -m stages.tools.dvc_sync")
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
    (project.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    project.run("python -m stages.validate")
    synced = project.run("python -m stages.tools.dvc_sync")
    assert f"removed from dvc.lock: evaluate@{gone}, record@{gone}, train@{gone}" in synced.stdout, synced.stdout
    assert f"removed metrics/record/: {gone}" in synced.stdout, synced.stdout
    removed = project.run("dvc repro")
    assert ran_stages(removed.stdout) == {"validate", "report"}, removed.stdout
    assert json.loads(project.run("dvc status --json dvc.yaml").stdout) == {}
    assert everything_of(project, gone) == []
    assert everything_of(project, kept) != [] and everything_of(project, NEW) != []  # the check can see
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
