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

    LSTM with projections (LSTMP, Sak et al., 2014), ``proj_size = P < H``:
            m_t = o * tanh(c_t)           (H wide)
            h_t = m_t W_hr^T              (P wide; W_hr: (P, H), and W_hh: (4H, P))

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

Each layer is one custom :class:`torch.autograd.Function` built from four plain
functions, all written with public torch operations that read line by line
against the equations (the derivatives of sigmoid and tanh use PyTorch's own
kernels for them, ``aten.sigmoid_backward`` and ``aten.tanh_backward``, and the
products ``torch.addmm``, so that the arithmetic, rounding included, is the
one the course's earlier versions did):

* the input projection ``x_t W_ih^T + b_ih (+ b_hh)`` does not depend on the
  recurrence, so it is one matrix product over all ``T*N`` rows before the loop
  (``b_hh`` is folded into it where it is simply added: RNN and LSTM);
* the forward loop (``_lstm_steps`` ...) runs the recurrence, one step's equations
  per iteration; per step only ``h_{t-1} W_hh^T`` is left;
* the backward loop (``_lstm_steps_backward`` ...) runs from ``t = T-1`` down to
  ``0``, applies the chain rule through one step's equations and collects the
  gradient ``dA_t`` of every pre-activation; the only product left in it is
  ``dA_t W_hh``, the gradient flowing into ``h_{t-1}``;
* the weights are shared by all steps, so their gradients are sums over time:
  they come after the loop, each as one large product over all ``T*N`` rows:
  ``dW_ih = dA^T X``, ``dW_hh = dA^T H_prev``, ``db = sum of dA``, ``dx = dA W_ih``.

Nothing is written in place, so the same code serves three purposes:

* the ordinary backward (the activations saved by the forward pass);
* batched gradients: ``torch.func`` transforms and
  ``torch.autograd.functional.jacobian(..., vectorize=True)`` run the backward
  loop under ``vmap``;
* double backward (``create_graph=True``, gradient penalties, Hessian-vector
  products): the backward then recomputes the forward loop under autograd and
  runs the same backward loop on it, so autograd can differentiate the
  hand-written gradient itself.

How the loops and the matrix products run is one argument, ``ops`` (an :class:`Ops`):
:data:`EAGER`, the default, is this file's code as written, and everything a reader needs.
The opt-in compiled path (``compiled=True`` on a module, or ``RNNCOURSE_COMPILE=1``) is
another :class:`Ops` built in :mod:`rnncourse.torch.compiled` -- optional reading: it runs
*these* loops through ``torch.compile`` and changes no equation. This file does not
import it; the modules choose.

Variable lengths: ``batch_sizes`` is the ``batch_sizes`` of a
:class:`torch.nn.utils.rnn.PackedSequence` (sequences sorted by decreasing
length; ``batch_sizes[t]`` of them are still running at step ``t``).  At step
``t`` only rows ``[:batch_sizes[t]]`` are updated, the other rows of ``out[t]``
are zero, and ``h_n`` (``c_n``) holds each sequence's state after its own last
step -- what ``torch.nn`` returns for a packed input.  Because the batch sizes
never increase, a row that is active at step ``t`` was also active at ``t-1``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

__all__ = ["rnn_layer", "lstm_layer", "gru_layer", "peephole_lstm_layer", "Ops", "EAGER"]

Steps = tuple[int, ...]

# --------------------------------------------------------------------------- helpers


def _step_sizes(batch_sizes: Tensor | None, T: int, N: int) -> Steps | None:
    """The number of active rows at every step, as Python ints; None if unpacked (all
    ``N`` rows at every step, see :func:`_all_rows`)."""
    if batch_sizes is None:
        return None
    if not isinstance(batch_sizes, Tensor) or batch_sizes.dim() != 1:
        raise ValueError("batch_sizes must be a 1-D integer tensor (a PackedSequence's)")
    steps = tuple(int(b) for b in batch_sizes.tolist())  # a CPU tensor: no device sync
    if len(steps) != T:
        raise ValueError(f"batch_sizes has {len(steps)} entries but the input has T={T} steps")
    if steps[0] != N or any(b < a for a, b in zip(steps[1:], steps, strict=False)) or steps[-1] < 1:
        raise ValueError(
            f"batch_sizes must start at the batch size N={N}, never increase and stay >= 1; "
            f"got {list(steps)}"
        )
    return steps


def _all_rows(steps: Steps | None, x: Tensor) -> Steps:
    """``steps``, or for an unpacked ``x (T, N, D)`` ``(N,) * T``, read from ``x`` inside
    the autograd function: a traced call (``torch.jit.trace``) replays the function on
    new inputs, and then holds for their ``T`` and ``N``, not only the traced ones."""
    return steps if steps is not None else (int(x.shape[1]),) * int(x.shape[0])


def _check(
    where: str, x: Tensor, states: dict[str, tuple[Tensor, int]], w_ih: Tensor, w_hh: Tensor,
    b_ih: Tensor | None, b_hh: Tensor | None, gates: int, w_hr: Tensor | None = None,
) -> tuple[int, int, int]:
    """Check the shapes of one layer's arguments; return ``(T, N, H)``.

    ``states`` maps a name to ``(tensor, width)``, width 0 for ``H`` and 1 for the
    width of ``h`` (``P`` with a projection, else ``H``).
    """
    if x.dim() != 3:
        raise ValueError(f"{where}: x must be (T, N, D), got shape {tuple(x.shape)}")
    T, N, D = x.shape
    if T == 0:
        raise RuntimeError(f"{where}: Expected sequence length to be larger than 0 in RNN")
    if w_hh.dim() != 2 or w_hh.shape[0] % gates:
        raise ValueError(f"{where}: w_hh must be ({gates}*H, H), got shape {tuple(w_hh.shape)}")
    H, P = w_hh.shape[0] // gates, w_hh.shape[1]
    if w_hr is None and P != H:
        raise ValueError(f"{where}: w_hh must be ({gates}*H, H), got shape {tuple(w_hh.shape)}")
    if w_hr is not None and tuple(w_hr.shape) != (P, H):
        raise ValueError(f"{where}: w_hr must be (P, H) = {(P, H)}, got {tuple(w_hr.shape)}")
    if tuple(w_ih.shape) != (gates * H, D):
        raise ValueError(
            f"{where}: w_ih must be ({gates}*H, D) = {(gates * H, D)}, got {tuple(w_ih.shape)}"
        )
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and tuple(b.shape) != (gates * H,):
            raise ValueError(f"{where}: {name} must be ({gates * H},), got {tuple(b.shape)}")
    for name, (s, width) in states.items():
        expected = (N, P if width else H)
        if tuple(s.shape) != expected:
            form = "(N, P)" if width and w_hr is not None else "(N, H)"
            raise ValueError(f"{where}: {name} must be {form} = {expected}, got {tuple(s.shape)}")
    return T, N, H


# The derivatives of sigmoid and tanh, written with their outputs ``y``: PyTorch's own
# kernels, those its autograd uses for torch.sigmoid and torch.tanh (core ATen operators).
_sigmoid_grad = torch.ops.aten.sigmoid_backward  # (dy, y) -> dy * (1 - y) * y
_tanh_grad = torch.ops.aten.tanh_backward  # (dy, y) -> dy * (1 - y * y)


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """``x W^T + b``: ``b`` a bias vector, or a matrix with ``x``'s rows (a sum to add to).

    ``torch.addmm(b, x, W^T)`` (``torch.mm`` without ``b``): one call of the matrix
    product that also adds ``b``.
    """
    return torch.mm(x, w.t()) if b is None else torch.addmm(b, x, w.t())


def _add_biases(b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _rows(a: Tensor) -> Tensor:
    """``(T, N, K) -> (T*N, K)`` (also when ``T*N`` is 0)."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


def _project(x: Tensor, w: Tensor, bias: Tensor | None) -> Tensor:
    """``x W^T + bias`` for all ``T*N`` rows in one product: ``(T, N, D) -> (T, N, K)``."""
    return linear(_rows(x), w, bias).reshape(x.shape[0], x.shape[1], w.shape[0])


def _pad(a: Tensor, n: int) -> Tensor:
    """``a (nb, K)`` with zero rows appended up to ``n`` rows (a packed step's inactive rows)."""
    return a if a.shape[0] == n else torch.cat((a, a.new_zeros(n - a.shape[0], a.shape[1])))


def _update(state: Tensor, new: Tensor) -> Tensor:
    """``state`` with its first ``len(new)`` rows replaced by ``new`` (the active rows)."""
    return new if new.shape[0] == state.shape[0] else torch.cat((new, state[new.shape[0]:]))


def _previous(state0: Tensor, states: Tensor) -> Tensor:
    """``(T, N, K)`` of the states *entering* each step: ``state0, states[0], ..., states[T-2]``."""
    return torch.cat((state0.unsqueeze(0), states[:-1]))


def _sum_rows(a: Tensor) -> Tensor:
    return _rows(a).sum(0)


def _wgrad(d: Tensor, inp: Tensor) -> Tensor:
    """``sum_t d_t^T inp_t``: the gradient of a weight shared by all steps, one product.

    The result is contiguous, like the weight, so autograd stores it as the weight's
    ``.grad`` as it is; a gradient in another layout (``(inp^T d)^T``, say) would be
    copied into the weight's layout first, which took 3.6 ms per weight at
    ``(T, N, D, H) = (35, 20, 650, 650)`` on 2 cores.
    """
    return _rows(d).t() @ _rows(inp)


def _zeros_for(*pairs: tuple[Tensor | None, Tensor]) -> list[Tensor]:
    """The incoming gradients, zeros for outputs that received none.

    The functions tell autograd not to fill in zeros itself
    (``set_materialize_grads(False)``): it would do so for the activations returned
    for the backward pass too, which never receive a gradient, at every call.
    """
    return [torch.zeros_like(like) if g is None else g for g, like in pairs]


def _weight_grads(dA: Tensor, x: Tensor, h_prev: Tensor, need_ih: bool,
                  need_hh: bool) -> tuple[Tensor | None, Tensor | None]:
    """``dW_ih = sum_t dA_t^T x_t`` and ``dW_hh = sum_t dA_t^T h_{t-1}`` (RNN, LSTM: the
    same ``dA``), one product each."""
    return (_wgrad(dA, x) if need_ih else None, _wgrad(dA, h_prev) if need_hh else None)


def _graph_needed() -> bool:
    """Whether the backward runs under ``create_graph=True``, so its result must be
    differentiable with respect to the layer's inputs (double backward)."""
    return torch.is_grad_enabled()


def _autocast_state(x: Tensor) -> tuple[str, bool, torch.dtype] | None:
    """``(device type, enabled, dtype)``: the autocast the forward runs under (None on a
    device that has no autocast)."""
    device = x.device.type
    if not torch.amp.is_autocast_available(device):
        return None
    return device, torch.is_autocast_enabled(device), torch.get_autocast_dtype(device)


def _under_forward_autocast(backward: Callable) -> Callable:
    """Run a backward under the autocast its forward ran under (on or off), as
    ``torch.amp.custom_bwd`` does: its products then run in the forward's precision
    (``torch.autocast`` casts each ``addmm``), wherever the caller calls ``.backward()``."""

    @functools.wraps(backward)
    def run(ctx: FunctionCtx, *grads: Any) -> Any:
        if ctx.autocast is None:  # type: ignore[attr-defined]
            return backward(ctx, *grads)
        device, enabled, dtype = ctx.autocast  # type: ignore[attr-defined]
        with torch.autocast(device, dtype=dtype, enabled=enabled):
            return backward(ctx, *grads)

    return run


def _as_is(w: Tensor, rows: int) -> Tensor:
    return w


def _call(loop: Callable, *args: Any) -> Any:
    return loop(*args)


class Ops(NamedTuple):
    """How a layer runs its loops (:data:`EAGER`: as written here).

    ``prepare(w, rows)``: ``w`` (the same values) made ready for the products
    ``x W^T`` with ``rows`` rows in ``x``, once per call of the layer; ``run(loop,
    *args)``: run one of the loops below on ``args``. :mod:`rnncourse.torch.compiled`
    (optional reading) builds another ``Ops`` with the same meaning.
    """

    prepare: Callable[[Tensor, int], Tensor]
    run: Callable[..., Any]


EAGER = Ops(prepare=_as_is, run=_call)


def _backward_ops(ops: Ops) -> Ops:
    """The ops for a backward pass: the eager code where autograd differentiates the
    backward itself (double backward) or ``torch.func`` batches it (``vmap``)."""
    if _graph_needed() or torch._C._are_functorch_transforms_active():
        return EAGER
    return ops


# --------------------------------------------------------------------------- RNN


def _rnn_steps(XP: Tensor, h0: Tensor, w_hh: Tensor, relu: bool,
               steps: Steps) -> tuple[Tensor, Tensor]:
    """The RNN recurrence. ``XP (T, N, H)`` is ``x_t W_ih^T + b_ih + b_hh``.

    Returns ``out (T, N, H)`` (zero rows where a packed input is inactive) and the
    last state of every row, ``h_n (N, H)``.
    """
    N = h0.shape[0]
    h, outs = h0, []
    for xp, nb in zip(XP.unbind(0), steps, strict=True):
        h_prev = h[:nb]
        a = linear(h_prev, w_hh, xp[:nb])  # a_t = h_{t-1} W_hh^T + (x_t W_ih^T + b)
        h_t = torch.relu(a) if relu else torch.tanh(a)  # h_t = phi(a_t)
        h = _update(h, h_t)
        outs.append(_pad(h_t, N))
    return torch.stack(outs), h


def _rnn_steps_backward(grad_out: Tensor, dh: Tensor, out: Tensor, w_hh_t: Tensor, relu: bool,
                        steps: Steps) -> tuple[Tensor, Tensor]:
    """BPTT through :func:`_rnn_steps`: ``dA (T, N, H)``, the gradient of every ``a_t``,
    and ``dh0``. ``dh`` enters as the gradient of ``h_n``; ``w_hh_t`` is ``W_hh^T``."""
    N = dh.shape[0]
    dAs = []
    for t in reversed(range(len(steps))):
        nb = steps[t]
        h_t = out[t, :nb]
        dh_t = grad_out[t, :nb] + dh[:nb]  # from the output at t and from step t+1
        dphi = (h_t > 0).to(h_t.dtype) if relu else 1 - h_t * h_t  # phi'(a_t), from h_t
        da = dh_t * dphi
        dh = _update(dh, linear(da, w_hh_t))  # da_t W_hh, into h_{t-1}
        dAs.append(_pad(da, N))
    return torch.stack(dAs[::-1]), dh


class _RNNFunction(torch.autograd.Function):
    """``h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` for ``t = 0..T-1``."""

    generate_vmap_rule = True  # everything below is vmappable: torch.func.vmap works

    @staticmethod
    def forward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,  # type: ignore[override]
                b_hh: Tensor | None, relu: bool, steps: Steps | None, ops: Ops,
                ) -> tuple[Tensor, Tensor]:
        T, N, steps = x.shape[0], x.shape[1], _all_rows(steps, x)
        XP = _project(x, ops.prepare(w_ih, T * N), _add_biases(b_ih, b_hh))
        return ops.run(_rnn_steps, XP, h0, ops.prepare(w_hh, N), relu, steps)

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: tuple) -> None:
        x, h0, w_ih, w_hh, b_ih, b_hh, relu, steps, ops = inputs
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh, output[0])
        ctx.relu, ctx.steps, ctx.ops = relu, _all_rows(steps, x), ops  # type: ignore[attr-defined]
        ctx.autocast = _autocast_state(x)  # type: ignore[attr-defined]
        ctx.set_materialize_grads(False)  # see _zeros_for

    @staticmethod
    @_under_forward_autocast
    def backward(ctx: FunctionCtx, grad_out: Tensor, grad_hn: Tensor,  # type: ignore[override]
                 ) -> tuple[Tensor | None, ...]:
        x, h0, w_ih, w_hh, b_ih, b_hh, out = ctx.saved_tensors  # type: ignore[attr-defined]
        need_x, need_h0, need_w_ih, need_w_hh, need_b_ih, need_b_hh, *_ = (
            ctx.needs_input_grad)  # type: ignore[attr-defined]
        relu, steps = ctx.relu, ctx.steps  # type: ignore[attr-defined]
        ops = _backward_ops(ctx.ops)  # type: ignore[attr-defined]
        grad_out, grad_hn = _zeros_for((grad_out, out), (grad_hn, h0))
        T, N = x.shape[:2]
        if _graph_needed():  # double backward: recompute the forward under autograd
            out, _ = _rnn_steps(_project(x, w_ih, _add_biases(b_ih, b_hh)), h0, w_hh, relu,
                                steps)
        dA, dh0 = ops.run(_rnn_steps_backward, grad_out, grad_hn, out,
                          ops.prepare(w_hh.t(), N), relu, steps)
        db = _sum_rows(dA) if need_b_ih or need_b_hh else None  # b_ih and b_hh: the same sum
        h_prev = _previous(h0, out) if need_w_hh else out
        dw_ih, dw_hh = _weight_grads(dA, x, h_prev, need_w_ih, need_w_hh)
        dx = _project(dA, ops.prepare(w_ih.t(), T * N), None) if need_x else None
        return (dx, dh0 if need_h0 else None, dw_ih, dw_hh,
                db if need_b_ih else None, db if need_b_hh else None, None, None, None)


def rnn_layer(
    x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, nonlinearity: str = "tanh", batch_sizes: Tensor | None = None,
    ops: Ops = EAGER,
) -> tuple[Tensor, Tensor]:
    """One Elman RNN layer: ``h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Args:
        x: ``(T, N, D)`` inputs, time-major.
        h0: ``(N, H)`` initial hidden state.
        w_ih: ``(H, D)``; w_hh: ``(H, H)``; b_ih, b_hh: ``(H,)`` or ``None`` (no bias).
        nonlinearity: ``"tanh"`` or ``"relu"``.
        batch_sizes: ``None`` or a PackedSequence's ``batch_sizes`` (see the module docstring).
        ops: how the loops and products run: :data:`EAGER` (this file's code), or
            ``rnncourse.torch.compiled.ops(True)`` for the compiled path.

    Returns:
        ``out: (T, N, H)`` (``h_t`` at every step) and ``h_n: (N, H)``.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_layer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    T, N, _ = _check("rnn_layer", x, {"h0": (h0, 1)}, w_ih, w_hh, b_ih, b_hh, gates=1)
    steps = _step_sizes(batch_sizes, T, N)
    return _RNNFunction.apply(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity == "relu", steps, ops)


# --------------------------------------------------------------------------- LSTM


def _lstm_steps(XP: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_peep: Tensor | None,
                w_hr: Tensor | None, steps: Steps) -> tuple[Tensor, ...]:
    """The LSTM recurrence. ``XP (T, N, 4H)`` is ``x_t W_ih^T + b_ih + b_hh``.

    Returns ``out (T, N, P)`` (``h_t``), ``acts (T, N, 4H)`` (``i, f, g, o``),
    ``cells (T, N, H)`` (``c_t``), ``tanh_cells (T, N, H)`` (``tanh(c_t)``) and the
    last states ``h_n (N, P)``, ``c_n (N, H)``; rows where a packed input is
    inactive are zero in the first four.
    """
    N = h0.shape[0]
    h, c = h0, c0
    outs, acts, cells, tanh_cells = [], [], [], []
    for xp, nb in zip(XP.unbind(0), steps, strict=True):
        h_prev, c_prev = h[:nb], c[:nb]
        a = linear(h_prev, w_hh, xp[:nb])  # a_t = h_{t-1} W_hh^T + (x_t W_ih^T + b)
        a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
        if w_peep is not None:  # the input and forget gates look at c_{t-1}
            a_i = torch.addcmul(a_i, w_peep[0], c_prev)  # a_i + p_i * c_{t-1}
            a_f = torch.addcmul(a_f, w_peep[1], c_prev)
        i, f, g = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g)
        c_t = torch.addcmul(f * c_prev, i, g)  # f * c_{t-1} + i * g
        if w_peep is not None:  # the output gate looks at c_t
            a_o = torch.addcmul(a_o, w_peep[2], c_t)
        o = torch.sigmoid(a_o)
        tanh_c = torch.tanh(c_t)
        h_t = o * tanh_c  # m_t, with a projection
        if w_hr is not None:
            h_t = linear(h_t, w_hr)  # h_t = m_t W_hr^T
        h, c = _update(h, h_t), _update(c, c_t)
        outs.append(_pad(h_t, N))
        acts.append(_pad(torch.cat((i, f, g, o), dim=1), N))
        cells.append(_pad(c_t, N))
        tanh_cells.append(_pad(tanh_c, N))
    return (torch.stack(outs), torch.stack(acts), torch.stack(cells), torch.stack(tanh_cells),
            h, c)


def _lstm_steps_backward(grad_out: Tensor, dh: Tensor, dc: Tensor, acts: Tensor, cells: Tensor,
                         tanh_cells: Tensor, c0: Tensor, w_hh_t: Tensor, w_peep: Tensor | None,
                         w_hr_t: Tensor | None, steps: Steps) -> tuple[Tensor, ...]:
    """BPTT through :func:`_lstm_steps` (``w_hh_t``, ``w_hr_t``: ``W_hh^T``, ``W_hr^T``).

    ``dh``, ``dc`` enter as the gradients of ``h_n``, ``c_n``. Returns ``dA (T, N, 4H)``
    (the gradient of every ``a_t``), ``dH (T, N, P)`` (of every ``h_t``, for ``W_hr``;
    ``None`` without a projection), ``dh0`` and ``dc0``.
    """
    N = dh.shape[0]
    dAs, dHs = [], []
    for t in reversed(range(len(steps))):
        nb = steps[t]
        i, f, g, o = acts[t, :nb].chunk(4, dim=1)
        tanh_c = tanh_cells[t, :nb]
        c_prev = (cells[t - 1] if t > 0 else c0)[:nb]
        dh_t = grad_out[t, :nb] + dh[:nb]  # from the output at t and from step t+1
        dm = dh_t if w_hr_t is None else linear(dh_t, w_hr_t)  # h_t = m_t W_hr^T
        # m_t = o * tanh(c_t)
        da_o = _sigmoid_grad(dm * tanh_c, o)
        dc_t = _tanh_grad(dm * o, tanh_c) + dc[:nb]
        if w_peep is not None:
            dc_t = torch.addcmul(dc_t, da_o, w_peep[2])  # o also sees c_t
        # c_t = f * c_{t-1} + i * g
        da_i = _sigmoid_grad(dc_t * g, i)
        da_f = _sigmoid_grad(dc_t * c_prev, f)
        da_g = _tanh_grad(dc_t * i, g)
        da = torch.cat((da_i, da_f, da_g, da_o), dim=1)
        dc_prev = dc_t * f
        if w_peep is not None:  # i and f also see c_{t-1}
            dc_prev = torch.addcmul(torch.addcmul(dc_prev, da_i, w_peep[0]), da_f, w_peep[1])
        dh, dc = _update(dh, linear(da, w_hh_t)), _update(dc, dc_prev)  # into step t-1
        dAs.append(_pad(da, N))
        if w_hr_t is not None:
            dHs.append(_pad(dh_t, N))
    dH = torch.stack(dHs[::-1]) if w_hr_t is not None else None
    return torch.stack(dAs[::-1]), dH, dh, dc


class _LSTMFunction(torch.autograd.Function):
    """The LSTM layer, with optional peepholes (``w_peep``) and projection (``w_hr``)."""

    generate_vmap_rule = True  # everything below is vmappable: torch.func.vmap works

    @staticmethod
    def forward(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,  # type: ignore[override]
                b_ih: Tensor | None, b_hh: Tensor | None, w_peep: Tensor | None,
                w_hr: Tensor | None, steps: Steps | None, ops: Ops) -> tuple[Tensor, ...]:
        T, N, steps = x.shape[0], x.shape[1], _all_rows(steps, x)
        XP = _project(x, ops.prepare(w_ih, T * N), _add_biases(b_ih, b_hh))
        out, acts, cells, tanh_cells, h_n, c_n = ops.run(
            _lstm_steps, XP, h0, c0, ops.prepare(w_hh, N), w_peep, w_hr, steps)
        return out, h_n, c_n, acts, cells, tanh_cells

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: tuple) -> None:
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep, w_hr, steps, ops = inputs
        out, _, _, acts, cells, tanh_cells = output
        ctx.mark_non_differentiable(acts, cells, tanh_cells)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep, w_hr, out, acts, cells,
                              tanh_cells)
        ctx.steps, ctx.ops = _all_rows(steps, x), ops  # type: ignore[attr-defined]
        ctx.autocast = _autocast_state(x)  # type: ignore[attr-defined]
        ctx.set_materialize_grads(False)  # see _zeros_for

    @staticmethod
    @_under_forward_autocast
    def backward(ctx: FunctionCtx, grad_out: Tensor, grad_hn: Tensor, grad_cn: Tensor,  # type: ignore[override]
                 *_: Any) -> tuple[Tensor | None, ...]:
        saved = ctx.saved_tensors  # type: ignore[attr-defined]
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep, w_hr, out, acts, cells, tanh_cells = saved
        (need_x, need_h0, need_c0, need_w_ih, need_w_hh, need_b_ih, need_b_hh, need_w_peep,
         need_w_hr, *_) = ctx.needs_input_grad  # type: ignore[attr-defined]
        steps: Steps = ctx.steps  # type: ignore[attr-defined]
        ops = _backward_ops(ctx.ops)  # type: ignore[attr-defined]
        grad_out, grad_hn, grad_cn = _zeros_for((grad_out, out), (grad_hn, h0), (grad_cn, c0))
        T, N, H = cells.shape
        if _graph_needed():  # double backward: recompute the forward under autograd
            out, acts, cells, tanh_cells, _, _ = _lstm_steps(
                _project(x, w_ih, _add_biases(b_ih, b_hh)), h0, c0, w_hh, w_peep, w_hr, steps)
        dA, dH, dh0, dc0 = ops.run(
            _lstm_steps_backward, grad_out, grad_hn, grad_cn, acts, cells, tanh_cells, c0,
            ops.prepare(w_hh.t(), N), w_peep, None if w_hr is None else w_hr.t(), steps)
        db = _sum_rows(dA) if need_b_ih or need_b_hh else None  # b_ih and b_hh: the same sum
        dw_peep = None
        if w_peep is not None and need_w_peep:
            c_prev = _previous(c0, cells)
            dw_peep = torch.stack((
                (dA[..., :H] * c_prev).sum((0, 1)),  # p_i
                (dA[..., H:2 * H] * c_prev).sum((0, 1)),  # p_f
                (dA[..., 3 * H:] * cells).sum((0, 1)),  # p_o
            ))
        dw_hr = None
        if w_hr is not None and need_w_hr:
            o = acts[..., 3 * H:]
            dw_hr = _wgrad(dH, o * tanh_cells)  # h_t = m_t W_hr^T, m_t = o * tanh(c_t)
        h_prev = _previous(h0, out) if need_w_hh else out
        dw_ih, dw_hh = _weight_grads(dA, x, h_prev, need_w_ih, need_w_hh)
        dx = _project(dA, ops.prepare(w_ih.t(), T * N), None) if need_x else None
        return (dx, dh0 if need_h0 else None, dc0 if need_c0 else None, dw_ih, dw_hh,
                db if need_b_ih else None, db if need_b_hh else None, dw_peep, dw_hr, None, None)


def lstm_layer(
    x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, batch_sizes: Tensor | None = None, w_hr: Tensor | None = None,
    ops: Ops = EAGER,
) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer (gate order i, f, g, o, as in ``torch.nn.LSTM``)::

        a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  = [a_i | a_f | a_g | a_o]
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)     g = tanh(a_g)
        c_t = f * c_{t-1} + i * g          h_t = o * tanh(c_t)

    With a projection ``w_hr`` (LSTMP, Sak et al., 2014; ``torch.nn.LSTM``'s
    ``proj_size``): ``h_t = (o * tanh(c_t)) W_hr^T``, ``P`` wide.

    Args:
        x: ``(T, N, D)`` inputs, time-major.
        h0: ``(N, P)`` initial hidden state (``P = H`` without a projection);
        c0: ``(N, H)`` initial cell state.
        w_ih: ``(4H, D)``; w_hh: ``(4H, P)``; b_ih, b_hh: ``(4H,)`` or ``None`` (no bias).
        batch_sizes: ``None`` or a PackedSequence's ``batch_sizes`` (see the module docstring).
        w_hr: ``(P, H)`` or ``None`` (no projection).
        ops: how the loops and products run: :data:`EAGER` (this file's code), or
            ``rnncourse.torch.compiled.ops(True)`` for the compiled path.

    Returns:
        ``out: (T, N, P)`` (``h_t`` at every step), ``h_n: (N, P)`` and ``c_n: (N, H)``.
    """
    T, N, _ = _check("lstm_layer", x, {"h0": (h0, 1), "c0": (c0, 0)}, w_ih, w_hh, b_ih, b_hh,
                     gates=4, w_hr=w_hr)
    steps = _step_sizes(batch_sizes, T, N)
    out, h_n, c_n, *_ = _LSTMFunction.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, None, w_hr,
                                            steps, ops)
    return out, h_n, c_n


def peephole_lstm_layer(
    x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, w_peep: Tensor, batch_sizes: Tensor | None = None,
    w_hr: Tensor | None = None, ops: Ops = EAGER,
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
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes, w_hr, ops: as in
            :func:`lstm_layer`.
        w_peep: ``(3, H)``, the rows ``p_i, p_f, p_o``.

    Returns:
        ``out: (T, N, H)``, ``h_n: (N, H)`` and ``c_n: (N, H)``.
    """
    where = "peephole_lstm_layer"
    T, N, H = _check(where, x, {"h0": (h0, 1), "c0": (c0, 0)}, w_ih, w_hh, b_ih, b_hh, gates=4,
                     w_hr=w_hr)
    if tuple(w_peep.shape) != (3, H):
        raise ValueError(f"{where}: w_peep must be (3, H) = {(3, H)}, got {tuple(w_peep.shape)}")
    steps = _step_sizes(batch_sizes, T, N)
    out, h_n, c_n, *_ = _LSTMFunction.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep, w_hr,
                                            steps, ops)
    return out, h_n, c_n


# --------------------------------------------------------------------------- GRU


def _gru_steps(XP: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None,
               steps: Steps) -> tuple[Tensor, ...]:
    """The GRU recurrence. ``XP (T, N, 3H)`` is ``x_t W_ih^T + b_ih``.

    Returns ``out (T, N, H)``, ``acts (T, N, 3H)`` (``r, z, n``), ``hn (T, N, H)``
    (``h_{t-1} W_hn^T + b_hn``, which ``r`` multiplies) and ``h_n (N, H)``.
    """
    N = h0.shape[0]
    h, outs, acts, hns = h0, [], [], []
    for xp, nb in zip(XP.unbind(0), steps, strict=True):
        h_prev = h[:nb]
        hh = linear(h_prev, w_hh, b_hh)  # h_{t-1} W_hh^T + b_hh
        x_r, x_z, x_n = xp[:nb].chunk(3, dim=1)
        h_r, h_z, h_n = hh.chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(torch.addcmul(x_n, r, h_n))  # tanh(x_n + r * h_n)
        # (1 - z) * n + z * h_{t-1}, as n + z * (h_{t-1} - n); under autocast n and z come
        # in its lower precision and h keeps the state's (torch.nn promotes), lerp wants one
        h_t = torch.lerp(n.to(h_prev.dtype), h_prev, z.to(h_prev.dtype))
        h = _update(h, h_t)
        outs.append(_pad(h_t, N))
        acts.append(_pad(torch.cat((r, z, n), dim=1), N))
        hns.append(_pad(h_n, N))
    return torch.stack(outs), torch.stack(acts), torch.stack(hns), h


def _gru_steps_backward(grad_out: Tensor, dh: Tensor, out: Tensor, acts: Tensor, hns: Tensor,
                        h0: Tensor, w_hh_t: Tensor, steps: Steps) -> tuple[Tensor, ...]:
    """BPTT through :func:`_gru_steps`: ``dXP`` and ``dHH`` (``(T, N, 3H)``, the gradients
    of ``x_t W_ih^T + b_ih`` and of ``h_{t-1} W_hh^T + b_hh``) and ``dh0``; ``w_hh_t`` is
    ``W_hh^T``."""
    N = dh.shape[0]
    dXPs, dHHs = [], []
    for t in reversed(range(len(steps))):
        nb = steps[t]
        r, z, n = acts[t, :nb].chunk(3, dim=1)
        h_n = hns[t, :nb]
        h_prev = (out[t - 1] if t > 0 else h0)[:nb]
        dh_t = grad_out[t, :nb] + dh[:nb]  # from the output at t and from step t+1
        # h_t = (1 - z) * n + z * h_{t-1}
        da_z = _sigmoid_grad(dh_t * (h_prev - n), z)
        da_n = _tanh_grad(dh_t * (1 - z), n)
        # n = tanh(x_n + r * h_n)
        da_r = _sigmoid_grad(da_n * h_n, r)
        dXP = torch.cat((da_r, da_z, da_n), dim=1)
        dHH = torch.cat((da_r, da_z, da_n * r), dim=1)
        dh = _update(dh, linear(dHH, w_hh_t, dh_t * z))  # dHH_t W_hh + dh_t z, into h_{t-1}
        dXPs.append(_pad(dXP, N))
        dHHs.append(_pad(dHH, N))
    return torch.stack(dXPs[::-1]), torch.stack(dHHs[::-1]), dh


class _GRUFunction(torch.autograd.Function):
    """The GRU layer; ``b_hh`` stays on the recurrent side because ``r`` multiplies its
    ``n`` block."""

    generate_vmap_rule = True  # everything below is vmappable: torch.func.vmap works

    @staticmethod
    def forward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,  # type: ignore[override]
                b_hh: Tensor | None, steps: Steps | None, ops: Ops) -> tuple[Tensor, ...]:
        T, N, steps = x.shape[0], x.shape[1], _all_rows(steps, x)
        XP = _project(x, ops.prepare(w_ih, T * N), b_ih)
        out, acts, hns, h_n = ops.run(_gru_steps, XP, h0, ops.prepare(w_hh, N), b_hh, steps)
        return out, h_n, acts, hns

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: tuple) -> None:
        x, h0, w_ih, w_hh, b_ih, b_hh, steps, ops = inputs
        out, _, acts, hns = output
        ctx.mark_non_differentiable(acts, hns)
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh, out, acts, hns)
        ctx.steps, ctx.ops = _all_rows(steps, x), ops  # type: ignore[attr-defined]
        ctx.autocast = _autocast_state(x)  # type: ignore[attr-defined]
        ctx.set_materialize_grads(False)  # see _zeros_for

    @staticmethod
    @_under_forward_autocast
    def backward(ctx: FunctionCtx, grad_out: Tensor, grad_hn: Tensor,  # type: ignore[override]
                 *_: Any) -> tuple[Tensor | None, ...]:
        x, h0, w_ih, w_hh, b_ih, b_hh, out, acts, hns = ctx.saved_tensors  # type: ignore[attr-defined]
        need_x, need_h0, need_w_ih, need_w_hh, need_b_ih, need_b_hh, *_ = (
            ctx.needs_input_grad)  # type: ignore[attr-defined]
        steps: Steps = ctx.steps  # type: ignore[attr-defined]
        ops = _backward_ops(ctx.ops)  # type: ignore[attr-defined]
        grad_out, grad_hn = _zeros_for((grad_out, out), (grad_hn, h0))
        T, N = x.shape[:2]
        if _graph_needed():  # double backward: recompute the forward under autograd
            out, acts, hns, _ = _gru_steps(_project(x, w_ih, b_ih), h0, w_hh, b_hh, steps)
        dXP, dHH, dh0 = ops.run(_gru_steps_backward, grad_out, grad_hn, out, acts, hns, h0,
                                ops.prepare(w_hh.t(), N), steps)
        dx = _project(dXP, ops.prepare(w_ih.t(), T * N), None) if need_x else None
        return (
            dx, dh0 if need_h0 else None,
            _wgrad(dXP, x) if need_w_ih else None,  # dW_ih = sum_t dXP_t^T x_t
            _wgrad(dHH, _previous(h0, out)) if need_w_hh else None,  # sum_t dHH_t^T h_{t-1}
            _sum_rows(dXP) if need_b_ih else None,
            _sum_rows(dHH) if need_b_hh else None, None, None,
        )


def gru_layer(
    x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
    b_hh: Tensor | None, batch_sizes: Tensor | None = None, ops: Ops = EAGER,
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
        ops: as in :func:`rnn_layer`.

    Returns:
        ``out: (T, N, H)`` (``h_t`` at every step) and ``h_n: (N, H)``.
    """
    T, N, _ = _check("gru_layer", x, {"h0": (h0, 1)}, w_ih, w_hh, b_ih, b_hh, gates=3)
    steps = _step_sizes(batch_sizes, T, N)
    out, h_n, *_ = _GRUFunction.apply(x, h0, w_ih, w_hh, b_ih, b_hh, steps, ops)
    return out, h_n
