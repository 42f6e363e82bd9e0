"""The DVC workflows of docs/dvc-workflow.md, with the real `dvc` CLI in a temporary git + DVC repo.

One project is shared by the whole module (training is the slow part): `baseline` runs
`dvc repro` once and commits; `tuned` runs one experiment on top of it
(`dvc exp run -S architectures.conv2_k3.optimizer.learning_rate=0.5`) and commits its
result, so HEAD~1 and HEAD differ in conv2_k3's metrics only. Every other test reads
that state, or changes it and puts it back.

The per-run outputs (models, histories, metrics, predictions) are DVC-cached; git keeps the
report's study files, so DVC's metrics are metrics/runs.json ({run: {metric: value}}) and
metrics/study.json ({arch: {"mean", "runs"}}). `python -m stages.tools.dvc_sync` also writes
the notebook's protocol (notebook/dvc.yaml), never run here: `dvc status dvc.yaml` is the
main pipeline's status.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import Project, make_project, ran_stages, require_mnist, small_params  # noqa: E402

pytestmark = pytest.mark.slow

ARCHS = ("conv2_k3", "conv3_k5_bn")
TUNED = "conv2_k3"  # the architecture whose learning rate the experiments change
OTHER = "conv3_k5_bn"
LR = f"architectures.{TUNED}.optimizer.learning_rate"
ONE_SEED = {"extra_seeds": []}  # one run per architecture; a test adds a seed

RUNS = "metrics/runs.json"
STUDY = "metrics/study.json"

SKIPPED = re.compile(r"^Stage '([^']+)' didn't change, skipping", re.MULTILINE)


# ---------------------------------------------------------------- helpers


def skipped_stages(output: str) -> set[str]:
    return set(SKIPPED.findall(output))


def run_json(project: Project, command: str):
    return json.loads(project.run(command).stdout)


def experiments(project: Project, *options: str) -> dict[str, dict]:
    """`dvc exp show --json` as {experiment name: its data (params, metrics, ...)}."""
    shown = run_json(project, " ".join(["dvc exp show --json", *options]))
    found = {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                found[rev.get("name") or exp.get("name") or rev["rev"]] = rev
    return found


def accuracies_of(rev: dict) -> dict[str, float]:
    runs = rev["data"]["metrics"].get(RUNS, {}).get("data", {})
    return {arch: runs[arch]["test_accuracy"] for arch in ARCHS if arch in runs}


def learning_rate(rev: dict) -> float:
    return rev["data"]["params"]["params.yaml"]["data"]["architectures"][TUNED]["optimizer"]["learning_rate"]


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_clone(project: Project, path: Path) -> Project:
    """A `git clone` of the project: its commits, no DVC cache, no untracked outputs."""
    subprocess.run(
        ["git", "clone", "-q", str(project.path), str(path)], check=True, env=project.env, capture_output=True
    )
    return Project(path)


def committed_json(project: Project, rev: str, path: str) -> dict:
    return json.loads(project.run(f"git show {rev}:{path}").stdout)


def html_specs(html: str) -> dict[str, dict]:
    """The vega-lite spec of every plot of a `dvc plots show/diff` page, by plot id."""
    found = re.findall(r"var spec = (\{.*?\});\s*vegaEmbed\('#([^']+)'", html, re.DOTALL)
    return {plot_id: json.loads(spec) for spec, plot_id in found}


def main_plots(plots: dict) -> dict:
    """The main pipeline's plots, by their dvc.yaml id. The notebook's pipeline (notebook/dvc.yaml:
    ids `notebook_*`, images under notebook/), never run here, must have no data."""
    notebook = ("notebook_", "notebook/")
    assert not any(
        spec.get("data", {}).get("values") if isinstance(spec, dict) else spec
        for plot_id, spec in plots.items()
        if plot_id.startswith(notebook)
    ), "the notebook's pipeline has not run: its plots have no data"
    return {plot_id: spec for plot_id, spec in plots.items() if not plot_id.startswith(notebook)}


# ---------------------------------------------------------------- the shared project


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Project:
    """Both architectures trained by `dvc repro` and committed."""
    require_mnist()
    project = make_project(tmp_path_factory.mktemp("workflow"), small_params(ARCHS, train=ONE_SEED))
    first = project.run("dvc repro")
    assert {
        "validate",
        "prepare",
        *(f"train@{a}" for a in ARCHS),
        *(f"evaluate@{a}" for a in ARCHS),
        "report",
    } <= ran_stages(first.stdout)
    project.commit("baseline")
    return project


@pytest.fixture(scope="module")
def tuned(baseline) -> subprocess.CompletedProcess:
    """One experiment in the workspace (conv2_k3 at learning rate 0.5), its result committed."""
    result = baseline.run(f"dvc exp run -n lr05 -S {LR}=0.5")
    assert "Ran experiment(s): lr05" in result.stdout
    assert "Experiment results have been applied to your workspace." in result.stdout
    shown = experiments(baseline)  # before the commit: exp show lists the experiments of HEAD
    baseline.tuned_experiment = shown["lr05"]
    baseline.commit("conv2_k3 at learning rate 0.5")
    return result


# ---------------------------------------------------------------- metrics


def test_metrics_show_lists_every_architecture(baseline):
    shown = run_json(baseline, "dvc metrics show --json")
    files = shown[""]["data"]  # "" = the workspace
    assert {name for name in files if not name.startswith("notebook/")} == {RUNS, STUDY}, files.keys()
    runs, study = files[RUNS]["data"], files[STUDY]["data"]
    assert list(runs) == list(ARCHS) and list(study) == list(ARCHS)
    for arch in ARCHS:
        metrics = runs[arch]
        assert 0.0 < metrics["test_accuracy"] <= 1.0
        assert {"test_loss", "params", "flops", "best_epoch"} <= set(metrics)
        assert metrics["test_accuracy"] == json.loads(baseline.read(f"metrics/{arch}.json"))["test_accuracy"]
        assert study[arch] == {"mean": metrics["test_accuracy"], "runs": 1}  # one seed: no sd
    table = baseline.run("dvc metrics show --md").stdout
    assert f"| {RUNS}" in table and f"| {STUDY}" in table
    header = table.splitlines()[0]
    for arch in ARCHS:
        assert f"{arch}.test_accuracy" in header and f"{arch}.mean" in header


def test_adding_a_seed_leaves_the_main_runs_up_to_date(baseline):
    """`-S 'train.extra_seeds=[1]'` adds seed stages; no main train@/evaluate@ stage is outdated."""
    params_file = baseline.path / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["train"]["extra_seeds"] = [1]
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = run_json(baseline, "dvc status dvc.yaml --json")
    finally:
        params_file.write_text(original)
    assert {f"train_seed@{a}-1" for a in ARCHS} | {f"evaluate_seed@{a}-1" for a in ARCHS} <= set(status)
    assert "report" in status
    assert not {f"train@{a}" for a in ARCHS} & set(status), status.keys()
    assert not {f"evaluate@{a}" for a in ARCHS} & set(status), status.keys()
    assert "prepare" not in status
    assert "Data and pipelines are up to date" in baseline.run("dvc status dvc.yaml").stdout


def _restoring(project: Project, *names: str):
    """Snapshot files of the project; calling the result puts them back."""
    saved = {name: (project.path / name).read_text() for name in names}

    def restore() -> None:
        for name, text in saved.items():
            (project.path / name).write_text(text)

    return restore


def test_adding_an_architecture_schedules_only_its_own_stages(baseline):
    restore = _restoring(baseline, "params.yaml", "dvc.yaml", "notebook/dvc.yaml", "notebook/params.yaml")
    params = yaml.safe_load(baseline.read("params.yaml"))
    params["architectures"]["conv2_k3_copy"] = copy.deepcopy(params["architectures"][TUNED])
    try:
        baseline.write_params(params)  # and `python -m stages.tools.dvc_sync`
        assert "plots/conv2_k3_copy/history.csv" in baseline.read("dvc.yaml")
        status = run_json(baseline, "dvc status dvc.yaml --json")
    finally:
        restore()
    assert {"train@conv2_k3_copy", "evaluate@conv2_k3_copy", "record@conv2_k3_copy", "report"} <= set(status)
    assert not {*(f"train@{a}" for a in ARCHS), *(f"evaluate@{a}" for a in ARCHS), "prepare"} & set(status)
    assert "Data and pipelines are up to date" in baseline.run("dvc status dvc.yaml").stdout


def test_an_architecture_added_without_dvc_sync_stops_repro_at_validate(baseline):
    restore = _restoring(baseline, "params.yaml")
    params = yaml.safe_load(baseline.read("params.yaml"))
    params["architectures"]["conv2_k3_copy"] = copy.deepcopy(params["architectures"][TUNED])
    (baseline.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        failed = baseline.run("dvc repro", check=False)
    finally:
        restore()
        # repro removed validate's stamp before running it; dvc.yaml's outputs only: the notebook's
        # pipeline has none to restore, and `dvc checkout` without a target fails on them
        baseline.run("dvc checkout dvc.yaml")
    assert failed.returncode != 0
    assert "run `python -m stages.tools.dvc_sync`" in failed.stderr + failed.stdout
    assert ran_stages(failed.stdout) == {"validate"}, "nothing after validate ran"
    assert "Data and pipelines are up to date" in baseline.run("dvc status dvc.yaml").stdout


# ---------------------------------------------------------------- experiments


def test_exp_run_reruns_only_the_changed_architecture(baseline, tuned):
    ran, skipped = ran_stages(tuned.stdout), skipped_stages(tuned.stdout)
    assert ran == {"validate", f"train@{TUNED}", f"evaluate@{TUNED}", f"record@{TUNED}", "report"}, tuned.stdout[-3000:]
    assert {"prepare", f"train@{OTHER}", f"evaluate@{OTHER}"} <= skipped

    lr05 = baseline.tuned_experiment
    assert learning_rate(lr05) == 0.5
    accuracies = accuracies_of(lr05)
    assert set(accuracies) == set(ARCHS)
    assert accuracies[TUNED] == json.loads(baseline.read(f"metrics/{TUNED}.json"))["test_accuracy"]
    # The architecture that did not rerun keeps the baseline's figures exactly.
    assert committed_json(baseline, "HEAD~1", RUNS)[OTHER] == json.loads(baseline.read(RUNS))[OTHER]
    assert accuracies[OTHER] == committed_json(baseline, "HEAD~1", RUNS)[OTHER]["test_accuracy"]


def test_exp_show_table_narrowed_to_test_accuracy(baseline, tuned):
    table = baseline.run(
        "dvc exp show --no-pager --md -A --drop '.*' --keep 'Experiment|.*test_accuracy$|.*learning_rate$'"
    ).stdout
    header = table.splitlines()[0]
    for arch in ARCHS:
        assert f"{arch}.test_accuracy" in header
    assert f"{LR}" in header
    assert "test_loss" not in header and "layers" not in header
    assert "[lr05]" in table

    changed = baseline.run("dvc exp show --no-pager --md --only-changed --rev HEAD~1").stdout
    header = changed.splitlines()[0]
    assert f"{TUNED}.test_loss" in header and LR in header
    assert f"{OTHER}.test_loss" not in header, "unchanged columns are hidden"


def test_metrics_diff_between_two_commits(baseline, tuned):
    old = committed_json(baseline, "HEAD~1", RUNS)[TUNED]
    new = committed_json(baseline, "HEAD", RUNS)[TUNED]
    changed = {k for k in old if old[k] != new[k]}
    assert "test_loss" in changed
    assert committed_json(baseline, "HEAD~1", RUNS)[OTHER] == committed_json(baseline, "HEAD", RUNS)[OTHER]

    diff = run_json(baseline, "dvc metrics diff HEAD~1 HEAD --json")
    assert set(diff) <= {RUNS, STUDY} and RUNS in diff, diff.keys()
    assert set(diff[RUNS]) == {f"{TUNED}.{key}" for key in changed}, "only the retrained run's metrics differ"
    for key in changed:
        assert diff[RUNS][f"{TUNED}.{key}"]["old"] == old[key]
        assert diff[RUNS][f"{TUNED}.{key}"]["new"] == new[key]
    # study.json's mean over the one run moves with its test accuracy, the other architecture's stays
    mean_changed = "test_accuracy" in changed
    assert set(diff.get(STUDY, {})) == ({f"{TUNED}.mean"} if mean_changed else set()), diff.get(STUDY)

    md = baseline.run("dvc metrics diff HEAD~1 --md").stdout  # HEAD~1 against the workspace (= HEAD)
    assert re.search(r"^\| Path +\| Metric +\| HEAD~1 +\| workspace +\| Change +\|$", md, re.MULTILINE), md
    assert re.search(rf"^\| {re.escape(RUNS)} +\| {TUNED}\.test_loss +\|", md, re.MULTILINE), md
    assert f"{OTHER}." not in md

    params = baseline.run("dvc params diff HEAD~1 --md").stdout
    assert re.search(rf"\| params\.yaml +\| {re.escape(LR)} +\| 1\.0 +\| 0\.5 +\|", params), params


# ---------------------------------------------------------------- plots


def test_plots_show_writes_every_architecture_and_plots_diff_works(baseline, tuned, tmp_path):
    shown = baseline.run(f"dvc plots show -o {tmp_path / 'show'}")
    index = tmp_path / "show" / "index.html"
    assert index.exists(), shown.stdout
    html = index.read_text()
    specs = main_plots(html_specs(html))
    expected = {
        "val_error",
        "val_loss",
        "errors",
        *(f"{a}_{kind}" for a in ARCHS for kind in ("loss", "accuracy")),
    }
    assert set(specs) == expected

    # The overlays: every run's curve, from the report's long table.
    for plot_id, field in (("val_error", "val_error"), ("val_loss", "val_loss")):
        rows = specs[plot_id]["data"]["values"]
        assert {row["filename"] for row in rows} == {"plots/study/history.csv"}, plot_id
        assert {row["arch"] for row in rows} == set(ARCHS), plot_id
        assert all(field in row for row in rows), plot_id
    errors = specs["errors"]
    assert '"rect"' in json.dumps(errors), "the errors template draws heat maps"
    assert len(errors["data"]["values"]) == 90 * len(ARCHS)  # every run's off-diagonal cells
    assert {row["arch"] for row in errors["data"]["values"]} == set(ARCHS)
    for arch in ARCHS:
        assert f'<img src="static/workspace_plots_{arch}_loss.png">' in html
        assert (tmp_path / "show" / "static" / f"workspace_plots_{arch}_loss.png").stat().st_size > 0
    assert '<img src="static/workspace_plots_comparison.png">' in html

    diffed = baseline.run(f"dvc plots diff HEAD~1 -o {tmp_path / 'diff'}")
    html = (tmp_path / "diff" / "index.html").read_text()
    specs = main_plots(html_specs(html))
    assert set(specs) == expected, diffed.stdout
    revisions = {row["rev"] for row in specs[f"{TUNED}_loss"]["data"]["values"]}
    assert revisions == {"HEAD~1", "workspace"}
    assert (tmp_path / "diff" / "static" / f"HEAD~1_plots_{TUNED}_loss.png").exists()

    as_json = run_json(baseline, f"dvc plots diff HEAD~1 HEAD --json -o {tmp_path / 'json'}")
    plots = main_plots(as_json["data"])
    assert set(plots) >= expected | {f"plots/{a}/loss.png" for a in ARCHS}
    assert not (baseline.path / "dvc_plots").exists(), "every output went to -o, none into the repo"


# ---------------------------------------------------------------- the queue
#
# DVC's queue is a celery worker on kombu's filesystem transport. Every control message
# (`dvc queue status` asks the workers for theirs; the temporary worker's own monitor asks
# every 10 s whether the queue is empty) is a file that the worker may read while it is
# still being written, which kills the worker with "Unrecoverable error: JSONDecodeError"
# (treeverse/dvc#7903, treeverse/dvc-task#73). So the test waits for the worker process to
# exit instead of polling `dvc queue status`, and, as a user would, starts the queue again
# if the worker died with experiments still queued.

WORKER_INFO = Path(".dvc") / "tmp" / "exps" / "celery" / "dvc-exp-worker-1.json"
WORKER_LOG = Path(".dvc") / "tmp" / "exps" / "celery" / "dvc-exp-worker-1.out"


def _worker_pid(project: Project, not_in: set[int], timeout: float = 60) -> int | None:
    """The pid of the worker `dvc queue start` spawned (one not seen before)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = json.loads((project.path / WORKER_INFO).read_text())["pid"]
        except (OSError, ValueError, KeyError, TypeError):
            pid = None
        if pid and pid not in not_in:
            return pid
        time.sleep(0.5)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not stat.read_text().rsplit(") ", 1)[-1].startswith("Z")  # a zombie has exited
    except OSError:
        return True


def _wait_for_exit(pid: int, deadline: float) -> bool:
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(2)
    return True


def _queue_rows(project: Project) -> dict[str, str]:
    """`dvc queue status` as {experiment name: status}."""
    rows = {}
    for line in project.run("dvc queue status").stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] != "Task" and not line.startswith("Worker"):
            rows[fields[1]] = fields[-1]
    return rows


def test_queue_runs_two_experiments_with_one_worker(baseline, tuned):
    queued = {"q03": 0.3, "q07": 0.7}
    for name, rate in queued.items():
        result = baseline.run(f"dvc exp run --queue -n {name} -S {LR}={rate}")
        assert f"Queued experiment '{name}' for future execution." in result.stdout
    assert _queue_rows(baseline) == {"q03": "Queued", "q07": "Queued"}
    assert "learning_rate: 0.5" in baseline.read("params.yaml"), "queueing leaves the workspace alone"

    workers: list[int] = []
    crashes = []
    deadline = time.monotonic() + 1800
    try:
        for _attempt in range(3):
            started = baseline.run("dvc queue start -j 1")
            assert "Started '1' new experiments task queue worker." in started.stdout
            worker = _worker_pid(baseline, set(workers))
            assert worker is not None, "no worker pid file"
            workers.append(worker)
            environ = Path(f"/proc/{worker}/environ")
            if len(workers) == 1 and environ.exists():
                # The worker, and so every experiment it runs, has the environment of `dvc queue start`.
                variables = dict(v.split("=", 1) for v in environ.read_text().split("\0") if "=" in v)
                assert variables.get("MNIST_SOURCE") == baseline.env["MNIST_SOURCE"]
            # A temporary worker: it exits by itself once the queue has been empty for 10 s.
            assert _wait_for_exit(worker, deadline), "the queue did not drain in time"
            rows = _queue_rows(baseline)
            if "Queued" not in rows.values():
                break
            log = (baseline.path / WORKER_LOG).read_text(errors="replace")
            assert "Unrecoverable error" in log, f"the worker exited with experiments queued: {rows}\n{log[-3000:]}"
            crashes.append(log[log.index("Unrecoverable error") :][:200])
        if crashes:
            warnings.warn(
                f"the DVC queue worker crashed {len(crashes)} time(s) and was restarted: {crashes}", stacklevel=1
            )

        logs = {name: baseline.run(f"dvc queue logs {name}", check=False).stdout for name in queued}
        assert rows == {"q03": "Success", "q07": "Success"}, logs
        for name in queued:  # each ran in its own temporary workspace, reusing the shared cache
            assert ran_stages(logs[name]) == {
                "validate",
                *(f"{s}@{TUNED}" for s in ("train", "evaluate", "record")),
                "report",
            }
            assert {"prepare", f"train@{OTHER}"} <= skipped_stages(logs[name])

        shown = experiments(baseline)
        for name, rate in queued.items():
            assert name in shown, shown.keys()
            assert learning_rate(shown[name]) == rate
            accuracies = accuracies_of(shown[name])
            assert set(accuracies) == set(ARCHS) and all(0 < a <= 1 for a in accuracies.values())
        assert "learning_rate: 0.5" in baseline.read("params.yaml"), "queued results are not applied"
    finally:
        if any(_alive(pid) for pid in workers):
            baseline.run("dvc queue stop --kill", check=False)
            for pid in workers:
                if not _wait_for_exit(pid, time.monotonic() + 60):
                    os.kill(pid, 15)
    assert workers and not any(_alive(pid) for pid in workers), "a queue worker outlived the test"
    assert "Worker status: 0 active, 0 idle" in baseline.run("dvc queue status").stdout


# ---------------------------------------------------------------- remote storage


def test_push_then_pull_into_a_clone_gives_identical_weights(baseline, tuned, tmp_path):
    remote = tmp_path / "remote"
    baseline.run(f"dvc remote add -d local {remote}")
    pushed = baseline.run("dvc push")
    assert re.search(r"\d+ files? pushed", pushed.stdout), pushed.stdout
    assert "Cache and remote 'local' are in sync." in baseline.run("dvc status -c").stdout
    baseline.commit("local remote")

    clone = git_clone(baseline, tmp_path / "clone")
    assert not (clone.path / "models" / f"{TUNED}.keras").exists()
    clone.env = {k: v for k, v in clone.env.items() if k != "MNIST_SOURCE"}  # nothing is rebuilt
    pulled = clone.run("dvc pull dvc.yaml")  # a plain `dvc pull` also wants the notebook's never-run outputs
    assert "fetched" in pulled.stdout, pulled.stdout

    lock = yaml.safe_load(clone.read("dvc.lock"))["stages"]
    for arch in ARCHS:
        original, copy = baseline.path / "models" / f"{arch}.keras", clone.path / "models" / f"{arch}.keras"
        assert copy.read_bytes() == original.read_bytes(), arch
        (out,) = [o for o in lock[f"train@{arch}"]["outs"] if o["path"] == f"models/{arch}.keras"]
        assert md5(copy) == out["md5"], arch
        assert copy.stat().st_size == out["size"]
    assert (clone.path / "data" / "prepared" / "test.npz").exists()
    for arch in ARCHS:  # the small per-run files are DVC's too, and pulled with the weights
        for relative in (f"metrics/{arch}.json", f"plots/{arch}/history.csv", f"plots/{arch}/confusion.csv"):
            assert (clone.path / relative).read_bytes() == (baseline.path / relative).read_bytes(), relative
    assert "Data and pipelines are up to date." in clone.run("dvc status dvc.yaml").stdout
    assert "Cache and remote 'local' are in sync." in clone.run("dvc status -c").stdout
    repro = clone.run("dvc repro")  # everything pulled: nothing to retrain
    assert not ran_stages(repro.stdout), repro.stdout
    shutil.rmtree(clone.path)


def test_a_clone_without_the_cache_retrains_nothing_and_has_the_study_from_git(baseline, tuned, tmp_path):
    """A user (or a later session) with the committed dvc.lock but no DVC cache or remote:
    `dvc repro --allow-missing` trusts the lock instead of retraining. Every per-run file is
    DVC-cached, so none is there; what git keeps is the report's: `dvc metrics show` (runs.json,
    study.json), the summary and the study's plots, but not the per-run curves."""
    clone = git_clone(baseline, tmp_path / "bare")
    clone.env = {k: v for k, v in clone.env.items() if k != "MNIST_SOURCE"}  # nothing may be rebuilt
    remotes = re.findall(r"^remote\.([^.]+)\.url=", clone.run("dvc config --list").stdout, re.MULTILINE)
    for name in remotes:  # the push test committed one
        clone.run(f"dvc remote remove {name}")
    assert not re.search(r"^remote\.", clone.run("dvc config --list").stdout, re.MULTILINE)
    for arch in ARCHS:
        for relative in (f"models/{arch}.keras", f"metrics/{arch}.json", f"plots/{arch}/history.csv"):
            assert not (clone.path / relative).exists(), relative

    repro = clone.run("dvc repro --allow-missing")
    assert not ran_stages(repro.stdout), repro.stdout
    assert {f"train@{a}" for a in ARCHS} <= skipped_stages(repro.stdout), repro.stdout
    assert not (clone.path / "metrics" / f"{TUNED}.json").exists(), "nothing was restored or rebuilt"

    files = run_json(clone, "dvc metrics show --json")[""]["data"]
    assert files[RUNS]["data"] == committed_json(baseline, "HEAD", RUNS)
    assert files[STUDY]["data"] == committed_json(baseline, "HEAD", STUDY)
    committed = yaml.safe_load(clone.read("dvc.lock"))["stages"]
    for arch in ARCHS:
        assert 0.0 < files[RUNS]["data"][arch]["test_accuracy"] <= 1.0
        assert f"train@{arch}" in committed
    assert TUNED in clone.read("metrics/summary.md")

    plots = run_json(clone, f"dvc plots show --json -o {tmp_path / 'plots'}")
    drawn = {
        plot_id
        for plot_id, renders in main_plots(plots["data"]).items()
        if any(render.get("content") for render in renders)
    }
    assert {"val_error", "val_loss", "errors"} <= drawn, plots.get("errors")
    assert not {f"{a}_loss" for a in ARCHS} & drawn, "the per-run histories are not in git"
    shutil.rmtree(clone.path)


def test_a_partial_run_continues_in_a_clone_without_retraining_what_is_done(tmp_path):
    """The study's situation across machines: one architecture trained, evaluated and committed
    with its record; a new machine has the commit but no DVC cache. `dvc repro prepare` rebuilds
    the prepared arrays byte-identical (the finished stages stay valid), then `--allow-missing`
    trains only the rest, and the report reads the finished run's record from git: nothing is
    pulled or retrained. The finished run's weights stay on the first machine until pulled from
    a remote: `dvc status` names them until then, and is clean after."""
    require_mnist()
    done, rest = ARCHS
    project = make_project(tmp_path, small_params(ARCHS, train=ONE_SEED))
    first = project.run(f"dvc repro record@{done}")
    assert ran_stages(first.stdout) == {"validate", "prepare", f"train@{done}", f"evaluate@{done}", f"record@{done}"}
    project.commit(f"{done} trained and evaluated")
    assert f"metrics/record/{done}/confusion.csv" in project.run("git ls-files metrics/record").stdout
    lock_before = yaml.safe_load(project.read("dvc.lock"))["stages"]

    clone = git_clone(project, tmp_path / "second")
    clone.run("dvc repro prepare")
    lock = yaml.safe_load(clone.read("dvc.lock"))["stages"]
    assert lock["prepare"]["outs"] == lock_before["prepare"]["outs"]  # same bytes, same md5

    rest_run = clone.run("dvc repro --allow-missing")
    ran = ran_stages(rest_run.stdout)
    assert ran == {f"train@{rest}", f"evaluate@{rest}", f"record@{rest}", "report"}, rest_run.stdout
    lock = yaml.safe_load(clone.read("dvc.lock"))["stages"]
    for stage in (f"train@{done}", f"evaluate@{done}", f"record@{done}"):
        assert lock[stage] == lock_before[stage], stage
    runs = json.loads(clone.read(RUNS))
    assert list(runs) == list(ARCHS)
    assert runs[done]["test_accuracy"] == json.loads(project.read(f"metrics/{done}.json"))["test_accuracy"]
    again = clone.run("dvc repro --allow-missing --dry")
    assert not ran_stages(again.stdout), "nothing is retrained"
    assert f"train@{done}" in run_json(clone, "dvc status dvc.yaml --json"), "its weights are not here"

    remote = tmp_path / "remote"
    project.run(f"dvc remote add -d local {remote} && dvc push")
    clone.run(f"dvc remote add -d local {remote} && dvc pull train@{done} evaluate@{done}")
    assert "Data and pipelines are up to date." in clone.run("dvc status dvc.yaml").stdout
