"""Figures of chapter 1, sequence learning.

:func:`plot_sequence_examples` (sequences from six domains), :func:`draw_io_pattern` /
:func:`plot_io_patterns` (one-to-one ... many-to-many) and :func:`plot_position_weights`
(the weights learned by :func:`rnncourse.models.position.position_transfer_demo`).
The fixed-size encodings of tokens are in :mod:`rnncourse.data.text`. Every figure has a
white background, so it reads the same in light and dark page themes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rnncourse.figures import white_subplots
from rnncourse.models.position import PositionTransfer

__all__ = [
    "TASKS", "IO_PATTERNS", "plot_sequence_examples", "draw_io_pattern", "plot_io_patterns",
    "plot_position_weights",
]

# (task, what goes in, what comes out, input/output pattern)
TASKS: list[tuple[str, str, str, str]] = [
    ("language modelling", "the words so far", "the next word, at every step",
     "many-to-many (aligned)"),
    ("part-of-speech tagging", "a sentence", "one tag per word", "many-to-many (aligned)"),
    ("sentiment of a review", "a review", "one score at the end", "many-to-one"),
    ("image captioning", "one image", "a sentence", "one-to-many"),
    ("video activity recognition", "a sequence of frames", "one label (or one per frame)",
     "many-to-one"),
    ("machine translation", "a sentence", "a sentence of another length",
     "many-to-many (unaligned)"),
    ("speech-to-text", "audio frames", "characters or words", "many-to-many (unaligned)"),
    ("stock prices", "prices of the last days", "tomorrow's price", "many-to-one"),
    ("car trajectories", "past positions", "future positions", "many-to-many (unaligned)"),
    ("EKG / audio / DNA", "samples or bases", "a label, or one per sample",
     "many-to-one / many-to-many"),
]


# --------------------------------------------------------------------------- figures


def _figure(nrows: int, ncols: int, figsize: tuple[float, float]):
    return white_subplots(nrows, ncols, figsize=figsize)


def _token_row(ax, tokens: Sequence[str], colors: Sequence[str], title: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    for i, (tok, col) in enumerate(zip(tokens, colors, strict=True)):
        ax.add_patch(FancyBboxPatch((i + 0.08, 0.2), 0.84, 0.6, boxstyle="round,pad=0.02",
                                    facecolor=col, edgecolor="black", linewidth=0.8))
        ax.text(i + 0.5, 0.5, tok, ha="center", va="center", fontsize=9, color="black")
    ax.set_xlim(0, len(tokens))
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=10, color="black")


def plot_sequence_examples(examples: Mapping[str, Any]):
    """Six kinds of sequence, as :func:`rnncourse.data.examples.sequence_examples` makes them.

    Stock price, a car trajectory (x, y over time; the last 20 positions to predict), an
    EKG-like trace, an audio waveform, a DNA string and a sentence with its next word
    missing. Returns a Figure with 6 axes.
    """
    fig, grid = _figure(3, 2, (6.4, 7.4))  # three rows of two: readable on a phone
    axes = grid.reshape(2, 3)  # axes[i, j]: the panels in reading order
    ax = axes[0, 0]
    ax.plot(examples["price"], color="tab:blue")
    ax.set(title="stock price (one value per day)", xlabel="day")

    ax = axes[0, 1]
    xs, ys = examples["trajectory"]
    ax.plot(xs[:40], ys[:40], "o-", ms=3, color="tab:blue", label="seen")
    ax.plot(xs[39:], ys[39:], "o--", ms=3, color="tab:orange", label="to predict")
    ax.legend(fontsize=9, loc="lower right")
    ax.set(title="car trajectory (x, y per frame)", xlabel="x (m)", ylabel="y (m)")

    ax = axes[0, 2]
    ax.plot(*examples["ekg"], color="tab:red", lw=1)
    ax.set(title="EKG (samples at 200 Hz)", xlabel="time (s)")

    ax = axes[1, 0]
    time, wave = examples["audio"]
    ax.plot(time * 1000, wave, color="tab:green", lw=1)
    ax.set(title="audio (16 000 samples per second)", xlabel="time (ms)")

    palette = {"A": "#cfe2f3", "C": "#d9ead3", "G": "#fff2cc", "T": "#f4cccc"}
    dna = examples["dna"]
    _token_row(axes[1, 1], dna, [palette[b] for b in dna], "DNA (one base per step)")
    words = examples["words"]
    _token_row(axes[1, 2], words, ["#eeeeee"] * (len(words) - 1) + ["#fff2cc"],
               "text (one word per step)")
    for ax in axes.flat:
        ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


IO_PATTERNS: dict[str, dict] = {
    "one-to-one": dict(steps=1, inputs=[0], outputs=[0], recurrent=False,
                       example="image classification"),
    "one-to-many": dict(steps=4, inputs=[0], outputs=[0, 1, 2, 3], recurrent=True,
                        example="image captioning"),
    "many-to-one": dict(steps=4, inputs=[0, 1, 2, 3], outputs=[3], recurrent=True,
                        example="sentiment of a review"),
    "many-to-many (aligned)": dict(steps=4, inputs=[0, 1, 2, 3], outputs=[0, 1, 2, 3],
                                   recurrent=True, example="part-of-speech tagging"),
    "many-to-many (unaligned)": dict(steps=6, inputs=[0, 1, 2], outputs=[3, 4, 5],
                                     recurrent=True, example="translation (encoder-decoder)"),
}

_COLORS = {"x": "#cfe2f3", "h": "#d9ead3", "y": "#f4cccc"}


def draw_io_pattern(kind: str, ax=None):
    """Draw one input/output pattern, unrolled over time; returns the Figure.

    Inputs ``x_t`` (blue) at the bottom, hidden states ``h_t`` (green) in the
    middle, outputs ``y_t`` (red) on top; arrows for ``x_t -> h_t``,
    ``h_t -> y_t`` and the recurrence ``h_{t-1} -> h_t``. Every box and arrow is
    a patch: ``len(inputs) + steps + len(outputs)`` boxes and
    ``len(inputs) + len(outputs) + (steps - 1)`` arrows.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if kind not in IO_PATTERNS:
        raise ValueError(f"draw_io_pattern: kind must be one of {list(IO_PATTERNS)}, "
                         f"got {kind!r}")
    spec = IO_PATTERNS[kind]
    if ax is None:
        fig, axes = _figure(1, 1, (1.3 + 1.1 * spec["steps"], 3.0))
        ax = axes[0, 0]
    else:
        fig = ax.figure
        ax.set_facecolor("white")
    size = 0.5

    def box(t: int, row: int, letter: str) -> None:
        ax.add_patch(FancyBboxPatch((t - size / 2, row - size / 2), size, size,
                                    boxstyle="round,pad=0.04", facecolor=_COLORS[letter],
                                    edgecolor="black", linewidth=1.0))
        sub = str(t + 1) if spec["steps"] > 1 else ""
        ax.text(t, row, f"${letter}_{{{sub}}}$" if sub else f"${letter}$",
                ha="center", va="center", fontsize=11, color="black")

    def arrow(a: tuple[float, float], b: tuple[float, float]) -> None:
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12,
                                     color="black", linewidth=1.0))

    gap = size / 2 + 0.06
    for t in range(spec["steps"]):
        box(t, 1, "h")
        if t in spec["inputs"]:
            box(t, 0, "x")
            arrow((t, gap), (t, 1 - gap))
        if t in spec["outputs"]:
            box(t, 2, "y")
            arrow((t, 1 + gap), (t, 2 - gap))
        if spec["recurrent"] and t > 0:
            arrow((t - 1 + gap, 1), (t - gap, 1))
    ax.set_xlim(-0.7, spec["steps"] - 0.3)
    ax.set_ylim(-0.5, 2.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{kind}\ne.g. {spec['example']}", fontsize=10, color="black")
    return fig


def plot_io_patterns():
    """All five patterns of :data:`IO_PATTERNS` side by side; a Figure with 5 axes."""
    widths = [max(IO_PATTERNS[k]["steps"], 2) + 0.6 for k in IO_PATTERNS]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(15, 3.2), gridspec_kw=dict(width_ratios=widths))
    fig.patch.set_facecolor("white")
    for ax, kind in zip(axes, IO_PATTERNS, strict=True):
        draw_io_pattern(kind, ax=ax)
        ax.title.set_fontsize(9)
    fig.tight_layout()
    return fig


def plot_position_weights(result: PositionTransfer, token: int = 0):
    """The weight each model puts on ``token`` at every position; a Figure with 1 axes.

    Bars: the big-window model's ``w_t[token]``, one per position ``t``; the line:
    the shared model's single ``w[token]``. Training and test positions are shaded.
    """
    fig, axes = _figure(1, 1, (6.4, 3.6))
    ax = axes[0, 0]
    T = result.w_window.shape[0]
    for pos in result.train_positions:
        ax.axvspan(pos - 0.5, pos + 0.5, color="#d9ead3", zorder=0)
    for pos in result.test_positions:
        ax.axvspan(pos - 0.5, pos + 0.5, color="#f4cccc", zorder=0)
    ax.bar(np.arange(T), result.w_window[:, token], color="tab:blue", width=0.6,
           label="big window: $w_t$[dog] (one weight per position)", zorder=2)
    ax.axhline(result.w_shared[token], color="tab:orange", lw=2,
               label="shared: $w$[dog] (one weight for all positions)", zorder=3)
    ax.axhline(0, color="black", lw=0.8, zorder=1)
    ax.set_xticks(range(T))
    ax.set(xlabel="position t\n(green: 'dog' seen in training; red: 'dog' only in test)",
           ylabel="weight on 'dog'")
    top = max(float(result.w_window[:, token].max()), float(result.w_shared[token]), 1.0)
    ax.set_ylim(top=1.5 * top)
    ax.legend(fontsize=9, loc="upper center", ncol=1)
    fig.tight_layout()
    return fig
