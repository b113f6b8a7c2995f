"""Truncated backpropagation through time (TBPTT) for the RNN, the LSTM and the GRU.

Full BPTT over a sequence of length ``T`` keeps all ``T`` steps in memory and sends
every gradient back to ``t = 0``.  Truncated BPTT cuts the sequence into chunks of
``chunk`` steps, ``[0, k), [k, 2k), ...`` (the last one may be shorter), and

* runs the forward pass chunk after chunk, carrying the state out of one chunk into
  the next, so the forward pass is exactly the full one;
* backpropagates only *within* each chunk: the carried-in state is treated as a
  constant input, so no gradient crosses a chunk boundary (in PyTorch you would
  write ``h = h.detach()`` there).

The gradient of a chunk is therefore the gradient of that chunk's loss with respect to
the weights *as if the sequence had started at the chunk with the carried state*.
Dependencies longer than ``chunk`` steps still shape the forward state, but the
gradient cannot learn them; that is the price of memory ``O(chunk)`` instead of
``O(T)`` and of updating the weights every ``chunk`` steps instead of once per
sequence.  With ``chunk >= T`` there is one chunk and TBPTT is full BPTT.

``tbptt_chunks`` yields one :class:`Chunk` per chunk and reads the weights in
``params`` anew at every chunk, so a training loop that updates them in place
between chunks trains with truncated BPTT.  With ``params = dict(Wx=Wx, Wh=Wh, b=b)``
and targets ``Y: (N, T, H)`` for the hidden states::

    def loss_fn(h, start):                      # squared error of the chunk's states
        err = h - Y[:, start:start + h.shape[1]]
        return 0.5 * np.sum(err**2), err
    for step in tbptt_chunks("rnn", x, h0, params, loss_fn, chunk=20):
        for name in params:
            params[name] -= lr * step.grads[name]   # in place: the next chunk sees it

``truncated_bptt`` runs all chunks without updating and returns the summed loss and
gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import as_float
from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward
from .rnn import rnn_backward, rnn_forward

__all__ = ["Chunk", "tbptt_chunks", "truncated_bptt"]

State = np.ndarray | tuple[np.ndarray, np.ndarray]
LossFn = Callable[[np.ndarray, int], tuple[float, np.ndarray]]

KINDS = ("rnn", "lstm", "gru")
# The weight arguments of each kind's forward function, and its keyword options.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "rnn": ("Wx", "Wh", "b"), "lstm": ("Wx", "Wh", "b"), "gru": ("Wx", "Wh", "bx", "bh"),
}
OPTIONS: dict[str, tuple[str, ...]] = {"rnn": ("nonlinearity",), "lstm": (), "gru": ("form",)}


@dataclass(frozen=True)
class Chunk:
    """What one chunk of truncated BPTT produced.

    Attributes:
        start, stop: the chunk covers time steps ``start <= t < stop``.
        loss: the chunk's loss, as returned by ``loss_fn``.
        grads: gradient of ``loss`` w.r.t. each weight, same keys and shapes as ``params``.
        state: the state carried out of the chunk, ``h: (N, H)`` or ``(h, c)`` for the LSTM.
    """

    start: int
    stop: int
    loss: float
    grads: dict[str, np.ndarray]
    state: State


# --------------------------------------------------------------------------- checks


def _check(
    where: str, kind: Any, x: Any, state0: Any, params: Any, loss_fn: Any, chunk: Any,
    options: dict[str, Any],
) -> np.ndarray:
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)):
        raise TypeError(f"{where}: chunk must be an int (time steps), got {type(chunk).__name__}")
    if chunk < 1:
        raise ValueError(f"{where}: chunk must be a positive number of time steps, got {chunk}")
    if not callable(loss_fn):
        raise TypeError(f"{where}: loss_fn must be callable as loss_fn(h_chunk, start)")
    if not isinstance(params, Mapping):
        raise TypeError(f"{where}: params must be a dict of arrays, got {type(params).__name__}")
    names = PARAM_NAMES[kind]
    missing = [k for k in names if k not in params]
    extra = [k for k in params if k not in names]
    if missing or extra:
        raise ValueError(
            f"{where}: params for kind={kind!r} must have the keys {', '.join(names)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else "")
        )
    unknown = [k for k in options if k not in OPTIONS[kind]]
    if unknown:
        accepted = ", ".join(OPTIONS[kind]) or "none"
        raise TypeError(
            f"{where}: unexpected option(s) {unknown} for kind={kind!r} (it accepts: {accepted})"
        )
    if kind == "lstm":
        if not isinstance(state0, (tuple, list)) or len(state0) != 2:
            raise TypeError(
                f"{where}: the LSTM's state0 must be a pair (h0, c0), "
                f"got {type(state0).__name__}"
            )
    elif isinstance(state0, tuple):
        raise TypeError(
            f"{where}: kind={kind!r} carries one state h0: (N, H), got a tuple of "
            f"{len(state0)}; a pair (h0, c0) is for kind='lstm'"
        )
    x = as_float(f"{where}: x", x)
    if x.ndim != 3 or x.shape[1] < 1:
        raise ValueError(
            f"{where}: x must be a 3-D array (N, T, D) with T >= 1, got shape {x.shape}"
        )
    return x


def _call_loss(loss_fn: LossFn, h: np.ndarray, start: int) -> tuple[float, np.ndarray]:
    view = h.view()
    view.flags.writeable = False  # the backward pass still needs h
    out = loss_fn(view, start)
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(
            f"tbptt: loss_fn must return (loss, dh_chunk), got {type(out).__name__}"
        )
    return float(out[0]), out[1]


# --------------------------------------------------------------------------- one chunk


def _forward_backward(
    kind: str, x: np.ndarray, state: Any, p: dict[str, Any], loss_fn: LossFn, start: int,
    options: dict[str, Any],
) -> tuple[float, dict[str, np.ndarray], State]:
    """Forward and backward over one chunk, the carried-in ``state`` held constant."""
    if kind == "rnn":
        h, cache = rnn_forward(x, state, p["Wx"], p["Wh"], p["b"], **options)
        loss, dh = _call_loss(loss_fn, h, start)
        _, _, dWx, dWh, db = rnn_backward(dh, cache)  # dh0 is dropped: the truncation
        return loss, dict(Wx=dWx, Wh=dWh, b=db), h[:, -1].copy()
    if kind == "gru":
        h, cache = gru_forward(x, state, p["Wx"], p["Wh"], p["bx"], p["bh"], **options)
        loss, dh = _call_loss(loss_fn, h, start)
        _, _, dWx, dWh, dbx, dbh = gru_backward(dh, cache)
        return loss, dict(Wx=dWx, Wh=dWh, bx=dbx, bh=dbh), h[:, -1].copy()
    h0, c0 = state
    h, c_T, cache = lstm_forward(x, h0, c0, p["Wx"], p["Wh"], p["b"])
    loss, dh = _call_loss(loss_fn, h, start)
    _, _, _, dWx, dWh, db = lstm_backward(dh, cache)  # no gradient on c_T from later
    return loss, dict(Wx=dWx, Wh=dWh, b=db), (h[:, -1].copy(), c_T)


def _chunks(
    kind: str, x: np.ndarray, state: Any, params: Mapping[str, Any], loss_fn: LossFn,
    chunk: int, options: dict[str, Any],
) -> Iterator[Chunk]:
    T = x.shape[1]
    for start in range(0, T, chunk):
        stop = min(start + chunk, T)
        p = {k: params[k] for k in PARAM_NAMES[kind]}  # read anew: they may have been updated
        loss, grads, state = _forward_backward(kind, x[:, start:stop], state, p, loss_fn,
                                               start, options)
        yield Chunk(start=start, stop=stop, loss=loss, grads=grads, state=state)


# --------------------------------------------------------------------------- public


def tbptt_chunks(
    kind: str, x: np.ndarray, state0: State, params: Mapping[str, np.ndarray],
    loss_fn: LossFn, chunk: int, **options: Any,
) -> Iterator[Chunk]:
    """Truncated BPTT, one chunk at a time (see the module docstring for an example).

    Args:
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        x: ``(N, T, D)`` the whole input sequence.
        state0: ``h0: (N, H)``, or ``(h0, c0)`` for the LSTM.
        params: the weight arguments of that kind's forward function:
            ``Wx, Wh, b`` for the RNN and the LSTM, ``Wx, Wh, bx, bh`` for the GRU.
            Read anew at every chunk, so in-place updates between chunks take effect.
        loss_fn: ``loss_fn(h_chunk, start) -> (loss, dh_chunk)``; ``h_chunk: (N, k, H)``
            are the hidden states at steps ``start <= t < start + k`` (read-only), and
            ``dh_chunk`` is the gradient of ``loss`` with respect to them.
        chunk: the truncation length ``k``, a positive number of time steps.
        **options: passed on to the forward function: ``nonlinearity`` for the RNN,
            ``form`` for the GRU.

    Yields:
        A :class:`Chunk` per chunk, in time order, with the chunk's loss, the gradients
        of that loss w.r.t. ``params`` (backpropagated within the chunk only) and the
        state carried into the next chunk.

    Raises:
        ValueError, TypeError: at the call, for a bad ``kind``, ``chunk``, ``params``,
        ``state0``, option or ``x``; shape errors of the weights and the state are
        reported by the forward function at the first chunk.
    """
    x = _check("tbptt_chunks", kind, x, state0, params, loss_fn, chunk, options)
    return _chunks(kind, x, state0, params, loss_fn, int(chunk), options)


def truncated_bptt(
    kind: str, x: np.ndarray, state0: State, params: Mapping[str, np.ndarray],
    loss_fn: LossFn, chunk: int, **options: Any,
) -> tuple[float, dict[str, np.ndarray], State]:
    """Sum the losses and the truncated gradients of all chunks, updating nothing.

    Arguments as in :func:`tbptt_chunks`.

    Returns:
        ``(loss, grads, state_T)``: the total loss, the sum over chunks of each chunk's
        gradient (keys as in ``params``), and the final state (``h_T`` or
        ``(h_T, c_T)``), which is the full forward pass's: truncation changes only
        the gradients.
    """
    x = _check("truncated_bptt", kind, x, state0, params, loss_fn, chunk, options)
    total = 0.0
    grads: dict[str, np.ndarray] = {}
    state: Any = state0
    for step in _chunks(kind, x, state0, params, loss_fn, int(chunk), options):
        total += step.loss
        for k, g in step.grads.items():
            grads[k] = grads[k] + g if k in grads else g
        state = step.state
    return total, grads, state
