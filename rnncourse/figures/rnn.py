"""Figures and the widget of chapter 2, *The recurrent neural network*.

Diagrams are drawn with matplotlib patches and arrows (no image files), on a white
figure background so that they read the same in the website's light and dark themes.
Every function returns the :class:`matplotlib.figure.Figure`; the notebook calls
``plt.show()``.

- :func:`unrolled_figure` -- a recurrent neuron (or a layer of them), folded and
  unrolled through time.
- :func:`architectures_figure` -- sequence-to-sequence, sequence-to-vector,
  vector-to-sequence and encoder--decoder networks.
- :func:`deep_rnn_figure` -- stacked recurrent layers.
- :func:`bidirectional_figure` -- a forward and a backward layer over one sequence.
- :func:`series_figure` -- univariate and multivariate series side by side.
- :func:`trend_seasonality_figure` -- a series split into trend, seasonality and noise.
- :func:`forecast_figure` -- a few series with the true next value and forecasts.
- :func:`forecast_explorer` -- the same, one series at a time, with a slider (no kernel needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from rnncourse.figures import MAX_WIDTH_IN, white_subplots
from rnncourse.figures.explore import Explorer, explore

__all__ = [
    "unrolled_figure", "architectures_figure", "deep_rnn_figure", "bidirectional_figure",
    "series_figure", "trend_seasonality_figure", "forecast_figure", "forecast_explorer",
]

CELL = "#cfe2f3"       # recurrent cells
CELL_BACK = "#fde2c8"  # the backward direction / the decoder
GREY = "#9a9a9a"       # ignored outputs, zero inputs
INK = "#1a1a1a"


# --------------------------------------------------------------------------- drawing helpers


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1) -> tuple[Figure, list]:
    fig, axes = white_subplots(nrows, ncols, figsize=(width, height))
    return fig, list(axes.flat)


def _diagram_axes(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def _box(ax: Axes, x: float, y: float, text: str = "", *, w: float = 0.9, h: float = 0.6,
         color: str = CELL, neurons: int = 0) -> None:
    """A rounded cell centred at ``(x, y)``; with ``neurons`` > 0, small circles inside."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.02,rounding_size=0.12",
                                fc=color, ec=INK, lw=1.2, zorder=2))
    if neurons:
        xs = np.linspace(x - w / 2 + w / (neurons + 1), x + w / 2 - w / (neurons + 1), neurons)
        for xi in xs:
            ax.add_patch(Circle((xi, y), min(0.09, w / (3 * neurons)), fc="white", ec=INK,
                                lw=1.0, zorder=3))
    elif text:
        ax.text(x, y, text, ha="center", va="center", fontsize=11, color=INK, zorder=3)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], *,
           color: str = INK, rad: float = 0.0, dashed: bool = False,
           style: str | None = None) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, lw=1.3,
                                 color=color, connectionstyle=style or f"arc3,rad={rad}",
                                 linestyle="--" if dashed else "-", shrinkA=0, shrinkB=0))


def _label(ax: Axes, x: float, y: float, text: str, color: str = INK, size: int = 11) -> None:
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=color)


def _check_steps(name: str, value: int, minimum: int = 1, maximum: int = 12) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an int in [{minimum}, {maximum}], got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- diagrams


def unrolled_figure(n_steps: int = 4, *, layer: bool = False) -> Figure:
    """A recurrent neuron (``layer=False``) or layer (``layer=True``), folded and unrolled.

    Left: the cell with its recurrent loop, ``h_t = f(x_t, h_{t-1})``. Right: the
    same cell drawn once per time step, ``t = 1 .. n_steps``: each copy gets the input
    ``x_t`` from below and the previous state from the left, and passes its state
    ``h_t`` up (as the output) and to the right (to the next step). All copies are
    the same cell with the same weights. A layer is drawn with three neurons in each
    cell and bold vector symbols.

    Returns:
        A figure with 2 axes (folded, unrolled).
    """
    n_steps = _check_steps("n_steps", n_steps)
    neurons = 3 if layer else 0
    v = (lambda s: rf"$\mathbf{{{s[0]}}}{s[1:]}$") if layer else (lambda s: f"${s}$")
    # at most MAX_WIDTH_IN wide (a phone's column), 8.6 in for 4 steps before
    width = min(2.2 + 1.6 * n_steps, MAX_WIDTH_IN)
    fig, (ax0, ax1) = _figure(width, 2.8 * width / (2.2 + 1.6 * n_steps), ncols=2)
    fig.subplots_adjust(wspace=0.05)
    fig.axes[0].set_position([0.0, 0.05, 0.2, 0.9])
    fig.axes[1].set_position([0.22, 0.05, 0.78, 0.9])

    # folded: one cell with a loop
    _diagram_axes(ax0, (-1.0, 1.2), (-1.4, 1.5))
    _box(ax0, 0, 0, "", neurons=neurons) if layer else _box(ax0, 0, 0, "$f$")
    _arrow(ax0, (0, -1.0), (0, -0.3))
    _label(ax0, 0, -1.2, v("x_t"))
    _arrow(ax0, (0, 0.3), (0, 1.0))
    _label(ax0, 0, 1.2, v("h_t"))
    _arrow(ax0, (0.45, 0.12), (0.45, -0.12),  # the recurrent loop
           style="arc,angleA=0,angleB=0,armA=22,armB=22,rad=8")
    _label(ax0, 0.85, 0.5, v("h_{t-1}"), size=9)

    # unrolled
    gap = 1.6
    _diagram_axes(ax1, (-1.3, gap * (n_steps - 1) + 1.0), (-1.4, 1.5))
    _label(ax1, -0.95, 0, v("h_0"))
    for k in range(n_steps):
        x = gap * k
        t = k + 1
        _box(ax1, x, 0, "", neurons=neurons) if layer else _box(ax1, x, 0, "$f$")
        _arrow(ax1, (x, -1.0), (x, -0.3))
        _label(ax1, x, -1.2, v(f"x_{t}"))
        _arrow(ax1, (x, 0.3), (x, 1.0))
        _label(ax1, x, 1.2, v(f"h_{t}"))
        _arrow(ax1, (x - gap + 0.45 if k else -0.7, 0), (x - 0.45, 0))
    ax1.annotate("", xy=(gap * (n_steps - 1) + 0.8, -1.38), xytext=(-0.6, -1.38),
                 arrowprops=dict(arrowstyle="-|>", color=GREY, lw=1.0))
    ax1.text(gap * (n_steps - 1) + 0.85, -1.38, "time", va="center", fontsize=9, color=GREY)
    return fig


def _chain(ax: Axes, xs: Sequence[float], y: float, color: str = CELL,
           back: bool = False) -> None:
    for x in xs:
        _box(ax, x, y, "", w=0.7, h=0.5, color=color)
    for a, b in zip(xs[:-1], xs[1:], strict=True):
        if back:
            _arrow(ax, (b - 0.35, y), (a + 0.35, y))
        else:
            _arrow(ax, (a + 0.35, y), (b - 0.35, y))


def architectures_figure() -> Figure:
    """Four ways to wire a recurrent layer to inputs and outputs.

    Sequence-to-sequence (an output at every step), sequence-to-vector (only the
    last output is used; the others, grey and dashed, are ignored),
    vector-to-sequence (one input, then zeros), and the encoder--decoder (a
    sequence-to-vector encoder whose final state starts a vector-to-sequence
    decoder).

    Returns:
        A figure with 4 axes.
    """
    fig, axes = _figure(6.4, 10.4, nrows=4)  # one above the other: readable on a phone
    titles = ["sequence-to-sequence", "sequence-to-vector",
              "vector-to-sequence", "encoder–decoder"]
    n = 4
    xs = [1.1 * k for k in range(n)]
    for idx, (ax, title) in enumerate(zip(axes, titles, strict=True)):
        _diagram_axes(ax, (-0.8, 7.0 if idx == 3 else 4.2), (-1.65, 1.35))
        ax.set_title(title, fontsize=11, color=INK)
        if idx < 3:
            _chain(ax, xs, 0)
            for k, x in enumerate(xs):
                zero_in = idx == 2 and k > 0
                _arrow(ax, (x, -0.9), (x, -0.25), color=GREY if zero_in else INK,
                       dashed=zero_in)
                _label(ax, x, -1.1, "0" if zero_in else f"$x_{k + 1}$",
                       color=GREY if zero_in else INK)
                ignored = idx == 1 and k < n - 1
                _arrow(ax, (x, 0.25), (x, 0.9), color=GREY if ignored else INK, dashed=ignored)
                _label(ax, x, 1.12, f"$y_{k + 1}$", color=GREY if ignored else INK)
        else:
            enc = [1.1 * k for k in range(3)]
            dec = [3.6 + 1.1 * k for k in range(3)]
            _chain(ax, enc, 0)
            _chain(ax, dec, 0, color=CELL_BACK)
            _arrow(ax, (enc[-1] + 0.35, 0), (dec[0] - 0.35, 0))
            _label(ax, (enc[-1] + dec[0]) / 2, 0.22, "$h_T$", size=10)
            for k, x in enumerate(enc):
                _arrow(ax, (x, -0.9), (x, -0.25))
                _label(ax, x, -1.1, f"$x_{k + 1}$")
            for k, x in enumerate(dec):
                _arrow(ax, (x, 0.25), (x, 0.9))
                _label(ax, x, 1.12, f"$y_{k + 1}$")
                src = "<s>" if k == 0 else f"$y_{k}$"
                _arrow(ax, (x, -0.9), (x, -0.25))
                _label(ax, x, -1.1, src, size=10)
            _label(ax, 1.1, -1.5, "encoder", size=9, color=GREY)
            _label(ax, 4.7, -1.5, "decoder", size=9, color=GREY)
    return fig


def deep_rnn_figure(n_layers: int = 3, n_steps: int = 4) -> Figure:
    """A deep (stacked) RNN: layer ``l`` reads the states of layer ``l - 1`` as its inputs.

    Returns:
        A figure with 1 axes holding ``n_layers * n_steps`` cells.
    """
    n_layers = _check_steps("n_layers", n_layers, maximum=6)
    n_steps = _check_steps("n_steps", n_steps)
    gx, gy = 1.3, 1.0
    fig, (ax,) = _figure(1.3 * n_steps + 1.5, 1.0 * n_layers + 1.6)
    _diagram_axes(ax, (-1.6, gx * (n_steps - 1) + 0.7), (-1.1, gy * (n_layers - 1) + 1.1))
    for layer in range(n_layers):
        y = gy * layer
        xs = [gx * k for k in range(n_steps)]
        _chain(ax, xs, y)
        _label(ax, -1.15, y, f"layer {layer + 1}", size=9, color=GREY)
        for k, x in enumerate(xs):
            _arrow(ax, (x, y - gy + 0.25 if layer else -0.8), (x, y - 0.25))
            if layer == 0:
                _label(ax, x, -0.95, f"$x_{k + 1}$")
    top = gy * (n_layers - 1)
    for k in range(n_steps):
        _arrow(ax, (gx * k, top + 0.25), (gx * k, top + 0.8))
        _label(ax, gx * k, top + 0.97, f"$y_{k + 1}$")
    return fig


def bidirectional_figure(n_steps: int = 4) -> Figure:
    """A bidirectional layer: a forward chain reads ``x_1 .. x_T``, a backward chain
    reads ``x_T .. x_1``; the output at step ``t`` joins both states,
    ``[h_t^fwd, h_t^bwd]``, so it depends on the whole sequence.

    Returns:
        A figure with 1 axes.
    """
    n_steps = _check_steps("n_steps", n_steps)
    gx = 1.5
    fig, (ax,) = _figure(1.5 * n_steps + 1.6, 3.6)
    _diagram_axes(ax, (-1.8, gx * (n_steps - 1) + 0.8), (-1.5, 1.9))
    xs = [gx * k for k in range(n_steps)]
    yf, yb, yo = -0.3, 0.7, 1.55
    _chain(ax, xs, yf)
    _chain(ax, xs, yb, color=CELL_BACK, back=True)
    _label(ax, -1.25, yf, "forward", size=9, color=GREY)
    _label(ax, -1.25, yb, "backward", size=9, color=GREY)
    for k, x in enumerate(xs):
        _arrow(ax, (x, -1.15), (x, yf - 0.25))
        _label(ax, x, -1.35, f"$x_{k + 1}$")
        _arrow(ax, (x - 0.08, -1.15), (x - 0.35, yb - 0.1), rad=-0.4)   # x_t -> backward
        _arrow(ax, (x + 0.35, yf + 0.05), (x + 0.1, yo - 0.15), rad=0.4)  # forward -> out
        _arrow(ax, (x, yb + 0.25), (x, yo - 0.15))                          # backward -> out
        _label(ax, x, yo + 0.05, f"$[h^{{→}}_{k + 1}, h^{{←}}_{k + 1}]$", size=9)
    return fig


# --------------------------------------------------------------------------- series


def series_figure(univariate: np.ndarray, multivariate: np.ndarray) -> Figure:
    """One univariate series ``(T,)`` next to one multivariate series ``(T, D)``.

    Returns:
        A figure with 2 axes.
    """
    uni = np.asarray(univariate, dtype=float)
    multi = np.asarray(multivariate, dtype=float)
    if uni.ndim != 1 or multi.ndim != 2:
        raise ValueError(f"expected univariate (T,) and multivariate (T, D), "
                         f"got {uni.shape} and {multi.shape}")
    fig, (a, b) = _figure(6.2, 5.4, nrows=2)
    a.plot(uni, ".-", lw=1, ms=3)
    a.set_title("univariate: one value per step", fontsize=11)
    for d in range(multi.shape[1]):
        b.plot(multi[:, d], ".-", lw=1, ms=3, label=f"channel {d + 1}")
    b.set_title(f"multivariate: {multi.shape[1]} values per step", fontsize=11)
    b.legend(fontsize=9, loc="upper right")
    for ax in (a, b):
        ax.set_xlabel("time step $t$")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def trend_seasonality_figure(trend: np.ndarray, season: np.ndarray,
                             noise: np.ndarray) -> Figure:
    """A series split into its parts, as :func:`rnncourse.data.series.trend_seasonality`
    returns them: the series ``trend + season + noise`` above, the three parts below.

    Returns:
        A figure with 2 axes: the series, and its three components.
    """
    trend, season, noise = (np.asarray(a, dtype=np.float64) for a in (trend, season, noise))
    if not trend.ndim == 1 or not trend.shape == season.shape == noise.shape:
        raise ValueError(f"trend, season and noise must be 1-D arrays of one length, got "
                         f"shapes {trend.shape}, {season.shape}, {noise.shape}")
    t = np.arange(len(trend))
    fig, (a, b) = _figure(6.2, 5.4, nrows=2)
    a.plot(t, trend + season + noise, ".-", lw=1, ms=3, color="C0")
    a.set_title("the series", fontsize=11)
    b.plot(t, trend, color="C1", label="trend (does not repeat)")
    b.plot(t, season, color="C2", label="seasonality (repeats every 12 steps)")
    b.plot(t, noise, color=GREY, lw=0.8, label="noise")
    b.set_title("its components", fontsize=11)
    b.legend(fontsize=9, loc="center left")
    for ax in (a, b):
        ax.set_xlabel("month $t$")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def forecast_figure(x: np.ndarray, y: np.ndarray, forecasts: Mapping[str, np.ndarray],
                    indices: Sequence[int] = (0, 1, 2)) -> Figure:
    """Series ``x: (N, T)``, their true next values ``y: (N,)``, and each model's forecast.

    Args:
        x: ``(N, T)`` inputs.
        y: ``(N,)`` the value at step ``T`` (drawn as a black cross).
        forecasts: model name -> ``(N,)`` forecasts (drawn as coloured markers).
        indices: which series to draw, one axes each.

    Returns:
        A figure with ``len(indices)`` axes.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"expected x (N, T) and y (N,), got {x.shape} and {y.shape}")
    indices = list(indices)
    T = x.shape[1]
    fig, axes = _figure(6.2, 2.5 * len(indices) + 0.4, nrows=len(indices))
    markers = "os^Dv<>"
    for ax, i in zip(axes, indices, strict=True):
        ax.plot(np.arange(T), x[i], ".-", lw=1, ms=3, color="C0")
        ax.plot([T], [y[i]], "x", color=INK, ms=9, mew=2, label="true next value")
        for k, (name, f) in enumerate(forecasts.items()):
            ax.plot([T], [np.asarray(f)[i]], markers[k % len(markers)], color=f"C{k + 1}",
                    ms=7, mfc="none", mew=1.5, label=name)
        ax.set_title(f"series {i}", fontsize=10)
        ax.set_xlabel("time step $t$")
        ax.grid(alpha=0.3)
        ax.set_xlim(T - 25, T + 2)
    axes[-1].legend(fontsize=9, loc="upper left", framealpha=0.9)
    fig.tight_layout()
    return fig


def forecast_explorer(x: np.ndarray, y: np.ndarray, forecasts: Mapping[str, np.ndarray],
                      n_series: int = 20) -> Explorer:
    """A slider over the first ``n_series`` series of :func:`forecast_figure`, one at a time.

    Every position is drawn in advance, so that the slider works with no kernel.
    Returns the :class:`~rnncourse.figures.explore.Explorer` (a notebook displays it).
    """
    x = np.asarray(x, dtype=float)
    n = min(int(n_series), len(x))
    if n < 1:
        raise ValueError(f"n_series must be at least 1, got {n_series}")

    def draw(i: int) -> Figure:
        return forecast_figure(x, y, forecasts, indices=[i])

    return explore(
        [("series", [str(i) for i in range(n)])], draw, [list(range(n))],
        caption=f"Move the slider through the first {n} of the {len(x):,} test series "
                "(drawn when the notebook ran).",
        alt="The last 25 steps of test series {}, its true next value (a cross) and each "
            "model's forecast of it (one marker per model).")
