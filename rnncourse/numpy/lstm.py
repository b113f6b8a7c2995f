"""The long short-term memory (LSTM) layer, forward and backward, in NumPy.

The book writes one step in two notations that are the same thing.  Olah's
column-vector form stacks the previous hidden state on top of the input and
uses one weight matrix per gate::

    f_t = sigma(W_f . [h_{t-1}, x_t] + b_f)
    i_t = sigma(W_i . [h_{t-1}, x_t] + b_i)
    g_t = tanh(W_g . [h_{t-1}, x_t] + b_g)       (Olah's C~_t)
    o_t = sigma(W_o . [h_{t-1}, x_t] + b_o)

Splitting each ``W_k`` into the columns that multiply ``h_{t-1}`` and those
that multiply ``x_t``, transposing to the row-vector, mini-batch notation, and
putting the four gates side by side in PyTorch's order i, f, g, o gives the
form this module computes, one matrix product per weight for all gates::

    a_t = x_t Wx + h_{t-1} Wh + b                 (N, 4H) = [a_i | a_f | a_g | a_o]
    i_t = sigma(a_i)        input gate
    f_t = sigma(a_f)        forget gate
    g_t = tanh(a_g)         candidate cell state
    o_t = sigma(a_o)        output gate
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

with ``x_t: (N, D)``, ``h_t, c_t: (N, H)``, ``Wx: (D, 4H)``, ``Wh: (H, 4H)``,
``b: (4H,)``; ``*`` is the element-wise product.  ``[h_{t-1}, x_t] W`` with
``W = [Wh; Wx]`` stacked row-wise is exactly ``x_t Wx + h_{t-1} Wh``.  These
arrays are PyTorch's ``weight_ih_l0.T``, ``weight_hh_l0.T`` and
``bias_ih_l0 + bias_hh_l0`` (see :mod:`rnncourse.convert`).

Everything after the two matrix products is element-wise and the same in a
single step and in a sequence, so it lives in two private helpers,
:func:`_cell_forward` (pre-activations -> gates, ``c_t``, ``h_t``) and
:func:`_cell_backward` (its gradient).  ``lstm_forward`` is the step equations
plus the input projection ``x_t Wx + b`` of every time step, computed in one
product before the loop; ``lstm_backward`` runs the step backward from
``t = T-1`` down to ``0`` and leaves the weight gradients, sums over time, to
single large products after the loop.  Inside, the sequence functions keep
their arrays time-major, ``(T, N, .)``, so that each step touches one
contiguous block of memory; inputs and outputs stay batch-first.  Like
:func:`rnncourse.numpy.rnn_forward`, the sequence functions take batches of
sequences of different lengths (``lengths=``, PyTorch's packed-sequence
semantics: at a padded step ``h`` and ``c`` are carried unchanged and the
output is 0; see :mod:`rnncourse.numpy.padding`).  The peephole variant
(:mod:`rnncourse.numpy.peephole`) reuses these pieces.
"""

from __future__ import annotations

import numpy as np

from ._validate import Cache, get_cache, prepare, upstream
from .activations import sigmoid
from .padding import real_steps

__all__ = [
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "lstm_init",
]

# Symbolic shapes of the weights, shared with the peephole LSTM.
_WEIGHT_SPECS: dict[str, tuple] = dict(Wx=("D", "4H"), Wh=("H", "4H"), b=("4H",))

# --------------------------------------------------------------------------- the element-wise part


def _blocks(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the last axis ``4H`` into the i, f, g, o blocks (views, PyTorch's order)."""
    H = a.shape[-1] // 4
    return a[..., :H], a[..., H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:]


def _cell_forward(
    a: np.ndarray, prev_c: np.ndarray,
    next_c: np.ndarray | None = None, next_h: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre-activations ``a: (N, 4H)`` and ``c_{t-1}`` -> ``(gates, c_t, h_t)``.

    The gates are computed *in place*: the returned ``gates`` is ``a`` itself,
    now holding ``[i | f | g | o]`` after their nonlinearities (with ``c_{t-1}``
    and ``c_t`` that is all the backward pass needs).  ``next_c`` and ``next_h``
    are optional output buffers.
    """
    i, f, g, o = _blocks(a)
    sigmoid(i, out=i)
    sigmoid(f, out=f)
    np.tanh(g, out=g)
    sigmoid(o, out=o)
    next_c = np.multiply(f, prev_c, out=next_c)
    next_c += i * g
    next_h = np.tanh(next_c, out=next_h)
    next_h *= o
    return a, next_c, next_h


def _output_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, o: np.ndarray, next_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Through ``h_t = o_t * tanh(c_t)``: return ``(da_o, dc_t)``.

    ``dc_t`` is the *total* gradient on ``c_t``: ``dnext_c`` (from ``c_{t+1}``,
    or from outside for the last step) plus the part that flows through ``h_t``.
    """
    tanh_c = np.tanh(next_c)
    do = dnext_h * tanh_c
    dc = dnext_c + dnext_h * o * (1 - tanh_c * tanh_c)
    return do * o * (1 - o), dc


def _memory_backward(
    dc: np.ndarray, i: np.ndarray, f: np.ndarray, g: np.ndarray, prev_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Through ``c_t = f_t * c_{t-1} + i_t * g_t`` and the gates' nonlinearities.

    Returns ``(da_i, da_f, da_g, dprev_c)``; ``sigma' = s (1 - s)``,
    ``tanh' = 1 - g^2``.
    """
    da_i = dc * g * i * (1 - i)
    da_f = dc * prev_c * f * (1 - f)
    da_g = dc * i * (1 - g * g)
    dprev_c = dc * f  # the "constant error carousel": no squashing on this path
    return da_i, da_f, da_g, dprev_c


def _cell_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, gates: np.ndarray, prev_c: np.ndarray,
    next_c: np.ndarray, out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of :func:`_cell_forward`: return ``(da: (N, 4H), dprev_c: (N, H))``.

    ``out`` is an optional ``(N, 4H)`` buffer for ``da``.
    """
    i, f, g, o = _blocks(gates)
    da_o, dc = _output_backward(dnext_h, dnext_c, o, next_c)
    da_i, da_f, da_g, dprev_c = _memory_backward(dc, i, f, g, prev_c)
    return np.concatenate([da_i, da_f, da_g, da_o], axis=-1, out=out), dprev_c


def _projection_backward(
    da: np.ndarray, x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Through ``a = x Wx + h_{t-1} Wh + b``, for one step or all steps at once.

    ``da``, ``x`` and ``prev_h`` are ``(N, 4H)``, ``(N, D)``, ``(N, H)`` or, for a
    sequence, ``(N, T, .)``; the weight gradients sum over every leading axis
    as one product over the flattened batch (and time) axis.
    Returns ``(dx, dWx, dWh, db)``.
    """
    da2 = da.reshape(-1, da.shape[-1])
    dWx = x.reshape(-1, x.shape[-1]).T @ da2
    dWh = prev_h.reshape(-1, prev_h.shape[-1]).T @ da2
    db = da2.sum(axis=0)
    dx = da @ Wx.T
    return dx, dWx, dWh, db


def _shifted(first: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """``(N, H)`` and ``(N, T, H)`` -> ``(N, T, H)`` holding ``s_{t-1}`` for every t."""
    return np.concatenate([first[:, None, :], seq], axis=1)[:, :seq.shape[1]]


def _final_upstream(where: str, dc_T: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """The optional upstream gradient on ``c_T`` (zeros when not given)."""
    if dc_T is None:
        return np.zeros_like(like)
    return upstream(where, "dc_T", dc_T, like)


# --------------------------------------------------------------------------- one step


def lstm_step_forward(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, Cache]:
    """One time step of the LSTM (equations in the module docstring).

    Args:
        x: ``(N, D)`` inputs at this step.
        prev_h: ``(N, H)`` hidden state from the previous step.
        prev_c: ``(N, H)`` cell state from the previous step.
        Wx: ``(D, 4H)`` input-to-hidden weights, blocks i, f, g, o.
        Wh: ``(H, 4H)`` hidden-to-hidden weights, blocks i, f, g, o.
        b: ``(4H,)`` bias, blocks i, f, g, o.

    Returns:
        ``next_h: (N, H)``, ``next_c: (N, H)`` and the cache for
        :func:`lstm_step_backward`.
    """
    where = "lstm_step_forward"
    x, prev_h, prev_c, Wx, Wh, b = prepare(
        where, dict(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b),
        dict(x=("N", "D"), prev_h=("N", "H"), prev_c=("N", "H"), **_WEIGHT_SPECS),
    )
    a = x @ Wx + prev_h @ Wh + b
    gates, next_c, next_h = _cell_forward(a, prev_c)
    cache = dict(kind="lstm_step", x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh,
                 gates=gates, next_c=next_c, next_h=next_h)
    return next_h, next_c, cache


def lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: Cache,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one step.

    With ``dc = dnext_c + dnext_h * o * (1 - tanh(c_t)^2)`` (``c_t`` feeds both
    ``h_t`` and ``c_{t+1}``)::

        da_i = dc * g * i (1 - i)             da_f = dc * c_{t-1} * f (1 - f)
        da_g = dc * i * (1 - g^2)             da_o = dnext_h * tanh(c_t) * o (1 - o)
        dprev_c = dc * f
        dx = da Wx^T     dprev_h = da Wh^T
        dWx = x^T da     dWh = h_{t-1}^T da     db = sum over the batch of da

    Args:
        dnext_h: ``(N, H)`` gradient of the loss with respect to ``next_h``.
        dnext_c: ``(N, H)`` gradient of the loss with respect to ``next_c``.
        cache: from :func:`lstm_step_forward`.

    Returns:
        ``(dx, dprev_h, dprev_c, dWx, dWh, db)``, shaped like the forward's
        arguments.
    """
    where = "lstm_step_backward"
    c = get_cache(where, cache, "lstm_step")
    dnext_h = upstream(where, "dnext_h", dnext_h, c["next_h"])
    dnext_c = upstream(where, "dnext_c", dnext_c, c["next_c"])
    da, dprev_c = _cell_backward(dnext_h, dnext_c, c["gates"], c["prev_c"], c["next_c"])
    dprev_h = da @ c["Wh"].T
    dx, dWx, dWh, db = _projection_backward(da, c["x"], c["prev_h"], c["Wx"])
    return dx, dprev_h, dprev_c, dWx, dWh, db


# --------------------------------------------------------------------------- a sequence


def lstm_forward(
    x: np.ndarray, h0: np.ndarray, c0: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, *, lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, Cache]:
    """Run the LSTM over a whole sequence.

    Args:
        x: ``(N, T, D)`` inputs, batch first.
        h0: ``(N, H)`` initial hidden state.
        c0: ``(N, H)`` initial cell state (zeros, unless you carry one over).
        Wx, Wh, b: as in :func:`lstm_step_forward`.
        lengths: optional ``(N,)`` integers in ``[1, T]``, the number of real
            steps of each sequence.  At a padded step ``h`` and ``c`` are
            carried unchanged and the output is 0 (a packed sequence in
            ``torch.nn.LSTM``, unpacked by ``pad_packed_sequence``).

    Returns:
        ``h: (N, T, H)``, the hidden state at every step (``h[:, -1]`` is
        ``h_T``), ``c_T: (N, H)``, the final cell state, and the cache for
        :func:`lstm_backward`.  Like ``torch.nn.LSTM``'s ``output, (h_n, c_n)``
        with ``h_n = h[:, -1]``; only the last cell state is returned.  With
        ``lengths``, ``c_T`` is each sequence's cell state after its last real
        step and ``h_n`` is ``last_states(h, lengths)``.
    """
    where = "lstm_forward"
    x, h0, c0, Wx, Wh, b = prepare(
        where, dict(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b),
        dict(x=("N", "T", "D"), h0=("N", "H"), c0=("N", "H"), **_WEIGHT_SPECS),
    )
    N, T, D = x.shape
    H = h0.shape[1]
    # (T, N, 1), time-major like the arrays below: the real steps
    mask = None if lengths is None else real_steps(where, lengths, N, T).T[..., None]
    # Inside, arrays are time-major, (T, N, .), so that every step reads and
    # writes one contiguous block.  hs[t] is h_{t-1}: hs[0] = h0, hs[t+1] = h_t.
    xt = np.ascontiguousarray(x.transpose(1, 0, 2))
    gates = (xt.reshape(T * N, D) @ Wx).reshape(T, N, 4 * H)  # x_t Wx, all t at once
    gates += b
    hs = np.empty((T + 1, N, H), dtype=gates.dtype)
    cs = np.empty((T + 1, N, H), dtype=gates.dtype)
    hs[0], cs[0] = h0, c0
    for t in range(T):
        a = gates[t]
        a += hs[t] @ Wh  # the pre-activations of step t, turned into gates in place
        if mask is None:
            _cell_forward(a, cs[t], next_c=cs[t + 1], next_h=hs[t + 1])
        else:  # padding: carry h and c unchanged
            _, next_c, next_h = _cell_forward(a, cs[t])
            cs[t + 1] = np.where(mask[t], next_c, cs[t])
            hs[t + 1] = np.where(mask[t], next_h, hs[t])
    out = hs[1:] if mask is None else np.where(mask, hs[1:], 0)  # padded outputs are 0
    h = np.ascontiguousarray(out.transpose(1, 0, 2))  # back to (N, T, H)
    c_T = cs[T].copy()
    cache = dict(kind="lstm", xt=xt, Wx=Wx, Wh=Wh, gates=gates, hs=hs, cs=cs, mask=mask)
    return h, c_T, cache


def lstm_backward(
    dh: np.ndarray, cache: Cache, dc_T: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time over the whole sequence.

    Args:
        dh: ``(N, T, H)`` gradient of the loss with respect to every hidden
            state *through the outputs only*; the gradient that flows from
            step ``t+1`` back into ``h_t`` and ``c_t`` is added here.
        cache: from :func:`lstm_forward`.
        dc_T: optional ``(N, H)`` gradient on the final cell state ``c_T``, e.g.
            when the LSTM is an encoder whose ``(h_T, c_T)`` start a decoder.
            (A gradient on ``h_T`` from outside goes into ``dh[:, -1]``;
            with ``lengths``, into ``dh[n, lengths[n] - 1]``.)  With
            ``lengths``, the gradient ``dh`` sends into padded outputs is
            ignored (they are constant zeros), and a padded step passes the
            gradients on its carried ``h`` and ``c`` straight back.

    Returns:
        ``(dx, dh0, dc0, dWx, dWh, db)``. The weight gradients are sums over
        all time steps, because the same weights are used at every step.
    """
    where = "lstm_backward"
    ca = get_cache(where, cache, "lstm")
    hs, cs, gates, xt = ca["hs"], ca["cs"], ca["gates"], ca["xt"]
    T, N, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    dh = upstream(where, "dh", dh, np.empty((N, T, H), dtype=hs.dtype))
    dprev_c = _final_upstream(where, dc_T, cs[0])
    dht = dh.transpose(1, 0, 2)  # (T, N, H) view
    WhT = np.ascontiguousarray(ca["Wh"].T)  # a contiguous copy: far faster products
    da = np.empty_like(gates)  # gradient w.r.t. the pre-activations a_t, every t
    dprev_h = np.zeros_like(hs[0])
    mask = ca.get("mask")
    for t in reversed(range(T)):
        # h_t and c_t receive gradient from the outputs and from step t+1.
        if mask is None:
            _, dprev_c = _cell_backward(dht[t] + dprev_h, dprev_c, gates[t], cs[t], cs[t + 1],
                                        out=da[t])
            dprev_h = da[t] @ WhT
        else:  # at a padded step h_t = h_{t-1}, c_t = c_{t-1}: the gradients pass through
            m = mask[t]
            _, dc = _cell_backward(dht[t] + dprev_h, dprev_c, gates[t], cs[t], cs[t + 1],
                                   out=da[t])
            da[t] = np.where(m, da[t], 0)
            dprev_c = np.where(m, dc, dprev_c)
            dprev_h = np.where(m, da[t] @ WhT, dprev_h)
    # The sums over time: one product each over all T*N rows.
    da2 = da.reshape(T * N, 4 * H)
    dWx = xt.reshape(T * N, -1).T @ da2
    dWh = hs[:-1].reshape(T * N, H).T @ da2
    db = da2.sum(axis=0)
    dx = (da2 @ np.ascontiguousarray(ca["Wx"].T)).reshape(T, N, -1).transpose(1, 0, 2)
    return np.ascontiguousarray(dx), dprev_h, dprev_c, dWx, dWh, db


# --------------------------------------------------------------------------- initialisation


def lstm_init(
    input_size: int, hidden_size: int, rng: np.random.Generator | int,
    forget_bias: float | None = 1.0, dtype: type | np.dtype = np.float64,
) -> dict[str, np.ndarray]:
    """Initial ``Wx, Wh, b`` for an LSTM with ``D = input_size``, ``H = hidden_size``.

    Every entry is drawn from ``U(-1/sqrt(H), 1/sqrt(H))``, as PyTorch does,
    then the forget block ``b[H:2H]`` is set to ``forget_bias``.

    Args:
        input_size: ``D``.
        hidden_size: ``H``.
        rng: a ``numpy.random.Generator`` or an integer seed.
        forget_bias: value of the forget-gate bias; ``None`` keeps the uniform
            draw (PyTorch's default behaviour).
        dtype: ``np.float64`` (default) or ``np.float32``.

    Returns:
        ``dict(Wx=(D, 4H), Wh=(H, 4H), b=(4H,))``.
    """
    # PyTorch draws every bias from the same U(-1/sqrt(H), 1/sqrt(H)) as the
    # weights, the forget gate's included, so its forget bias starts around 0:
    # f = sigma(~0) ~ 0.5, and the cell state halves every step at first.  The
    # course's common trick (Gers et al. 2000; Jozefowicz et al. 2015; Keras's
    # unit_forget_bias) is a forget bias of 1: f ~ 0.73, so memory survives
    # longer from the start and gradients flow through c over more steps.
    # Note that torch.nn.LSTM has two biases that add up, bias_ih and bias_hh:
    # set the forget block of one to 1 and of the other to 0 to reproduce this.
    for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"lstm_init: {name} must be an int, got {type(v).__name__}")
        if v < 1:
            raise ValueError(f"lstm_init: {name} must be >= 1, got {v}")
    if isinstance(rng, bool) or not isinstance(rng, (np.random.Generator, int, np.integer)):
        raise TypeError(
            f"lstm_init: rng must be a numpy.random.Generator or an int seed, "
            f"got {type(rng).__name__}"
        )
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"lstm_init: dtype must be float64 or float32, got {dt}")
    if forget_bias is not None and not np.isfinite(forget_bias):
        raise ValueError(f"lstm_init: forget_bias must be finite, got {forget_bias}")
    rng = np.random.default_rng(rng)
    D, H = int(input_size), int(hidden_size)
    k = 1.0 / np.sqrt(H)
    Wx = rng.uniform(-k, k, size=(D, 4 * H)).astype(dt)
    Wh = rng.uniform(-k, k, size=(H, 4 * H)).astype(dt)
    b = rng.uniform(-k, k, size=4 * H).astype(dt)
    if forget_bias is not None:
        b[H:2 * H] = forget_bias
    return dict(Wx=Wx, Wh=Wh, b=b)
