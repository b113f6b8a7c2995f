"""The basic (Elman) recurrent layer, forward and backward, in NumPy.

One step, in the book's row-vector, mini-batch notation::

    a_t = x_t Wx + h_{t-1} Wh + b
    h_t = phi(a_t)                      phi = tanh (default) or relu

with ``x_t: (N, D)``, ``h_t: (N, H)``, ``Wx: (D, H)``, ``Wh: (H, H)``,
``b: (H,)``.  These are PyTorch's ``weight_ih_l0.T``, ``weight_hh_l0.T`` and
``bias_ih_l0 + bias_hh_l0`` (see :mod:`rnncourse.convert`).

The step functions are the lesson; the sequence functions are what you use.
``rnn_forward`` computes the input projection ``x_t Wx + b`` of every time
step in one matrix product before the loop, since it does not depend on the
previous state; only ``h_{t-1} Wh`` has to wait for the recurrence.
``rnn_backward`` runs the same step-backward equations from ``t = T-1`` down to
``0`` but leaves the weight gradients, which are sums over time, to one large
product after the loop.

Both take batches of sequences of different lengths: ``rnn_forward(...,
lengths=...)`` runs sequence ``n`` for its first ``lengths[n]`` steps only,
carries its state unchanged through the padding and outputs zeros there, as
PyTorch does for a packed sequence (see :mod:`rnncourse.numpy.padding`).
"""

from __future__ import annotations

import numpy as np

from ._validate import Cache, get_cache, prepare, upstream
from .activations import ACTIVATIONS, activation_grad, check_nonlinearity
from .padding import real_steps

__all__ = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"]

# --------------------------------------------------------------------------- one step


def rnn_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, Cache]:
    """One time step: ``h_t = phi(x_t Wx + h_{t-1} Wh + b)``.

    Args:
        x: ``(N, D)`` inputs at this step.
        prev_h: ``(N, H)`` hidden state from the previous step.
        Wx: ``(D, H)`` input-to-hidden weights.
        Wh: ``(H, H)`` hidden-to-hidden weights.
        b: ``(H,)`` bias.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Returns:
        ``next_h: (N, H)`` and the cache that :func:`rnn_step_backward` needs.
    """
    where = "rnn_step_forward"
    nonlinearity = check_nonlinearity(where, nonlinearity)
    x, prev_h, Wx, Wh, b = prepare(
        where, dict(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, b=b),
        dict(x=("N", "D"), prev_h=("N", "H"), Wx=("D", "H"), Wh=("H", "H"), b=("H",)),
    )
    next_h = ACTIVATIONS[nonlinearity](x @ Wx + prev_h @ Wh + b)
    cache = dict(kind="rnn_step", x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, next_h=next_h,
                 nonlinearity=nonlinearity)
    return next_h, cache


def rnn_step_backward(
    dnext_h: np.ndarray, cache: Cache,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one step.

    With ``da = dnext_h * phi'(a)`` (for tanh, ``phi'(a) = 1 - h_t^2``)::

        dx = da Wx^T     dprev_h = da Wh^T
        dWx = x^T da     dWh = h_{t-1}^T da     db = sum over the batch of da

    Args:
        dnext_h: ``(N, H)`` gradient of the loss with respect to ``next_h``.
        cache: from :func:`rnn_step_forward`.

    Returns:
        ``(dx, dprev_h, dWx, dWh, db)``, shaped like the forward's arguments.
    """
    where = "rnn_step_backward"
    c = get_cache(where, cache, "rnn_step")
    dnext_h = upstream(where, "dnext_h", dnext_h, c["next_h"])
    da = dnext_h * activation_grad(c["nonlinearity"], c["next_h"])
    dx = da @ c["Wx"].T
    dprev_h = da @ c["Wh"].T
    dWx = c["x"].T @ da
    dWh = c["prev_h"].T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


# --------------------------------------------------------------------------- a sequence


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    nonlinearity: str = "tanh", *, lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, Cache]:
    """Run the recurrence over a whole sequence.

    Args:
        x: ``(N, T, D)`` inputs, batch first.
        h0: ``(N, H)`` initial hidden state (zeros if you have nothing better).
        Wx, Wh, b, nonlinearity: as in :func:`rnn_step_forward`.
        lengths: optional ``(N,)`` integers in ``[1, T]``: sequence ``n`` is
            real for its first ``lengths[n]`` steps, the rest is padding.  At
            a padded step the state is carried unchanged (``h_t = h_{t-1}``)
            and the output is 0, as ``pad_packed_sequence`` returns it; the
            padded inputs are never read.

    Returns:
        ``h: (N, T, H)``, the hidden state at every step (``h[:, -1]`` is
        ``h_T``; with ``lengths``, ``last_states(h, lengths)`` is each
        sequence's final state), and the cache for :func:`rnn_backward`.
    """
    where = "rnn_forward"
    nonlinearity = check_nonlinearity(where, nonlinearity)
    x, h0, Wx, Wh, b = prepare(
        where, dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b),
        dict(x=("N", "T", "D"), h0=("N", "H"), Wx=("D", "H"), Wh=("H", "H"), b=("H",)),
    )
    phi = ACTIVATIONS[nonlinearity]
    N, T, _ = x.shape
    # (N, T, 1): the real steps
    mask = None if lengths is None else real_steps(where, lengths, N, T)[..., None]
    xa = x @ Wx + b  # (N, T, H): x_t Wx + b for every t at once
    h = np.empty((N, T, h0.shape[1]), dtype=xa.dtype)
    prev_h = h0
    for t in range(T):
        next_h = phi(xa[:, t] + prev_h @ Wh)
        if mask is None:
            prev_h = h[:, t] = next_h
        else:  # padding: carry the state, output 0
            prev_h = np.where(mask[:, t], next_h, prev_h)
            h[:, t] = np.where(mask[:, t], next_h, 0)
    cache = dict(kind="rnn", x=x, h0=h0, Wx=Wx, Wh=Wh, h=h, nonlinearity=nonlinearity,
                 mask=mask)
    return h, cache


def rnn_backward(
    dh: np.ndarray, cache: Cache,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time over the whole sequence.

    Args:
        dh: ``(N, T, H)`` gradient of the loss with respect to every hidden
            state *through the outputs only* (e.g. from the output layer);
            the gradient that flows from ``h_{t+1}`` back into ``h_t`` is added
            here.
        cache: from :func:`rnn_forward`.  With ``lengths``, the padded
            outputs are constants (zeros): the gradient ``dh`` sends into them is
            ignored, and a padded step passes the gradient on its carried state
            straight back to the step before.

    Returns:
        ``(dx, dh0, dWx, dWh, db)``. The weight gradients are sums over all
        time steps, because the same weights are used at every step (and
        ``dx`` is 0 at padded steps).
    """
    where = "rnn_backward"
    c = get_cache(where, cache, "rnn")
    h, h0, x, Wx, Wh, mask = c["h"], c["h0"], c["x"], c["Wx"], c["Wh"], c.get("mask")
    dh = upstream(where, "dh", dh, h)
    N, T, H = h.shape
    da = np.empty_like(h)  # gradient w.r.t. the pre-activation a_t, every t
    dprev_h = np.zeros_like(h0)
    WhT = np.ascontiguousarray(Wh.T)  # a contiguous copy: far faster products in the loop
    for t in reversed(range(T)):
        # h_t receives gradient from its output and from h_{t+1}.
        dh_t = dh[:, t] + dprev_h
        da[:, t] = dh_t * activation_grad(c["nonlinearity"], h[:, t])
        if mask is None:
            dprev_h = da[:, t] @ WhT
        else:  # a padded step copied h_{t-1}: its gradient goes straight back
            da[:, t] = np.where(mask[:, t], da[:, t], 0)
            dprev_h = np.where(mask[:, t], da[:, t] @ WhT, dprev_h)
    dh0 = dprev_h
    # Sums over time as single products over the flattened (N*T) axis.
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)  # h_{t-1} for every t
    da2 = da.reshape(N * T, H)
    dWx = x.reshape(N * T, -1).T @ da2
    dWh = h_prev.reshape(N * T, H).T @ da2
    db = da2.sum(axis=0)
    dx = da @ Wx.T
    return dx, dh0, dWx, dWh, db
