"""Figures and widgets of the book, one module per chapter: they only draw.

Every function here takes results (arrays, runs, trained models) and returns a
:class:`matplotlib.figure.Figure` or a widget; nothing here trains, samples, defines a
dataset or a model, or loads data (:mod:`rnncourse.data`, :mod:`rnncourse.models` and
:mod:`rnncourse.analysis` do; ``tests/test_layout.py`` checks it).

Every figure is drawn on a white background, so that it stays readable when the website
is shown in its dark theme (a transparent PNG would put black text on a dark page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rnncourse._args import as_rng as _as_rng

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def as_rng(rng: np.random.Generator | int) -> np.random.Generator:
    """A ``numpy.random.Generator``: ``rng`` itself, or a new one seeded with the int ``rng``."""
    return _as_rng(rng, name="rng")


def on_white(fig: Figure) -> Figure:
    """Give ``fig`` and all its axes a white background; returns ``fig``."""
    fig.patch.set_facecolor("white")
    for ax in fig.axes:
        ax.set_facecolor("white")
    return fig


# Figures are sized for a phone as well as a desktop: at most this wide (inches; shown
# at the inline backend's 100 CSS px per inch), so that a 390 px screen shows their 9 pt
# text at >= 6.5 px. Panels that would not fit side by side are stacked vertically.
MAX_WIDTH_IN = 6.4
# Pixels per CSS pixel of a figure in a notebook: PNGs are saved at twice the inline
# backend's resolution (200 dpi) and declare their 100-dpi size (the output's "width"
# metadata, which Jupyter and the website use), so they stay sharp on phones and
# high-density screens at the same displayed size. tests/test_figures_meta.py checks
# every figure stored in book/.
FIGURE_DENSITY = 2
# The smallest font size a figure uses (points); tests/test_figure_text.py checks it.
MIN_FONT_PT = 9


def white_subplots(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] | None = None,
                   **kwargs):
    """``plt.subplots(nrows, ncols, squeeze=False)`` on a white background.

    Created through pyplot, so that ``plt.show()`` displays the figure in a notebook.
    Returns ``(fig, axes)`` with ``axes`` a 2-D array.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **kwargs)
    return on_white(fig), axes


def _sharp_inline_figures() -> None:
    """In a notebook kernel with the inline backend, save figures at FIGURE_DENSITY x.

    IPython's "retina" format: a PNG at twice the backend's dpi whose output metadata
    gives the 1x width and height. Every chapter imports this package before drawing,
    so this is the one place that sets it. Elsewhere (scripts, tests) it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    import matplotlib

    if "inline" not in matplotlib.get_backend():
        return
    # pyplot first: importing it configures the inline backend, which would reset the
    # format chosen here
    import matplotlib.pyplot  # noqa: F401
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


_sharp_inline_figures()
