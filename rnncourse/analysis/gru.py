"""Chapter 8's GRU forms compared, and its parameters counted.

One GRU step in the book's row-vector notation, blocks in PyTorch's order ``r, z, n``
(the equations themselves live in :mod:`rnncourse.numpy.gru`)::

    r_t = σ(x_t Wx_r + bx_r + h_{t-1} Wh_r + bh_r)                    reset gate
    z_t = σ(x_t Wx_z + bx_z + h_{t-1} Wh_z + bh_z)                    update gate
    n_t = tanh(x_t Wx_n + bx_n + r_t ⊙ (h_{t-1} Wh_n + bh_n))         form="pytorch"
    n_t = tanh(x_t Wx_n + bx_n + (r_t ⊙ h_{t-1}) Wh_n + bh_n)         form="cho"
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

This module compares the two forms on the same weights (:func:`form_gap`,
:func:`coincidence_cases`, :func:`reset_sweep`), moves biases between ``bx`` and ``bh``
(:func:`merge_biases`) and counts parameters against ``torch`` (:func:`param_counts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnncourse._args import as_rng
from rnncourse.numpy import gru_step_forward

__all__ = [
    "Weights", "BLOCKS", "random_gru_weights", "form_gap", "coincidence_cases", "merge_biases",
    "reset_sweep", "param_counts",
]

Weights = dict[str, np.ndarray]  # keys Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,)


BLOCKS = ("r", "z", "n")


def _block(H: int, name: str) -> slice:
    if name not in BLOCKS:
        raise ValueError(f"block must be one of {BLOCKS}, got {name!r}")
    k = BLOCKS.index(name)
    return slice(k * H, (k + 1) * H)


def random_gru_weights(D: int, H: int, rng: np.random.Generator | int = 0,
                       scale: float = 1.0) -> Weights:
    """Random GRU weights, uniform in ``[-scale/sqrt(H), scale/sqrt(H)]`` like ``torch.nn.GRU``.

    Returns:
        ``{"Wx": (D, 3H), "Wh": (H, 3H), "bx": (3H,), "bh": (3H,)}``, blocks ``r, z, n``.
    """
    g = as_rng(rng, name="rng")
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
    g = as_rng(seed, name="rng")
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
    g = as_rng(seed, name="rng")
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
