"""Figures and the interactive figure of chapter 5, vanishing and exploding gradients.

:func:`plot_jacobian_norms` and :func:`plot_radius_sweep` draw ``||d h_T / d h_t||``
against the distance in time, :func:`radius_slider` redraws it for a chosen spectral
radius, :func:`plot_clipping` shows clipping by value and by norm on a 2-D gradient, and
:func:`plot_remedies` draws the shipped runs of the remedies. The measurements themselves
are in :mod:`rnncourse.analysis.gradients`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from rnncourse.analysis.gradients import (
    NONLINEARITIES,
    jacobian_norms,
    matrix_with_spectral_radius,
    summarise_remedies,
)
from rnncourse.figures import FIGURE_DENSITY, on_white
from rnncourse.figures.explore import Explorer, explore
from rnncourse.numpy import (
    clip_grad_norm,
    clip_grad_value,
)

__all__ = [
    "plot_jacobian_norms", "plot_radius_sweep", "plot_clipping", "radius_slider",
    "plot_remedies",
]


# --------------------------------------------------------------------------- figures


def plot_jacobian_norms(
    curves: dict[str, np.ndarray], ax: plt.Axes | None = None, title: str = "",
    ylabel: str = r"$\|\partial h_T / \partial h_t\|_2$",
) -> plt.Axes:
    """Plot each ``norms: (T + 1,)`` against the distance ``T - t``, log scale.

    Zeros (a gradient cut off entirely) are drawn at the bottom of the axis.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for label, norms in curves.items():
        norms = np.asarray(norms, dtype=np.float64)
        T = len(norms) - 1
        lag = T - np.arange(T + 1)
        ax.semilogy(lag, np.maximum(norms, 1e-300), label=label)
    ax.set_xlabel("distance back in time, $T - t$")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize=9)
    on_white(ax.figure)
    return ax


def plot_radius_sweep(
    radii: tuple[float, ...] = (0.8, 1.0, 1.2), T: int = 60, H: int = 32, seed: int = 0,
    nonlinearities: tuple[str, ...] = ("linear", "tanh"),
) -> Figure:
    """One panel per nonlinearity, one curve per spectral radius of ``Wh = radius * Q``.

    The same orthogonal ``Q`` and the same inputs are used for every curve.
    """
    # stacked vertically, so that each panel keeps a readable size on a phone
    fig, axes = plt.subplots(len(nonlinearities), 1, figsize=(6, 3.2 * len(nonlinearities)),
                             sharex=True, sharey=True, squeeze=False)
    Q = matrix_with_spectral_radius(H, 1.0, seed)
    for ax, nl in zip(axes[:, 0], nonlinearities, strict=True):
        curves = {f"radius {r:g}": jacobian_norms(r * Q, T, nl, seed + 1) for r in radii}
        plot_jacobian_norms(curves, ax, title=f"{nl} RNN, H = {H}")
    axes[0, 0].set_ylim(1e-12, 1e8)
    for ax in axes[:-1, 0]:
        ax.set_xlabel("")
    fig.tight_layout()
    return on_white(fig)


def plot_clipping(g: np.ndarray, clip_value: float, max_norm: float) -> Figure:
    """A 2-D gradient ``g``, clipped by value (into the square) and by norm (onto the circle)."""
    g = np.asarray(g, dtype=np.float64)
    by_value = clip_grad_value({"g": g}, clip_value)["g"]
    by_norm = clip_grad_norm({"g": g}, max_norm)[0]["g"]
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    v = clip_value
    ax.add_patch(plt.Rectangle((-v, -v), 2 * v, 2 * v, fill=False, ls="--", color="tab:orange",
                               label=f"|entries| <= {v:g}"))
    ax.add_patch(plt.Circle((0, 0), max_norm, fill=False, ls=":", color="tab:green",
                            label=f"norm <= {max_norm:g}"))
    for vec, color, label in [(g, "black", "gradient g"),
                              (by_value, "tab:orange", "clipped by value"),
                              (by_norm, "tab:green", "clipped by norm")]:
        ax.annotate("", xy=vec, xytext=(0, 0),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=2))
        ax.plot([], [], color=color, lw=2, label=label)
    lim = 1.15 * max(np.abs(g).max(), v, max_norm)
    low = -1.15 * max(v, max_norm)
    ax.set_xlim(low, lim)
    ax.set_ylim(low, max(0.8 * lim, -low))
    ax.set_aspect("equal")
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.legend(fontsize=9, loc="upper left")
    ax.set_title("Clipping a 2-D gradient")
    fig.tight_layout()
    return on_white(fig)


def radius_slider(T: int = 60, H: int = 32, seed: int = 0) -> Explorer:
    """A slider for the spectral radius of ``Wh = radius * Q``, from 0.50 to 1.50.

    Each position shows ``||d h_T / d h_t||`` for the linear, tanh and relu RNN, drawn in
    advance for all 21 radii (steps of 0.05), so that the slider works with no kernel.
    Returns the :class:`~rnncourse.figures.explore.Explorer` (a notebook displays it).
    """
    Q = matrix_with_spectral_radius(H, 1.0, seed)
    radii = [round(0.5 + 0.05 * k, 2) for k in range(21)]
    # One figure, redrawn for every radius: the axes keep their place from frame to frame
    # (laid out once), and matplotlib's cache of the log axis's labels serves every frame.
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100 * FIGURE_DENSITY)

    def draw(radius: float) -> Figure:
        curves = {nl: jacobian_norms(radius * Q, T, nl, seed + 1) for nl in NONLINEARITIES}
        ax.cla()
        plot_jacobian_norms(curves, ax=ax, title=f"spectral radius {radius:.2f}")
        ax.set_ylim(1e-12, 1e8)
        if radius == radii[0]:
            fig.tight_layout()
        return fig

    return explore(
        [("spectral radius", [f"{r:.2f}" for r in radii])], draw, [radii],
        start=[radii.index(1.0)],
        caption="Move the slider: each radius's figure was drawn when the notebook ran.",
        alt="The norm of the gradient of h_T with respect to h_t against the distance back "
            "in time T - t, on a log scale, for the linear, tanh and relu RNN with spectral "
            "radius {}.")


# --------------------------------------------------------------------------- the remedies trained


def plot_remedies(runs: list[dict], solved_ratio: float = 0.1) -> Figure:
    """Two panels: the share of solved runs, and every run's test MSE over its baseline.

    One group per sequence length ``T``, one colour per configuration (in the order of
    :func:`summarise_remedies`). The lower panel draws each seed as a dot on a log scale,
    with the line ``test_mse / baseline_mse = solved_ratio`` below which a run is solved.
    """
    summary = summarise_remedies(runs)
    configs = list(dict.fromkeys(c for c, _ in summary))
    lengths = sorted({T for _, T in summary})
    width = 0.8 / len(configs)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True)
    for j, config in enumerate(configs):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(lengths))]
        rate = [summary[config, T]["solved"] / summary[config, T]["n"] for T in lengths]
        top.bar(xs, rate, width, color=f"C{j}", label=config)
        for x, T in zip(xs, lengths, strict=True):
            ratio = summary[config, T]["ratio"]
            jitter = np.linspace(-0.3, 0.3, len(ratio)) * width
            bottom.semilogy(x + jitter, ratio, "o", ms=3.5, color=f"C{j}", alpha=0.8)
    top.set_ylabel("share of seeds solved")
    top.set_ylim(0, 1.4)  # room for the legend above the bars
    top.set_yticks(np.linspace(0, 1, 6))
    top.legend(fontsize=9, ncol=3, loc="upper center")
    top.set_title("The adding problem: each remedy, trained")
    bottom.axhline(solved_ratio, color="gray", ls="--", lw=0.8,
                   label=f"solved: below {solved_ratio:g} of the baseline")
    bottom.axhline(1.0, color="gray", ls=":", lw=0.8, label="the baseline (predict the mean)")
    bottom.set_ylabel("test MSE / baseline MSE")
    lowest = min(min(s["ratio"]) for s in summary.values())
    bottom.set_ylim(bottom=min(lowest, solved_ratio) / 30)  # room for the legend below the dots
    bottom.legend(fontsize=9, loc="lower left")
    bottom.set_xticks(range(len(lengths)), [f"T = {T}" for T in lengths])
    for ax in (top, bottom):
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return on_white(fig)
