"""Figures of chapter 6, the LSTM.

:func:`plot_gradient_flow` (gradient norms against the distance from the loss, measured by
:func:`rnncourse.analysis.gradients.gradient_norms`), :func:`plot_adding_losses` (training
curves of the adding problem) and :func:`plot_lstm_cell` (a diagram of one LSTM step).
Every figure has a white facecolor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from rnncourse.figures import white_subplots

__all__ = [
    "plot_gradient_flow", "plot_adding_losses", "plot_lstm_cell",
]


def plot_gradient_flow(
    panels: Mapping[str, Mapping[str, np.ndarray]], *, floor: float = 1e-30,
) -> Figure:
    """One log-scale panel per entry of ``panels``: ``{title: {label: norms (T,)}}``.

    The x axis is the number of steps between the state and the loss (``T - t``).
    Norms are clipped below at ``floor`` so that zeros still show.
    """
    # stacked vertically, so that each panel keeps a readable size on a phone
    fig, axes = white_subplots(len(panels), 1, figsize=(6, 3.1 * len(panels)), sharey=True)
    styles = ["-", "--", "-.", ":"]
    for ax, (title, curves) in zip(axes[:, 0], panels.items(), strict=True):
        for k, (label, norms) in enumerate(curves.items()):
            norms = np.asarray(norms, dtype=float)
            back = np.arange(len(norms))[::-1]  # steps back from the last one
            ax.semilogy(back, np.maximum(norms, floor), styles[k % 4], color=f"C{k}",
                        label=label, linewidth=1.8)
        ax.set_title(title)
        ax.set_xlabel("steps back from the loss  (T - t)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=9)
        ax.set_ylabel("gradient norm on the state")
    fig.tight_layout()
    return fig


def plot_adding_losses(
    runs: Sequence[Mapping[str, Any]], baseline: float = 1 / 6,
) -> Figure:
    """Training loss per epoch on the adding problem, one panel per sequence length.

    Args:
        runs: dicts with ``cell``, ``T`` and ``loss`` (a list of per-epoch losses), and
            ``seed`` when there are several runs per cell, e.g. the ``"runs"`` of
            ``book/data/ch06_lstm/adding_results.json``: one thin line per run.
        baseline: the MSE of predicting the mean (drawn as a dotted line).
    """
    lengths = sorted({r["T"] for r in runs})
    # at most two panels side by side: three or more wrap onto further rows
    ncols = min(2, len(lengths))
    nrows = -(-len(lengths) // ncols)
    fig, axes = white_subplots(nrows, ncols, figsize=(6.2, 2.8 * nrows), sharey=True)
    colors = {"rnn": "C3", "lstm": "C0"}
    n_seeds = len({r.get("seed", 0) for r in runs})
    for ax in axes.flat[len(lengths):]:
        ax.set_visible(False)
    for ax, T in zip(axes.flat, lengths, strict=False):
        labelled = set()
        for r in runs:
            if r["T"] == T:
                epochs = np.arange(1, len(r["loss"]) + 1)
                label = None if r["cell"] in labelled else (
                    r["cell"].upper() + (f" ({n_seeds} seeds)" if n_seeds > 1 else ""))
                labelled.add(r["cell"])
                ax.semilogy(epochs, r["loss"], color=colors.get(r["cell"], "C2"),
                            label=label, alpha=0.8 if n_seeds == 1 else 0.55,
                            linewidth=1.5 if n_seeds == 1 else 1.0)
        ax.axhline(baseline, color="gray", linestyle=":", label="baseline (predict 1)")
        ax.set_title(f"T = {T}")
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("training MSE")
    axes[0, 0].legend(fontsize=9)
    fig.tight_layout()
    return fig


def _box(ax: Any, xy: tuple[float, float], text: str, color: str, w: float = 0.9,
         h: float = 0.6) -> None:
    ax.add_patch(FancyBboxPatch((xy[0] - w / 2, xy[1] - h / 2), w, h,
                                boxstyle="round,pad=0.05", fc=color, ec="black"))
    ax.text(*xy, text, ha="center", va="center", fontsize=11)


def _op(ax: Any, xy: tuple[float, float], text: str) -> None:
    ax.add_patch(Circle(xy, 0.28, fc="#fff3c4", ec="black"))
    ax.text(*xy, text, ha="center", va="center", fontsize=12)


def _arrow(ax: Any, a: tuple[float, float], b: tuple[float, float], color: str = "black",
           lw: float = 1.3) -> None:
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color=color,
                                 lw=lw, shrinkA=0, shrinkB=0))


def plot_lstm_cell() -> Figure:
    """A diagram of one LSTM step: the cell-state line on top, the four gates below.

    Layers (sigmoid ``σ`` and ``tanh``) are boxes, element-wise operations are circles;
    the thick line is the additive path ``c_{t-1} -> c_t``.
    """
    fig, axes = white_subplots(figsize=(6.6, 3.4))  # the width of a phone's column
    ax = axes[0, 0]
    ax.set_xlim(-0.5, 11)
    ax.set_ylim(-0.9, 5.2)
    ax.set_aspect("equal")
    ax.axis("off")
    top, gate_y, bottom = 4.2, 1.6, 0.3
    # the cell-state line: c_{t-1} -> (x f) -> (+ i*g) -> c_t
    _arrow(ax, (0, top), (2.22, top), color="C0", lw=3)
    _op(ax, (2.5, top), "×")
    _arrow(ax, (2.78, top), (5.22, top), color="C0", lw=3)
    _op(ax, (5.5, top), "+")
    _arrow(ax, (5.78, top), (10.6, top), color="C0", lw=3)
    ax.text(-0.3, top + 0.35, "$c_{t-1}$", fontsize=13)
    ax.text(10.1, top + 0.35, "$c_t$", fontsize=13)
    # the input: [h_{t-1}, x_t] feeds every gate
    ax.plot([0, 7.5], [bottom, bottom], color="black", lw=1.3)
    ax.text(-0.3, bottom - 0.55, "$h_{t-1}$", fontsize=13)
    ax.text(0.9, -0.85, "$x_t$", fontsize=13)
    _arrow(ax, (1.1, -0.5), (1.1, bottom))
    gates = [(2.5, "σ", "$f_t$", "#c8e6c9"), (4.0, "σ", "$i_t$", "#c8e6c9"),
             (5.5, "tanh", r"$\tilde c_t = g_t$", "#bbdefb"), (7.5, "σ", "$o_t$", "#c8e6c9")]
    for x, text, label, color in gates:
        _arrow(ax, (x, bottom), (x, gate_y - 0.33))
        _box(ax, (x, gate_y), text, color)
        ax.text(x + 0.5, gate_y + 0.45, label, fontsize=11)
    _arrow(ax, (2.5, gate_y + 0.33), (2.5, top - 0.28))  # f_t -> x
    _op(ax, (4.75, 2.9), "×")  # i_t * g_t
    _arrow(ax, (4.0, gate_y + 0.33), (4.55, 2.7))
    _arrow(ax, (5.5, gate_y + 0.33), (4.95, 2.7))
    _arrow(ax, (4.95, 3.1), (5.35, top - 0.25))
    # output: h_t = o_t * tanh(c_t)
    _box(ax, (8.8, 3.1), "tanh", "#bbdefb", w=0.8, h=0.5)
    _arrow(ax, (8.8, top), (8.8, 3.35))
    _op(ax, (8.8, 1.6), "×")
    _arrow(ax, (8.8, 2.85), (8.8, 1.88))
    _arrow(ax, (7.95, gate_y), (8.52, 1.6))
    _arrow(ax, (9.08, 1.6), (10.6, 1.6))
    ax.text(10.0, 1.85, "$h_t$", fontsize=13)
    ax.set_title("One LSTM step: boxes are layers, circles are element-wise operations",
                 fontsize=11)
    fig.tight_layout()
    return fig
