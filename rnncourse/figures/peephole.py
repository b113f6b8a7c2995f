"""Figures of chapter 7, peephole connections.

:func:`plot_cell` draws the cell with its peephole weights, :func:`plot_predictions` what
trained models output on a few sequences of the timing task, and :func:`plot_comparison`
the shipped paired runs. The task is :mod:`rnncourse.data.pulse`; the models, their
training and their scores are :mod:`rnncourse.models.pulse`.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from rnncourse.data.pulse import PulseData
from rnncourse.figures import white_subplots
from rnncourse.models.pulse import PulseNet, Result, summarise

__all__ = [
    "plot_cell", "plot_predictions", "plot_comparison",
]


# --------------------------------------------------------------------------- figures


def plot_cell(peephole: bool = True) -> Figure:
    """A diagram of one (peephole) LSTM cell: the cell-state line, the four blocks, and
    (dashed) the three peephole connections ``c_{t-1} -> i, f`` and ``c_t -> o``."""
    fig, axes = white_subplots(1, 1, figsize=(7.5, 3.6))
    ax = axes[0, 0]
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5)
    ax.axis("off")
    box = dict(boxstyle="round,pad=0.3", edgecolor="black", linewidth=1.2)
    arrow = dict(arrowstyle="-|>", color="black", linewidth=1.2)
    # the cell-state line along the top
    ax.annotate("", xy=(9.6, 4.2), xytext=(0.4, 4.2), arrowprops=arrow)
    ax.text(0.3, 4.45, r"$c_{t-1}$", fontsize=12)
    ax.text(9.2, 4.45, r"$c_t$", fontsize=12)
    ops = {"×": (2.6, 4.2), "+": (5.0, 4.2)}
    for label, (x, y) in ops.items():
        ax.text(x, y, label, ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="circle,pad=0.2", facecolor="#fff3c4", edgecolor="black"))
    gates = {r"$f_t$": (2.6, 1.6, "#cfe2ff"), r"$i_t$": (4.2, 1.6, "#cfe2ff"),
             r"$g_t$": (5.8, 1.6, "#d9f2d9"), r"$o_t$": (7.6, 1.6, "#cfe2ff")}
    for label, (x, y, colour) in gates.items():
        ax.text(x, y, label, ha="center", va="center", fontsize=13, bbox={**box,
                                                                           "facecolor": colour})
    # inputs x_t, h_{t-1} along the bottom, feeding every block
    ax.annotate("", xy=(8.2, 0.4), xytext=(0.4, 0.4), arrowprops=dict(arrowstyle="-",
                                                                      color="gray"))
    ax.text(0.3, 0.05, r"$x_t,\ h_{t-1}$", fontsize=11, color="dimgray")
    for x, _, _ in gates.values():
        ax.annotate("", xy=(x, 1.25), xytext=(x, 0.4), arrowprops={**arrow, "color": "gray"})
    # f multiplies the cell; i * g is added; o reads tanh(c_t)
    ax.annotate("", xy=(2.6, 3.9), xytext=(2.6, 1.95), arrowprops=arrow)
    ax.annotate("", xy=(5.0, 3.9), xytext=(4.2, 1.95), arrowprops=arrow)
    ax.annotate("", xy=(5.0, 3.9), xytext=(5.8, 1.95), arrowprops=arrow)
    ax.annotate("", xy=(9.4, 1.6), xytext=(8.0, 1.6), arrowprops=arrow)
    ax.text(8.3, 1.1, r"$h_t = o_t\odot\tanh(c_t)$", fontsize=10)
    if peephole:
        peep = dict(arrowstyle="-|>", color="#c0392b", linewidth=1.6, linestyle="--",
                    connectionstyle="arc3,rad=0.25")
        ax.annotate("", xy=(2.35, 1.95), xytext=(1.4, 4.2), arrowprops=peep)
        ax.annotate("", xy=(3.95, 1.95), xytext=(1.6, 4.2), arrowprops=peep)
        ax.annotate("", xy=(7.6, 1.95), xytext=(7.6, 4.2),
                    arrowprops={**peep, "connectionstyle": "arc3,rad=0"})
        ax.text(0.35, 2.6, r"$p_f,\ p_i$", color="#c0392b", fontsize=11)
        ax.text(7.75, 3.0, r"$p_o$", color="#c0392b", fontsize=11)
        ax.set_title("Peephole LSTM cell (dashed red: the peepholes)", fontsize=11)
    else:
        ax.set_title("LSTM cell", fontsize=11)
    return fig


def plot_predictions(models: dict[str, PulseNet], data: PulseData, rows: int = 3) -> Figure:
    """The first ``rows`` test sequences: the input spike, the target time and every
    model's output probability ``sigmoid(z_t)``; one panel per sequence."""
    fig, axes = white_subplots(rows, 1, figsize=(7, 1.6 * rows + 0.6))
    T = data.x.shape[1]
    with torch.no_grad():
        probs = {name: torch.sigmoid(m.eval()(data.x[:rows])) for name, m in models.items()}
    for r in range(rows):
        ax = axes[r, 0]
        s, tt = int(data.spike[r]), int(data.target_time[r])
        ax.axvline(s, color="gray", linewidth=1.5, label="input spike")
        ax.axvline(tt, color="black", linestyle=":", linewidth=1.5, label="target time")
        for j, (name, p) in enumerate(probs.items()):
            ax.plot(range(T), p[r].numpy(), marker=".", color=f"C{j}", label=name)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("output")
        if r == 0:
            ax.legend(loc="upper left", fontsize=9, ncols=2)
    axes[-1, 0].set_xlabel("time step t")
    fig.tight_layout()
    return fig


def plot_comparison(results: list[Result], metric: str = "target_share") -> Figure:
    """One dot per seed and the mean ± std per cell, for ``metric``."""
    fig, axes = white_subplots(1, 1, figsize=(4.5, 3.2))
    ax = axes[0, 0]
    summary = summarise(results)
    for j, (cell, stats) in enumerate(summary.items()):
        values = [getattr(r, metric) for r in results if r.cell == cell]
        ax.scatter(np.full(len(values), j) + np.linspace(-0.08, 0.08, len(values)), values,
                   color=f"C{j}", alpha=0.6, zorder=3)
        mean, std = stats[metric]
        ax.errorbar(j + 0.25, mean, yerr=std, fmt="o", color="black", capsize=4)
    ax.set_xticks(range(len(summary)), list(summary))
    ax.set_xlim(-0.5, len(summary) - 0.3)
    ax.set_ylabel({"target_share": "output share on the target step",
                   "within_one": "peak within 1 step (test)", "on_time": "fired on time (test)",
                   "mean_abs_lag": "mean |lag| (steps)", "loss": "test loss"}.get(metric, metric))
    ax.set_title("one dot per seed; black: mean ± std", fontsize=10)
    fig.tight_layout()
    return fig
