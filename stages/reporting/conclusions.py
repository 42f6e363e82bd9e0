"""The report's prose: protocol, caution, how the pairs are tested, and the conclusions,
each sentence generated from the numbers."""

from __future__ import annotations

from stages.reporting.formatting import DASH
from stages.statistics.price import POWER

NOISE_NOTE = (
    "one seed per architecture cannot measure how large that noise is; "
    "run more seeds: `train.extra_seeds`, or the `seeds` section that `make plan` fills"
)


def _validation(data: dict) -> str:
    if data.get("validation") == "test":
        return (
            "test: validation on the test set, as the notebook did (the best epoch was chosen "
            "by looking at the test set, so test accuracies are optimistic)"
        )
    if not isinstance(data.get("val_size"), int):
        return "holdout"
    return (
        f"holdout: the last {data['val_size']:,} training images, never trained on; "
        "the test set is used once, for the final figures (epoch-1 validation accuracies "
        "below are on the holdout, the notebook's on the test set)"
    )


def _training_data(data: dict) -> str:
    # as stages/mnist/splits.py: train on x[:subset] (subset 0: the whole pool); holdout: the pool
    # is every training image but the last val_size (the holdout), and subset <= pool
    subset, val_size = data.get("subset"), data.get("val_size")
    holdout = data.get("validation", "holdout") != "test"
    if not subset:
        return "every training image (`subset: 0`)" + (", less the holdout" if holdout else "")
    text = f"the first {subset:,} training images"
    if holdout:
        text += (
            f" (none of them in the holdout, the last {val_size:,})"
            if isinstance(val_size, int)
            else " (none of them in the holdout)"
        )
    return text


def protocol(params: dict, runs: dict) -> list[str]:
    data, train = params.get("data") or {}, params["train"]
    test_images = sorted({r["metrics"].get("test_images") for r in runs.values()} - {None})
    epochs_run = sorted({r["metrics"].get("epochs") for r in runs.values()} - {None})
    epochs = f"{train.get('epochs', DASH)} (`train.epochs`)"
    if epochs_run and epochs_run != [train.get("epochs")]:
        epochs += f"; epochs in the metrics: {', '.join(map(str, epochs_run))}"
    if train.get("restore_best"):
        epochs += f", weights of the best epoch by {train.get('monitor', 'val_loss')} kept"
    extra = [s for s in dict.fromkeys(train.get("extra_seeds") or []) if s != train["seed"]]
    seeds = f"{train['seed']} (`train.seed`, every main run)"
    if extra:
        found = {s: [a for a, r in runs.items() if s in r["seeds"]] for s in extra}
        seeds += "; extra seeds " + ", ".join(
            f"{s} ({len(archs)} of {len(runs)} architectures)" for s, archs in found.items()
        )
    else:
        seeds += "; no extra seeds (`train.extra_seeds` is empty)"
    added = {arch: seeds for arch, seeds in (params.get("seeds") or {}).items() if seeds}
    if added:
        seeds += "; more from the `seeds` section: " + ", ".join(f"{a} {s}" for a, s in added.items())
    return [
        f"- Validation (`data.validation`): {_validation(data)}",
        f"- Training data (`data.subset`): {_training_data(data)}",
        f"- Test images: {', '.join(f'{n:,}' for n in test_images) or DASH}",
        f"- Epochs: {epochs}",
        f"- Seeds: {seeds}",
    ]


def caution(runs: dict) -> str | None:
    single = [a for a, r in runs.items() if len(r["seeds"]) < 2]
    if not single:
        return None
    if len(single) == len(runs):
        who = "Every architecture was trained with one seed only"
    else:
        who = f"{len(single)} of {len(runs)} architectures have one seed only ({', '.join(single)})"
    return (
        f"**Caution.** {who}: their accuracies carry the run-to-run noise of training (initialisation, "
        f"shuffling, dropout), which the McNemar test and the bootstrap do not see; {NOISE_NOTE}."
    )


def method(alpha: float, margin: float, pairs: int, level: float | None) -> str:
    """How the verdicts are reached, and what they generalize to."""
    price = (
        ""
        if level is None
        else f" *Price*: the seeds per architecture that would decide an undecided pair with {POWER:.0%} "
        f"probability at α = {level:.2g} (Holm's first step among the undecided), if the observed difference "
        "is the true one (0 for equivalence), and the training hours from the measured `train_seconds`; in "
        "brackets the same at the ends of the 80% interval of the seeds' variance (2 degrees of freedom with "
        "3 seeds); or, when the images' own variance blocks it, the test images it would take."
    )
    return (
        f"Each pair's difference of expected accuracy is estimated over its architectures' seeds **and** "
        f"the test images (a two-way random-effects model; the Multi-Bootstrap of Sellam et al. 2022, "
        f"computed exactly by its moments), paired on images. The interval is studentized (t quantile, "
        f"Welch–Satterthwaite degrees of freedom made safe for 3 seeds) at the level Holm's step-down "
        f"over the {pairs} pairs gives it (α = {alpha:g}). Verdicts: *A better* / *B better* when that "
        f"interval excludes 0; else *equivalent* when the 1 − 2α interval at that level lies inside "
        f"±{100 * margin:.2f} points (`report.margin`); else *undecided*. The interval generalizes to new "
        f"seeds of the same training code and to new test images drawn like MNIST's (its writers are not "
        f"modelled: a new writer population may differ). *sd*: the estimate's standard deviation due to "
        f"the seeds (on these images), the images' own part (what more seeds never remove) and the "
        f"seed-by-image interaction (inside the seeds' part), in points.{price}"
    )


# The notebook's own conclusions (../shared/seed/REFERENCE.md): its closing sentence and the
# order of its summary tables, each as a claim "a beats b" on single runs.
NOTEBOOK_CLAIMS = (
    ("more conv layers, higher accuracy", "conv3_k753", "conv2_k3"),
    ("more conv layers, higher accuracy", "conv3_k753", "conv2_k5"),
    ("5×5 kernels beat 3×3 with two conv layers (99.37 vs 99.21)", "conv2_k5", "conv2_k3"),
    ("same padding did not help (99.17 vs 99.21, 99.43 vs 99.55)", "conv2_k3", "conv2_k3_same"),
    ("same padding did not help (99.17 vs 99.21, 99.43 vs 99.55)", "conv3_k753", "conv3_k753_same"),
    ("ReLU beats sigmoid (99.55 vs 99.02)", "conv3_k753", "conv3_k753_sigmoid"),
    ("ReLU beats tanh (99.55 vs 99.30)", "conv3_k753", "conv3_k753_tanh"),
)


def notebook_claims(results: list[dict], margin: float) -> list[str]:
    """Each notebook conclusion whose pair the report tests, against its verdict."""
    by_pair = {frozenset((r["a"], r["b"])): r for r in results}
    lines = []
    for claim, winner, loser in NOTEBOOK_CLAIMS:
        r = by_pair.get(frozenset((winner, loser)))
        if r is None:
            continue
        verdict = r["decision"]["verdict"]
        says = {"a_better": r["a"], "b_better": r["b"]}.get(verdict)
        if says == winner:
            answer = "**confirmed** over seeds and images"
        elif says == loser:
            answer = "**reversed**"
        elif verdict == "equivalent":
            answer = f"**no**: equivalent within ±{100 * margin:.2f} points"
        else:
            answer = "**not shown**: undecided"
        lines.append(f"- Notebook: {claim} — {winner} over {loser}. Here: {answer}.")
    return lines
