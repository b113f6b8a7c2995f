"""Figures of chapter 8, *The gated recurrent unit (GRU)*.

:func:`gru_cell_figure` draws one GRU step in both forms (PyTorch's and Cho's),
:func:`plot_reset_sweep` the gap between the forms as the reset gate opens, and
:func:`plot_adding_results` the shipped adding-problem runs. The comparisons of the two
forms are in :mod:`rnncourse.analysis.gru`. Every figure function returns a
:class:`matplotlib.figure.Figure` with a white background; the notebook calls
``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from rnncourse.figures import on_white

__all__ = [
    "gru_cell_figure", "plot_reset_sweep", "plot_adding_results",
]


GATE = "#cfe2f3"
CAND = "#fde2c8"
OP = "#f4f4f4"
INK = "#1a1a1a"
ACCENT = "#c0392b"


# --------------------------------------------------------------------------- figures


def _box(ax: Axes, xy: tuple[float, float], text: str, color: str, w: float = 1.0,
         h: float = 0.6) -> None:
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                facecolor=color, edgecolor=INK, linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=11, color=INK)


def _op(ax: Axes, xy: tuple[float, float], text: str, color: str = OP) -> None:
    ax.add_patch(Circle(xy, 0.26, facecolor=color, edgecolor=INK, linewidth=1.2))
    ax.text(*xy, text, ha="center", va="center", fontsize=11, color=INK)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float],
           color: str = INK) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=color, linewidth=1.3, shrinkA=2, shrinkB=2))


def _line(ax: Axes, pts: Sequence[tuple[float, float]], color: str = INK) -> None:
    xs, ys = zip(*pts, strict=True)
    ax.plot(xs, ys, color=color, linewidth=1.3, solid_capstyle="round")


def _cell(ax: Axes, form: str) -> None:
    """One GRU cell; the reset gate's ⊙ sits before (Cho) or after (PyTorch) ``Wh_n``."""
    ax.set_xlim(-0.6, 10.4)
    ax.set_ylim(-0.9, 6.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((0.3, 0.4), 9.0, 5.3, boxstyle="round,pad=0.1",
                                facecolor="none", edgecolor="#9a9a9a", linewidth=1.0))
    top = 5.0
    # the state line: h_{t-1} -> z ⊙ -> + -> h_t
    _line(ax, [(-0.4, top), (6.9, top)])
    _op(ax, (7.2, top), "⊙")
    _arrow(ax, (7.46, top), (8.24, top))
    _op(ax, (8.5, top), "+")
    _arrow(ax, (8.76, top), (10.3, top))
    ax.text(-0.5, top + 0.35, r"$h_{t-1}$", fontsize=12, color=INK)
    ax.text(9.6, top + 0.35, r"$h_t$", fontsize=12, color=INK)
    # x_t enters from below and feeds all three blocks
    _line(ax, [(1.0, -0.8), (1.0, 0.8), (6.0, 0.8)])
    ax.text(1.15, -0.75, r"$x_t$", fontsize=12, color=INK)
    for xg in (2.0, 4.0):
        _arrow(ax, (xg, 0.8), (xg, 1.8))
    # h_{t-1} feeds the gates
    _line(ax, [(1.5, top), (1.5, 3.3), (4.0, 3.3)])
    for xg in (2.0, 4.0):
        _arrow(ax, (xg, 3.3), (xg, 2.4))
    _box(ax, (2.0, 2.1), r"$\sigma$", GATE)
    _box(ax, (4.0, 2.1), r"$\sigma$", GATE)
    # gate names beside (not on) the arrows that bring x_t up to the gates
    ax.text(2.45, 1.45, r"$r_t$", ha="center", fontsize=11, color=INK)
    ax.text(4.45, 1.45, r"$z_t$", ha="center", fontsize=11, color=INK)
    # update gate: z ⊙ h_{t-1}, and 1 - z ⊙ n
    _line(ax, [(4.5, 2.1), (5.0, 2.1), (5.0, 4.3), (7.2, 4.3)])
    _arrow(ax, (7.2, 4.3), (7.2, top - 0.26))
    _op(ax, (7.2, 3.2), "1−")
    _arrow(ax, (7.2, 4.3), (7.2, 3.46))
    _op(ax, (8.5, 3.2), "⊙")
    _arrow(ax, (7.46, 3.2), (8.24, 3.2))
    _arrow(ax, (8.5, 3.46), (8.5, top - 0.26))
    # candidate n: tanh box fed by x (through Wx_n) and the reset path
    _box(ax, (8.5, 1.3), r"$\tanh$", CAND)
    ax.text(8.65, 2.1, r"$n_t$", fontsize=11, color=INK)   # inside the frame, by its arrow
    _arrow(ax, (8.5, 1.6), (8.5, 2.94))
    _line(ax, [(6.0, 0.8), (8.5, 0.8)])
    _arrow(ax, (8.5, 0.8), (8.5, 1.0))
    # reset path: h_{t-1} -> [⊙ r] -> Wh_n -> tanh   (Cho)   or   Wh_n -> ⊙ r (PyTorch)
    yr = 2.0
    _line(ax, [(6.0, top), (6.0, yr + 0.9)])
    first, second = ((6.0, yr + 0.6), (6.0, yr - 0.5))
    if form == "cho":
        _op(ax, first, "⊙", ACCENT)
        _arrow(ax, (6.0, yr + 0.9), (6.0, first[1] + 0.26))
        _box(ax, second, r"$W_{h,n}$", OP, w=1.1, h=0.55)
        _arrow(ax, (6.0, first[1] - 0.26), (6.0, second[1] + 0.28))
        r_to = first
        out = (second[0] + 0.55, second[1])
    else:
        _box(ax, first, r"$W_{h,n}$", OP, w=1.1, h=0.55)
        _arrow(ax, (6.0, yr + 0.9), (6.0, first[1] + 0.28))
        _op(ax, second, "⊙", ACCENT)
        _arrow(ax, (6.0, first[1] - 0.28), (6.0, second[1] + 0.26))
        r_to = second
        out = (second[0] + 0.26, second[1])
    if form == "cho":   # above the z box, straight to the ⊙ before W_{h,n}
        _line(ax, [(2.3, 2.4), (2.3, 2.75), (5.4, 2.75), (5.4, r_to[1])], ACCENT)
    else:               # below the z box, down to the ⊙ after W_{h,n}
        _line(ax, [(2.3, 2.4), (2.3, 2.75), (3.1, 2.75), (3.1, r_to[1] - 0.55),
                   (5.4, r_to[1] - 0.55), (5.4, r_to[1])], ACCENT)
    _arrow(ax, (5.4, r_to[1]), (r_to[0] - 0.26, r_to[1]), ACCENT)
    _line(ax, [out, (7.6, out[1]), (7.6, 1.3)])
    _arrow(ax, (7.6, 1.3), (7.95, 1.3))
    title = ("Cho et al. (2014): $(r_t \\odot h_{t-1})\\,W_{h,n}$" if form == "cho"
             else "PyTorch: $r_t \\odot (h_{t-1} W_{h,n} + b_{h,n})$")
    ax.set_title(title, fontsize=12, color=INK)


def gru_cell_figure() -> Figure:
    """The GRU cell twice: Cho et al.'s form (top) and PyTorch's (bottom).

    They differ only in where the reset gate's ``⊙`` (red) sits on the path from
    ``h_{t-1}`` into the candidate ``n_t``: before or after the product with ``Wh_n``.
    """
    # one above the other (each as wide as a side-by-side panel was), readable on a phone
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 9.0))
    for ax, form in zip(axes, ("cho", "pytorch"), strict=True):
        _cell(ax, form)
    fig.tight_layout()
    return on_white(fig)


def plot_reset_sweep(reset_biases: Sequence[float], mean_r: Sequence[float],
                     gap: Sequence[float]) -> Figure:
    """Mean reset gate (top) and the forms' mean gap (bottom) against the extra reset bias."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.2, 5.6), sharex=True)
    a1.plot(reset_biases, mean_r, "o-", color="#1f77b4")
    a1.set_xlabel("extra bias added to $b_{x,r}$")
    a1.set_ylabel("mean $r_t$")
    a1.set_ylim(-0.05, 1.05)
    a2.plot(reset_biases, gap, "o-", color=ACCENT)
    a2.set_xlabel("extra bias added to $b_{x,r}$")
    a2.set_ylabel("mean $|h_t^{\\rm PyTorch} - h_t^{\\rm Cho}|$")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    a1.set_xlabel("")
    fig.suptitle("Same weights, two forms:\nthey meet only where the reset gate is open")
    fig.tight_layout()
    return on_white(fig)


def plot_adding_results(results: Mapping[str, Mapping[int, float]], *,
                        ylabel: str = "test MSE", baseline: float | None = None) -> Figure:
    """One line per cell: a metric of the adding problem against the sequence length ``T``.

    Args:
        results: ``{cell name: {T: metric}}``, or ``{cell name: {T: [metric per seed]}}``:
            then one dot per seed and the line through the means.
        ylabel: the metric's name.
        baseline: draw a dashed line here (e.g. the MSE of always answering the mean).
    """
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colors = {"RNN": "#7f7f7f", "LSTM": "#1f77b4", "GRU": ACCENT}
    for j, (name, by_T) in enumerate(results.items()):
        Ts = sorted(by_T)
        values = {T: np.atleast_1d(np.asarray(by_T[T], dtype=float)) for T in Ts}
        ax.plot(Ts, [values[T].mean() for T in Ts], "o-", label=name, color=colors.get(name))
        for T in Ts:
            if len(values[T]) > 1:     # one dot per seed, shifted a little per cell
                ax.scatter(np.full(len(values[T]), T + (j - 1) * 0.6), values[T], s=12,
                           alpha=0.5, color=colors.get(name))
    if baseline is not None:
        ax.axhline(baseline, ls="--", color="#555555", label="predict the mean")
    ax.set_xlabel("sequence length $T$")
    ax.set_ylabel(ylabel)
    ax.set_xticks(sorted({T for by_T in results.values() for T in by_T}))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("The adding problem")
    fig.tight_layout()
    return on_white(fig)
