"""The report's figures, drawn from the runs the report stage loaded (PNG bytes; writing
them is the stage's job).

* `comparison_figure`: validation error and loss per epoch, every architecture;
* `pareto_figure`: test accuracy against compute and size, with the Pareto front.

matplotlib only (Agg backend, imported on first use), no Keras or TensorFlow.
"""

from __future__ import annotations

import io
import math


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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _styles(n: int):
    plt = _pyplot()
    colors = plt.get_cmap("tab20").colors if n > 10 else plt.get_cmap("tab10").colors
    lines = ["-", "--", "-.", ":"]
    return [(colors[i % len(colors)], lines[(i // len(colors)) % len(lines)]) for i in range(n)]


def comparison_figure(runs: dict) -> bytes:
    """Validation error and loss per epoch, one line per architecture, a dot at the epoch
    training kept (`best_epoch` of its metrics, chosen by `train.monitor`) (PNG bytes). Both
    axes are logarithmic: on a linear axis every model sits in one band near 99% and the
    epoch-1 spikes of the batch-norm models flatten the rest."""
    plt = _pyplot()
    from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator

    fig, (err_ax, loss_ax) = plt.subplots(1, 2, figsize=(13, 5))
    with_history = [(a, r["history"], r["metrics"].get("best_epoch")) for a, r in runs.items() if r["history"]]
    for (arch, history, best_epoch), (color, style) in zip(with_history, _styles(len(with_history))):
        epochs = [row["epoch"] for row in history]
        errors = [100 * (1 - row["val_accuracy"]) for row in history]
        losses = [row["val_loss"] for row in history]
        for ax, values in ((err_ax, errors), (loss_ax, losses)):
            ax.plot(epochs, values, style, color=color, label=arch)
            if best_epoch in epochs:
                ax.plot(best_epoch, values[epochs.index(best_epoch)], "o", color=color, markersize=4)
    err_ax.set(xlabel="epoch", ylabel="validation error (%, log)", title="Validation error (dot: best epoch)")
    loss_ax.set(xlabel="epoch", ylabel="validation loss (log)", title="Validation loss (dot: best epoch)")
    for ax in (err_ax, loss_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if with_history:
        for ax in (err_ax, loss_ax):  # log ticks at 1, 2, 5 x 10^k, written as plain numbers
            ax.set_yscale("log", nonpositive="mask")  # a 0% error epoch: a gap, not a dive to 1e-300
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(FormatStrFormatter(""))
        loss_ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        err_ax.text(0.5, 0.5, "no history.csv found", ha="center", transform=err_ax.transAxes)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def pareto_figure(costs: dict[str, list[tuple[str, float, float]]]) -> bytes:
    """Test accuracy (%) against forward MFLOPs and against parameters (log x), with the Pareto
    front. `costs["flops"]` and `costs["params"]` hold (id, cost, accuracy) points, costs > 0."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, key, label in ((axes[0], "flops", "forward MFLOPs per image (log)"),
                           (axes[1], "params", "parameters (log)")):
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
