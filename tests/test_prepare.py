"""stages.prepare: split() on index-marked synthetic arrays, main() on the real offline MNIST."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stages import prepare
from stages.common import layout
from stages.prepare import split

from conftest import require_mnist

ROOT = Path(__file__).resolve().parent.parent

N_TRAIN, N_TEST = 100, 30


def marked(n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """n images whose pixel [0, 0] holds offset + index, so every slice shows where it came from."""
    x = np.zeros((n, 28, 28), np.uint8)
    x[:, 0, 0] = offset + np.arange(n)
    return x, (np.arange(n) % 10).astype(np.uint8)


@pytest.fixture
def arrays():
    (x_train, y_train), (x_test, y_test) = marked(N_TRAIN, 0), marked(N_TEST, 200)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def data(subset: int, validation: str, val_size: int, test_subset: int) -> dict:
    """A `data` section."""
    return {"subset": subset, "validation": validation, "val_size": val_size, "test_subset": test_subset}


def ids(pair) -> list[int]:
    return pair[0][:, 0, 0].astype(int).tolist()


def test_holdout_is_the_last_images_and_never_trained_on(arrays):
    s = split(arrays, data(0, "holdout", 20, 0))
    assert ids(s["val"]) == list(range(80, 100))
    assert ids(s["train"]) == list(range(80))
    assert not set(ids(s["train"])) & set(ids(s["val"]))
    assert ids(s["test"]) == list(range(200, 230))
    for x, y in s.values():
        assert x.dtype == np.uint8 and y.dtype == np.uint8 and x.shape[1:] == (28, 28) and len(x) == len(y)
    np.testing.assert_array_equal(s["val"][1], arrays["y_train"][80:])


def test_subset_takes_the_first_of_the_pool_and_keeps_the_holdout(arrays):
    s = split(arrays, data(30, "holdout", 20, 0))
    assert ids(s["train"]) == list(range(30))
    assert ids(s["val"]) == list(range(80, 100))  # same holdout as without a subset
    full_pool = split(arrays, data(80, "holdout", 20, 0))
    assert ids(full_pool["train"]) == list(range(80))


def test_test_protocol_trains_on_everything_and_validates_on_test(arrays):
    s = split(arrays, data(0, "test", 20, 0))  # val_size ignored
    assert ids(s["train"]) == list(range(100))
    assert ids(s["val"]) == ids(s["test"]) == list(range(200, 230))
    assert ids(split(arrays, data(100, "test", 20, 0))["train"]) == list(range(100))
    assert ids(split(arrays, data(7, "test", 20, 0))["train"]) == list(range(7))


def test_test_subset(arrays):
    s = split(arrays, data(0, "holdout", 20, 5))
    assert ids(s["test"]) == list(range(200, 205))
    assert ids(s["val"]) == list(range(80, 100))  # the holdout is not cut by test_subset
    assert ids(split(arrays, data(0, "test", 20, 5))["val"]) == list(range(200, 205))


@pytest.mark.parametrize(
    "kwargs, message",
    [  # the validator's rules (stages.params.schema.data_errors), on these arrays' sizes
        (
            {"subset": 81},
            "data: subset 81 is larger than the training pool; allowed: 0 <= subset <= 80 "
            "(100 training images, val_size 20 held out)",
        ),
        (
            {"subset": 101, "validation": "test"},
            "data: subset 101 is larger than the training pool; allowed: 0 <= subset <= 100 "
            "(100 training images, validation: test)",
        ),
        ({"subset": -1}, "data: subset -1 is out of range; allowed: subset >= 0"),
        ({"subset": 1.5}, "data: subset 1.5 must be an integer, got float"),
        ({"val_size": 0}, "data: val_size 0 is out of range; allowed: 1 <= val_size <= 99"),
        ({"val_size": 100}, "data: val_size 100 is out of range; allowed: 1 <= val_size <= 99"),
        ({"val_size": -3, "validation": "test"}, "data: val_size -3 is out of range"),
        ({"validation": "kfold"}, "data: unknown validation 'kfold'; allowed: holdout, test"),
        ({"test_subset": -1}, "data: test_subset -1 is out of range; allowed: 0 <= test_subset <= 30"),
        ({"test_subset": 31}, "data: test_subset 31 is out of range; allowed: 0 <= test_subset <= 30"),
    ],
)
def test_split_errors(arrays, kwargs, message):
    args = {"subset": 0, "validation": "holdout", "val_size": 20, "test_subset": 0, **kwargs}
    with pytest.raises(ValueError) as raised:
        split(arrays, args)
    assert str(raised.value).startswith(message)


def test_split_lists_every_broken_rule(arrays):
    with pytest.raises(ValueError) as raised:
        split(arrays, data(-1, "holdout", 100, 31))
    message = str(raised.value)
    for culprit in ("data: subset -1 is", "data: val_size 100 is", "data: test_subset 31 is"):
        assert culprit in message, culprit
    assert message.count("data: ") == 3


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"subset": 0, "validation": "holdout", "val_size": 10000},
            "data: missing 'test_subset'; data needs: subset, validation, val_size, test_subset",
        ),
        (
            {"subset": 0, "validation": "holdout", "val_size": 10000, "test_subset": 0, "shuffle": True},
            "data: unknown key 'shuffle'; allowed: subset, validation, val_size, test_subset",
        ),
        (
            {"subset": 50001, "validation": "holdout", "val_size": 10000, "test_subset": 0},
            "data: subset 50001 is larger than the training pool; allowed: 0 <= subset <= 50000 "
            "(60000 training images, val_size 10000 held out)",
        ),
        (
            None,
            "data: expected a mapping like {subset: ..., validation: ..., val_size: ..., test_subset: ...}, got null",
        ),
    ],
)
def test_data_section_errors_on_mnist_sized_arrays(data, message):
    x_train, x_test = np.zeros(60000, np.uint8), np.zeros(10000, np.uint8)
    with pytest.raises(ValueError) as raised:
        split({"x_train": x_train, "y_train": x_train, "x_test": x_test, "y_test": x_test}, data)
    assert str(raised.value) == message


# main() on the real data


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    """Redirect params.yaml and the three outputs into tmp_path; returns (train, val, test)."""
    params = tmp_path / "params.yaml"
    params.write_text("data:\n  subset: 500\n  validation: holdout\n  val_size: 200\n  test_subset: 100\n")
    monkeypatch.setattr(layout, "PARAMS_FILE", params)
    monkeypatch.setattr(layout, "DATA_DIR", tmp_path / "data")  # URL sources cache here, not in the repo
    paths = tuple(tmp_path / "prepared" / f"{name}.npz" for name in ("train", "val", "test"))
    for attr, path in zip(("TRAIN_FILE", "VAL_FILE", "TEST_FILE"), paths, strict=True):
        monkeypatch.setattr(layout, attr, path)
    return paths


def test_main_writes_three_files(outputs, monkeypatch, capsys):
    source = require_mnist()
    monkeypatch.setenv("MNIST_SOURCE", source)
    prepare.main()
    train, val, test = (np.load(p) for p in outputs)
    assert {
        name: (f["x"].shape, f["y"].shape) for name, f in zip(("train", "val", "test"), (train, val, test), strict=True)
    } == {
        "train": ((500, 28, 28), (500,)),
        "val": ((200, 28, 28), (200,)),
        "test": ((100, 28, 28), (100,)),
    }
    assert all(f[k].dtype == np.uint8 for f in (train, val, test) for k in ("x", "y"))
    assert train["y"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test["y"][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert sorted(p.name for p in outputs[0].parent.iterdir()) == ["test.npz", "train.npz", "val.npz"]  # no temporaries
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "train: 500 images" in lines[0] and source in lines[0]


def test_failed_write_keeps_the_old_file(outputs, monkeypatch):
    monkeypatch.setenv("MNIST_SOURCE", require_mnist())
    outputs[0].parent.mkdir(parents=True)
    outputs[0].write_bytes(b"old train")

    def dies_midway(file, **arrays):  # a kill while writing: half a file, then gone
        Path(file).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(prepare.np, "savez", dies_midway)
    with pytest.raises(SystemExit) as exit_:
        prepare.main()
    assert exit_.value.code == 1
    assert outputs[0].read_bytes() == b"old train"
    assert [p.name for p in outputs[0].parent.iterdir()] == ["train.npz"]


def test_failing_source_leaves_outputs_untouched(outputs, tmp_path, monkeypatch, capsys):
    outputs[0].parent.mkdir(parents=True)
    for i, path in enumerate(outputs):
        path.write_bytes(f"previous output {i}".encode())
    monkeypatch.setenv("MNIST_SOURCE", str(tmp_path / "no-such-folder"))
    with pytest.raises(SystemExit) as exit_:
        prepare.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("prepare: error: MNIST folder") and "no-such-folder" in err
    assert [p.read_bytes() for p in outputs] == [f"previous output {i}".encode() for i in range(3)]
    assert sorted(p.name for p in outputs[0].parent.iterdir()) == ["test.npz", "train.npz", "val.npz"]


def test_bad_params_is_a_clean_error(outputs, monkeypatch, capsys):
    layout.PARAMS_FILE.write_text("data:\n  subset: 0\n  validation: holdout\n  val_size: 0\n  test_subset: 0\n")
    monkeypatch.setenv("MNIST_SOURCE", require_mnist())
    with pytest.raises(SystemExit):
        prepare.main()
    err = capsys.readouterr().err
    assert err.startswith("prepare: error: ") and err.endswith(
        "params.yaml: data: val_size 0 is out of range; allowed: 1 <= val_size <= 59999\n"
    )
    assert not outputs[0].parent.exists()


def test_module_run_fails_without_traceback(tmp_path):
    env = dict(os.environ, MNIST_SOURCE=str(tmp_path / "no-such-folder"))
    result = subprocess.run(
        [sys.executable, "-m", "stages.prepare"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.startswith("prepare: error: MNIST folder") and "Traceback" not in result.stderr
    assert result.stdout == ""
