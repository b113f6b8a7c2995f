"""Figures of chapter 4, backpropagation through time.

:func:`draw_bptt_graph` draws the unrolled graph with the three kinds of backward arrows
(:data:`ARROW_COLORS`); :func:`plot_tbptt_tradeoff` and :func:`plot_loss_curves` draw the
chapter's measurements. The toy model they show is :mod:`rnncourse.models.classifier`;
the gradient on every hidden state is :func:`rnncourse.analysis.gradients.total_hidden_gradients`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rnncourse.figures import white_subplots

__all__ = [
    "ARROW_COLORS", "draw_bptt_graph", "plot_tbptt_tradeoff", "plot_loss_curves",
]

#: Colours of the three kinds of backward arrows (colour-blind safe, readable on white).
ARROW_COLORS = {1: "#D55E00", 2: "#0072B2", 3: "#009E73"}
_FORWARD = "#888888"


# --------------------------------------------------------------------------- figures


def _white_figure(figsize: tuple[float, float], ncols: int = 1) -> tuple[Figure, list]:
    # Through pyplot, so that ``plt.show()`` displays it in a notebook.
    fig, axes = white_subplots(1, ncols, figsize=figsize)
    return fig, list(axes.flat)


def _node(ax, xy: tuple[float, float], text: str, color: str, w: float = 0.9,
          h: float = 0.6) -> None:
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=color, edgecolor="black", linewidth=1.0,
                                gid="node"))
    ax.text(x, y, text, ha="center", va="center", fontsize=11, color="black")


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], gid: str,
           color: str, dashed: bool = False) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13,
                                 color=color, linewidth=1.2 if dashed else 2.0,
                                 linestyle=(0, (4, 3)) if dashed else "-",
                                 shrinkA=0, shrinkB=0, gid=gid))


def draw_bptt_graph(T: int = 5, used: Iterable[int] = (2, 3, 4),
                    title: str | None = None) -> Figure:
    """The RNN unrolled over ``T`` steps, forward (dashed) and backward (solid) arrows.

    Rows, bottom to top: inputs ``x_t``, hidden states ``h_t``, outputs ``Y_t`` and the
    cost ``C`` of the outputs in ``used``. Backward arrows, one colour per kind:

    1. cost -> each output it uses (``gid="backward-1"``);
    2. each used output -> its hidden state (``gid="backward-2"``);
    3. hidden state -> previous hidden state (``gid="backward-3"``), from the last
       used step down to ``h_0``: later states get no gradient at all.

    Forward arrows have ``gid="forward"``.

    Args:
        T: number of time steps, ``1 <= T <= 10``.
        used: the steps ``0 <= t < T`` whose output the cost uses (at least one).
        title: optional title.

    Returns:
        A ``matplotlib.figure.Figure`` with one axes.
    """
    used = sorted(set(int(t) for t in used))
    if not 1 <= T <= 10:
        raise ValueError(f"draw_bptt_graph: T must be between 1 and 10, got {T}")
    if not used or used[0] < 0 or used[-1] >= T:
        raise ValueError(f"draw_bptt_graph: used must be non-empty steps in [0, {T}), "
                         f"got {used}")
    dx, yx, yh, yY, yC = 1.9, 0.0, 1.5, 3.0, 4.6
    # as wide as a phone's column (6.6 in), taller when there are few steps
    fig, (ax,) = _white_figure((6.6, 5.2 * min(1.0, 6.6 / max(1.4 * T + 1.2, 6.5)) + 0.6))
    xs = [dx * t for t in range(T)]
    xC = float(np.mean([xs[t] for t in used]))
    half_w, half_h = 0.45, 0.3
    o = 0.13  # offset between a forward arrow and the backward arrow beside it

    for t, xt in enumerate(xs):
        _node(ax, (xt, yx), f"$x_{t}$", "#EEEEEE")
        _node(ax, (xt, yh), f"$h_{t}$", "#FFE9A8")
        _node(ax, (xt, yY), f"$Y_{t}$", "#D9ECFF" if t in used else "#F4F4F4")
        _arrow(ax, (xt, yx + half_h), (xt, yh - half_h), "forward", _FORWARD, dashed=True)
        _arrow(ax, (xt - o, yh + half_h), (xt - o, yY - half_h), "forward", _FORWARD,
               dashed=True)
        if t > 0:  # h_{t-1} -> h_t
            _arrow(ax, (xs[t - 1] + half_w, yh + o), (xt - half_w, yh + o), "forward",
                   _FORWARD, dashed=True)
    # the initial state
    ax.text(xs[0] - dx * 0.75, yh, "$h_{-1}$", ha="center", va="center", fontsize=11)
    _arrow(ax, (xs[0] - dx * 0.55, yh + o), (xs[0] - half_w, yh + o), "forward", _FORWARD,
           dashed=True)
    _node(ax, (xC, yC), "$C$", "#F9D0C4", w=1.1)
    for t in used:  # Y_t -> C, forward
        _arrow(ax, (xs[t] - o, yY + half_h), (xC - 0.2, yC - half_h), "forward", _FORWARD,
               dashed=True)

    # backward, kind 1: C -> Y_t; kind 2: Y_t -> h_t; kind 3: h_t -> h_{t-1}
    for t in used:
        _arrow(ax, (xC + 0.2, yC - half_h), (xs[t] + o, yY + half_h), "backward-1",
               ARROW_COLORS[1])
        _arrow(ax, (xs[t] + o, yY - half_h), (xs[t] + o, yh + half_h), "backward-2",
               ARROW_COLORS[2])
    for t in range(used[-1], 0, -1):
        _arrow(ax, (xs[t] - half_w, yh - o), (xs[t - 1] + half_w, yh - o), "backward-3",
               ARROW_COLORS[3])

    handles = [
        Line2D([], [], color=_FORWARD, linestyle="--", label="forward pass"),
        Line2D([], [], color=ARROW_COLORS[1], lw=2, label="1: cost → outputs"),
        Line2D([], [], color=ARROW_COLORS[2], lw=2, label="2: outputs → their hidden state"),
        Line2D([], [], color=ARROW_COLORS[3], lw=2,
               label="3: hidden state → previous hidden state"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2,
              frameon=False, fontsize=9, labelcolor="black")
    ax.set_xlim(xs[0] - dx, xs[-1] + 0.8)
    ax.set_ylim(yx - 0.6, yC + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, color="black")
    fig.tight_layout()
    return fig


def plot_tbptt_tradeoff(chunks: Sequence[int], rel_errors: Sequence[float],
                        T: int) -> Figure:
    """Truncated BPTT's cost and benefit against the chunk length ``k``.

    Left: the relative error of the truncated gradient against full BPTT's. Right:
    the hidden states a backward pass must keep (``k``) and the weight updates one
    sequence of ``T`` steps allows (``ceil(T / k)``).

    Args:
        chunks: chunk lengths ``k``.
        rel_errors: the gradient error measured for each ``k`` (0 for ``k >= T``).
        T: the sequence length.

    Returns:
        A ``Figure`` with two axes.
    """
    if len(chunks) != len(rel_errors) or not chunks:
        raise ValueError("plot_tbptt_tradeoff: chunks and rel_errors must have the same, "
                         "non-zero length")
    fig, axes = white_subplots(2, 1, figsize=(6.2, 6.6))  # stacked: readable on a phone
    ax1, ax2 = axes[:, 0]
    k = np.asarray(chunks, dtype=float)
    ax1.plot(k, rel_errors, "o-", color=ARROW_COLORS[1])
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("chunk length k (steps)")
    ax1.set_ylabel("relative error of the gradient")
    ax1.set_title("benefit of a longer chunk: less bias")
    ax2.plot(k, k, "o-", color=ARROW_COLORS[2], label="states kept for backward (k)")
    ax2.plot(k, [math.ceil(T / c) for c in chunks], "s-", color=ARROW_COLORS[3],
             label=f"updates per sequence (ceil({T}/k))")
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log", base=2)
    ax2.set_xlabel("chunk length k (steps)")
    ax2.set_title("cost of a longer chunk: memory, fewer updates")
    ax2.legend(frameon=False, fontsize=9)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_loss_curves(curves: Mapping[str, Sequence[float]], title: str = "") -> Figure:
    """Training loss against the update step, one line per optimiser.

    Args:
        curves: ``{label: losses}``.
        title: optional title.

    Returns:
        A ``Figure`` with one axes and one line per curve.
    """
    fig, (ax,) = _white_figure((6.5, 3.8))
    colors = list(ARROW_COLORS.values()) + ["#CC79A7", "#E69F00"]
    for i, (label, losses) in enumerate(curves.items()):
        ax.plot(np.arange(1, len(losses) + 1), losses, label=label,
                color=colors[i % len(colors)])
    ax.set_xlabel("update step")
    ax.set_ylabel("mean cross-entropy (nats)")
    ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
