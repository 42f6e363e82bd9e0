"""Does the run reproduce the notebook? Our last epoch against the notebook's final test
accuracy, meaningful only when validation was on the test set (the notebook's protocol)."""

from __future__ import annotations

from stages.reporting.formatting import DASH, difference, number, pct, points
from stages.reporting.tables import table

NOTEBOOK_EPOCHS = 15  # what the notebook's final figures were trained for (REFERENCE.md)

EXPLANATION = (
    "The notebook's final test accuracy is `model.evaluate` on the test set with the last epoch's weights. "
    "Ours at the same point is the last epoch's validation accuracy, because in this protocol the validation "
    "set is the test set (the test accuracies above are the restored best epoch's, chosen on the test set). "
    "Tolerance: {tolerance:.2f} points (`report.reproduction_tolerance`)."
)


def _last_val_accuracy(history: list[dict] | None):
    return history[-1].get("val_accuracy") if history else None


def _outside_sentences(outside: list, tolerance: float) -> str:
    text, single = "", []
    for arch, gap, per_seed, theirs in outside:
        if len(per_seed) < 2:
            single.append(f"{arch} ({points(gap)})")
            continue
        low, high = min(per_seed), max(per_seed)
        inside = low - tolerance <= theirs <= high + tolerance
        text += f" {arch} ({points(gap)}): our {len(per_seed)} seeds give {pct(low)} – {pct(high)}, " + (
            "so the notebook's figure is within our run-to-run spread (plus the tolerance)."
            if inside
            else "and the notebook's figure is outside that spread."
        )
    if single:
        text += (
            f" Outside, with one seed only: {', '.join(single)}; a second seed tells whether "
            f"such a difference is run-to-run noise (`train.extra_seeds`)."
        )
    return text


def reproduction(params: dict, runs: dict, tolerance: float) -> list:
    """Blocks comparing our last-epoch test accuracy with the notebook's final one, when the run
    used the notebook's protocol (validation on the test set); one sentence otherwise."""
    if (params.get("data") or {}).get("validation") != "test":
        return [
            "These runs use the honest protocol (fewer training images, best epoch chosen on the "
            "holdout), so they are not expected to equal the notebook's figures. The reproduction "
            "check needs the notebook's protocol, which has its own pipeline: `notebook/dvc.yaml` "
            "(`make run-notebook`), whose report `notebook/metrics/summary.md` holds it (or, for "
            "this pipeline's own runs, `dvc exp run -S data.validation=test`)."
        ]
    columns = [
        "Architecture",
        "Ours, last epoch (%)",
        "Notebook, final (%)",
        "Ours − notebook (points)",
        "Within tolerance",
        "Our seeds, last epoch (%)",
    ]
    rows, outside, unknown = [], [], []
    for arch, record in runs.items():
        theirs = number((record["notebook"] or {}).get("final_test_accuracy"))
        ours = _last_val_accuracy(record["history"])
        per_seed = [v for v in record["last_val_accuracy"].values() if v is not None]
        if ours is None or theirs is None:
            unknown.append(arch)
            rows.append([arch, pct(ours), pct(theirs), DASH, DASH, DASH])
            continue
        within = abs(ours - theirs) <= tolerance + 1e-12
        if not within:
            outside.append((arch, difference(ours, theirs), per_seed, theirs))
        spread = f"{pct(min(per_seed))} – {pct(max(per_seed))} (n={len(per_seed)})" if len(per_seed) > 1 else DASH
        rows.append([arch, pct(ours), pct(theirs), points(difference(ours, theirs)), "yes" if within else "no", spread])
    compared = len(runs) - len(unknown)
    summary = f"**{compared - len(outside)} of {compared}** architectures within {100 * tolerance:.2f} points."
    summary += _outside_sentences(outside, tolerance)
    if unknown:
        summary += f" Not compared (no history or no notebook figure): {', '.join(unknown)}."
    epochs = sorted({len(r["history"]) for arch, r in runs.items() if r["history"] and arch not in unknown})
    if epochs and epochs != [NOTEBOOK_EPOCHS]:
        summary = (
            f"**Not comparable:** these runs trained {', '.join(map(str, epochs))} epoch(s), the "
            f"notebook {NOTEBOOK_EPOCHS}; the table only shows the gap. " + summary
        )
    return [EXPLANATION.format(tolerance=100 * tolerance), table(columns, rows), summary]
