"""The report's figures, drawn from the runs the report stage loaded (PNG bytes; writing
them is the stage's job).

* `comparison_figure`: validation error and loss per epoch, every architecture, with the
  spread over its seeds;
* `pareto_figure`: test accuracy against compute and size, with the Pareto front.

matplotlib only (Agg backend, imported on first use), no Keras or TensorFlow.
"""

from __future__ import annotations

import io
import math

from stages.common.plotting import pyplot


def pareto_front(points: list[tuple[str, float, float]]) -> list[str]:
    """Ids of the (id, cost, accuracy) points that no cheaper-or-equal point matches or beats,
    in increasing cost: the best accuracy available for a given cost."""
    front, best = [], -math.inf
    for arch, _, accuracy in sorted(points, key=lambda p: (p[1], -p[2])):
        if accuracy > best:
            front.append(arch)
            best = accuracy
    return front


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _styles(n: int):
    plt = pyplot()
    colors = plt.get_cmap("tab20").colors if n > 10 else plt.get_cmap("tab10").colors
    lines = ["-", "--", "-.", ":"]
    return [(colors[i % len(colors)], lines[(i // len(colors)) % len(lines)]) for i in range(n)]


def seed_curves(record: dict, key: str, transform=lambda v: v) -> tuple[list, list, list, list] | None:
    """(epochs, mean, low, high) of one history column over an architecture's runs, on the epochs
    every run with a history has (low/high: the smallest and largest run); None without a history."""
    histories = [run["history"] for run in record["runs"].values() if run["history"]]
    if not histories:
        return None
    per_run = [{row["epoch"]: transform(row[key]) for row in history if key in row} for history in histories]
    epochs = sorted(set.intersection(*(set(values) for values in per_run)))
    columns = [[values[e] for values in per_run] for e in epochs]
    return (epochs, [sum(c) / len(c) for c in columns], [min(c) for c in columns], [max(c) for c in columns])


def cost_points(runs: dict, key: str, scale: float = 1.0) -> list[tuple[str, float, float]]:
    """(id, metric `key` / scale, test accuracy in %) of every main run whose `key` is a positive
    number: the points of one panel of the Pareto figure."""
    panel = []
    for arch, record in runs.items():
        cost = record["metrics"].get(key)
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost) and cost > 0:
            panel.append((arch, cost / scale, 100 * record["metrics"]["test_accuracy"]))
    return panel


def _log_axes(axes) -> None:
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    for ax in axes:  # log ticks at 1, 2, 5 x 10^k, written as plain numbers
        ax.set_yscale("log", nonpositive="mask")  # a 0% error epoch: a gap, not a dive to 1e-300
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter(""))


def comparison_figure(runs: dict) -> bytes:
    """Validation error and loss per epoch, one line per architecture (the mean over its seeds,
    a band from the lowest to the highest seed when it has several), a dot at the epoch the
    main run kept (`best_epoch` of its metrics, chosen by `train.monitor`) (PNG bytes). Both
    axes are logarithmic: on a linear axis every model sits in one band near 99% and the
    epoch-1 spikes of the batch-norm models flatten the rest."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (err_ax, loss_ax) = plt.subplots(1, 2, figsize=(13, 5))
    curves = []
    for arch, record in runs.items():
        error = seed_curves(record, "val_accuracy", lambda v: 100 * (1 - v))
        if error is not None:
            curves.append(
                (
                    arch,
                    len([r for r in record["runs"].values() if r["history"]]),
                    error,
                    seed_curves(record, "val_loss"),
                    record["metrics"].get("best_epoch"),
                )
            )
    several = any(n > 1 for _, n, *_ in curves)
    for (arch, n, *panels, best_epoch), (color, style) in zip(curves, _styles(len(curves)), strict=True):
        label = f"{arch} (n={n})" if several else arch
        for ax, (epochs, mean, low, high) in zip((err_ax, loss_ax), panels, strict=True):
            ax.plot(epochs, mean, style, color=color, label=label)
            if n > 1:
                ax.fill_between(epochs, low, high, color=color, alpha=0.15, linewidth=0)
            if best_epoch in epochs:
                ax.plot(best_epoch, mean[epochs.index(best_epoch)], "o", color=color, markersize=4)
    err_ax.set(xlabel="epoch", ylabel="validation error (%, log)", title="Validation error")
    loss_ax.set(xlabel="epoch", ylabel="validation loss (log)", title="Validation loss")
    for ax in (err_ax, loss_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if curves:
        _log_axes((err_ax, loss_ax))
        key = (
            "line: mean over seeds\nband: lowest to highest seed\ndot: main run's best epoch"
            if several
            else "dot: best epoch"
        )
        loss_ax.legend(fontsize=7, title=key, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        err_ax.text(0.5, 0.5, "no history.csv found", ha="center", transform=err_ax.transAxes)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def pareto_figure(costs: dict[str, list[tuple[str, float, float]]]) -> bytes:
    """Test accuracy (%) against forward MFLOPs and against parameters (log x), with the Pareto
    front. `costs["flops"]` and `costs["params"]` hold (id, cost, accuracy) points, costs > 0."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, key, label in (
        (axes[0], "flops", "forward MFLOPs per image (log)"),
        (axes[1], "params", "parameters (log)"),
    ):
        points = costs[key]
        front = pareto_front(points)
        by_id = {p[0]: p for p in points}
        for arch, x, y in points:
            ax.scatter(x, y, color="tab:red" if arch in front else "tab:blue", zorder=3, s=25)
            ax.annotate(arch, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)
        if front:
            xs = [by_id[a][1] for a in front]
            ys = [by_id[a][2] for a in front]
            right = max(p[1] for p in points)
            ax.step(xs + [right], ys + [ys[-1]], where="post", color="tab:red", alpha=0.6, label="Pareto front")
            ax.legend(fontsize=8, loc="lower right")
        else:
            ax.text(0.5, 0.5, f"no `{key}` in the metrics", ha="center", transform=ax.transAxes)
        ax.set_xscale("log")
        ax.margins(x=0.2, y=0.08)  # room for the labels of the extreme points
        ax.set(xlabel=label, ylabel="test accuracy (%)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("Accuracy vs compute")
    axes[1].set_title("Accuracy vs size")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data
