"""stages.training.loop.train() and stages.training.resume.ResumeState, in-process, on a few hundred real MNIST images.

Every run uses a tiny architecture (with dropout, so the per-epoch reseeding matters) and a
*misleading* validation set: 30% of its images carry their true label and 70% the next digit's.
As the model learns, its validation loss rises (the wrong labels dominate) while its validation
accuracy rises (the true ones are learned): the best epoch by val_loss is an early one and the
best by val_accuracy a later one, so restoring the best epoch and choosing the monitor both
change the outcome and a test can tell them apart. Runs that several tests compare against are
trained once per module (`reference`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import require_mnist

pytestmark = pytest.mark.tensorflow

N_TRAIN, N_VAL, EPOCHS = 256, 200, 3
TRUE_LABEL_SHARE = 0.3
ARCH_ID = "tiny"
LAYERS = [
    {"type": "conv", "filters": 8, "kernel_size": 3},
    {"type": "pool", "pool_size": 2},
    {"type": "dropout", "rate": 0.25},
    {"type": "flatten"},
    {"type": "dense", "units": 32},
    {"type": "dropout", "rate": 0.5},
    {"type": "dense", "units": 10, "activation": "softmax"},
]
OPTIMIZERS = {
    "adadelta": {"name": "adadelta", "learning_rate": 1.0, "rho": 0.95, "epsilon": 1.0e-7},
    # Adam's step counter and moments must survive a resume too (bias correction uses the step)
    "adam": {"name": "adam", "learning_rate": 0.003, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1.0e-7},
}
FIXED = {"batch_size": 32, "eval_batch_size": 100, "verbose": 0}


def arch(optimizer: str = "adadelta") -> dict:
    return {"optimizer": OPTIMIZERS[optimizer], "layers": LAYERS}


@pytest.fixture(scope="module")
def data():
    """(train, val) as train() takes them: float32 images in [0, 1] with a channel axis, int32 labels."""
    source = require_mnist()
    from stages.common.layout import load_params
    from stages.mnist.source import load_mnist
    from stages.training import numerics

    numerics.configure(load_params()["numerics"])  # op determinism, threads and oneDNN as the stage has them

    arrays = load_mnist(source)
    x, y = arrays["x_train"], arrays["y_train"]

    def scale(images):
        return (images.astype(np.float32) / 255.0)[..., np.newaxis]

    y_val = y[-N_VAL:].astype(np.int32)
    wrong = np.arange(N_VAL) >= int(TRUE_LABEL_SHARE * N_VAL)
    y_val = np.where(wrong, (y_val + 1) % 10, y_val).astype(np.int32)
    return (scale(x[:N_TRAIN]), y[:N_TRAIN].astype(np.int32)), (scale(x[-N_VAL:]), y_val)


def run(data, *, optimizer="adadelta", epochs=EPOCHS, seed=0, state=None, **kwargs):
    from stages.training.loop import train

    return train(ARCH_ID, arch(optimizer), *data, epochs=epochs, seed=seed, state=state, **{**FIXED, **kwargs})


@pytest.fixture(scope="module")
def reference(data):
    """Uninterrupted runs without resume state, each trained once per module: (model, history, info)."""
    cache = {}

    def get(optimizer="adadelta", restore_best=True, monitor="val_loss"):
        key = (optimizer, restore_best, monitor)
        if key not in cache:
            cache[key] = run(data, optimizer=optimizer, restore_best=restore_best, monitor=monitor)
        return cache[key]

    return get


def same_weights(a, b) -> bool:
    a, b = a.get_weights() if hasattr(a, "get_weights") else a, b.get_weights() if hasattr(b, "get_weights") else b
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def val_figures(model, val) -> tuple[float, float]:
    """The model's validation loss and accuracy, computed here with numpy (Keras' clipping)."""
    x, y = val
    probabilities = np.concatenate([np.asarray(model.predict_on_batch(x[i : i + 100])) for i in range(0, len(x), 100)])
    picked = np.clip(probabilities[np.arange(len(y)), y].astype(np.float64), 1e-7, 1.0)
    return float(-np.log(picked).mean()), float((probabilities.argmax(axis=1) == y).mean())


def column(history, key) -> np.ndarray:
    return np.array([row[key] for row in history])


def fresh_model(optimizer="adadelta"):
    from stages.model.builder import build_model, compile_model

    return compile_model(build_model(ARCH_ID, arch(optimizer)), OPTIMIZERS[optimizer])


def listing(directory) -> set[str]:
    return {p.name for p in directory.iterdir()}


# -- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_weights_and_history(data, reference):
    first_model, first_history, first_info = reference(restore_best=False)
    model, history, info = run(data, restore_best=False)  # a second model in the same process
    assert len(history) == EPOCHS
    assert history == first_history  # floats compared exactly
    assert same_weights(model, first_model)
    assert info["best_epoch"] == first_info["best_epoch"]


def test_different_seed_gives_different_weights_and_history(data, reference):
    first_model, first_history, _ = reference(restore_best=False)
    model, history, _ = run(data, seed=1, restore_best=False)
    assert not same_weights(model, first_model)
    differing = [
        a for a, b in zip(model.get_weights(), first_model.get_weights(), strict=True) if not np.array_equal(a, b)
    ]
    assert len(differing) == len(first_model.get_weights())  # every kernel and bias, not one of them
    assert column(history, "loss").tolist() != column(first_history, "loss").tolist()


# -- the best epoch -------------------------------------------------------------------------


def test_restore_best_returns_the_weights_of_the_lowest_val_loss_epoch(data, reference):
    best_model, history, info = reference(restore_best=True)
    last_model, last_history, last_info = reference(restore_best=False)
    val_loss = column(history, "val_loss")
    best_epoch = int(np.argmin(val_loss)) + 1
    assert best_epoch < EPOCHS, f"the misleading validation set no longer gives an early best epoch: {val_loss}"

    assert last_history == history  # restoring happens after training: the epochs are the same
    for record in (info, last_info):
        assert record["monitor"] == "val_loss" and record["epochs"] == EPOCHS
        assert record["best_epoch"] == best_epoch
        assert record["best_val_loss"] == history[best_epoch - 1]["val_loss"]
        assert record["best_val_accuracy"] == history[best_epoch - 1]["val_accuracy"]
        assert record["last_val_loss"] == history[-1]["val_loss"]
    assert info["restored_best"] is True and last_info["restored_best"] is False

    loss, accuracy = val_figures(best_model, data[1])
    assert loss == pytest.approx(history[best_epoch - 1]["val_loss"], abs=1e-5)
    assert accuracy == pytest.approx(history[best_epoch - 1]["val_accuracy"], abs=1e-6)
    assert abs(loss - history[-1]["val_loss"]) > 1e-3  # ... which is not the last epoch's

    loss, accuracy = val_figures(last_model, data[1])
    assert loss == pytest.approx(history[-1]["val_loss"], abs=1e-5)
    assert accuracy == pytest.approx(history[-1]["val_accuracy"], abs=1e-6)
    assert not same_weights(best_model, last_model)


def test_monitor_val_accuracy_restores_the_highest_val_accuracy_epoch(data, reference):
    model, history, info = reference(restore_best=True, monitor="val_accuracy")
    assert history == reference(restore_best=True)[1]  # the monitor only picks, it does not train
    val_accuracy = column(history, "val_accuracy")
    best_epoch = int(np.argmax(val_accuracy)) + 1  # the first of equal maxima, as is_better's strict >
    assert best_epoch != int(np.argmin(column(history, "val_loss"))) + 1, (
        f"the misleading validation set should make the two monitors disagree: {history}"
    )

    assert info["monitor"] == "val_accuracy" and info["best_epoch"] == best_epoch
    assert info["best_val_accuracy"] == val_accuracy.max()
    loss, accuracy = val_figures(model, data[1])
    assert accuracy == pytest.approx(history[best_epoch - 1]["val_accuracy"], abs=1e-6)
    assert loss == pytest.approx(history[best_epoch - 1]["val_loss"], abs=1e-5)


# -- resuming -------------------------------------------------------------------------------

FINGERPRINT = {"arch": ARCH_ID, "train": {"epochs": EPOCHS, "seed": 0}, "input_shape": [28, 28, 1]}


@pytest.fixture(scope="module", params=sorted(OPTIMIZERS))
def resumed(request, data, tmp_path_factory):
    """1 epoch with a resume state ("killed" after it), then fresh train() calls on the same folder."""
    from stages.training.resume import ResumeState

    optimizer = request.param
    directory = tmp_path_factory.mktemp(f"resume-{optimizer}") / "run"
    _, part_history, _ = run(data, optimizer=optimizer, epochs=1, state=ResumeState(directory, FINGERPRINT))
    after_one = {"files": listing(directory), "state": json.loads((directory / "state.json").read_text())}

    # a new process would get a new ResumeState; the fingerprint is an equal dict in another key order
    again = json.loads(json.dumps(FINGERPRINT, sort_keys=True), object_pairs_hook=lambda p: dict(reversed(p)))
    model, history, info = run(data, optimizer=optimizer, restore_best=False, state=ResumeState(directory, again))
    after_all = {"files": listing(directory), "state": json.loads((directory / "state.json").read_text())}
    # once more: nothing left to train, only the best epoch's weights to restore from best-<n>.npz
    best_model, best_history, best_info = run(
        data, optimizer=optimizer, restore_best=True, state=ResumeState(directory, FINGERPRINT)
    )
    return {
        "optimizer": optimizer,
        "directory": directory,
        "part_history": part_history,
        "after_one": after_one,
        "after_all": after_all,
        "last": (model, history, info),
        "best": (best_model, best_history, best_info),
    }


def test_resumed_run_ends_with_the_uninterrupted_weights_and_history(resumed, reference):
    ref_last, ref_history, ref_info = reference(resumed["optimizer"], restore_best=False)
    ref_best = reference(resumed["optimizer"], restore_best=True)[0]
    model, history, info = resumed["last"]

    assert resumed["part_history"] == ref_history[:1]
    assert info["resumed_after_epoch"] == 1 and ref_info["resumed_after_epoch"] == 0
    assert len(history) == EPOCHS and history == ref_history
    assert same_weights(model, ref_last)
    assert info["best_epoch"] == ref_info["best_epoch"] and info["best_val_loss"] == ref_info["best_val_loss"]

    best_model, best_history, best_info = resumed["best"]
    assert best_info["resumed_after_epoch"] == EPOCHS and best_history == ref_history
    assert same_weights(best_model, ref_best)


def test_resume_state_holds_only_state_json_and_the_files_it_names(resumed, reference):
    ref_last, ref_history, ref_info = reference(resumed["optimizer"], restore_best=False)
    best_epoch = ref_info["best_epoch"]
    assert best_epoch < EPOCHS  # so the best and the last weights are different files
    for snapshot, epoch in ((resumed["after_one"], 1), (resumed["after_all"], EPOCHS)):
        state = snapshot["state"]
        assert len(state["history"]) == epoch and state["history"] == ref_history[:epoch]
        assert state["weights"] == f"epoch-{epoch}.weights.h5"
        assert state["best_weights"] == f"best-{min(epoch, best_epoch)}.npz"
        # no temporary files, no earlier epochs' weights: exactly what state.json names
        assert snapshot["files"] == {"state.json", state["weights"], state["best_weights"]}

    directory, state = resumed["directory"], resumed["after_all"]["state"]
    assert listing(directory) == resumed["after_all"]["files"]  # the no-op third call rewrote nothing
    saved = fresh_model(resumed["optimizer"])
    saved.optimizer.build(saved.trainable_variables)  # the file holds the optimizer's state too
    saved.load_weights(directory / state["weights"])
    assert same_weights(saved, ref_last)
    with np.load(directory / state["best_weights"]) as best:
        assert same_weights(
            [best[f"w{i}"] for i in range(len(best.files))], reference(resumed["optimizer"], restore_best=True)[0]
        )


def test_changed_fingerprint_ignores_and_clears_stale_state(data, reference, tmp_path, capsys):
    from stages.training.resume import ResumeState

    directory = tmp_path / "run"
    # a stale state that would change the outcome if it were loaded: another seed's first epoch
    run(data, epochs=1, seed=1, state=ResumeState(directory, {**FINGERPRINT, "train": {"epochs": 3, "seed": 1}}))
    assert len(json.loads((directory / "state.json").read_text())["history"]) == 1
    (directory / ".leftover").write_text("only clearing the whole folder removes this file")
    capsys.readouterr()

    model, history, info = run(data, restore_best=False, state=ResumeState(directory, FINGERPRINT))
    assert "Ignoring resume state" in capsys.readouterr().out
    assert not (directory / ".leftover").exists()  # the stale folder was cleared, not just overwritten
    ref_model, ref_history, _ = reference(restore_best=False)
    assert info["resumed_after_epoch"] == 0 and history == ref_history
    assert same_weights(model, ref_model)
    state = json.loads((directory / "state.json").read_text())
    assert state["fingerprint"] == FINGERPRINT and len(state["history"]) == EPOCHS


def test_the_epoch_log_counts_against_the_run_s_epochs(data, capsys):
    """One fit() per epoch must still log "Epoch 2/3", not Keras' per-call "Epoch 2/2"."""
    run(data, epochs=EPOCHS, seed=0, verbose=2)
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch ")]
    assert headers == [f"Epoch {epoch}/{EPOCHS}" for epoch in range(1, EPOCHS + 1)]
