"""Figures of chapter 12, *Forecasting ahead, and convolutions over time*.

- :func:`dilated_stack_figure` draws which inputs the last output of a stack of causal
  convolutions reads, layer by layer (WaveNet's picture of a dilated stack);
- :func:`horizon_bands_figure` draws test error against the forecast horizon: one line per
  forecaster (the mean over seeds) and a band from the lowest to the highest seed.

They only draw: the convolution and its receptive field are computed in
:mod:`rnncourse.numpy.conv`, the errors by ``scripts/sweep_ch12_conv.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from rnncourse.figures import MAX_WIDTH_IN, white_subplots

__all__ = ["dilated_stack_figure", "horizon_bands_figure"]

INK = "#1a1a1a"
USED = "#2e86c1"
FADED = "#c8c8c8"


def dilated_stack_figure(kernel_size: int = 2, dilations: Sequence[int] = (1, 2, 4, 8),
                         steps: int = 16) -> Figure:
    """Inputs at the bottom, one row per layer above; layer ``i`` reads its input ``0, d_i,
    ..., (K - 1) d_i`` steps back. The arrows and dots in colour are those the last output
    depends on; the grey arrows show that every position is computed the same way."""
    if not 2 <= steps <= 40:
        raise ValueError(f"dilated_stack_figure: steps must be between 2 and 40, got {steps}")
    layers = len(dilations)
    fig, axes = white_subplots(1, 1, figsize=(MAX_WIDTH_IN, 1.0 + 0.75 * (layers + 1)))
    ax = axes[0, 0]
    needed = [{steps - 1}]                            # positions the last output needs, per row
    for d in reversed(dilations):
        needed.append({t - j * d for t in needed[-1] for j in range(kernel_size)
                       if t - j * d >= 0})
    needed = needed[::-1]                             # needed[0]: the input row
    for level, d in enumerate(dilations, start=1):
        for t in range(steps):
            for j in range(kernel_size):
                s = t - j * d
                if s < 0:
                    continue
                used = t in needed[level] and s in needed[level - 1]
                ax.plot([s, t], [level - 1, level], color=USED if used else FADED,
                        linewidth=1.4 if used else 0.6, zorder=2 if used else 1)
    for level in range(layers + 1):
        colours = [USED if t in needed[level] else INK for t in range(steps)]
        ax.scatter(range(steps), [level] * steps, s=22, c=colours, zorder=3)
    ax.set_yticks(range(layers + 1), ["input"] + [f"layer {i + 1}, d = {d}"
                                                  for i, d in enumerate(dilations)])
    ax.set_xticks(range(0, steps, max(1, steps // 8)))
    ax.set_xlabel("time step")
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(-0.4, layers + 0.4)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"kernel {kernel_size}: the last output sees {len(needed[0])} inputs",
                 fontsize=10)
    fig.tight_layout()
    return fig


def horizon_bands_figure(errors: Mapping[str, np.ndarray], *, ylabel: str = "test MSE"
                         ) -> Figure:
    """``errors[name]``: ``(seeds, H)`` per-seed errors at horizons ``1..H`` (or ``(H,)`` for
    a forecaster without seeds). Each line is the mean over seeds; its band spans the lowest
    and the highest seed."""
    fig, axes = white_subplots(1, 1, figsize=(MAX_WIDTH_IN, 3.8))
    ax = axes[0, 0]
    markers = "osD^vx"
    for i, (name, err) in enumerate(errors.items()):
        err = np.atleast_2d(np.asarray(err, dtype=float))
        h = np.arange(1, err.shape[1] + 1)
        line, = ax.plot(h, err.mean(axis=0), marker=markers[i % len(markers)], markersize=4,
                        label=name)
        if len(err) > 1:
            ax.fill_between(h, err.min(axis=0), err.max(axis=0), color=line.get_color(),
                            alpha=0.2, linewidth=0)
    ax.set_xlabel("steps ahead, k")
    ax.set_ylabel(ylabel)
    ax.set_xticks(np.arange(1, err.shape[1] + 1))
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
