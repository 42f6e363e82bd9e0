"""The report's prose: protocol, caution, how the pairs are tested, and the conclusions,
each sentence generated from the numbers."""

from __future__ import annotations

from stages.reporting.formatting import DASH, p_value, pct, points
from stages.reporting.significance import BOOTSTRAP_RESAMPLES, POWER

NOISE_NOTE = (
    "one seed per architecture cannot measure how large that noise is; "
    "run more seeds: `dvc exp run -S 'train.extra_seeds=[1,2]'`"
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
    # as stages.prepare.split: train on x[:subset] (subset 0: the whole pool); holdout: the pool
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


def method(results: list[dict], alpha: float, main_seed: int) -> str:
    pairs = len({frozenset((r["a"], r["b"])) for r in results})
    return (
        f"Each conclusion rests on **Welch's t-test over the per-seed test accuracies** (Holm's correction "
        f"over the {pairs} pairs of this report, α = {alpha:g}). The question is whether an architecture "
        f"trains to better models, not whether one trained model beats another on these test images: a run's "
        f"accuracy moves with its seed (initialisation, shuffling, dropout), and only a test over seeds sees "
        f"that. Two architectures' runs with the same seed number are not alike (their weights have "
        f"different shapes), so pairing them by seed would gain little and cost degrees of freedom: with 3 "
        f"seeds a side, a paired t-test has 2, Welch's up to 4; Welch's test does not assume equal spread. "
        f"With so few seeds it rejects only large differences: *Detectable* is the true difference it finds "
        f"with {POWER:.0%} probability at α = {alpha:g} (before Holm's correction, so a lower bound), from the "
        f"seeds' observed spread (simulated Welch tests). Beside it, per seed on the same test images: exact McNemar "
        f"on the images one model gets right and the other wrong, and a paired bootstrap "
        f"({BOOTSTRAP_RESAMPLES:,} resamples) of the accuracy difference, Holm-adjusted per seed; they see "
        f"the test set's sampling noise only, and a difference one seed calls significant another can reverse. "
        f"A pair with one seed on a side can only be judged by seed {main_seed}'s McNemar test. "
        f"# = the comparison above."
    )


def _per_seed(result: dict) -> str:
    return "; ".join(
        f"seed {t['seed']} {points(t['mcnemar']['diff'])} ({p_value(t['holm_p'])})" for t in result["per_seed"]
    )


def _why_not(result: dict) -> str:
    if result["welch"] and result["welch"]["note"]:  # seeds on both sides, but no spread at all
        return f"{result['n_a']} vs {result['n_b']} seeds, {result['welch']['note']}"
    return f"{result['n_a']} vs {result['n_b']} seeds"


def _sentence(result: dict, alpha: float) -> str:
    a, b = result["a"], result["b"]
    per_seed = f" Per seed, A − B on the test set (McNemar, Holm): {_per_seed(result)}."
    if result["basis"] == "test set":
        return (
            f"- {result['verdict']} — seed {result['main_seed']}'s test set, McNemar, Holm-adjusted; "
            f"not testable over seeds ({_why_not(result)})."
        )
    welch, p = result["welch"], p_value(result["welch_holm_p"])
    seeds = f"{welch['n_a']} vs {welch['n_b']} seeds, Welch, Holm {p}"
    if result["supported"]:
        winner, loser = (a, b) if welch["diff"] > 0 else (b, a)
        return f"- **Supported:** {winner} beats {loser} by {pct(abs(welch['diff']))} points ({seeds}).{per_seed}"
    detectable = result["detectable"]
    reach = (
        "the seeds show no spread, so no detectable difference can be computed"
        if detectable is None
        else f"these seeds detect only a difference of about {pct(detectable['difference'])} points or more "
        f"({POWER:.0%} power, α = {alpha:g}); a smaller one is neither shown nor ruled out"
    )
    return f"- **Not supported:** {a} − {b} = {points(welch['diff'])} points ({seeds}); {reach}.{per_seed}"


def conclusions(results: list[dict], comparisons: list[dict], alpha: float) -> list[str]:
    """Per comparison, one sentence per pair; then which pairs the data support."""
    lines = []
    for index, comparison in enumerate(comparisons):
        mine = [r for r in results if r["comparison"] == index]
        if not mine:
            continue
        lines += [f"**{index + 1}. {comparison.get('title', '')}**", ""]
        lines += [_sentence(r, alpha) for r in mine]
        lines.append("")
    over_seeds = [r for r in results if r["basis"] == "seeds"]
    supported = [
        f"{r['a']} over {r['b']} ({points(r['diff'])} points)"
        if r["diff"] > 0
        else f"{r['b']} over {r['a']} ({points(-r['diff'])} points)"
        for r in over_seeds
        if r["supported"]
    ]
    unsupported = [f"{r['a']} vs {r['b']}" for r in over_seeds if not r["supported"]]
    if over_seeds:
        lines.append(
            f"**The data support** {len(supported)} of {len(over_seeds)} differences tested over seeds"
            + (f": {', '.join(supported)}" if supported else "")
            + ". "
            + (
                f"**Not supported:** {', '.join(unsupported)}; for each, the test would likely have "
                f"missed a true difference below its *Detectable* figure, so this is not evidence that they "
                f"are equal."
                if unsupported
                else ""
            )
        )
    untested = [f"{r['a']} vs {r['b']}" for r in results if r["basis"] != "seeds"]
    if untested:
        which = "every pair has" if len(untested) == len(results) else f"{', '.join(untested)} have"
        lines.append(
            f"**Not tested over seeds:** {which} one seed on a side; a McNemar verdict sees the test "
            f"set's noise only, so none of these is yet an answer about the architectures."
        )
    return lines
