"""The study spread over machines through a real S3 server: moto's, started here on 127.0.0.1.

Three worker clones train two architectures each, in parallel, and push outputs and run-cache
(.github/scripts/study-worker.sh); then an aggregator clone runs `dvc fetch --run-cache && dvc
repro --pull` (study-aggregate.sh) and must train and evaluate nothing. The GitHub workflow
.github/workflows/study.yml runs the same scripts. Then the faults: a push to an unreachable
server, and a server that goes away in the middle of a push and comes back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from conftest import ROOT, Project, make_project, require_mnist, small_params

SCRIPTS = ROOT / ".github" / "scripts"
SHARES = (("conv2_k3", "conv2_k5"), ("conv3_k753", "conv2_k3_same"), ("conv3_k5", "conv3_k5_bn"))
BUCKET = "mnist-study"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
FAULT_ENV = {"AWS_MAX_ATTEMPTS": "1"}  # botocore's retries take a minute against a dead port; not tested here


def run_files(run: str) -> list[str]:
    return [
        f"models/{run}.keras",
        f"plots/{run}/history.csv",
        f"metrics/train/{run}.json",
        f"metrics/{run}.json",
        f"plots/{run}/confusion.csv",
        f"plots/{run}/loss.png",
    ]


def digests(project: Project, names) -> dict[str, str]:
    return {name: hashlib.md5((project.path / name).read_bytes()).hexdigest() for name in names}


def workspace_digests(project: Project) -> dict[str, str]:
    """Every output file in the workspace (models, metrics, plots, prepared data)."""
    names = [
        str(p.relative_to(project.path))
        for folder in ("models", "metrics", "plots", "data")
        for p in sorted((project.path / folder).rglob("*"))
        if p.is_file()
    ]
    return digests(project, names)


def lock_stages(project: Project) -> dict:
    return yaml.safe_load(project.read("dvc.lock"))["stages"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CuttingRelay:
    """A TCP relay in front of the S3 server that, once `cut_after` bytes went up, drops every
    connection and stops listening: to DVC, the server went away in the middle of a push.
    A new relay on the same port is the server back."""

    def __init__(self, upstream: int, port: int = 0, cut_after: int | None = None):
        self.upstream, self.cut_after, self.sent = upstream, cut_after, 0
        self.sockets: list[socket.socket] = []
        self.lock, self.closed = threading.Lock(), threading.Event()
        self.listener = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR: the port can come back
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            with self.lock:
                self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, upload: bool) -> None:
        try:
            while data := source.recv(65536):
                if upload and self.cut_after is not None:
                    with self.lock:
                        self.sent += len(data)
                    if self.sent >= self.cut_after:
                        return self.close()
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                s.close()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):  # already closed by its peer
                    s.shutdown(socket.SHUT_RDWR)


def s3_client(port: int):
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on a free port of 127.0.0.1, with the study's bucket; yields its port."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    s3_client(port).create_bucket(Bucket=BUCKET)
    yield port
    server.stop()


def clone(origin: Project, path: Path, port: int, prefix: str = "study") -> Project:
    """A clone of the committed project, pointed at s3://BUCKET/prefix with study-remote.sh."""
    subprocess.run(["git", "clone", "-q", str(origin.path), str(path)], check=True)
    project = Project(path)
    project.env.update(
        CREDENTIALS, STUDY_REMOTE_URL=f"s3://{BUCKET}/{prefix}", STUDY_REMOTE_ENDPOINT=f"http://127.0.0.1:{port}"
    )
    project.run(f"bash {SCRIPTS}/study-remote.sh")
    return project


def set_endpoint(project: Project, port: int) -> None:
    project.run(f"dvc remote modify --local study endpointurl http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def study(tmp_path_factory, s3):
    """The origin project (the six architectures, 1 epoch, 500 images, 1 TensorFlow thread per
    worker on 2 shared cores) and its three workers, which ran and pushed in parallel."""
    require_mnist()
    base = tmp_path_factory.mktemp("remote")
    params = small_params(
        archs=tuple(a for share in SHARES for a in share),
        data={"subset": 500, "test_subset": 500},
        numerics={"threads": 1},
        train={"extra_seeds": []},  # main runs only: params.yaml's extra seeds would add twelve trainings
    )
    origin = make_project(base, params)
    workers = [clone(origin, base / f"worker{i}", s3) for i in range(len(SHARES))]
    jobs = [
        subprocess.Popen(
            ["nice", "-n", "10", "bash", str(SCRIPTS / "study-worker.sh"), *share],
            cwd=w.path,
            env=w.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for w, share in zip(workers, SHARES, strict=True)
    ]
    logs = [job.communicate(timeout=1800)[0] for job in jobs]
    for job, log, share in zip(jobs, logs, SHARES, strict=True):
        assert job.returncode == 0, f"worker {share} exited {job.returncode}:\n{log[-4000:]}"
        for arch in share:
            assert f"Running stage 'train@{arch}'" in log, log[-4000:]
    return origin, workers, base


@pytest.mark.slow
def test_aggregator_restores_every_run_and_trains_nothing(study, s3):
    origin, workers, base = study
    aggregator = clone(origin, base / "aggregator", s3)
    log = aggregator.run(f"bash {SCRIPTS}/study-aggregate.sh").stdout  # dvc repro --pull dvc.yaml, report included

    assert "Running stage 'train@" not in log and "Running stage 'evaluate@" not in log, log
    for share in SHARES:
        for arch in share:
            for stage in ("train", "evaluate"):
                assert f"Stage '{stage}@{arch}' is cached - skipping run, checking out outputs" in log, log
    restored = 2 * sum(len(share) for share in SHARES)  # a train and an evaluate stage per architecture
    assert f"study-aggregate: {restored} train/evaluate stages restored" in log, log

    stages = set(aggregator.run("dvc stage list --name-only").stdout.split())
    lock = lock_stages(aggregator)
    assert set(lock) == stages
    runs = json.loads(aggregator.read("metrics/runs.json"))  # the report's git-kept summary
    assert list(runs) == [arch for share in SHARES for arch in share]
    for worker, share in zip(workers, SHARES, strict=True):
        for arch in share:  # the same files, byte for byte: weights, histories, confusion pairs, figures
            assert digests(aggregator, run_files(arch)) == digests(worker, run_files(arch))
            metrics = json.loads(worker.read(f"metrics/{arch}.json"))
            assert "test_accuracy" in runs[arch] and runs[arch] == {k: metrics[k] for k in runs[arch]}
            for stage in (f"train@{arch}", f"evaluate@{arch}"):
                assert lock[stage]["outs"] == lock_stages(worker)[stage]["outs"]


def copy_of(worker: Project, path: Path) -> Project:
    """A copy of a worker's clone (workspace, cache, config.local) that a fault test may break."""
    shutil.copytree(worker.path, path, symlinks=True)
    project = Project(path)
    project.env = {**worker.env, **FAULT_ENV}
    return project


def push_fails_in_one_line(worker: Project, share) -> str:
    """Runs the worker script where its push must fail; returns its last line, checked."""
    before = workspace_digests(worker)
    result = worker.run(f"bash {SCRIPTS}/study-worker.sh {' '.join(share)}", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("study-worker: dvc push --run-cache to remote 'study' (s3://"), last
    assert "failed: " in last and "rerun 'dvc push --run-cache'" in last, last
    assert "Running stage" not in result.stdout + result.stderr  # the runs were done: only the push ran
    assert workspace_digests(worker) == before
    return last


@pytest.mark.slow
def test_push_to_an_unreachable_server_says_so_in_one_line(study, tmp_path):
    worker = copy_of(study[1][0], tmp_path / "worker")
    port = free_port()  # nothing listens there
    set_endpoint(worker, port)
    last = push_fails_in_one_line(worker, SHARES[0])
    assert f"at http://127.0.0.1:{port}) failed: Could not connect to the endpoint URL" in last, last


def remote_objects(s3_port: int, prefix: str) -> int:
    pages = s3_client(s3_port).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/")
    return sum(page.get("KeyCount", 0) for page in pages)


@pytest.mark.slow
def test_server_gone_mid_push_then_a_rerun_completes_and_restores(study, s3, tmp_path):
    origin, workers, _ = study
    worker = copy_of(workers[0], tmp_path / "worker")
    relay = CuttingRelay(s3, cut_after=4_000_000)  # a model is ~10-14 MB: the cut falls inside the push
    worker.run(f"dvc remote modify --local study url s3://{BUCKET}/midpush")  # a remote with none of it yet
    set_endpoint(worker, relay.port)

    push_fails_in_one_line(worker, SHARES[0])
    assert relay.closed.is_set()
    partial = remote_objects(s3, "midpush")

    relay = CuttingRelay(s3, port=relay.port)  # the server is back at the same address
    try:
        worker.run("dvc push --run-cache")
        assert 0 < partial < remote_objects(s3, "midpush")  # the first push had stopped half way

        aggregator = clone(origin, tmp_path / "aggregator", relay.port, prefix="midpush")
        targets = " ".join(f"evaluate@{arch}" for arch in SHARES[0])
        log = aggregator.run(f"bash {SCRIPTS}/study-aggregate.sh {targets}").stdout
        assert "Running stage" not in log, log
        for arch in SHARES[0]:
            assert f"Stage 'train@{arch}' is cached - skipping run, checking out outputs" in log, log
            assert digests(aggregator, run_files(arch)) == digests(worker, run_files(arch))
    finally:
        relay.close()


def test_the_workflow_matrix_lists_every_run_and_the_runner_as_json(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump({"architectures": {"a": {}, "b": {}}, "train": {"seed": 0, "extra_seeds": [1, 2]}})
    )

    def matrix(runner: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(SCRIPTS / "study-matrix.py"), runner, str(params)], text=True, capture_output=True
        )

    assert matrix('["self-hosted", "gpu"]').stdout == (
        'runs=["a", "a-seed1", "a-seed2", "b", "b-seed1", "b-seed2"]\nrunner=["self-hosted", "gpu"]\n'
    )
    assert matrix("gpu").stdout.endswith('runner="gpu"\n')
    bad = matrix("[gpu")
    assert bad.returncode != 0 and bad.stdout == "" and "runner: '[gpu' is not valid JSON" in bad.stderr


def fake_dvc(folder: Path, script: str) -> dict:
    """An environment whose `dvc` is `script` (sh), with this venv's python for the scripts' helpers."""
    (folder / "dvc").write_text("#!/bin/sh\n" + script)
    (folder / "dvc").chmod(0o755)
    return {"PATH": f"{folder}:{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


def test_the_worker_reproduces_the_evaluate_stage_of_each_run_it_is_given(tmp_path):
    """study-worker.sh's run names to DVC targets, with a `dvc` that records its arguments and fails."""
    params = {"architectures": {"conv2_k3": {}, "conv3_k5_bn": {}}, "train": {"seed": 0, "extra_seeds": [12]}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**fake_dvc(tmp_path, 'echo "dvc $*" >> "$DVC_CALLS"\nexit 3\n'), "DVC_CALLS": str(tmp_path / "calls")}

    def worker(*runs: str) -> subprocess.CompletedProcess:
        script = ["bash", str(SCRIPTS / "study-worker.sh"), *runs]
        return subprocess.run(script, cwd=tmp_path, env=env, text=True, capture_output=True)

    assert worker("conv2_k3", "conv3_k5_bn-seed12").returncode == 3  # the failed `dvc repro` stops it before any push
    assert (tmp_path / "calls").read_text() == "dvc repro evaluate@conv2_k3 evaluate_seed@conv3_k5_bn-12\n"
    unknown = worker("conv2_k3", "conv2_k3-seed7")
    assert unknown.returncode != 0 and "study-targets: not a run of params.yaml: conv2_k3-seed7" in unknown.stderr
    assert (tmp_path / "calls").read_text().count("repro") == 1  # nothing ran for the bad name


def entry(outs: dict[str, str]) -> dict:
    return {"cmd": "python -m stages.x", "outs": [{"path": p, "hash": "md5", "md5": m} for p, m in outs.items()]}


TRAIN = {"models/a.keras": "m1", "plots/a/history.csv": "h1", "metrics/train/a.json": "t1"}
EVALUATE = {"metrics/a.json": "e1"}


@pytest.mark.parametrize(
    ("lock_before", "lock_after", "run_cache", "code", "last_line"),
    [
        ({}, {"train@a": TRAIN, "evaluate@a": EVALUATE}, [TRAIN, EVALUATE], 0, "study-aggregate: 2 train/evaluate"),
        (
            {},
            {"train@a": TRAIN, "evaluate@a": EVALUATE},
            [{**TRAIN, "metrics/train/a.json": "t0"}, EVALUATE],  # trained here: its record's timings differ
            1,
            "ran here instead of being restored from the run-cache: train@a",
        ),
        ({}, {"train@a": TRAIN}, [TRAIN], 1, "study-aggregate: 1 of 1 runs lack a train or evaluate stage"),
        # a commit whose dvc.lock already lists the runs: DVC pulls their outputs, the entries stay
        (
            {"train@a": TRAIN, "evaluate@a": EVALUATE},
            {"train@a": TRAIN, "evaluate@a": EVALUATE},
            [],
            0,
            "study-aggregate: 2 ",
        ),
        ({}, {"validate": {"data/params_checked.txt": "v"}}, [], 1, "study-aggregate: 1 of 1 runs lack"),
    ],
)
def test_the_aggregator_fails_when_a_run_was_not_restored(
    tmp_path, lock_before, lock_after, run_cache, code, last_line
):
    """study-aggregate.sh's check on dvc.lock and the run-cache, with a `dvc` whose repro writes a given dvc.lock."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"architectures": {"a": {}}, "train": {"seed": 0}}))
    lock = lambda stages: yaml.safe_dump({"schema": "2.0", "stages": {s: entry(o) for s, o in stages.items()}})  # noqa: E731
    if lock_before:
        (tmp_path / "dvc.lock").write_text(lock(lock_before))
    (tmp_path / "after.lock").write_text(lock(lock_after))
    for i, outs in enumerate(run_cache):
        (tmp_path / "cache" / "runs" / "ab" / f"key{i}").mkdir(parents=True)
        (tmp_path / "cache" / "runs" / "ab" / f"key{i}" / "value").write_text(yaml.safe_dump(entry(outs)))
    env = fake_dvc(
        tmp_path,
        f'case "$1" in\n  repro) cp {tmp_path}/after.lock dvc.lock ;;\n  cache) echo {tmp_path}/cache ;;\nesac\n',
    )
    result = subprocess.run(
        ["bash", str(SCRIPTS / "study-aggregate.sh")], cwd=tmp_path, env=env, text=True, capture_output=True
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert last_line in (result.stdout + result.stderr).strip().splitlines()[-1]
