"""The report's tables (PrettyTable: Markdown in summary.md, borders in the terminal)."""

from __future__ import annotations

from prettytable import PrettyTable, TableStyle

from stages.reporting.describe import signature
from stages.reporting.formatting import DASH, difference, interval, mean_sd, num, number, p_cell, pct, points
from stages.reporting.significance import over_seeds

# Attributes that may vary between the architectures of one comparison; a comparison
# table shows those that do (Conv layers and Kernels are always shown).
VARYING = (("padding", "Padding"), ("strides", "Strides"), ("activation", "Activation"), ("batchnorm", "Batch norm"))


def table(columns: list[str], rows: list[list], left: int = 1) -> PrettyTable:
    """Numbers right-aligned, the first `left` columns (names) left-aligned."""
    result = PrettyTable(columns)
    for row in rows:
        result.add_row([str(cell) for cell in row])
    result.align = "r"
    for column in columns[:left]:
        result.align[column] = "l"
    return result


def render(blocks: list, markdown: bool) -> str:
    """Blocks (text or tables) as one document, tables in Markdown or with ASCII borders."""
    parts = []
    for block in blocks:
        if isinstance(block, PrettyTable):
            block.set_style(TableStyle.MARKDOWN if markdown else TableStyle.DEFAULT)
            parts.append(block.get_string())
        else:
            parts.append(block)
    return "\n\n".join(parts) + "\n"


def _seed_cells(record: dict) -> list[str]:
    summary = over_seeds(record)
    return [mean_sd(summary["mean"], summary["std"], summary["n"]), interval(summary["ci_low"], summary["ci_high"])]


def _notebook_best(notebook: dict) -> str:
    if number(notebook.get("best_accuracy")) is None:
        return DASH
    epoch = notebook.get("best_epoch")
    return f"{notebook['best_accuracy']:.2f} @ {epoch if epoch is not None else DASH}"


def comparison_table(comparison: dict, runs: dict, main_seed: int) -> PrettyTable:
    archs = comparison.get("architectures") or []
    varying = [(key, label) for key, label in VARYING if len({signature(runs[a]["describe"], key) for a in archs}) > 1]
    columns = (
        ["Architecture", "Conv layers", "Kernels"]
        + [label for _, label in varying]
        + [
            "Mean ± sd over seeds (%)",
            "95% CI over seeds",
            f"Test acc (seed {main_seed}, %)",
            "Best epoch (ours)",
            "Notebook test acc (%)",
            "Notebook best (acc @ epoch)",
        ]
    )
    rows = []
    for arch in archs:
        record, desc, notebook = runs[arch], runs[arch]["describe"], runs[arch]["notebook"] or {}
        rows.append(
            [
                arch,
                desc["conv_layers"],
                desc["kernels"],
                *(desc[key] for key, _ in varying),
                *_seed_cells(record),
                pct(record["metrics"]["test_accuracy"]),
                record["metrics"].get("best_epoch") or DASH,
                pct(notebook.get("final_test_accuracy")),
                _notebook_best(notebook),
            ]
        )
    return table(columns, rows)


def architectures_table(runs: dict, archs: dict) -> PrettyTable:
    """The headline: mean over seeds, its 95% interval over seeds and test images, rank set."""
    columns = ["Architecture", "Mean over seeds (%)", "95% interval (%)", "Rank set", "Seeds"]
    rows = []
    for arch, row in sorted(archs.items(), key=lambda item: -item[1]["mean"]):
        rank = row["rank"]
        ranks = DASH if rank is None else (str(rank[0]) if rank[0] == rank[1] else f"{rank[0]}–{rank[1]}")
        rows.append([arch, pct(row["mean"]), interval(row["ci_low"], row["ci_high"]), ranks, row["n"]])
    return table(columns, rows)


VERDICT_WORDS = {"a_better": "A better", "b_better": "B better", "equivalent": "equivalent", "undecided": "undecided"}


def verdict_cell(result: dict, margin: float) -> str:
    decision = result["decision"]
    words = VERDICT_WORDS[decision["verdict"]]
    if decision["verdict"] == "equivalent":
        words = f"equivalent within ±{100 * margin:.2f}"
    elif decision["verdict"] != "undecided" and decision["inside_margin"]:
        words += f", by less than {100 * margin:.2f}"
    return f"**{words}**" + (" (exploratory)" if result["exploratory"] else "")


def _sd(variance) -> str:
    return DASH if variance is None else f"{100 * float(variance) ** 0.5:.3f}"


def price_cell(result: dict) -> str:
    cost = result["price"]
    if cost is None:
        return DASH
    if cost["images"] is not None:
        return f"not with {cost['test_images']:,} images: ~{cost['images']:,}, {cost['seeds']} seeds each"
    if cost["seeds"] is None:
        return "not decidable"
    low, high = cost["range"] or (None, None)
    spread = f" ({low or '?'}–{high or 'none'})" if cost["range"] else ""
    hours = DASH if cost["hours"] is None else f"{cost['hours']:.1f} h"
    return f"{cost['seeds']} seeds{spread}, {hours}"


def verdicts_table(results: list[dict], margin: float) -> PrettyTable:
    """One row per pair: the verdict, the interval it rests on, the variance split and the price."""
    columns = ["#", "A", "B", "A − B", "Interval (level)", "Verdict", "sd seeds / images / interaction", "Price"]
    rows = []
    for r in results:
        d, e = r["decision"], r["estimate"]
        level = DASH if d["ci_level"] is None else f"{100 * d['ci_level']:.2f}%"
        split = DASH if e is None else " / ".join(_sd(v) for v in (e.seeds, e.images, e.interaction))
        value = DASH if e is None else points(float(e.value))
        rows.append(
            [
                r["comparison"] + 1,
                r["a"],
                r["b"],
                value,
                f"{interval(d['ci_low'], d['ci_high'], in_points=True)} ({level})",
                verdict_cell(r, margin),
                split,
                price_cell(r),
            ]
        )
    return table(columns, rows, left=3)


def _seed_list(seeds: list[int]) -> str:
    """[3, 4, 5, 9] -> "3–5, 9"."""
    runs: list[list[int]] = []
    for seed in seeds:
        if runs and seed == runs[-1][-1] + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def plan_table(proposals: dict) -> PrettyTable:
    """The seeds the plan proposes per architecture, each architecture counted once."""
    columns = ["Architecture", "Seeds now", "Seeds wanted", "New seeds", "Training (h)"]
    rows = [[arch, p["have"], p["want"], _seed_list(p["seeds"]), num(p["hours"], 1)] for arch, p in proposals.items()]
    return table(columns, rows)


def appendix_table(results: list[dict]) -> PrettyTable:
    """Welch over seeds and McNemar per seed, each Holm-adjusted over the pairs."""
    columns = ["#", "A", "B", "Welch A − B", "Welch Holm p", "McNemar per seed: A − B (Holm p)"]
    rows = []
    for r in results:
        welch = r["welch"]
        per_seed = "; ".join(
            f"{t['seed']}: {points(t['mcnemar']['diff'])} ({p_cell(t['holm_p'])})" for t in r["per_seed"]
        )
        rows.append([r["comparison"] + 1, r["a"], r["b"], points(welch["diff"]), p_cell(r["welch_holm_p"]), per_seed])
    return table(columns, rows, left=3)


def cost_table(runs: dict) -> PrettyTable:
    columns = [
        "Architecture",
        "Params",
        "MFLOPs / image",
        "Latency (ms)",
        "Model size (MB)",
        "Train (s)",
        "s / epoch (ours)",
        "s / epoch (notebook)",
    ]
    rows = []
    for arch, record in runs.items():
        m, notebook = record["metrics"], record["notebook"] or {}
        params, flops, seconds, epochs = (number(m.get(k)) for k in ("params", "flops", "train_seconds", "epochs"))
        size = number(m.get("model_bytes"))
        rows.append(
            [
                arch,
                num(params, 0),
                num(flops / 1e6 if flops is not None else None, 2),
                num(number(m.get("latency_ms")), 2),
                num(size / 1e6 if size is not None else None, 2),
                num(seconds, 0),
                num(seconds / epochs if seconds is not None and epochs else None, 1),
                num(number(notebook.get("seconds_per_epoch")), 0),
            ]
        )
    return table(columns, rows)


def _epoch1_val(record: dict):
    history = record["history"]
    return history[0].get("val_accuracy") if history else None


def headline_table(runs: dict, main_seed: int) -> PrettyTable:
    columns = [
        "Architecture",
        "Mean ± sd over seeds (%)",
        "95% CI over seeds",
        f"Test acc (seed {main_seed}, %)",
        "Notebook final test acc (%)",
        f"Seed {main_seed} − notebook (points)",
        "Best epoch ours",
        "Best epoch notebook",
        "Epoch-1 val acc ours (%)",
        "Epoch-1 val acc notebook (%)",
    ]
    rows = []
    for arch, record in runs.items():
        ours, notebook = record["metrics"]["test_accuracy"], record["notebook"] or {}
        theirs = number(notebook.get("final_test_accuracy"))
        rows.append(
            [
                arch,
                *_seed_cells(record),
                pct(ours),
                pct(theirs),
                points(difference(ours, theirs)),
                record["metrics"].get("best_epoch") or DASH,
                notebook.get("best_epoch") or DASH,
                pct(_epoch1_val(record)),
                pct(number(notebook.get("epoch1_val_accuracy"))),
            ]
        )
    return table(columns, rows)
