"""The peephole LSTM (Gers & Schmidhuber, 2000), forward and backward, in NumPy.

In the plain LSTM (:mod:`rnncourse.numpy.lstm`) the gates see ``x_t`` and
``h_{t-1}`` but not the cell state they control.  Gers & Schmidhuber
("Recurrent nets that time and count", 2000) let each gate *peek* at it
through a diagonal weight, one number per cell::

    a_t = x_t Wx + h_{t-1} Wh + b                 (N, 4H) = [a_i | a_f | a_g | a_o]
    i_t = sigma(a_i + p_i * c_{t-1})
    f_t = sigma(a_f + p_f * c_{t-1})
    g_t = tanh(a_g)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigma(a_o + p_o * c_t)                  the output gate sees the NEW cell state
    h_t = o_t * tanh(c_t)

with ``p: (3, H)`` holding the rows ``p_i, p_f, p_o`` and everything else as in
the LSTM (PyTorch's gate order i, f, g, o; ``*`` is the element-wise product).
The peepholes are diagonal, so they add only ``3H`` parameters to the LSTM's
``4H (D + H + 1)`` (``4H (D + H + 2)`` in PyTorch, which keeps two biases).
With ``p = 0`` this is exactly the plain LSTM.

PyTorch has no peephole LSTM; the tests compare this module with a direct
transcription of the equations above in torch autograd, and with
``torch.nn.LSTM`` at ``p = 0``.  Everything whose math is the same as the
LSTM's -- the gate blocks, the backward pass through ``h_t = o_t * tanh(c_t)``
and through ``c_t = f_t * c_{t-1} + i_t * g_t``, the weight gradients -- is
imported from :mod:`rnncourse.numpy.lstm`; only the peephole terms are new.
"""

from __future__ import annotations

import numpy as np

from ._validate import Cache, get_cache, prepare, upstream
from .activations import sigmoid
from .lstm import (
    _WEIGHT_SPECS,
    _blocks,
    _final_upstream,
    _memory_backward,
    _output_backward,
    _projection_backward,
    _shifted,
)

__all__ = [
    "peephole_lstm_step_forward", "peephole_lstm_step_backward",
    "peephole_lstm_forward", "peephole_lstm_backward",
]

_SPECS: dict[str, tuple] = dict(**_WEIGHT_SPECS, p=(3, "H"))

# --------------------------------------------------------------------------- the element-wise part


def _cell_forward(
    a: np.ndarray, prev_c: np.ndarray, p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre-activations ``a: (N, 4H)``, ``c_{t-1}`` and ``p`` -> ``(gates, c_t, h_t)``."""
    a_i, a_f, a_g, a_o = _blocks(a)
    p_i, p_f, p_o = p
    i = sigmoid(a_i + p_i * prev_c)
    f = sigmoid(a_f + p_f * prev_c)
    g = np.tanh(a_g)
    next_c = f * prev_c + i * g
    o = sigmoid(a_o + p_o * next_c)
    next_h = o * np.tanh(next_c)
    return np.concatenate([i, f, g, o], axis=-1), next_c, next_h


def _cell_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, gates: np.ndarray, prev_c: np.ndarray,
    next_c: np.ndarray, p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of :func:`_cell_forward`: ``(da: (N, 4H), dprev_c: (N, H))``.

    ``da`` is the gradient on ``a`` *and* on each gate's full pre-activation
    (``a_i + p_i * c_{t-1}`` etc.): the peephole term is added to ``a``.
    """
    i, f, g, o = _blocks(gates)
    p_i, p_f, p_o = p
    da_o, dc = _output_backward(dnext_h, dnext_c, o, next_c)
    dc = dc + da_o * p_o  # o_t peeks at c_t
    da_i, da_f, da_g, dprev_c = _memory_backward(dc, i, f, g, prev_c)
    dprev_c = dprev_c + da_i * p_i + da_f * p_f  # i_t and f_t peek at c_{t-1}
    return np.concatenate([da_i, da_f, da_g, da_o], axis=-1), dprev_c


def _peephole_grad(da: np.ndarray, prev_c: np.ndarray, next_c: np.ndarray) -> np.ndarray:
    """``dp: (3, H)``, summed over every leading (batch, and time) axis.

    ``dp_i = sum da_i * c_{t-1}``, ``dp_f = sum da_f * c_{t-1}``,
    ``dp_o = sum da_o * c_t``.
    """
    da_i, da_f, _, da_o = _blocks(da)
    axes = tuple(range(da.ndim - 1))
    return np.stack([(da_i * prev_c).sum(axis=axes), (da_f * prev_c).sum(axis=axes),
                     (da_o * next_c).sum(axis=axes)])


# --------------------------------------------------------------------------- one step


def peephole_lstm_step_forward(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, Cache]:
    """One time step of the peephole LSTM (equations in the module docstring).

    Args:
        x: ``(N, D)`` inputs at this step.
        prev_h: ``(N, H)`` hidden state from the previous step.
        prev_c: ``(N, H)`` cell state from the previous step.
        Wx: ``(D, 4H)`` input-to-hidden weights, blocks i, f, g, o.
        Wh: ``(H, 4H)`` hidden-to-hidden weights, blocks i, f, g, o.
        b: ``(4H,)`` bias, blocks i, f, g, o.
        p: ``(3, H)`` peephole weights, rows ``p_i, p_f, p_o``.

    Returns:
        ``next_h: (N, H)``, ``next_c: (N, H)`` and the cache for
        :func:`peephole_lstm_step_backward`.
    """
    where = "peephole_lstm_step_forward"
    x, prev_h, prev_c, Wx, Wh, b, p = prepare(
        where, dict(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b, p=p),
        dict(x=("N", "D"), prev_h=("N", "H"), prev_c=("N", "H"), **_SPECS),
    )
    a = x @ Wx + prev_h @ Wh + b
    gates, next_c, next_h = _cell_forward(a, prev_c, p)
    cache = dict(kind="peephole_lstm_step", x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh,
                 p=p, gates=gates, next_c=next_c, next_h=next_h)
    return next_h, next_c, cache


def peephole_lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: Cache,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one step.

    As in :func:`~rnncourse.numpy.lstm.lstm_step_backward`, plus the peephole
    paths: ``c_t`` also reaches the loss through ``o_t``, and ``c_{t-1}``
    through ``i_t`` and ``f_t``::

        da_o = dnext_h * tanh(c_t) * o (1 - o)
        dc   = dnext_c + dnext_h * o * (1 - tanh(c_t)^2) + da_o * p_o
        da_i, da_f, da_g as in the LSTM, from dc
        dprev_c = dc * f + da_i * p_i + da_f * p_f
        dp = [sum da_i * c_{t-1},  sum da_f * c_{t-1},  sum da_o * c_t]

    Args:
        dnext_h: ``(N, H)`` gradient of the loss with respect to ``next_h``.
        dnext_c: ``(N, H)`` gradient of the loss with respect to ``next_c``.
        cache: from :func:`peephole_lstm_step_forward`.

    Returns:
        ``(dx, dprev_h, dprev_c, dWx, dWh, db, dp)``, shaped like the
        forward's arguments.
    """
    where = "peephole_lstm_step_backward"
    c = get_cache(where, cache, "peephole_lstm_step")
    dnext_h = upstream(where, "dnext_h", dnext_h, c["next_h"])
    dnext_c = upstream(where, "dnext_c", dnext_c, c["next_c"])
    da, dprev_c = _cell_backward(dnext_h, dnext_c, c["gates"], c["prev_c"], c["next_c"],
                                 c["p"])
    dprev_h = da @ c["Wh"].T
    dx, dWx, dWh, db = _projection_backward(da, c["x"], c["prev_h"], c["Wx"])
    dp = _peephole_grad(da, c["prev_c"], c["next_c"])
    return dx, dprev_h, dprev_c, dWx, dWh, db, dp


# --------------------------------------------------------------------------- a sequence


def peephole_lstm_forward(
    x: np.ndarray, h0: np.ndarray, c0: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, Cache]:
    """Run the peephole LSTM over a whole sequence.

    Args:
        x: ``(N, T, D)`` inputs, batch first.
        h0: ``(N, H)`` initial hidden state.
        c0: ``(N, H)`` initial cell state.
        Wx, Wh, b, p: as in :func:`peephole_lstm_step_forward`.

    Returns:
        ``h: (N, T, H)``, the hidden state at every step, ``c_T: (N, H)``, the
        final cell state, and the cache for :func:`peephole_lstm_backward`.
    """
    where = "peephole_lstm_forward"
    x, h0, c0, Wx, Wh, b, p = prepare(
        where, dict(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b, p=p),
        dict(x=("N", "T", "D"), h0=("N", "H"), c0=("N", "H"), **_SPECS),
    )
    N, T, _ = x.shape
    H = h0.shape[1]
    xa = x @ Wx + b  # (N, T, 4H): x_t Wx + b for every t at once
    gates = np.empty_like(xa)
    h = np.empty((N, T, H), dtype=xa.dtype)
    c = np.empty((N, T, H), dtype=xa.dtype)
    prev_h, prev_c = h0, c0
    for t in range(T):
        gates[:, t], c[:, t], h[:, t] = _cell_forward(xa[:, t] + prev_h @ Wh, prev_c, p)
        prev_h, prev_c = h[:, t], c[:, t]
    c_T = prev_c.copy()
    cache = dict(kind="peephole_lstm", x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, p=p,
                 gates=gates, c=c, h=h)
    return h, c_T, cache


def peephole_lstm_backward(
    dh: np.ndarray, cache: Cache, dc_T: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time over the whole sequence.

    Args:
        dh: ``(N, T, H)`` gradient of the loss with respect to every hidden
            state through the outputs only.
        cache: from :func:`peephole_lstm_forward`.
        dc_T: optional ``(N, H)`` gradient on the final cell state.

    Returns:
        ``(dx, dh0, dc0, dWx, dWh, db, dp)``; the weight gradients, ``dp``
        included, are sums over all time steps.
    """
    where = "peephole_lstm_backward"
    ca = get_cache(where, cache, "peephole_lstm")
    h, c, gates, h0, c0, p = ca["h"], ca["c"], ca["gates"], ca["h0"], ca["c0"], ca["p"]
    dh = upstream(where, "dh", dh, h)
    dprev_c = _final_upstream(where, dc_T, c0)
    T = h.shape[1]
    c_prev = _shifted(c0, c)  # c_{t-1} for every t
    da = np.empty_like(gates)
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        da[:, t], dprev_c = _cell_backward(dh[:, t] + dprev_h, dprev_c, gates[:, t],
                                           c_prev[:, t], c[:, t], p)
        dprev_h = da[:, t] @ ca["Wh"].T
    dx, dWx, dWh, db = _projection_backward(da, ca["x"], _shifted(h0, h), ca["Wx"])
    dp = _peephole_grad(da, c_prev, c)
    return dx, dprev_h, dprev_c, dWx, dWh, db, dp
