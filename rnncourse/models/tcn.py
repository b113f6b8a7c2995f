"""Convolutional sequence models of chapter 12: a temporal convolutional network (TCN) and a
recurrent layer behind a convolutional front-end, both drop-in forecasters like
:class:`rnncourse.models.forecast.Forecaster` (``(N, T, 1) -> (N,)`` or ``(N, horizon)``).

- :class:`CausalConv1d` -- ``torch.nn.Conv1d`` padded on the left only, ``(K - 1) d`` zeros,
  so that output ``t`` reads inputs ``<= t`` (the layer :func:`rnncourse.numpy.conv.causal_conv1d`
  computes in NumPy);
- :class:`TemporalBlock` -- Bai, Kolter and Koltun's residual block: two causal convolutions of
  the same dilation, each followed by a ReLU, added to the block's input (through a 1x1
  convolution where the widths differ). Their weight normalisation and dropout are left out:
  the models here are small and trained briefly;
- :class:`TCNForecaster` -- blocks of dilations ``1, 2, 4, ...``, then a linear layer on the
  last step's channels;
- :class:`ConvRNNForecaster` -- one causal convolution with a ReLU (the *front-end*: local
  patterns over ``K`` steps), then a recurrent layer over its output, then a linear layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["CausalConv1d", "ConvRNNForecaster", "TCNForecaster", "TemporalBlock"]


class CausalConv1d(nn.Conv1d):
    """``Conv1d`` on ``(N, C_in, T)`` with ``(kernel_size - 1) * dilation`` zeros on the left
    and none on the right: ``(N, C_out, T)``, output ``t`` computed from inputs ``<= t``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 dilation: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left = (kernel_size - 1) * dilation

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, (self.left, 0)))


class TemporalBlock(nn.Module):
    """``relu(x' + conv2(relu(conv1(x))))`` with causal convolutions of one dilation, where
    ``x'`` is ``x`` (or its 1x1 projection when the widths differ). ``(N, C_in, T) ->
    (N, C_out, T)``; the block widens the receptive field by ``2 (K - 1) d``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 dilation: int) -> None:
        super().__init__()
        self.conv1 = CausalConv1d(in_channels, out_channels, kernel_size, dilation)
        self.conv2 = CausalConv1d(out_channels, out_channels, kernel_size, dilation)
        self.skip = (nn.Identity() if in_channels == out_channels
                     else nn.Conv1d(in_channels, out_channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.skip(x) + self.conv2(torch.relu(self.conv1(x))))


class TCNForecaster(nn.Module):
    """A temporal convolutional network with a linear read-out of its last step.

    Args:
        channels: width of every block.
        kernel_size: ``K``.
        dilations: one block per entry (two convolutions each); receptive field
            ``1 + 2 (K - 1) sum(dilations)``.
        horizon: how many future values to forecast at once.

    ``forward(x)``: ``x: (N, T, 1)`` -> ``(N,)`` for ``horizon=1``, else ``(N, horizon)``.
    """

    def __init__(self, channels: int = 16, kernel_size: int = 3,
                 dilations: Sequence[int] = (1, 2, 4, 8), horizon: int = 1) -> None:
        super().__init__()
        self.horizon = horizon
        widths = [1] + [channels] * len(dilations)
        self.blocks = nn.Sequential(*(TemporalBlock(a, b, kernel_size, d) for a, b, d in
                                      zip(widths[:-1], widths[1:], dilations, strict=True)))
        self.head = nn.Linear(channels, horizon)

    def forward(self, x: Tensor) -> Tensor:
        features = self.blocks(x.transpose(1, 2))          # (N, C, T)
        forecast = self.head(features[:, :, -1])           # (N, horizon)
        return forecast.squeeze(-1) if self.horizon == 1 else forecast


class ConvRNNForecaster(nn.Module):
    """A causal convolution (``channels`` filters of ``kernel_size`` steps, ReLU), then a
    recurrent layer over the filtered sequence, then a linear layer on its last state.

    ``layer`` is built as ``layer(input_size=channels, hidden_size=H, batch_first=True)``,
    e.g. ``rnncourse.torch.LSTM``. ``forward(x)``: ``(N, T, 1)`` -> ``(N,)`` or
    ``(N, horizon)``.
    """

    def __init__(self, layer: type[nn.Module], hidden_size: int = 32, channels: int = 8,
                 kernel_size: int = 3, horizon: int = 1) -> None:
        super().__init__()
        self.horizon = horizon
        self.conv = CausalConv1d(1, channels, kernel_size)
        self.rnn = layer(input_size=channels, hidden_size=hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, horizon)

    def forward(self, x: Tensor) -> Tensor:
        filtered = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)   # (N, T, C)
        output, _ = self.rnn(filtered)
        forecast = self.head(output[:, -1])
        return forecast.squeeze(-1) if self.horizon == 1 else forecast
