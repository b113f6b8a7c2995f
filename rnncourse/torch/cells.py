"""One-step recurrent cells, drop-in replacements for ``torch.nn.RNNCell/LSTMCell/GRUCell``.

A cell computes one time step; you write the loop over time yourself. The
parameters have ``torch.nn``'s names and shapes (``weight_ih: (G*H, D)``,
``weight_hh: (G*H, H)``, ``bias_ih, bias_hh: (G*H,)``), so ``load_state_dict``
works both ways with the ``torch.nn`` cells. Each step is the sequence function
of :mod:`rnncourse.torch.functional` run over a sequence of length 1, so the
cells and the layers share one implementation of the equations.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from . import compiled as _compiled
from . import functional as F
from .init import init_rnn_, set_forget_bias_
from .modules import _refuse_legacy_onnx_export

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


class _CellBase(nn.Module):
    """Parameters, initialisation and input checks shared by the three cells."""

    num_gates: int = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        device: torch.device | str | None = None, dtype: torch.dtype | None = None,
        *, init: str = "pytorch",
    ) -> None:
        super().__init__()
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{type(self).__name__}: {arg} must be an int >= 0, "
                                 f"got {value!r}")  # 0 is allowed, as in torch.nn
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        factory = {"device": device, "dtype": dtype}
        G, H = self.num_gates, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(G * H, H, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * H, **factory))
            self.bias_hh = nn.Parameter(torch.empty(G * H, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.init = init
        init_rnn_(self, init)

    def reset_parameters(self) -> None:
        """Re-draw the parameters with the scheme given at construction."""
        init_rnn_(self, self.init)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _check(self, input: Tensor, states: tuple[Tensor, ...] | None) -> bool:
        """Validate shapes and dtypes as ``torch.nn``'s cells do, with their messages;
        return whether the input is batched."""
        name = type(self).__name__
        _refuse_legacy_onnx_export(name)
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for k, s in enumerate(states or ()):
            if s.dim() not in (1, 2):
                what = f"hx[{k}]" if len(states or ()) == 2 else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if x.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.size(1)} "
                               f"expected {self.input_size}")
        for k, s in enumerate(states or ()):
            s = s if batched else s.unsqueeze(0)
            if s.size(0) != x.size(0):
                raise RuntimeError(f"Input batch size {x.size(0)} doesn't match hidden{k} "
                                   f"batch size {s.size(0)}")
            if s.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.size(1)}, "
                                   f"expected {self.hidden_size}")
            if s.dim() != 2:
                raise RuntimeError(f"{name}: expected hx[{k}] of shape "
                                   f"{(x.size(0), self.hidden_size)}, got {tuple(s.shape)}")
        if input.dtype != self.weight_ih.dtype:
            raise ValueError(
                f"{name}: input dtype ({input.dtype}) does not match weight dtype "
                f"({self.weight_ih.dtype})"
            )
        return batched

    def _zeros(self, input: Tensor) -> Tensor:
        """``(N, H)`` zeros on the input's device and dtype (``input`` is 2-D)."""
        return input.new_zeros(input.size(0), self.hidden_size)


class RNNCell(_CellBase):
    """An Elman RNN step, like ``torch.nn.RNNCell``::

        h' = phi(x W_ih^T + b_ih + h W_hh^T + b_hh)      phi = tanh or relu

    Args:
        input_size: ``D``. hidden_size: ``H``. bias: use ``b_ih, b_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        device, dtype: where and how the parameters are created.
        init: ``"pytorch"`` (default), ``"orthogonal"`` or ``"identity"`` (IRNN),
            see :mod:`rnncourse.torch.init`.

    Forward: ``input (N, D)`` or ``(D,)``, ``hx (N, H)`` or ``(H,)`` (zeros if
    None) -> ``h' (N, H)`` or ``(H,)``.
    """

    num_gates = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        nonlinearity: str = "tanh",
        device: torch.device | str | None = None, dtype: torch.dtype | None = None,
        *, init: str = "pytorch",
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype, init=init)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check(input, None if hx is None else (hx,))
        x = input if batched else input.unsqueeze(0)
        h = self._zeros(x) if hx is None else (hx if batched else hx.unsqueeze(0))
        _, h = F.rnn_layer(x.unsqueeze(0), h, self.weight_ih, self.weight_hh,
                           self.bias_ih, self.bias_hh, nonlinearity=self.nonlinearity,
                           ops=_compiled.ops(None))  # RNNCOURSE_COMPILE=1: compiled
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """An LSTM step, like ``torch.nn.LSTMCell`` (gate order i, f, g, o)::

        [a_i, a_f, a_g, a_o] = x W_ih^T + b_ih + h W_hh^T + b_hh
        i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
        c' = f * c + i * g
        h' = o * tanh(c')

    Args:
        input_size, hidden_size, bias, device, dtype, init: as in :class:`RNNCell`
            (``init="identity"`` is not available for gated cells).
        forget_bias: if given, ``b_if`` is set to it and ``b_hf`` to 0 after
            the initialisation, so the forget gate's bias is this value.

    Forward: ``input (N, D)`` or ``(D,)``, ``hx = (h, c)`` each ``(N, H)`` or
    ``(H,)`` (zeros if None) -> ``(h', c')``.
    """

    num_gates = 4

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True,
        device: torch.device | str | None = None, dtype: torch.dtype | None = None,
        *, init: str = "pytorch", forget_bias: float | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype, init=init)
        self.forget_bias = forget_bias
        if forget_bias is not None:
            set_forget_bias_(self, forget_bias)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias is not None:
            set_forget_bias_(self, self.forget_bias)

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        batched = self._check(input, hx)
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            h, c = self._zeros(x), self._zeros(x)
        else:
            h, c = hx if batched else (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        _, h, c = F.lstm_layer(x.unsqueeze(0), h, c, self.weight_ih, self.weight_hh,
                               self.bias_ih, self.bias_hh, ops=_compiled.ops(None))
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """A GRU step, like ``torch.nn.GRUCell`` (gate order r, z, n; PyTorch's form)::

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) * n + z * h

    Args and forward: as in :class:`RNNCell` (without ``nonlinearity``;
    ``init="identity"`` is not available for gated cells).
    """

    num_gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check(input, None if hx is None else (hx,))
        x = input if batched else input.unsqueeze(0)
        h = self._zeros(x) if hx is None else (hx if batched else hx.unsqueeze(0))
        _, h = F.gru_layer(x.unsqueeze(0), h, self.weight_ih, self.weight_hh,
                           self.bias_ih, self.bias_hh, ops=_compiled.ops(None))
        return h if batched else h.squeeze(0)
