"""Figures of chapter 11, *Recurrent networks today*.

:func:`scan_rounds_figure` draws which positions a scan combines in each round: the
sequential loop's chain beside Hillis and Steele's doubling offsets. It only draws the
dependency pattern of the two algorithms for a given ``T`` (the algorithms themselves are
in :mod:`rnncourse.numpy.scan`). Returns a :class:`matplotlib.figure.Figure` on white.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from rnncourse.figures import MAX_WIDTH_IN, white_subplots

__all__ = ["scan_rounds_figure"]

INK = "#1a1a1a"
NEW = "#2e86c1"


def _edges_sequential(T: int) -> list[list[tuple[int, int]]]:
    return [[(t - 1, t)] for t in range(1, T)]


def _edges_hillis_steele(T: int) -> list[list[tuple[int, int]]]:
    rounds, d = [], 1
    while d < T:
        rounds.append([(t - d, t) for t in range(d, T)])
        d *= 2
    return rounds


def scan_rounds_figure(T: int = 8) -> Figure:
    """Two panels, rounds top to bottom: the loop (``T - 1`` rounds, one combine each) and
    Hillis-Steele (``ceil(log2 T)`` rounds; in round ``k`` position ``t`` reads ``t - 2^k``).

    Each dot is a time step; an arrow from ``s`` to ``t`` is one application of ``∘``.
    """
    if not 2 <= T <= 16:
        raise ValueError(f"scan_rounds_figure: T must be between 2 and 16, got {T}")
    panels = (("the loop", _edges_sequential(T)),
              ("Hillis–Steele scan", _edges_hillis_steele(T)))
    heights = [len(r) for _, r in panels]
    fig, axes = white_subplots(2, 1, figsize=(MAX_WIDTH_IN, 1.0 + 0.42 * sum(heights) + 1.2),
                               gridspec_kw={"height_ratios": [h + 1 for h in heights]})
    for ax, (title, rounds) in zip(axes[:, 0], panels, strict=True):
        R = len(rounds)
        for level in range(R + 1):
            ax.scatter(range(T), [level] * T, s=28, color=INK, zorder=3)
        for level, edges in enumerate(rounds):
            for s, t in edges:
                ax.add_patch(FancyArrowPatch((s, level), (t, level + 1), arrowstyle="-|>",
                                             mutation_scale=8, color=NEW, linewidth=1.0,
                                             shrinkA=3, shrinkB=3))
                ax.add_patch(FancyArrowPatch((t, level), (t, level + 1), arrowstyle="-",
                                             color="#bbbbbb", linewidth=0.8, shrinkA=3,
                                             shrinkB=3))
        ax.set_ylim(R + 0.5, -0.5)
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_xticks(range(T), [f"{t + 1}" for t in range(T)])
        ax.set_yticks(range(R + 1), ["input"] + [f"round {k + 1}" for k in range(R)])
        ax.set_title(f"{title}: {R} rounds, {sum(len(e) for e in rounds)} combines")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    axes[-1, 0].set_xlabel("time step t")
    fig.tight_layout()
    return fig
