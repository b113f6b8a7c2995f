"""Measurements, figures and tables of chapter 8, *The gated recurrent unit (GRU)*.

One GRU step in the book's row-vector notation, blocks in PyTorch's order ``r, z, n``
(the equations themselves live in :mod:`rnncourse.numpy.gru`)::

    r_t = σ(x_t Wx_r + bx_r + h_{t-1} Wh_r + bh_r)                    reset gate
    z_t = σ(x_t Wx_z + bx_z + h_{t-1} Wh_z + bh_z)                    update gate
    n_t = tanh(x_t Wx_n + bx_n + r_t ⊙ (h_{t-1} Wh_n + bh_n))         form="pytorch"
    n_t = tanh(x_t Wx_n + bx_n + (r_t ⊙ h_{t-1}) Wh_n + bh_n)         form="cho"
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

This module compares the two forms on the same weights (:func:`form_gap`,
:func:`coincidence_cases`, :func:`reset_sweep`), moves biases between ``bx`` and ``bh``
(:func:`merge_biases`), counts parameters against ``torch`` (:func:`param_counts`) and
draws the chapter's figures. Every figure function returns a
:class:`matplotlib.figure.Figure` with a white background (readable in light and dark
themes); the notebook calls ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from rnncourse.figures import as_rng, on_white
from rnncourse.numpy import gru_step_forward

__all__ = [
    "Weights", "BLOCKS", "random_gru_weights", "form_gap", "coincidence_cases",
    "merge_biases", "reset_sweep", "param_counts", "gru_cell_figure", "plot_reset_sweep",
    "plot_adding_results",
]

Weights = dict[str, np.ndarray]  # keys Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,)
BLOCKS = ("r", "z", "n")

GATE = "#cfe2f3"
CAND = "#fde2c8"
OP = "#f4f4f4"
INK = "#1a1a1a"
ACCENT = "#c0392b"




def _block(H: int, name: str) -> slice:
    if name not in BLOCKS:
        raise ValueError(f"block must be one of {BLOCKS}, got {name!r}")
    k = BLOCKS.index(name)
    return slice(k * H, (k + 1) * H)


# --------------------------------------------------------------------------- the two forms


def random_gru_weights(D: int, H: int, rng: np.random.Generator | int = 0,
                       scale: float = 1.0) -> Weights:
    """Random GRU weights, uniform in ``[-scale/sqrt(H), scale/sqrt(H)]`` like ``torch.nn.GRU``.

    Returns:
        ``{"Wx": (D, 3H), "Wh": (H, 3H), "bx": (3H,), "bh": (3H,)}``, blocks ``r, z, n``.
    """
    g = as_rng(rng)
    k = scale / np.sqrt(H)
    shapes = {"Wx": (D, 3 * H), "Wh": (H, 3 * H), "bx": (3 * H,), "bh": (3 * H,)}
    return {name: g.uniform(-k, k, size=shape) for name, shape in shapes.items()}


def form_gap(x: np.ndarray, prev_h: np.ndarray, w: Weights) -> float:
    """``max |h_t(pytorch) - h_t(cho)|`` for one step with the same weights.

    Args:
        x: ``(N, D)`` inputs; prev_h: ``(N, H)`` previous state; w: as
            :func:`random_gru_weights` returns.
    """
    h_pt, _ = gru_step_forward(x, prev_h, w["Wx"], w["Wh"], w["bx"], w["bh"], form="pytorch")
    h_cho, _ = gru_step_forward(x, prev_h, w["Wx"], w["Wh"], w["bx"], w["bh"], form="cho")
    return float(np.abs(h_pt - h_cho).max())


def coincidence_cases(D: int = 3, H: int = 4, N: int = 5,
                      seed: int = 0) -> list[tuple[str, float]]:
    """The gap between the forms (:func:`form_gap`) for weights where they differ or agree.

    The two candidates differ by ``r ⊙ (h Wh_n) + r ⊙ bh_n`` versus
    ``(r ⊙ h) Wh_n + bh_n``; they agree when ``r = 1``, or when ``Wh_n`` is diagonal
    and ``bh_n = 0`` (a diagonal matrix commutes with the element-wise scaling).

    Returns:
        ``(description, gap)`` pairs, in a fixed order.
    """
    g = as_rng(seed)
    x = g.standard_normal((N, D))
    h = g.standard_normal((N, H))
    base = random_gru_weights(D, H, g)
    r, n = _block(H, "r"), _block(H, "n")
    cases: list[tuple[str, float]] = [("random weights", form_gap(x, h, base))]

    w = {k: v.copy() for k, v in base.items()}
    w["bx"][r] = 40.0  # σ(40 + ...) == 1 in float64: the reset gate is wide open
    cases.append(("reset gate open (r = 1)", form_gap(x, h, w)))

    w = {k: v.copy() for k, v in base.items()}
    w["bx"][r] = -40.0  # r = 0 (to 1e-17): Cho drops h, PyTorch drops h Wh_n + bh_n
    cases.append(("reset gate shut (r = 0), bh_n != 0", form_gap(x, h, w)))
    w["bh"][n] = 0.0
    cases.append(("reset gate shut (r = 0), bh_n = 0", form_gap(x, h, w)))

    w = {k: v.copy() for k, v in base.items()}
    w["Wh"][:, n] = np.diag(g.uniform(-1, 1, H))
    cases.append(("Wh_n diagonal, bh_n != 0", form_gap(x, h, w)))
    w["bh"][n] = 0.0
    cases.append(("Wh_n diagonal, bh_n = 0", form_gap(x, h, w)))

    w = {k: v.copy() for k, v in base.items()}
    h0 = np.zeros_like(h)
    cases.append(("h_{t-1} = 0, bh_n != 0", form_gap(x, h0, w)))
    w["bh"][n] = 0.0
    cases.append(("h_{t-1} = 0, bh_n = 0", form_gap(x, h0, w)))
    return cases


def merge_biases(bx: np.ndarray, bh: np.ndarray,
                 blocks: Sequence[str] = BLOCKS) -> tuple[np.ndarray, np.ndarray]:
    """Move the hidden bias of the given blocks into the input bias.

    Args:
        bx, bh: ``(3H,)`` input and hidden biases, blocks ``r, z, n``.
        blocks: which blocks to merge, e.g. ``("r", "z")``.

    Returns:
        ``(bx + bh, 0)`` on the chosen blocks, ``(bx, bh)`` unchanged elsewhere. For
        ``r`` and ``z`` (and for ``n`` in Cho's form) the step computes the same
        function; for ``n`` in PyTorch's form it does not, because ``r_t`` multiplies
        ``bh_n`` but not ``bx_n``.
    """
    bx, bh = np.array(bx, dtype=float), np.array(bh, dtype=float)
    if bx.shape != bh.shape or bx.ndim != 1 or bx.shape[0] % 3:
        raise ValueError(f"bx and bh must both have shape (3H,), got {bx.shape} and {bh.shape}")
    H = bx.shape[0] // 3
    for name in blocks:
        s = _block(H, name)
        bx[s] += bh[s]
        bh[s] = 0.0
    return bx, bh


def reset_sweep(reset_biases: Sequence[float], D: int = 3, H: int = 8, N: int = 64,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Push the reset gate open or shut with an extra bias, and measure the forms' gap.

    Adds each value of ``reset_biases`` to ``bx_r`` of one set of random weights and runs
    one step on ``N`` random ``(x, h_{t-1})`` pairs.

    Returns:
        ``mean_r: (B,)``, the mean reset gate, and ``gap: (B,)``, the mean
        ``|h_t(pytorch) - h_t(cho)|`` over the batch and the units.
    """
    g = as_rng(seed)
    x = g.standard_normal((N, D))
    h = g.standard_normal((N, H))
    base = random_gru_weights(D, H, g, scale=2.0)
    r = _block(H, "r")
    mean_r, gap = [], []
    for b in reset_biases:
        bx = base["bx"].copy()
        bx[r] += b
        h_pt, c = gru_step_forward(x, h, base["Wx"], base["Wh"], bx, base["bh"], form="pytorch")
        h_cho, _ = gru_step_forward(x, h, base["Wx"], base["Wh"], bx, base["bh"], form="cho")
        mean_r.append(c["r"].mean())
        gap.append(np.abs(h_pt - h_cho).mean())
    return np.array(mean_r), np.array(gap)


# --------------------------------------------------------------------------- parameters


def param_counts(n: int, d: int) -> dict[str, dict[str, int]]:
    """Parameters of one RNN, LSTM and GRU layer (input ``n``, hidden ``d``), three ways.

    Returns:
        ``{cell: {"textbook": ..., "pytorch": ..., "torch.nn": ...}}`` for ``cell`` in
        ``rnn, lstm, gru``: the count with one bias per gate block, with PyTorch's two, and
        ``sum(p.numel())`` of the :mod:`rnncourse.torch` module (which equals
        ``torch.nn``'s).
    """
    import rnncourse.torch as rt
    from rnncourse.params import count_parameters

    modules = {"rnn": rt.RNN, "lstm": rt.LSTM, "gru": rt.GRU}
    out: dict[str, dict[str, int]] = {}
    for cell, module in modules.items():
        out[cell] = {
            "textbook": count_parameters(cell, n, d).total,
            "pytorch": count_parameters(cell, n, d, bias_convention="pytorch").total,
            "torch.nn": sum(p.numel() for p in module(n, d).parameters()),
        }
    return out


# --------------------------------------------------------------------------- figures




def _box(ax: Axes, xy: tuple[float, float], text: str, color: str, w: float = 1.0,
         h: float = 0.6) -> None:
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                facecolor=color, edgecolor=INK, linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=11, color=INK)


def _op(ax: Axes, xy: tuple[float, float], text: str, color: str = OP) -> None:
    ax.add_patch(Circle(xy, 0.26, facecolor=color, edgecolor=INK, linewidth=1.2))
    ax.text(*xy, text, ha="center", va="center", fontsize=11, color=INK)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float],
           color: str = INK) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=color, linewidth=1.3, shrinkA=2, shrinkB=2))


def _line(ax: Axes, pts: Sequence[tuple[float, float]], color: str = INK) -> None:
    xs, ys = zip(*pts, strict=True)
    ax.plot(xs, ys, color=color, linewidth=1.3, solid_capstyle="round")


def _cell(ax: Axes, form: str) -> None:
    """One GRU cell; the reset gate's ⊙ sits before (Cho) or after (PyTorch) ``Wh_n``."""
    ax.set_xlim(-0.6, 10.4)
    ax.set_ylim(-0.9, 6.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((0.3, 0.4), 9.0, 5.3, boxstyle="round,pad=0.1",
                                facecolor="none", edgecolor="#9a9a9a", linewidth=1.0))
    top = 5.0
    # the state line: h_{t-1} -> z ⊙ -> + -> h_t
    _line(ax, [(-0.4, top), (6.9, top)])
    _op(ax, (7.2, top), "⊙")
    _arrow(ax, (7.46, top), (8.24, top))
    _op(ax, (8.5, top), "+")
    _arrow(ax, (8.76, top), (10.3, top))
    ax.text(-0.5, top + 0.35, r"$h_{t-1}$", fontsize=12, color=INK)
    ax.text(9.6, top + 0.35, r"$h_t$", fontsize=12, color=INK)
    # x_t enters from below and feeds all three blocks
    _line(ax, [(1.0, -0.8), (1.0, 0.8), (6.0, 0.8)])
    ax.text(1.15, -0.75, r"$x_t$", fontsize=12, color=INK)
    for xg in (2.0, 4.0):
        _arrow(ax, (xg, 0.8), (xg, 1.8))
    # h_{t-1} feeds the gates
    _line(ax, [(1.5, top), (1.5, 3.3), (4.0, 3.3)])
    for xg in (2.0, 4.0):
        _arrow(ax, (xg, 3.3), (xg, 2.4))
    _box(ax, (2.0, 2.1), r"$\sigma$", GATE)
    _box(ax, (4.0, 2.1), r"$\sigma$", GATE)
    # gate names beside (not on) the arrows that bring x_t up to the gates
    ax.text(2.45, 1.45, r"$r_t$", ha="center", fontsize=11, color=INK)
    ax.text(4.45, 1.45, r"$z_t$", ha="center", fontsize=11, color=INK)
    # update gate: z ⊙ h_{t-1}, and 1 - z ⊙ n
    _line(ax, [(4.5, 2.1), (5.0, 2.1), (5.0, 4.3), (7.2, 4.3)])
    _arrow(ax, (7.2, 4.3), (7.2, top - 0.26))
    _op(ax, (7.2, 3.2), "1−")
    _arrow(ax, (7.2, 4.3), (7.2, 3.46))
    _op(ax, (8.5, 3.2), "⊙")
    _arrow(ax, (7.46, 3.2), (8.24, 3.2))
    _arrow(ax, (8.5, 3.46), (8.5, top - 0.26))
    # candidate n: tanh box fed by x (through Wx_n) and the reset path
    _box(ax, (8.5, 1.3), r"$\tanh$", CAND)
    ax.text(8.65, 2.1, r"$n_t$", fontsize=11, color=INK)   # inside the frame, by its arrow
    _arrow(ax, (8.5, 1.6), (8.5, 2.94))
    _line(ax, [(6.0, 0.8), (8.5, 0.8)])
    _arrow(ax, (8.5, 0.8), (8.5, 1.0))
    # reset path: h_{t-1} -> [⊙ r] -> Wh_n -> tanh   (Cho)   or   Wh_n -> ⊙ r (PyTorch)
    yr = 2.0
    _line(ax, [(6.0, top), (6.0, yr + 0.9)])
    first, second = ((6.0, yr + 0.6), (6.0, yr - 0.5))
    if form == "cho":
        _op(ax, first, "⊙", ACCENT)
        _arrow(ax, (6.0, yr + 0.9), (6.0, first[1] + 0.26))
        _box(ax, second, r"$W_{h,n}$", OP, w=1.1, h=0.55)
        _arrow(ax, (6.0, first[1] - 0.26), (6.0, second[1] + 0.28))
        r_to = first
        out = (second[0] + 0.55, second[1])
    else:
        _box(ax, first, r"$W_{h,n}$", OP, w=1.1, h=0.55)
        _arrow(ax, (6.0, yr + 0.9), (6.0, first[1] + 0.28))
        _op(ax, second, "⊙", ACCENT)
        _arrow(ax, (6.0, first[1] - 0.28), (6.0, second[1] + 0.26))
        r_to = second
        out = (second[0] + 0.26, second[1])
    if form == "cho":   # above the z box, straight to the ⊙ before W_{h,n}
        _line(ax, [(2.3, 2.4), (2.3, 2.75), (5.4, 2.75), (5.4, r_to[1])], ACCENT)
    else:               # below the z box, down to the ⊙ after W_{h,n}
        _line(ax, [(2.3, 2.4), (2.3, 2.75), (3.1, 2.75), (3.1, r_to[1] - 0.55),
                   (5.4, r_to[1] - 0.55), (5.4, r_to[1])], ACCENT)
    _arrow(ax, (5.4, r_to[1]), (r_to[0] - 0.26, r_to[1]), ACCENT)
    _line(ax, [out, (7.6, out[1]), (7.6, 1.3)])
    _arrow(ax, (7.6, 1.3), (7.95, 1.3))
    title = ("Cho et al. (2014): $(r_t \\odot h_{t-1})\\,W_{h,n}$" if form == "cho"
             else "PyTorch: $r_t \\odot (h_{t-1} W_{h,n} + b_{h,n})$")
    ax.set_title(title, fontsize=12, color=INK)


def gru_cell_figure() -> Figure:
    """The GRU cell twice: Cho et al.'s form (top) and PyTorch's (bottom).

    They differ only in where the reset gate's ``⊙`` (red) sits on the path from
    ``h_{t-1}`` into the candidate ``n_t``: before or after the product with ``Wh_n``.
    """
    # one above the other (each as wide as a side-by-side panel was), readable on a phone
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 9.0))
    for ax, form in zip(axes, ("cho", "pytorch"), strict=True):
        _cell(ax, form)
    fig.tight_layout()
    return on_white(fig)


def plot_reset_sweep(reset_biases: Sequence[float], mean_r: Sequence[float],
                     gap: Sequence[float]) -> Figure:
    """Mean reset gate (top) and the forms' mean gap (bottom) against the extra reset bias."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.2, 5.6), sharex=True)
    a1.plot(reset_biases, mean_r, "o-", color="#1f77b4")
    a1.set_xlabel("extra bias added to $b_{x,r}$")
    a1.set_ylabel("mean $r_t$")
    a1.set_ylim(-0.05, 1.05)
    a2.plot(reset_biases, gap, "o-", color=ACCENT)
    a2.set_xlabel("extra bias added to $b_{x,r}$")
    a2.set_ylabel("mean $|h_t^{\\rm PyTorch} - h_t^{\\rm Cho}|$")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    a1.set_xlabel("")
    fig.suptitle("Same weights, two forms:\nthey meet only where the reset gate is open")
    fig.tight_layout()
    return on_white(fig)


def plot_adding_results(results: Mapping[str, Mapping[int, float]], *,
                        ylabel: str = "test MSE", baseline: float | None = None) -> Figure:
    """One line per cell: a metric of the adding problem against the sequence length ``T``.

    Args:
        results: ``{cell name: {T: metric}}``, or ``{cell name: {T: [metric per seed]}}``:
            then one dot per seed and the line through the means.
        ylabel: the metric's name.
        baseline: draw a dashed line here (e.g. the MSE of always answering the mean).
    """
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colors = {"RNN": "#7f7f7f", "LSTM": "#1f77b4", "GRU": ACCENT}
    for j, (name, by_T) in enumerate(results.items()):
        Ts = sorted(by_T)
        values = {T: np.atleast_1d(np.asarray(by_T[T], dtype=float)) for T in Ts}
        ax.plot(Ts, [values[T].mean() for T in Ts], "o-", label=name, color=colors.get(name))
        for T in Ts:
            if len(values[T]) > 1:     # one dot per seed, shifted a little per cell
                ax.scatter(np.full(len(values[T]), T + (j - 1) * 0.6), values[T], s=12,
                           alpha=0.5, color=colors.get(name))
    if baseline is not None:
        ax.axhline(baseline, ls="--", color="#555555", label="predict the mean")
    ax.set_xlabel("sequence length $T$")
    ax.set_ylabel(ylabel)
    ax.set_xticks(sorted({T for by_T in results.values() for T in by_T}))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("The adding problem")
    fig.tight_layout()
    return on_white(fig)
