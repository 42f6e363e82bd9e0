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


def seeds_table(results: list[dict]) -> PrettyTable:
    """One row per pair: the test over seeds and the difference it could have detected."""
    columns = [
        "#",
        "A",
        "B",
        "Seeds A / B",
        "Mean A (%)",
        "Mean B (%)",
        "A − B (points)",
        "Welch p",
        "Welch Holm p",
        "Detectable (points)",
        "Conclusion rests on",
    ]
    rows = []
    for r in results:
        welch, detectable = r["welch"] or {}, r["detectable"]
        mean_a, mean_b = welch.get("mean_a"), welch.get("mean_b")
        rows.append(
            [
                r["comparison"] + 1,
                r["a"],
                r["b"],
                f"{r['n_a']} / {r['n_b']}",
                pct(mean_a),
                pct(mean_b),
                points(welch.get("diff")),
                p_cell(welch.get("p_value")),
                p_cell(r["welch_holm_p"]),
                pct(detectable["difference"]) if detectable else DASH,
                "seeds (Welch)" if r["basis"] == "seeds" else "one seed (McNemar)",
            ]
        )
    return table(columns, rows, left=3)


def test_set_table(results: list[dict]) -> PrettyTable:
    """One row per pair and seed: McNemar and the paired bootstrap on the same test images."""
    columns = [
        "#",
        "A",
        "B",
        "Seed",
        "Acc A (%)",
        "Acc B (%)",
        "A − B (points)",
        "Bootstrap 95% CI (points)",
        "A only / B only",
        "McNemar p",
        "Holm p",
    ]
    rows = []
    for r in results:
        for test in r["per_seed"]:
            m, boot = test["mcnemar"], test["bootstrap"]
            rows.append(
                [
                    r["comparison"] + 1,
                    r["a"],
                    r["b"],
                    test["seed"],
                    pct(m["acc_a"]),
                    pct(m["acc_b"]),
                    points(m["diff"]),
                    interval(boot["ci_low"], boot["ci_high"], in_points=True),
                    f"{m['a_only']} / {m['b_only']}",
                    p_cell(m["p_value"]),
                    p_cell(test["holm_p"]),
                ]
            )
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
