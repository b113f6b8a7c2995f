"""Figures of chapter 9, encoder–decoder models.

:func:`plot_encoder_decoder` draws the architecture; :func:`plot_accuracy_by_length`,
:func:`plot_accuracy_bands` and :func:`plot_position_accuracy` draw accuracies;
:func:`plot_attention` draws attention weights as a heat map. The toy tasks are
:mod:`rnncourse.data.reversal`; the models, decoding and evaluation are
:mod:`rnncourse.models.seq2seq`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = [
    "plot_encoder_decoder", "plot_accuracy_by_length", "plot_accuracy_bands", "plot_attention",
    "plot_position_accuracy",
]


# --------------------------------------------------------------------------- figures


def _box(ax: Axes, x: float, y: float, text: str, color: str, w: float = 0.8,
         h: float = 0.6) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03",
                                facecolor=color, edgecolor="black", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float],
           color: str = "black") -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=color, linewidth=1.2))


def plot_encoder_decoder(src: Sequence[str] = ("3", "1", "4"),
                         out: Sequence[str] = ("4", "1", "3")) -> Figure:
    """The unrolled encoder–decoder: the encoder reads ``src``; its last state ``h_S``
    starts the decoder, which reads ``<bos>`` then its own previous outputs."""
    S, T = len(src), len(out) + 1
    width = min(1.3 * (S + T) + 1, 6.6)  # at most a phone's column
    fig, ax = plt.subplots(figsize=(width, 3.2 * width / (1.3 * (S + T) + 1) + 0.4),
                           facecolor="white")
    ax.set_facecolor("white")
    for s, tok in enumerate(src):
        _box(ax, s, 1, f"$h_{s + 1}$", "#cfe2f3")
        ax.text(s, 0, tok, ha="center", va="center", fontsize=12)
        _arrow(ax, (s, 0.2), (s, 0.68))
        if s:
            _arrow(ax, (s - 0.6, 1), (s - 0.4, 1))
    dec_in = ["<bos>", *out[:-1]] if out else ["<bos>"]
    dec_out = [*out, "<eos>"]
    x0 = S + 0.5
    for t in range(T):
        x = x0 + t
        _box(ax, x, 1, f"$z_{t + 1}$", "#fce5cd")
        ax.text(x, 0, dec_in[t] if t < len(dec_in) else dec_out[t - 1], ha="center",
                va="center", fontsize=10)
        _arrow(ax, (x, 0.2), (x, 0.68))
        _arrow(ax, (x, 1.32), (x, 1.78))
        ax.text(x, 2.0, dec_out[t], ha="center", va="center", fontsize=10)
        if t:
            _arrow(ax, (x - 0.6, 1), (x - 0.4, 1))
            _arrow(ax, (x - 0.75, 2.0), (x - 0.15, 0.15), color="0.55")
    _arrow(ax, (S - 0.6, 1), (x0 - 0.4, 1), color="C3")
    ax.text((S - 1 + x0) / 2, 1.25, "$h_S$", ha="center", color="C3", fontsize=11)
    ax.text((S - 1) / 2, -0.55, "encoder (reads the source)", ha="center", fontsize=10)
    ax.text(x0 + (T - 1) / 2, -0.55, "decoder (writes the output, reads it back)",
            ha="center", fontsize=10)
    ax.set_xlim(-0.7, x0 + T - 0.3)
    ax.set_ylim(-0.8, 2.3)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


def _accuracy_axes(ax: Axes, train_range: tuple[int, int] | None, shade: str,
                   ylabel: str) -> None:
    """Accuracy against source length: the training lengths shaded, labels, limits, grid."""
    if train_range is not None:
        ax.axvspan(train_range[0] - 0.5, train_range[1] + 0.5, color=shade, zorder=0,
                   label="lengths seen in training")
    ax.set_xlabel("source length (digits)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.03, 1.03)
    ax.set_facecolor("white")
    ax.grid(alpha=0.3)


def plot_accuracy_by_length(lengths: Sequence[int], curves: dict[str, Sequence[float]],
                            train_range: tuple[int, int] | None = None,
                            ax: Axes | None = None) -> Axes:
    """Sequence accuracy against source length, one line per model."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5), facecolor="white")
    for name, acc in curves.items():
        ax.plot(lengths, acc, marker="o", label=name)
    _accuracy_axes(ax, train_range, "0.9", "sequence accuracy")
    ax.legend(loc="lower left")
    return ax


def plot_accuracy_bands(lengths: Sequence[int], runs: dict[str, np.ndarray],
                        train_range: tuple[int, int] | None = None,
                        ax: Axes | None = None) -> Axes:
    """Sequence accuracy against source length over seeds: for each model, ``runs[name]``
    ``(seeds, len(lengths))``; the line is the mean over the seeds, the band min to max."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4), facecolor="white")
    for i, (name, acc) in enumerate(runs.items()):
        acc = np.asarray(acc, dtype=float)
        if acc.ndim != 2 or acc.shape[1] != len(lengths):
            raise ValueError(f"runs[{name!r}] must be (seeds, {len(lengths)}), got {acc.shape}")
        color = f"C{i}"
        ax.plot(lengths, acc.mean(0), marker="o", markersize=3, color=color,
                label=f"{name} ({len(acc)} seeds)")
        ax.fill_between(lengths, acc.min(0), acc.max(0), color=color, alpha=0.15, linewidth=0)
    _accuracy_axes(ax, train_range, "0.96", "sequence accuracy (mean; band: min–max)")
    ax.set_xticks(list(lengths))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    return ax


def plot_attention(weights: np.ndarray | torch.Tensor, src_labels: Sequence[str],
                   out_labels: Sequence[str], ax: Axes | None = None) -> Axes:
    """Heatmap of attention weights ``(T_out, S)``: row t is where output t looked."""
    w = weights.detach().cpu().numpy() if isinstance(weights, torch.Tensor) else weights
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.45 * w.shape[1] + 1.8, 0.45 * w.shape[0] + 1.2),
                               facecolor="white")
    im = ax.imshow(w, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(w.shape[1]), list(src_labels))
    ax.set_yticks(range(w.shape[0]), list(out_labels))
    ax.set_xlabel("source token")
    ax.set_ylabel("output token")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return ax


def plot_position_accuracy(acc: Sequence[float], ax: Axes | None = None) -> Axes:
    """Bar chart: accuracy of an aligned model at each output position."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3), facecolor="white")
    positions = np.arange(1, len(acc) + 1)
    ax.bar(positions, acc, color="C0")
    ax.axhline(0.1, color="C3", linestyle="--", label="chance (1 in 10)")
    ax.set_xlabel("output position t")
    ax.set_ylabel("token accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(positions)
    ax.set_facecolor("white")
    ax.legend(loc="upper left")
    return ax
