"""Figures of chapter 9's decoding page: they only draw.

:func:`position_error_figure` (teacher-forced against free-running error by output
position), :func:`truncation_figure` (a next-character distribution and what top-k and
nucleus truncation keep of it), :func:`beam_width_figure` (accuracy against the beam
width, with and without length normalisation). The attention heatmaps reuse
:func:`rnncourse.figures.seq2seq.plot_attention`. The measurements are in
:mod:`rnncourse.models.exposure`, :mod:`rnncourse.numpy.lm` and
:mod:`rnncourse.models.seq2seq`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from rnncourse.figures import white_subplots

__all__ = ["position_error_figure", "truncation_figure", "beam_width_figure"]


def position_error_figure(curves: Mapping[str, Sequence[float]], title: str = "") -> Figure:
    """Error rate against the output position ``t = 1, 2, ...``: one line per curve
    (NaN entries are left out)."""
    fig, ax = white_subplots(1, 1, figsize=(6.4, 3.4))
    ax = np.ravel(ax)[0]
    styles = ["-o", "-s", "--^", ":v"]
    for (name, values), style in zip(curves.items(), styles * 4, strict=False):
        v = np.asarray(values, dtype=float)
        t = np.arange(1, len(v) + 1)
        keep = ~np.isnan(v)
        ax.plot(t[keep], v[keep], style, label=name, markersize=4)
    ax.set_xlabel("output position t")
    ax.set_ylabel("token error rate")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _label(c: str) -> str:
    return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(c, c)


def truncation_figure(p: np.ndarray, kept: Mapping[str, np.ndarray], chars: Sequence[str],
                      top: int = 15) -> Figure:
    """The distribution ``p`` (``(V,)``) and, one panel per entry of ``kept``, the
    truncated distribution (``(V,)``, zeros where a symbol was cut), over the ``top`` most
    likely symbols; a cut symbol is drawn as an empty bar of its original height."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")[:top]
    fig, axes = white_subplots(len(kept), 1, figsize=(6.4, 1.9 * len(kept)), sharex=True)
    axes = np.ravel(axes)
    x = np.arange(len(order))
    for ax, (name, q) in zip(axes, kept.items(), strict=True):
        q = np.asarray(q, dtype=float)
        cut = q[order] == 0
        ax.bar(x, p[order], color="none", edgecolor="0.6", linestyle="--", linewidth=0.8)
        ax.bar(x[~cut], q[order][~cut], color="C0", label="kept, renormalised")
        ax.set_ylabel("probability", fontsize=9)
        ax.set_title(f"{name}: {int((q > 0).sum())} kept, {p[q == 0].sum():.2f} of the "
                     "mass cut", fontsize=9)
        ax.set_ylim(0, max(1e-9, float(max(p[order].max(), q.max()))) * 1.15)
    axes[-1].set_xticks(x, [_label(chars[i]) for i in order])
    axes[-1].set_xlabel("next character (dashed outline: the model's own probability)")
    fig.tight_layout()
    return fig


def beam_width_figure(widths: Sequence[int], curves: Mapping[str, Sequence[float]],
                      ylabel: str = "sequence accuracy") -> Figure:
    """A score against the beam width (log scale): one line per curve."""
    fig, ax = white_subplots(1, 1, figsize=(6.4, 3.4))
    ax = np.ravel(ax)[0]
    styles = ["-o", "--o", "-s", "--s"]
    for (name, values), style in zip(curves.items(), styles * 4, strict=False):
        ax.plot(widths, values, style, label=name, markersize=4)
    ax.set_xscale("log")
    ax.set_xticks(list(widths), [str(w) for w in widths])
    ax.minorticks_off()
    ax.set_xlabel("beam width")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig
