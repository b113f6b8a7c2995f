"""Figures and the widget of chapter 10, *Applications*.

Each takes results and returns a figure (white background, for the light and dark
themes): :func:`temperature_figure` (the next-character distribution at several
temperatures), :func:`bpc_figure` (bits per character per epoch, with baselines),
:func:`unit_text_figure` (a text coloured by one unit's activation),
:func:`horizon_figure` (forecast error against the horizon); and the interactive
:func:`temperature_explorer`. The data are in :mod:`rnncourse.data.corpus`, the models
in :mod:`rnncourse.models.charlm`, :mod:`rnncourse.models.lines` and
:mod:`rnncourse.models.forecast`, the unit search in :mod:`rnncourse.analysis.units`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from rnncourse.figures import white_subplots
from rnncourse.figures.explore import Explorer, explore
from rnncourse.numpy.lm import temperature_softmax

if TYPE_CHECKING:
    from rnncourse.data.text import CharVocab

__all__ = [
    "bpc_figure", "unit_text_figure", "temperature_figure",
    "horizon_figure", "temperature_explorer",
]


# --------------------------------------------------------------------------- figures


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list]:
    fig, axes = white_subplots(1, ncols, figsize=(width, height))
    return fig, list(axes.flat)


def _show_char(c: str) -> str:
    return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(c, c)


def temperature_figure(logits: Tensor | np.ndarray, vocab: CharVocab,
                       temperatures: Sequence[float] = (0.5, 1.0, 1.5), top: int = 10
                       ) -> Figure:
    """The next-character distribution at each temperature: one bar chart per axis.

    Shows the ``top`` most likely characters (under temperature 1), in the same order in
    every panel, and the probability left for all the others in the title.
    """
    z = np.asarray(torch.as_tensor(logits).detach().double())     # float64 scores
    base = temperature_softmax(z, 1.0)
    order = np.argsort(-base, kind="stable")[:top]
    # one panel per row: readable on a phone
    fig, grid = white_subplots(len(temperatures), 1, figsize=(6.2, 2.3 * len(temperatures)),
                               sharex=True)
    axes = list(grid.flat)
    for ax, temp in zip(axes, temperatures, strict=True):
        p = temperature_softmax(z, temp)
        ax.bar(range(top), p[order], color="#4a7ab5")
        ax.set_xticks(range(top), [_show_char(vocab.chars[i]) for i in order])
        ax.set_ylim(0, 1)
        ax.set_title(f"τ = {temp:g}   (others: {1 - p[order].sum():.2f})", fontsize=10)
        ax.set_ylabel("probability")
    axes[-1].set_xlabel("next character")
    fig.tight_layout()
    return fig


def bpc_figure(train_bpc: Sequence[float], val_bpc: Sequence[float],
               baselines: Mapping[str, float]) -> Figure:
    """Training and validation bits per character per epoch, with baseline lines."""
    fig, (ax,) = _figure(6.0, 3.5)
    epochs = np.arange(1, len(train_bpc) + 1)
    ax.plot(epochs, train_bpc, color="C0", label="training (epoch mean)")
    ax.plot(epochs, val_bpc, color="C1", marker="o", markersize=3, label="validation")
    for k, (name, value) in enumerate(baselines.items()):
        ax.axhline(value, color=f"C{k + 2}", linestyle="--", linewidth=1,
                   label=f"{name} ({value:.2f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("bits per character")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def unit_text_figure(text: str, activation: Sequence[float], *, width: int = 72,
                     title: str = "") -> Figure:
    """``text`` in a fixed-width grid, each character on a background coloured by
    ``activation`` (one value per character) relative to its mean: red above, blue below,
    white at the mean, in pale shades so that the characters stay readable.

    Line breaks start a new row, and so does a line longer than ``width`` characters (it
    goes on in the next row). The figure is at most ``MAX_WIDTH_IN`` wide, in 9-point type.
    """
    from matplotlib import colormaps

    from rnncourse.figures import MAX_WIDTH_IN, MIN_FONT_PT

    values = np.asarray(activation, dtype=np.float64)
    if values.shape != (len(text),):
        raise ValueError(f"need one activation per character ({len(text)}), "
                         f"got shape {values.shape}")
    cell = 0.082                                 # inches per character at 9 points
    if cell * width + 0.3 > MAX_WIDTH_IN:
        raise ValueError(f"width {width} is too wide for {MAX_WIDTH_IN} inches")
    deviation = values - values.mean()
    scale = float(np.abs(deviation).max()) or 1.0
    rows: list[list[tuple[str, float]]] = [[]]
    for ch, v in zip(text, deviation / scale, strict=True):
        if ch == "\n":
            rows.append([])
            continue
        if len(rows[-1]) == width:
            rows.append([])
        rows[-1].append((ch, v))
    cmap = colormaps["RdBu_r"]
    fig, (ax,) = _figure(cell * width + 0.3, 0.19 * len(rows) + 0.5)
    for y, row in enumerate(rows):
        for x, (ch, v) in enumerate(row):
            ax.add_patch(_rectangle((x, -y - 1), 1, 1, color=cmap(0.5 + 0.4 * v)))
            ax.text(x + 0.5, -y - 0.5, ch, ha="center", va="center", family="monospace",
                    fontsize=MIN_FONT_PT)
    ax.set_xlim(0, width)
    ax.set_ylim(-len(rows), 0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _rectangle(*args, **kwargs):
    from matplotlib.patches import Rectangle

    return Rectangle(*args, linewidth=0, **kwargs)


def horizon_figure(errors: Mapping[str, np.ndarray]) -> Figure:
    """Mean squared error against the forecast horizon, one line per forecaster."""
    fig, (ax,) = _figure(6.0, 3.5)
    for name, err in errors.items():
        ax.plot(np.arange(1, len(err) + 1), err, marker="o", markersize=3, label=name)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("test MSE")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def temperature_explorer(samples: Mapping[str, object]) -> Explorer:
    """Two sliders, temperature and seed, over stored samples of a language model.

    ``samples`` is what ``scripts/sample_ch10_temperatures.py`` writes: ``prompt``,
    ``temperatures``, ``seeds`` and ``samples`` (temperature as ``"%.1f"`` -> one text per
    seed). Each position shows the prompt and its sample; nothing is sampled here, so the
    sliders work with no kernel. Returns the :class:`~rnncourse.figures.explore.Explorer`.
    """
    prompt = str(samples["prompt"])
    temperatures = [float(t) for t in samples["temperatures"]]
    seeds = [int(s) for s in samples["seeds"]]
    texts = samples["samples"]

    def show(tau: float, seed: int) -> str:
        return prompt + texts[f"{tau:.1f}"][seeds.index(seed)]

    start = [temperatures.index(1.0) if 1.0 in temperatures else 0, 0]
    return explore([("temperature τ", [f"{t:.1f}" for t in temperatures]),
                    ("seed", [str(s) for s in seeds])], show, [temperatures, seeds],
                   start=start,
                   caption="Move the sliders: every sample was drawn in advance by "
                           "scripts/sample_ch10_temperatures.py from the shipped weights.")
