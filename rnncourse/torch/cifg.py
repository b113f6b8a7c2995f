"""The coupled input-forget gate LSTM (CIFG), the LSTM variant closest to the GRU.

Greff et al. (2017) call it CIFG: the forget gate is not computed but tied to the input
gate, ``f_t = 1 - i_t``, so the cell keeps exactly what it does not write. In the
course's notation (row vectors, gate order i, g, o along the rows of the weights)::

    [a_i, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
    i_t = sigmoid(a_i)   g_t = tanh(a_g)   o_t = sigmoid(a_o)
    c_t = (1 - i_t) * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

Three blocks instead of the LSTM's four; the GRU's update ``h_t = z_t h_{t-1} +
(1 - z_t) n_t`` has the same coupling with ``z_t = 1 - i_t``. The layer is written with
plain autograd, one step at a time: it is for chapter 8's small experiment, not for
speed.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["CIFGLSTM"]


class CIFGLSTM(nn.Module):
    """One-layer CIFG LSTM with ``torch.nn.LSTM``'s interface (no layers, no directions).

    Args:
        input_size: ``D``.
        hidden_size: ``H``.
        bias: with ``bias_ih``, ``bias_hh`` (``3H`` each) when True.
        batch_first: input ``(N, T, D)`` when True, ``(T, N, D)`` otherwise.
        forget_bias: if given, the input gate's bias starts at ``-forget_bias``
            (``b_ii = -forget_bias``, ``b_hi = 0``), so that ``f = 1 - i`` starts with a
            total bias of ``forget_bias``, as the LSTM's ``forget_bias`` does.

    Parameters ``weight_ih: (3H, D)``, ``weight_hh: (3H, H)``, ``bias_ih``, ``bias_hh:
    (3H,)``, blocks i, g, o, initialised as PyTorch does: ``U(-1/sqrt(H), 1/sqrt(H))``.

    ``forward(input, hx=None) -> (output, (h_n, c_n))`` with ``output`` ``(N, T, H)`` (or
    ``(T, N, H)``; ``(T, H)`` for an unbatched ``(T, D)`` input) and ``h_n``, ``c_n``
    ``(1, N, H)`` (``(1, H)``), and ``torch.nn.LSTM``'s errors for wrong shapes.
    """

    num_gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 batch_first: bool = False, *, forget_bias: float | None = None) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"CIFGLSTM: {name} must be a positive integer, got {value!r}")
        if forget_bias is not None and not bias:
            raise ValueError("CIFGLSTM: forget_bias needs bias=True")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.batch_first, self.forget_bias = batch_first, forget_bias
        G = 3 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G))
            self.bias_hh = nn.Parameter(torch.empty(G))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's recurrent initialisation, then ``forget_bias`` if one was given."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)
            if self.forget_bias is not None:
                H = self.hidden_size
                self.bias_ih[:H] = -self.forget_bias
                self.bias_hh[:H] = 0.0

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``torch.nn.LSTM``'s forward for one layer: ``input (T, N, D)`` (``(N, T, D)`` if
        ``batch_first``) or unbatched ``(T, D)``; ``hx = (h_0, c_0)``, each ``(1, N, H)``
        (``(1, H)`` unbatched), zeros if None. Wrong shapes raise torch.nn's errors."""
        x, (h, c), batched = self._checked(input, hx)  # x: (N, T, D); h, c: (N, H)
        N, T, _ = x.shape
        H = self.hidden_size
        XP = x @ self.weight_ih.T            # every input projection in one product
        if self.bias_ih is not None:
            XP = XP + self.bias_ih + self.bias_hh
        outputs = []
        for t in range(T):
            a = XP[:, t] + h @ self.weight_hh.T
            i = torch.sigmoid(a[:, :H])
            g = torch.tanh(a[:, H:2 * H])
            o = torch.sigmoid(a[:, 2 * H:])
            c = (1 - i) * c + i * g         # f_t = 1 - i_t: keep what is not written
            h = o * torch.tanh(c)
            outputs.append(h)
        out = torch.stack(outputs, dim=1)    # (N, T, H)
        if not batched:
            return out[0], (h, c)            # (T, H) and (1, H) = (num_layers, H)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, (h[None], c[None])

    def _checked(self, input: Tensor, hx: tuple[Tensor, Tensor] | None
                 ) -> tuple[Tensor, tuple[Tensor, Tensor], bool]:
        """torch.nn.LSTM's checks, with its messages; the input as ``(N, T, D)`` and the
        initial states as ``(N, H)``, and whether the input is batched."""
        if not isinstance(input, Tensor):
            raise TypeError(f"CIFGLSTM: input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"CIFGLSTM: Expected input to be 2D or 3D, got {input.dim()}D "
                             "instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError("input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {input.shape[-1]}")
        if input.dtype != self.weight_ih.dtype:
            w = self.weight_ih.dtype
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w}). Convert input: input.to({w}), or convert model: "
                             f"model.to({input.dtype})")
        batched = input.dim() == 3
        if not batched:  # (T, D): a batch of one, whatever batch_first says
            x = input.unsqueeze(0)
        else:
            x = input if self.batch_first else input.transpose(0, 1)
        N, H = x.shape[0], self.hidden_size
        if hx is None:
            return x, (x.new_zeros(N, H), x.new_zeros(N, H)), batched
        if not (isinstance(hx, (tuple, list)) and len(hx) == 2
                and all(isinstance(s, Tensor) for s in hx)):
            raise TypeError("CIFGLSTM: hx must be a pair of tensors (h_0, c_0)")
        dims = tuple(s.dim() for s in hx)
        if dims != ((3, 3) if batched else (2, 2)):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise RuntimeError(f"For {kind} input, hx and cx should also be "
                               f"{3 if batched else 2}-D but got ({dims[0]}-D, {dims[1]}-D) "
                               "tensors")
        states = hx if batched else tuple(s.unsqueeze(1) for s in hx)
        for k, s in enumerate(states):
            if tuple(s.shape) != (1, N, H):
                raise RuntimeError(f"Expected hidden[{k}] size {(1, N, H)}, got {list(s.shape)}")
            if s.dtype != input.dtype or s.device != input.device:
                raise RuntimeError(f"CIFGLSTM: hx[{k}] is {s.dtype} on {s.device} but the "
                                   f"input is {input.dtype} on {input.device}")
        return x, (states[0][0], states[1][0]), batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, batch_first={self.batch_first}"
        if self.bias_ih is None:
            s += ", bias=False"
        if self.forget_bias is not None:
            s += f", forget_bias={self.forget_bias}"
        return s
