"""Measurements, figures and the widget of chapter 5 (vanishing and exploding gradients).

The basic layer, in the book's row-vector notation (``h_t: (H,)`` a row)::

    a_t = x_t Wx + h_{t-1} Wh + b,        h_t = phi(a_t)

One step back in time multiplies by the step Jacobian (entry ``[i, j]`` is
``d h_{t,i} / d h_{t-1,j}``)::

    J_t = d h_t / d h_{t-1} = diag(phi'(a_t)) Wh^T                  (H, H)

and, by the chain rule, over ``T - t`` steps::

    d h_T / d h_t = J_T J_{T-1} ... J_{t+1}                        (H, H)

A gradient row ``g = dL/dh_T`` reaches ``h_t`` as ``g (d h_T / d h_t)``; the
spectral norm ``||d h_T / d h_t||_2`` is the most it can be stretched.

``nonlinearity`` is ``"tanh"``, ``"relu"`` (through :func:`rnncourse.numpy.rnn_forward`)
or ``"linear"`` (``phi(a) = a``, ``phi' = 1``, so the product is ``(Wh^T)^(T-t)``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from rnncourse.figures import as_rng, on_white
from rnncourse.numpy import (
    clip_grad_norm,
    clip_grad_value,
    lstm_init,
    lstm_step_backward,
    lstm_step_forward,
    rnn_forward,
)
from rnncourse.numpy.activations import activation_grad
from rnncourse.numpy.rnn import rnn_step_backward, rnn_step_forward

__all__ = [
    "matrix_with_spectral_radius", "spectral_radius", "RNNRun", "run_rnn",
    "step_jacobians", "jacobian_products", "jacobian_norms", "lstm_cell_jacobian_norms",
    "wh_gradient_by_step", "plot_jacobian_norms", "plot_radius_sweep", "plot_clipping",
    "radius_slider", "summarise_remedies", "plot_remedies",
]

NONLINEARITIES = ("linear", "tanh", "relu")




# --------------------------------------------------------------------------- recurrent matrices


def spectral_radius(W: np.ndarray) -> float:
    """``max |eigenvalue|`` of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def matrix_with_spectral_radius(
    H: int, radius: float, rng: np.random.Generator | int, kind: str = "orthogonal",
) -> np.ndarray:
    """A random ``(H, H)`` recurrent matrix whose spectral radius is ``radius``.

    Args:
        H: number of hidden units.
        radius: the spectral radius wanted, ``>= 0``.
        rng: a ``numpy.random.Generator`` or an integer seed.
        kind: ``"orthogonal"``: ``radius * Q`` with ``Q`` a random orthogonal matrix;
            every eigenvalue *and* every singular value is then ``radius``, so
            ``||W^k||_2 = radius^k`` exactly. ``"gaussian"``: a standard normal matrix
            rescaled by its own spectral radius (not normal: its powers may grow for a
            while before they follow ``radius^k``).

    Returns:
        ``W: (H, H)``.
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    g = as_rng(rng).standard_normal((H, H))
    if kind == "orthogonal":
        Q, R = np.linalg.qr(g)
        Q = Q * np.sign(np.diag(R))  # a uniformly random orthogonal matrix
        return radius * Q
    if kind == "gaussian":
        return radius * g / spectral_radius(g)
    raise ValueError(f"kind must be 'orthogonal' or 'gaussian', got {kind!r}")


# --------------------------------------------------------------------------- the measurement


class RNNRun(NamedTuple):
    """One sequence through a basic RNN: what the Jacobians need.

    ``x: (T, D)``, ``Wx: (D, H)``, ``b: (H,)``, ``h: (T, H)`` (row ``t - 1`` is
    ``h_t``; ``h_0 = 0``), ``dphi: (T, H)`` (row ``t - 1`` is ``phi'(a_t)``).
    """

    x: np.ndarray
    Wx: np.ndarray
    b: np.ndarray
    h: np.ndarray
    dphi: np.ndarray


def run_rnn(
    Wh: np.ndarray, T: int, nonlinearity: str = "tanh", rng: np.random.Generator | int = 0,
    *, input_size: int = 4, input_scale: float = 1.0, b: np.ndarray | None = None,
) -> RNNRun:
    """Run a basic RNN with recurrent matrix ``Wh`` on ``T`` random input steps.

    The inputs are standard normal, ``Wx`` is normal with standard deviation
    ``input_scale / sqrt(input_size)``, ``b`` is zero unless given, ``h_0 = 0``.

    Returns:
        An :class:`RNNRun` with the states and ``phi'(a_t)`` of every step.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    Wh = np.asarray(Wh, dtype=np.float64)
    H = Wh.shape[0]
    g = as_rng(rng)
    x = g.standard_normal((T, input_size))
    Wx = g.standard_normal((input_size, H)) * input_scale / np.sqrt(input_size)
    b = np.zeros(H) if b is None else np.asarray(b, dtype=np.float64)
    if nonlinearity == "linear":
        h = np.empty((T, H))
        prev = np.zeros(H)
        for t in range(T):
            prev = x[t] @ Wx + prev @ Wh + b
            h[t] = prev
        dphi = np.ones((T, H))
    else:
        h = rnn_forward(x[None], np.zeros((1, H)), Wx, Wh, b, nonlinearity)[0][0]
        dphi = activation_grad(nonlinearity, h)
    return RNNRun(x, Wx, b, h, dphi)


def step_jacobians(Wh: np.ndarray, dphi: np.ndarray) -> np.ndarray:
    """``J_t = diag(phi'(a_t)) Wh^T`` for ``t = 1..T``.

    Args:
        Wh: ``(H, H)`` recurrent weights (row-vector form, ``h_{t-1} Wh``).
        dphi: ``(T, H)``, row ``t - 1`` is ``phi'(a_t)``.

    Returns:
        ``J: (T, H, H)``, ``J[t - 1][i, j] = d h_{t,i} / d h_{t-1,j}``.
    """
    dphi = np.asarray(dphi, dtype=np.float64)
    return dphi[:, :, None] * np.asarray(Wh, dtype=np.float64).T[None]


def jacobian_products(Wh: np.ndarray, dphi: np.ndarray) -> np.ndarray:
    """``d h_T / d h_t = J_T ... J_{t+1}`` for every ``t = 0..T``.

    Built backwards from ``d h_T / d h_T = I``, one product per step:
    ``d h_T / d h_t = (d h_T / d h_{t+1}) J_{t+1}``.

    Args:
        Wh: ``(H, H)``.
        dphi: ``(T, H)`` as in :func:`step_jacobians`.

    Returns:
        ``P: (T + 1, H, H)`` with ``P[t] = d h_T / d h_t`` (``P[T] = I``).
    """
    J = step_jacobians(Wh, dphi)
    T, H = J.shape[0], J.shape[1]
    P = np.empty((T + 1, H, H))
    P[T] = np.eye(H)
    for t in range(T - 1, -1, -1):
        P[t] = P[t + 1] @ J[t]  # J[t] is J_{t+1}
    return P


def jacobian_norms(
    Wh: np.ndarray, T: int, nonlinearity: str = "tanh", rng: np.random.Generator | int = 0,
    **run_kwargs: Any,
) -> np.ndarray:
    """``||d h_T / d h_t||_2`` for ``t = 0..T`` on one random input sequence.

    Runs :func:`run_rnn` (``run_kwargs``: ``input_size``, ``input_scale``, ``b``),
    then multiplies the step Jacobians (:func:`jacobian_products`).

    Returns:
        ``norms: (T + 1,)``; ``norms[t]`` belongs to the distance ``T - t``, and
        ``norms[T] = 1``.
    """
    run = run_rnn(Wh, T, nonlinearity, rng, **run_kwargs)
    return np.linalg.norm(jacobian_products(Wh, run.dphi), ord=2, axis=(1, 2))


def lstm_cell_jacobian_norms(
    T: int, H: int, forget_bias: float, rng: np.random.Generator | int = 0,
    *, input_size: int = 4, path: str = "full",
) -> np.ndarray:
    """``||d c_T / d c_t||_2`` for ``t = 0..T`` through a NumPy LSTM.

    Weights from :func:`rnncourse.numpy.lstm_init` (PyTorch's uniform draw, forget
    bias ``forget_bias``), standard normal inputs, ``h_0 = c_0 = 0``. The Jacobian is
    taken with ``(h_t, c_t)`` as the state: ``c_t`` is perturbed, ``h_t`` held.

    How: the same sequence is run as a batch of ``H`` copies, and
    :func:`rnncourse.numpy.lstm_step_backward` is run from ``dc_T = I`` (row ``i``
    of the batch carries ``e_i``) and ``dh_T = 0``; the ``dprev_c`` it returns at
    step ``t + 1`` is then the whole matrix ``d c_T / d c_t``, one row per copy.

    ``path="cell"`` keeps only the additive cell path ``c_t = f_t * c_{t-1} + ...``,
    whose Jacobian is ``diag(f_T * ... * f_{t+1})``: its norm is ``max_i prod f``.

    Returns:
        ``norms: (T + 1,)``, ``norms[T] = 1``.
    """
    if path not in ("full", "cell"):
        raise ValueError(f"path must be 'full' or 'cell', got {path!r}")
    g = as_rng(rng)
    p = lstm_init(input_size, H, g, forget_bias=forget_bias)
    x = np.repeat(g.standard_normal((1, T, input_size)), H, axis=0)  # (H, T, D) copies
    prev_h, prev_c, caches = np.zeros((H, H)), np.zeros((H, H)), []
    for t in range(T):
        prev_h, prev_c, cache = lstm_step_forward(x[:, t], prev_h, prev_c, **p)
        caches.append(cache)
    norms = np.empty(T + 1)
    norms[T] = 1.0
    dh, dc = np.zeros((H, H)), np.eye(H)
    for t in range(T - 1, -1, -1):
        if path == "cell":
            dc = dc * caches[t]["gates"][:, H:2 * H]  # times f_{t+1}, element-wise
        else:
            _, dh, dc, _, _, _ = lstm_step_backward(dh, dc, caches[t])
        norms[t] = np.linalg.norm(dc, 2)  # dc = d c_T / d c_t (h_t held fixed)
    return norms


def wh_gradient_by_step(
    run: RNNRun, Wh: np.ndarray, dh_T: np.ndarray, nonlinearity: str = "tanh",
) -> np.ndarray:
    """Split ``dL/dWh`` into the contribution of each step, for a loss on ``h_T`` only.

    ``dL/dWh = sum_t h_{t-1}^T da_t``: the term of step ``t`` is what
    :func:`rnncourse.numpy.rnn_step_backward` returns as ``dWh`` at that step.

    Args:
        run: from :func:`run_rnn` with the same ``Wh`` (``"tanh"`` or ``"relu"``).
        Wh: ``(H, H)``.
        dh_T: ``(H,)``, the gradient of the loss with respect to ``h_T``.

    Returns:
        ``dWh_t: (T, H, H)``; row ``t - 1`` is step ``t``'s term. They sum to
        ``rnn_backward``'s ``dWh``.
    """
    T, H = run.h.shape
    prev, caches = np.zeros((1, H)), []
    for t in range(T):
        prev, cache = rnn_step_forward(run.x[t][None], prev, run.Wx, Wh, run.b, nonlinearity)
        caches.append(cache)
    out = np.empty((T, H, H))
    dh = np.asarray(dh_T, dtype=np.float64)[None]
    for t in range(T - 1, -1, -1):
        _, dh, _, out[t], _ = rnn_step_backward(dh, caches[t])
    return out


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


def radius_slider(T: int = 60, H: int = 32, seed: int = 0) -> Any:
    """An ``ipywidgets.interact`` slider for the spectral radius of ``Wh = radius * Q``.

    Each move redraws ``||d h_T / d h_t||`` for the linear, tanh and relu RNN.
    Returns the ``ipywidgets.interactive`` widget that ``interact`` builds and displays.
    """
    import ipywidgets as widgets

    Q = matrix_with_spectral_radius(H, 1.0, seed)

    def draw(radius: float = 1.0) -> None:
        curves = {nl: jacobian_norms(radius * Q, T, nl, seed + 1) for nl in NONLINEARITIES}
        ax = plot_jacobian_norms(curves, title=f"spectral radius {radius:.2f}")
        ax.set_ylim(1e-12, 1e8)
        ax.figure.tight_layout()
        plt.show()

    slider = widgets.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.05,
                                 description="radius", continuous_update=False)
    return widgets.interact(draw, radius=slider).widget


# --------------------------------------------------------------------------- the remedies trained


def summarise_remedies(runs: list[dict]) -> dict[tuple[str, int], dict[str, Any]]:
    """Group the runs of ``scripts/sweep_ch05_remedies.py`` by configuration and length.

    Args:
        runs: dicts with at least ``config``, ``T``, ``test_mse``, ``baseline_mse`` and
            ``solved`` (one per seed).

    Returns:
        ``{(config, T): dict(n, solved, mean, sd, min, max, ratio)}`` in the order the
        pairs first appear: ``solved`` counts the solved runs, ``mean`` and ``sd`` (sample
        standard deviation) and ``min``/``max`` are of the test MSE, ``ratio`` is the list of
        ``test_mse / baseline_mse`` of every run.
    """
    from rnncourse.evidence import mean_std

    groups: dict[tuple[str, int], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["config"], int(r["T"])), []).append(r)
    out = {}
    for key, rows in groups.items():
        mse = [float(r["test_mse"]) for r in rows]
        mean, sd = mean_std(mse)
        out[key] = dict(n=len(rows), solved=sum(bool(r["solved"]) for r in rows), mean=mean,
                        sd=sd, min=min(mse), max=max(mse),
                        ratio=[float(r["test_mse"]) / float(r["baseline_mse"]) for r in rows])
    return out


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
