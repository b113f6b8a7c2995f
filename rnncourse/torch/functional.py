"""Recurrent layers as functions: one layer, one direction, time-major.

These are the building blocks of the :mod:`rnncourse.torch` modules, written
from the equations with a hand-written backpropagation through time (BPTT).
They never call PyTorch's own recurrent kernels.

Notation (row vectors, a mini-batch of ``N`` rows, hidden size ``H``)::

    RNN     h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)      phi = tanh or relu

    LSTM    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh        gates in the order i, f, g, o
            i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
            c_t = f * c_{t-1} + i * g
            h_t = o * tanh(c_t)

    GRU     r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)   gates in the order r, z, n
            z = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
            n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
            h_t = (1 - z) * n + z * h_{t-1}

    Peephole LSTM (Gers & Schmidhuber, 2000): the LSTM with
            i = sigmoid(a_i + p_i * c_{t-1})   f = sigmoid(a_f + p_f * c_{t-1})
            o = sigmoid(a_o + p_o * c_t)       (the *new* cell state)

The weights have PyTorch's layout: ``W_ih: (G*H, D)`` and ``W_hh: (G*H, H)`` stack
the ``G`` gates' matrices (``G = 1, 4, 3``), so they load straight from a
``torch.nn.RNN/LSTM/GRU`` ``state_dict``.

Each layer is one custom :class:`torch.autograd.Function`, organised for speed:

* forward: the input projection ``x_t W_ih^T + b_ih (+ b_hh)`` does not depend
  on the recurrence, so it is computed for all ``T*N`` rows in one matrix
  product before the loop (``b_hh`` is folded into it where it is simply added:
  RNN and LSTM); per step only ``h_{t-1} W_hh^T`` is left.  The gate
  activations are applied in place in that buffer and kept for the backward.
* backward: the loop runs from ``t = T-1`` down to ``0``, applies the chain rule
  through one step's equations and writes the gradient of every pre-activation
  into one ``(T, N, G*H)`` buffer ``dA``; the only product left in the loop is
  ``dA_t W_hh``, the gradient flowing into ``h_{t-1}``.  The weights are shared
  by all steps, so their gradients are sums over time: they come after the
  loop, each as one large product over all ``T*N`` rows: ``dW_ih = dA^T X``,
  ``dW_hh = dA^T H_prev``, ``db = sum of dA`` and ``dx = dA W_ih``.

The per-step products have few rows (the batch) and the same weight at every step.
On the CPU in float32, and for weights of at least 2**17 entries, they run on oneDNN's
inner product with the weight reordered once per call (``_StepProduct``), about twice
as fast as ``torch.mm`` for such shapes; set ``RNNCOURSE_ONEDNN=0`` to use
``torch.mm`` everywhere.

Small layers spend most of their time on the per-operation overhead of
PyTorch, not on arithmetic, so the loops avoid operations they do not need:
the per-step views are made before the loop (``unbind``), and the derivatives
of ``sigmoid`` and ``tanh`` use PyTorch's fused kernels (one operation for
``dy * y * (1 - y)``).  Nothing here calls PyTorch's own RNN kernels.

Double backward (a gradient of a gradient, ``create_graph=True``) is not
supported: the backward raises a ``RuntimeError`` rather than return a
gradient that autograd cannot differentiate again.  Inputs that do not require
a gradient get ``None`` and their products are skipped.

Variable lengths: ``batch_sizes`` is the ``batch_sizes`` of a
:class:`torch.nn.utils.rnn.PackedSequence` (sequences sorted by decreasing
length; ``batch_sizes[t]`` of them are still running at step ``t``).  At step
``t`` only rows ``[:batch_sizes[t]]`` are updated, the other rows of ``out[t]``
are zero, and ``h_n`` (``c_n``) holds each sequence's state after its own last
step -- what ``torch.nn`` returns for a packed input.  Because the batch sizes
never increase, a row that is active at step ``t`` was also active at ``t-1``,
so its previous state is simply ``out[t-1]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

__all__ = ["rnn_layer", "lstm_layer", "gru_layer", "peephole_lstm_layer"]

# --------------------------------------------------------------------------- helpers


# Below this many weights, torch.mm's lower call overhead wins (measured: a 32 x 128 by
# 128 x 512 product takes 42 us with torch.mm, 52 us with oneDNN; at 64 x 256 by 256 x 768
# oneDNN wins, 154 against 202 us).
_ONEDNN_MIN_WEIGHTS = 1 << 17


def _onednn_usable(w: Tensor) -> bool:
    return (
        w.device.type == "cpu" and w.dtype == torch.float32
        and w.numel() >= _ONEDNN_MIN_WEIGHTS
        and os.environ.get("RNNCOURSE_ONEDNN", "1") != "0"
        and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    )


class _StepProduct:
    """``x @ w.t()`` for the one product per step that the recurrence leaves in the loop.

    These products have few rows (the batch) and a weight that is the same at every
    step. On the CPU in float32, oneDNN's inner product with the weight reordered
    once per call of the layer (``torch.ops.mkldnn._linear_pointwise``, the linear
    kernel that ``torch.compile`` uses on the CPU; not a recurrent kernel) runs them
    about twice as fast as ``torch.mm`` (measured on 2 cores: 200 against 100 GFLOP/s
    for a 20 x 650 by 650 x 2600 product). Elsewhere (CUDA, float64, a PyTorch
    without oneDNN, or ``RNNCOURSE_ONEDNN=0``) it is ``torch.mm``.
    """

    def __init__(self, w: Tensor, rows: int) -> None:
        self.w_t = w.t()  # for torch.mm
        self.packed: Tensor | None = None
        if _onednn_usable(w):
            try:
                self.packed = torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), rows)
                self._linear(w.new_zeros(1, w.shape[1]))  # a private op: check it runs here
            except Exception:  # another PyTorch version or build: stay on torch.mm
                self.packed = None

    def _linear(self, x: Tensor, bias: Tensor | None = None) -> Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, bias, "none", [], "")

    def add_(self, acc: Tensor, x: Tensor) -> Tensor:
        """``acc += x @ w.t()``."""
        if self.packed is None:
            return acc.addmm_(x, self.w_t)
        return acc.add_(self._linear(x))

    def into(self, out: Tensor, x: Tensor, bias: Tensor | None = None,
             add: Tensor | None = None) -> Tensor:
        """``out = x @ w.t() (+ bias) (+ add)``."""
        if self.packed is None:
            if add is not None:
                return torch.addmm(add, x, self.w_t, out=out)
            if bias is not None:
                return torch.addmm(bias, x, self.w_t, out=out)
            return torch.mm(x, self.w_t, out=out)
        y = self._linear(x, bias)
        return torch.add(y, add, out=out) if add is not None else out.copy_(y)


def _first_order_only(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse ``create_graph=True``: the hand-written backward is not itself differentiable.

    (``torch.autograd.function.once_differentiable`` only complains when the incoming
    gradient requires grad, and otherwise silently drops second-order terms.)
    """

    @wraps(backward)
    def wrapper(ctx: FunctionCtx, *grads: Tensor) -> Any:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "rnncourse.torch: double backward (create_graph=True) is not supported by the "
                "hand-written BPTT of the recurrent layers"
            )
        return backward(ctx, *grads)

    return wrapper


def _step_sizes(batch_sizes: Tensor | None, T: int, N: int) -> list[int]:
    """The number of active rows at every step, as Python ints (``[N] * T`` if unpacked)."""
    if batch_sizes is None:
        return [N] * T
    if not isinstance(batch_sizes, Tensor) or batch_sizes.dim() != 1:
        raise ValueError("batch_sizes must be a 1-D integer tensor (a PackedSequence's)")
    steps = [int(b) for b in batch_sizes.tolist()]  # a CPU tensor: no device sync
    if len(steps) != T:
        raise ValueError(f"batch_sizes has {len(steps)} entries but the input has T={T} steps")
    if steps[0] != N or any(b < a for a, b in zip(steps[1:], steps, strict=False)) or steps[-1] < 1:
        raise ValueError(
            f"batch_sizes must start at the batch size N={N}, never increase and stay >= 1; "
            f"got {steps}"
        )
    return steps


def _check(
    where: str, x: Tensor, states: dict[str, Tensor], w_ih: Tensor, w_hh: Tensor,
    b_ih: Tensor | None, b_hh: Tensor | None, gates: int,
) -> tuple[int, int, int]:
    """Check the shapes of one layer's arguments; return ``(T, N, H)``."""
    if x.dim() != 3:
        raise ValueError(f"{where}: x must be (T, N, D), got shape {tuple(x.shape)}")
    T, N, D = x.shape
    if T == 0:
        raise ValueError(f"{where}: the sequence length must be at least 1")
    if w_hh.dim() != 2 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"{where}: w_hh must be ({gates}*H, H), got shape {tuple(w_hh.shape)}")
    H = w_hh.shape[1]
    if tuple(w_ih.shape) != (gates * H, D):
        raise ValueError(
            f"{where}: w_ih must be ({gates}*H, D) = {(gates * H, D)}, got {tuple(w_ih.shape)}"
        )
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and tuple(b.shape) != (gates * H,):
            raise ValueError(f"{where}: {name} must be ({gates * H},), got {tuple(b.shape)}")
    for name, s in states.items():
        if tuple(s.shape) != (N, H):
            raise ValueError(f"{where}: {name} must be (N, H) = {(N, H)}, got {tuple(s.shape)}")
    return T, N, H


def _new_buffer(ref: Tensor, shape: Sequence[int], packed: bool) -> Tensor:
    """An uninitialised buffer, or zeros when some rows are skipped (packed input).

    With zeros, the rows that a packed input skips hold harmless numbers for the
    computations that run over all ``T*N`` rows at once.
    """
    return ref.new_zeros(shape) if packed else ref.new_empty(shape)


def _last_states(out: Tensor, state0: Tensor, steps: Sequence[int]) -> Tensor:
    """Each row's state after its own last step: ``out[len_j - 1, j]`` for row ``j``.

    Rows ``[steps[t+1]:steps[t]]`` have their last step at ``t``.
    """
    T = len(steps)
    if steps[-1] == out.shape[1]:  # not packed (or all the same length)
        return out[T - 1].clone()
    last = state0.clone(memory_format=torch.contiguous_format)
    for t in range(T):
        nb, nb_next = steps[t], (steps[t + 1] if t + 1 < T else 0)
        if nb_next < nb:
            last[nb_next:nb] = out[t, nb_next:nb]
    return last


def _previous(state0: Tensor, states: Tensor) -> Tensor:
    """``(T, N, H)`` of the states *entering* each step: ``state0, states[0], ..., states[T-2]``."""
    return torch.cat((state0.unsqueeze(0), states[:-1]))


def _step_views(buf: Tensor, steps: Sequence[int]) -> list[Tensor]:
    """``[buf[t, :steps[t]] for every t]``: the active rows of every step, as views.

    Made in one go before a loop: indexing ``buf[t, :nb]`` inside the loop costs
    about as much as a small element-wise operation, which adds up for small layers.
    """
    N = buf.shape[1]
    return [v if nb == N else v[:nb] for v, nb in zip(buf.unbind(0), steps, strict=True)]


def _previous_views(state0: Tensor, views: list[Tensor], steps: Sequence[int]) -> list[Tensor]:
    """The state entering every step, restricted to that step's active rows.

    ``views`` are the per-step views of the states that the loop fills in; a row
    that is active at step ``t`` was active at ``t-1`` too.
    """
    prev = [state0, *views[:-1]]
    return [p if p.shape[0] == nb else p[:nb] for p, nb in zip(prev, steps, strict=True)]


def _row_views(state: Tensor, steps: Sequence[int]) -> dict[int, Tensor]:
    """``{nb: state[:nb]}`` for every batch size in ``steps`` (one entry if not packed)."""
    return {nb: state[:nb] for nb in set(steps)}


# The derivatives of the activations, written with their outputs ``y``: PyTorch's
# fused kernels, one operation each instead of three.
_sigmoid_backward = torch.ops.aten.sigmoid_backward  # (dy, y) -> dy * y * (1 - y)
_tanh_backward = torch.ops.aten.tanh_backward  # (dy, y) -> dy * (1 - y * y)
# The same, written into a given tensor (a block of the step's gradient buffer, so that
# the blocks need not be concatenated afterwards): f(dy, y, grad_input=out).
_sigmoid_backward_into = torch.ops.aten.sigmoid_backward.grad_input
_tanh_backward_into = torch.ops.aten.tanh_backward.grad_input


def _as_rows(a: Tensor) -> Tensor:
    """``(T, N, K) -> (T*N, K)``."""
    return a.reshape(-1, a.shape[-1])


def _add_biases(b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _project(x: Tensor, w: Tensor, bias: Tensor | None) -> Tensor:
    """``x W^T + bias`` for all ``T*N`` rows in one product: ``(T, N, D) -> (T, N, K)``.

    The result is a new tensor, which the forward loops then overwrite in place.
    """
    T, N, D = x.shape
    x2 = x.reshape(T * N, D)
    xw = x2 @ w.t() if bias is None else torch.addmm(bias, x2, w.t())
    return xw.view(T, N, -1)


def _zero_skipped_rows(buf: Tensor, steps: Sequence[int]) -> None:
    """Zero ``buf[t, steps[t]:]``: the rows a packed input skips at step ``t``."""
    for t, nb in enumerate(steps):
        if nb < buf.shape[1]:
            buf[t, nb:] = 0


def _projection_grads(
    needs: tuple[bool, bool, bool], x: Tensor, h_prev: Tensor, d_x_side: Tensor,
    d_h_side: Tensor, w_ih: Tensor,
) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """Gradients of the two projections, each one large product over all ``T*N`` rows.

    ``XP = x W_ih^T (+ b_ih)`` received ``d_x_side`` and ``HH = h_prev W_hh^T (+ b_hh)``
    received ``d_h_side`` (the same tensor for the RNN and the LSTM)::

        dx = dXP W_ih        dW_ih = dXP^T x        dW_hh = dHH^T h_prev

    ``needs`` says which of ``(dx, dW_ih, dW_hh)`` to compute.  The weight gradients
    are computed transposed, as ``(x^T dXP)^T``: the same numbers, in the memory
    layout that runs faster in MKL here; and when both projections received the same
    gradient, ``[x | h_prev]^T dA`` gives both in a single product.
    """
    dXP, dHH = _as_rows(d_x_side), _as_rows(d_h_side)
    X, Hp = _as_rows(x), _as_rows(h_prev)
    dx = (dXP @ w_ih).view(x.shape) if needs[0] else None
    dw_ih = dw_hh = None
    if needs[1] and needs[2] and d_x_side is d_h_side:
        dw = (torch.cat((X, Hp), dim=1).t() @ dXP).t()  # (G*H, D+H)
        dw_ih, dw_hh = dw[:, :X.shape[1]], dw[:, X.shape[1]:]
    else:
        dw_ih = (X.t() @ dXP).t() if needs[1] else None
        dw_hh = (Hp.t() @ dHH).t() if needs[2] else None
    return dx, dw_ih, dw_hh


def _bias_grads(
    needs: tuple[bool, bool], has_bias: tuple[bool, bool], d_x_side: Tensor, d_h_side: Tensor,
) -> tuple[Tensor | None, Tensor | None]:
    """``db_ih = sum of dXP`` and ``db_hh = sum of dHH`` over all ``T*N`` rows."""
    db_ih = _as_rows(d_x_side).sum(0) if needs[0] and has_bias[0] else None
    db_hh = _as_rows(d_h_side).sum(0) if needs[1] and has_bias[1] else None
    return db_ih, db_hh


# --------------------------------------------------------------------------- RNN


class _RNNFunction(torch.autograd.Function):
    """``h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` for ``t = 0..T-1``."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: FunctionCtx, x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor,
        b_ih: Tensor | None, b_hh: Tensor | None, nonlinearity: str, steps: list[int],
    ) -> tuple[Tensor, Tensor]:
        out = _project(x, w_ih, _add_biases(b_ih, b_hh))  # x_t W_ih^T + b, turned into h_t below
        h_steps = _step_views(out, steps)
        recurrent = _StepProduct(w_hh, out.shape[1])  # h_{t-1} W_hh^T
        for h, h_prev in zip(h_steps, _previous_views(h0, h_steps, steps), strict=True):
            recurrent.add_(h, h_prev)  # a_t
            h.tanh_() if nonlinearity == "tanh" else h.relu_()  # h_t = phi(a_t)
        if steps[-1] < out.shape[1]:  # packed
            _zero_skipped_rows(out, steps)
        h_n = _last_states(out, h0, steps)
        ctx.save_for_backward(x, h0, w_ih, w_hh, out)
        ctx.nonlinearity, ctx.steps = nonlinearity, steps  # type: ignore[attr-defined]
        ctx.has_bias = (b_ih is not None, b_hh is not None)  # type: ignore[attr-defined]
        return out, h_n

    @staticmethod
    @_first_order_only
    def backward(  # type: ignore[override]
        ctx: FunctionCtx, grad_out: Tensor, grad_hn: Tensor,
    ) -> tuple[Tensor | None, ...]:
        x, h0, w_ih, w_hh, out = ctx.saved_tensors  # type: ignore[attr-defined]
        steps: list[int] = ctx.steps  # type: ignore[attr-defined]
        T, N, H = out.shape
        # phi'(a_t), written with h_t = phi(a_t), for every step at once.
        if ctx.nonlinearity == "tanh":  # type: ignore[attr-defined]
            dphi = 1 - out * out
        else:
            dphi = (out > 0).to(out.dtype)
        dA = _new_buffer(out, (T, N, H), steps[-1] < N)  # gradient of every a_t
        dA_steps, dphi_steps = _step_views(dA, steps), _step_views(dphi, steps)
        grad_steps = _step_views(grad_out, steps)
        dh = grad_hn.clone(memory_format=torch.contiguous_format)  # flows into h_t from later
        dh_rows = _row_views(dh, steps)
        into_h_prev = _StepProduct(w_hh.t(), N)  # da_t W_hh
        for t in reversed(range(T)):
            dh_t = dh_rows[steps[t]]
            da = torch.mul(grad_steps[t] + dh_t, dphi_steps[t], out=dA_steps[t])
            into_h_prev.into(dh_t, da)  # into h_{t-1}
        needs = ctx.needs_input_grad  # type: ignore[attr-defined]
        h_prev = _previous(h0, out) if needs[3] else out
        dx, dw_ih, dw_hh = _projection_grads((needs[0], needs[2], needs[3]), x, h_prev, dA, dA,
                                             w_ih)
        db_ih, db_hh = _bias_grads(needs[4:6], ctx.has_bias, dA, dA)  # type: ignore[attr-defined]
        return dx, dh if needs[1] else None, dw_ih, dw_hh, db_ih, db_hh, None, None


def rnn_layer(
    x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, nonlinearity: str = "tanh", batch_sizes: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One Elman RNN layer: ``h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Args:
        x: ``(T, N, D)`` inputs, time-major.
        h0: ``(N, H)`` initial hidden state.
        w_ih: ``(H, D)``; w_hh: ``(H, H)``; b_ih, b_hh: ``(H,)`` or ``None`` (no bias).
        nonlinearity: ``"tanh"`` or ``"relu"``.
        batch_sizes: ``None`` or a PackedSequence's ``batch_sizes`` (see the module docstring).

    Returns:
        ``out: (T, N, H)`` (``h_t`` at every step) and ``h_n: (N, H)``.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_layer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    T, N, _ = _check("rnn_layer", x, {"h0": h0}, w_ih, w_hh, b_ih, b_hh, gates=1)
    steps = _step_sizes(batch_sizes, T, N)
    return _RNNFunction.apply(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, steps)


# --------------------------------------------------------------------------- LSTM


class _LSTMFunction(torch.autograd.Function):
    """The LSTM layer, with optional peepholes.

    Per step, with ``a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh = [a_i | a_f | a_g | a_o]``::

        i = sigmoid(a_i [+ p_i * c_{t-1}])   f = sigmoid(a_f [+ p_f * c_{t-1}])   g = tanh(a_g)
        c_t = f * c_{t-1} + i * g
        o = sigmoid(a_o [+ p_o * c_t])
        h_t = o * tanh(c_t)

    The peephole terms are there only when ``w_peep`` (rows ``p_i, p_f, p_o``) is given.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: FunctionCtx, x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
        b_ih: Tensor | None, b_hh: Tensor | None, w_peep: Tensor | None, steps: list[int],
    ) -> tuple[Tensor, Tensor, Tensor]:
        T, N, _ = x.shape
        H = w_hh.shape[1]
        packed = steps[-1] < N
        gates = _project(x, w_ih, _add_biases(b_ih, b_hh))  # (T, N, 4H), becomes i, f, g, o
        cells = _new_buffer(gates, (T, N, H), packed)  # c_t
        tanh_cells = _new_buffer(gates, (T, N, H), packed)  # tanh(c_t), kept for backward
        out = _new_buffer(gates, (T, N, H), packed)  # h_t
        c_steps, h_steps = _step_views(cells, steps), _step_views(out, steps)
        per_step = zip(
            _step_views(gates, steps), _previous_views(h0, h_steps, steps),
            _previous_views(c0, c_steps, steps), c_steps, _step_views(tanh_cells, steps),
            h_steps, strict=True,
        )
        recurrent = _StepProduct(w_hh, N)  # h_{t-1} W_hh^T
        p_i, p_f, p_o = w_peep.unbind(0) if w_peep is not None else (None, None, None)
        for a, h_prev, c_prev, c, tanh_c, h in per_step:
            recurrent.add_(a, h_prev)  # a_t = (x_t W_ih^T + b) + h_{t-1} W_hh^T
            i, f, g, o = a.chunk(4, dim=1)  # views: activated in place, they stay in `gates`
            if w_peep is not None:
                i.addcmul_(p_i, c_prev)
                f.addcmul_(p_f, c_prev)
            i.sigmoid_()
            f.sigmoid_()
            g.tanh_()
            torch.mul(f, c_prev, out=c).addcmul_(i, g)  # c_t = f * c_{t-1} + i * g
            if w_peep is not None:
                o.addcmul_(p_o, c)
            o.sigmoid_()
            torch.mul(o, torch.tanh(c, out=tanh_c), out=h)  # h_t = o * tanh(c_t)
        if packed:
            _zero_skipped_rows(gates, steps)
        h_n, c_n = _last_states(out, h0, steps), _last_states(cells, c0, steps)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, w_peep, gates, cells, tanh_cells, out)
        ctx.steps = steps  # type: ignore[attr-defined]
        ctx.has_bias = (b_ih is not None, b_hh is not None)  # type: ignore[attr-defined]
        return out, h_n, c_n

    @staticmethod
    @_first_order_only
    def backward(  # type: ignore[override]
        ctx: FunctionCtx, grad_out: Tensor, grad_hn: Tensor, grad_cn: Tensor,
    ) -> tuple[Tensor | None, ...]:
        saved = ctx.saved_tensors  # type: ignore[attr-defined]
        x, h0, c0, w_ih, w_hh, w_peep, gates, cells, tanh_cells, out = saved
        steps: list[int] = ctx.steps  # type: ignore[attr-defined]
        T, N, H = out.shape
        dA = _new_buffer(gates, (T, N, 4 * H), steps[-1] < N)  # gradient of every a_t
        gate_steps, dA_steps = _step_views(gates, steps), _step_views(dA, steps)
        tanh_c_steps, grad_steps = _step_views(tanh_cells, steps), _step_views(grad_out, steps)
        c_prevs = _previous_views(c0, _step_views(cells, steps), steps)
        # The gradients flowing into h_t and c_t from later steps (from h_n, c_n at the end).
        dh = grad_hn.clone(memory_format=torch.contiguous_format)
        dc = grad_cn.clone(memory_format=torch.contiguous_format)
        dh_rows, dc_rows = _row_views(dh, steps), _row_views(dc, steps)
        p_i, p_f, p_o = w_peep.unbind(0) if w_peep is not None else (None, None, None)
        into_h_prev = _StepProduct(w_hh.t(), N)  # dA_t W_hh
        for t in reversed(range(T)):
            i, f, g, o = gate_steps[t].chunk(4, dim=1)
            da_i, da_f, da_g, da_o = dA_steps[t].chunk(4, dim=1)  # written in place below
            tanh_c, c_prev = tanh_c_steps[t], c_prevs[t]
            dh_next, dc_next = dh_rows[steps[t]], dc_rows[steps[t]]  # from step t+1
            dh_t = grad_steps[t] + dh_next
            # h_t = o * tanh(c_t)
            _sigmoid_backward_into(dh_t * tanh_c, o, grad_input=da_o)
            dc_t = _tanh_backward(dh_t * o, tanh_c).add_(dc_next)
            if w_peep is not None:
                dc_t.addcmul_(da_o, p_o)  # o also sees c_t
            # c_t = f * c_{t-1} + i * g
            _sigmoid_backward_into(dc_t * g, i, grad_input=da_i)
            _sigmoid_backward_into(dc_t * c_prev, f, grad_input=da_f)
            _tanh_backward_into(dc_t * i, g, grad_input=da_g)
            # Into step t-1 (overwriting dh_next, dc_next, which are used up).
            dc_prev = torch.mul(dc_t, f, out=dc_next)
            if w_peep is not None:
                dc_prev.addcmul_(da_i, p_i).addcmul_(da_f, p_f)  # i and f also see c_{t-1}
            into_h_prev.into(dh_next, dA_steps[t])
        needs = ctx.needs_input_grad  # type: ignore[attr-defined]
        h_prev = _previous(h0, out) if needs[4] else out
        dx, dw_ih, dw_hh = _projection_grads((needs[0], needs[3], needs[4]), x, h_prev, dA, dA,
                                             w_ih)
        db_ih, db_hh = _bias_grads(needs[5:7], ctx.has_bias, dA, dA)  # type: ignore[attr-defined]
        dw_peep = None
        if w_peep is not None and needs[7]:
            c_prev_all = _previous(c0, cells)
            dw_peep = torch.stack((
                (dA[..., :H] * c_prev_all).sum((0, 1)),  # p_i
                (dA[..., H:2 * H] * c_prev_all).sum((0, 1)),  # p_f
                (dA[..., 3 * H:] * cells).sum((0, 1)),  # p_o
            ))
        return (dx, dh if needs[1] else None, dc if needs[2] else None, dw_ih, dw_hh,
                db_ih, db_hh, dw_peep, None)


def lstm_layer(
    x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, batch_sizes: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer (gate order i, f, g, o, as in ``torch.nn.LSTM``)::

        a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  = [a_i | a_f | a_g | a_o]
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)     g = tanh(a_g)
        c_t = f * c_{t-1} + i * g          h_t = o * tanh(c_t)

    Args:
        x: ``(T, N, D)`` inputs, time-major.
        h0, c0: ``(N, H)`` initial hidden and cell states.
        w_ih: ``(4H, D)``; w_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)`` or ``None`` (no bias).
        batch_sizes: ``None`` or a PackedSequence's ``batch_sizes`` (see the module docstring).

    Returns:
        ``out: (T, N, H)`` (``h_t`` at every step), ``h_n: (N, H)`` and ``c_n: (N, H)``.
    """
    T, N, _ = _check("lstm_layer", x, {"h0": h0, "c0": c0}, w_ih, w_hh, b_ih, b_hh, gates=4)
    steps = _step_sizes(batch_sizes, T, N)
    return _LSTMFunction.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, None, steps)


def peephole_lstm_layer(
    x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, w_peep: Tensor, batch_sizes: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One peephole LSTM layer (Gers & Schmidhuber, 2000)::

        a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  = [a_i | a_f | a_g | a_o]
        i = sigmoid(a_i + p_i * c_{t-1})    f = sigmoid(a_f + p_f * c_{t-1})    g = tanh(a_g)
        c_t = f * c_{t-1} + i * g
        o = sigmoid(a_o + p_o * c_t)        h_t = o * tanh(c_t)

    The peepholes are diagonal (element-wise) connections from the cell; with
    ``w_peep = 0`` this is :func:`lstm_layer`.  It shares :func:`lstm_layer`'s
    hand-written backward: the peephole terms only change three of its local
    derivatives.

    Args:
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes: as in :func:`lstm_layer`.
        w_peep: ``(3, H)``, the rows ``p_i, p_f, p_o``.

    Returns:
        ``out: (T, N, H)``, ``h_n: (N, H)`` and ``c_n: (N, H)``.
    """
    where = "peephole_lstm_layer"
    T, N, H = _check(where, x, {"h0": h0, "c0": c0}, w_ih, w_hh, b_ih, b_hh, gates=4)
    if tuple(w_peep.shape) != (3, H):
        raise ValueError(f"{where}: w_peep must be (3, H) = {(3, H)}, got {tuple(w_peep.shape)}")
    steps = _step_sizes(batch_sizes, T, N)
    return _LSTMFunction.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep, steps)


# --------------------------------------------------------------------------- GRU


class _GRUFunction(torch.autograd.Function):
    """The GRU layer.

    Per step, with ``x_t W_ih^T + b_ih = [x_r | x_z | x_n]`` and
    ``h_{t-1} W_hh^T + b_hh = [h_r | h_z | h_n]``::

        r = sigmoid(x_r + h_r)     z = sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)
        h_t = (1 - z) * n + z * h_{t-1}

    ``b_hh`` stays on the recurrent side because ``r`` multiplies its ``n`` block.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: FunctionCtx, x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor,
        b_ih: Tensor | None, b_hh: Tensor | None, steps: list[int],
    ) -> tuple[Tensor, Tensor]:
        T, N, _ = x.shape
        H = w_hh.shape[1]
        packed = steps[-1] < N
        gates = _project(x, w_ih, b_ih)  # (T, N, 3H): x_t W_ih^T + b_ih, becomes r, z, n
        hh = _new_buffer(gates, (T, N, 3 * H), packed)  # h_{t-1} W_hh^T + b_hh, kept for backward
        out = _new_buffer(gates, (T, N, H), packed)  # h_t
        h_steps = _step_views(out, steps)
        per_step = zip(_step_views(gates, steps), _step_views(hh, steps),
                       _previous_views(h0, h_steps, steps), h_steps, strict=True)
        recurrent = _StepProduct(w_hh, N)  # h_{t-1} W_hh^T
        for a, hh_t, h_prev, h in per_step:
            recurrent.into(hh_t, h_prev, bias=b_hh)
            h_r, h_z, h_n = hh_t.chunk(3, dim=1)
            r, z, n = a.chunk(3, dim=1)  # still x_r, x_z, x_n: activated in place
            r.add_(h_r).sigmoid_()
            z.add_(h_z).sigmoid_()
            n.addcmul_(r, h_n).tanh_()
            torch.lerp(n, h_prev, z, out=h)  # h_t = (1 - z) * n + z * h_{t-1}
        if packed:
            _zero_skipped_rows(gates, steps)
        h_n = _last_states(out, h0, steps)
        ctx.save_for_backward(x, h0, w_ih, w_hh, gates, hh, out)
        ctx.steps = steps  # type: ignore[attr-defined]
        ctx.has_bias = (b_ih is not None, b_hh is not None)  # type: ignore[attr-defined]
        return out, h_n

    @staticmethod
    @_first_order_only
    def backward(  # type: ignore[override]
        ctx: FunctionCtx, grad_out: Tensor, grad_hn: Tensor,
    ) -> tuple[Tensor | None, ...]:
        x, h0, w_ih, w_hh, gates, hh, out = ctx.saved_tensors  # type: ignore[attr-defined]
        steps: list[int] = ctx.steps  # type: ignore[attr-defined]
        T, N, H = out.shape
        packed = steps[-1] < N
        # Gradients of the two projections: dXP of x_t W_ih^T + b_ih and dHH of
        # h_{t-1} W_hh^T + b_hh.  They differ only in the n block.
        dXP = _new_buffer(gates, (T, N, 3 * H), packed)
        dHH = _new_buffer(gates, (T, N, 3 * H), packed)
        dXP_steps, dHH_steps = _step_views(dXP, steps), _step_views(dHH, steps)
        gate_steps, grad_steps = _step_views(gates, steps), _step_views(grad_out, steps)
        h_n_steps = _step_views(hh[..., 2 * H:], steps)
        h_prevs = _previous_views(h0, _step_views(out, steps), steps)
        dh = grad_hn.clone(memory_format=torch.contiguous_format)  # flows into h_t from later
        dh_rows = _row_views(dh, steps)
        into_h_prev = _StepProduct(w_hh.t(), N)  # dHH_t W_hh
        for t in reversed(range(T)):
            r, z, n = gate_steps[t].chunk(3, dim=1)
            da_r, da_z, da_n = dXP_steps[t].chunk(3, dim=1)  # written in place below
            h_n, h_prev = h_n_steps[t], h_prevs[t]
            dh_next = dh_rows[steps[t]]  # from step t+1
            dh_t = grad_steps[t] + dh_next
            # h_t = (1 - z) * n + z * h_{t-1}
            _sigmoid_backward_into(dh_t * (h_prev - n), z, grad_input=da_z)
            _tanh_backward_into(dh_t * (1 - z), n, grad_input=da_n)
            # n = tanh(x_n + r * h_n)
            torch.mul(da_n, r, out=dHH_steps[t][:, 2 * H:])  # dh_n
            _sigmoid_backward_into(da_n * h_n, r, grad_input=da_r)
            dHH_steps[t][:, :2 * H].copy_(dXP_steps[t][:, :2 * H])  # the r, z blocks agree
            into_h_prev.into(dh_next, dHH_steps[t], add=dh_t * z)  # into h_{t-1}
        needs = ctx.needs_input_grad  # type: ignore[attr-defined]
        h_prev_all = _previous(h0, out) if needs[3] else out
        dx, dw_ih, dw_hh = _projection_grads((needs[0], needs[2], needs[3]), x, h_prev_all,
                                             dXP, dHH, w_ih)
        db_ih, db_hh = _bias_grads(needs[4:6], ctx.has_bias, dXP, dHH)  # type: ignore[attr-defined]
        return dx, dh if needs[1] else None, dw_ih, dw_hh, db_ih, db_hh, None


def gru_layer(
    x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, batch_sizes: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One GRU layer (gate order r, z, n and PyTorch's form of ``n``, as in ``torch.nn.GRU``)::

        r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
        z = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Args:
        x: ``(T, N, D)`` inputs, time-major.
        h0: ``(N, H)`` initial hidden state.
        w_ih: ``(3H, D)``; w_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)`` or ``None`` (no bias).
        batch_sizes: ``None`` or a PackedSequence's ``batch_sizes`` (see the module docstring).

    Returns:
        ``out: (T, N, H)`` (``h_t`` at every step) and ``h_n: (N, H)``.
    """
    T, N, _ = _check("gru_layer", x, {"h0": h0}, w_ih, w_hh, b_ih, b_hh, gates=3)
    steps = _step_sizes(batch_sizes, T, N)
    return _GRUFunction.apply(x, h0, w_ih, w_hh, b_ih, b_hh, steps)
