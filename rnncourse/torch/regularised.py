"""An LSTM stepped in Python, with zoneout and layer normalisation in its recurrence.

Both regularisers act *inside* the loop over time, between one step and the next, so
they cannot use a fused kernel that runs the whole sequence at once (``torch.nn.LSTM``
or :class:`rnncourse.torch.LSTM`). :class:`SteppedLSTM` writes the loop out. Its
equations are :mod:`rnncourse.numpy.regularise`'s (which cites the papers)::

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh              plain
    a_t = LN_ih(x_t W_ih^T) + LN_hh(h_{t-1} W_hh^T) + b_ih + b_hh  layer_norm=True
    [i, f, g, o] = sigma, sigma, tanh, sigma of the blocks of a_t
    c~_t = f * c_{t-1} + i * g
    h~_t = o * tanh(c~_t)             (o * tanh(LN_c(c~_t)) with layer_norm=True)
    c_t = d^c * c_{t-1} + (1 - d^c) * c~_t    d^c ~ Bernoulli(zoneout_c), per unit and step
    h_t = d^h * h_{t-1} + (1 - d^h) * h~_t    d^h ~ Bernoulli(zoneout_h)

In evaluation mode the masks are their expectations (``d^c = zoneout_c``). With
``zoneout_c = zoneout_h = 0`` and ``layer_norm=False`` it is ``torch.nn.LSTM`` (one
layer, one direction), with the same parameter names, so weights load both ways. On a
CPU it trains about 2.2 times slower than the fused kernel (measured on chapter 10's
language model, 256 units, batches of 32 windows of 32 characters).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .init import init_rnn_

__all__ = ["SteppedLSTM"]


class SteppedLSTM(nn.Module):
    """A one-layer LSTM with optional zoneout and layer normalisation.

    Args:
        input_size: ``D``.
        hidden_size: ``H``.
        batch_first: input and output ``(N, T, .)`` when True, ``(T, N, .)`` otherwise.
        zoneout_c, zoneout_h: the probabilities of keeping a unit's previous cell and
            hidden state, in ``[0, 1)``.
        layer_norm: normalise the two products and the cell state (``ln_ih``, ``ln_hh``:
            ``LayerNorm(4H)`` without shift; ``ln_c``: ``LayerNorm(H)``).

    ``forward(x, state=None)`` returns ``(output, (h_n, c_n))`` as ``torch.nn.LSTM``:
    ``output`` holds ``h_t`` for every step, ``h_n`` and ``c_n`` are ``(1, N, H)``.
    Parameters: ``weight_ih_l0: (4H, D)``, ``weight_hh_l0: (4H, H)``, ``bias_ih_l0``,
    ``bias_hh_l0: (4H,)``, initialised as ``torch.nn.LSTM``'s.
    """

    def __init__(self, input_size: int, hidden_size: int, *, batch_first: bool = False,
                 zoneout_c: float = 0.0, zoneout_h: float = 0.0,
                 layer_norm: bool = False) -> None:
        super().__init__()
        for name, p in (("zoneout_c", zoneout_c), ("zoneout_h", zoneout_h)):
            if not 0 <= p < 1:
                raise ValueError(f"SteppedLSTM: {name} must be in [0, 1), got {p!r}")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.batch_first = batch_first
        self.zoneout_c, self.zoneout_h = float(zoneout_c), float(zoneout_h)
        self.layer_norm = layer_norm
        H = hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * H, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * H, H))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * H))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * H))
        init_rnn_(self)                        # torch.nn.LSTM's U(-1/sqrt(H), 1/sqrt(H))
        if layer_norm:                         # after: gains 1, shifts 0
            self.ln_ih = nn.LayerNorm(4 * H, bias=False)
            self.ln_hh = nn.LayerNorm(4 * H, bias=False)
            self.ln_c = nn.LayerNorm(H)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, batch_first={self.batch_first}, "
                f"zoneout_c={self.zoneout_c}, zoneout_h={self.zoneout_h}, "
                f"layer_norm={self.layer_norm}")

    def _zone(self, prev: Tensor, new: Tensor, p: float) -> Tensor:
        if p == 0:
            return new
        if self.training:
            return torch.where(torch.rand_like(new) < p, prev, new)
        return p * prev + (1 - p) * new

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"SteppedLSTM: expected input (N, T, {self.input_size}) "
                             f"(batch_first) or (T, N, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        if self.batch_first:
            x = x.transpose(0, 1)                                       # (T, N, D)
        T, N, H = x.shape[0], x.shape[1], self.hidden_size
        if state is None:
            h = c = x.new_zeros(N, H)
        else:
            h, c = state
            if h.shape != (1, N, H) or c.shape != (1, N, H):
                raise ValueError(f"SteppedLSTM: expected h_0 and c_0 of shape {(1, N, H)}, "
                                 f"got {tuple(h.shape)} and {tuple(c.shape)}")
            h, c = h[0], c[0]
        bias = self.bias_ih_l0 + self.bias_hh_l0
        proj = x @ self.weight_ih_l0.T                      # every step's input at once
        proj = (self.ln_ih(proj) if self.layer_norm else proj) + bias
        outputs = []
        for t in range(T):
            rec = h @ self.weight_hh_l0.T
            a = proj[t] + (self.ln_hh(rec) if self.layer_norm else rec)
            i, f, g, o = a.chunk(4, dim=1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(self.ln_c(c_new) if self.layer_norm
                                                  else c_new)
            c = self._zone(c, c_new, self.zoneout_c)
            h = self._zone(h, h_new, self.zoneout_h)
            outputs.append(h)
        out = torch.stack(outputs)                                      # (T, N, H)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, (h[None], c[None])
