"""Causal, dilated 1-D convolution and its receptive field (chapter 12).

A **causal** convolution lets the output at step ``t`` read only the inputs at steps
``<= t``; a **dilated** one reads them ``d`` steps apart. With a kernel of ``K`` taps and
dilation ``d``, in the course's batch-first layout ``x: (N, T, C_in)``::

    y[n, t, o] = b[o] + sum_{j=0}^{K-1} sum_c  w[o, c, j] * x[n, t - (K-1-j) d, c]

with ``x`` taken as 0 at negative times (zero padding on the left only). The last tap,
``j = K - 1``, reads the present step; tap ``j`` reads ``(K - 1 - j) d`` steps back. The
weights are in PyTorch's layout, ``w: (C_out, C_in, K)``, so the same numbers give
``torch.nn.functional.conv1d(pad_left(x), w, dilation=d)`` (PyTorch, like every deep-learning
library, computes a cross-correlation and calls it a convolution).

A stack of such layers, layer ``i`` with ``K_i`` taps and dilation ``d_i``, has the
**receptive field**::

    R = 1 + sum_i (K_i - 1) d_i

steps: the output at ``t`` depends on the inputs at ``t - R + 1, ..., t`` and on no others.
With ``K = 2`` and dilations ``1, 2, 4, ..., 2^(L-1)`` (WaveNet's choice), ``R = 2^L``: the
field doubles with every layer, while the number of weights grows only linearly.

- :func:`causal_conv1d` -- one layer, vectorised over the batch, time and channels (a loop
  over the ``K`` taps only);
- :func:`receptive_field` -- ``R`` of a stack;
- :func:`layers_for_receptive_field` -- how many layers of doubling dilation a stack needs
  to see ``T`` steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._validate import as_float, check_shapes

__all__ = ["causal_conv1d", "layers_for_receptive_field", "receptive_field"]


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def causal_conv1d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                  dilation: int = 1) -> np.ndarray:
    """One causal dilated convolution layer.

    Args:
        x: ``(N, T, C_in)`` inputs, batch first.
        w: ``(C_out, C_in, K)`` weights (PyTorch's ``Conv1d`` layout); tap ``K - 1``
            reads the present step, tap ``j`` the step ``(K - 1 - j) * dilation`` back.
        b: ``(C_out,)`` bias, or None.
        dilation: ``d >= 1``, the spacing between the steps the taps read.

    Returns:
        ``y: (N, T, C_out)``, ``y[:, t]`` computed from ``x[:, :t + 1]`` only.
    """
    dilation = _positive("dilation", dilation)
    x, w = as_float("x", x), as_float("w", w)
    arrays = {"x": (x, ("N", "T", "C")), "w": (w, ("O", "C", "K"))}
    if b is not None:
        b = as_float("b", b)
        arrays["b"] = (b, ("O",))
    check_shapes("causal_conv1d", arrays)
    n, t, _ = x.shape
    k = w.shape[2]
    pad = (k - 1) * dilation
    xp = np.concatenate([np.zeros((n, pad, x.shape[2]), dtype=x.dtype), x], axis=1)
    y = np.zeros((n, t, w.shape[0]), dtype=np.result_type(x, w))
    for j in range(k):                       # tap j reads x[t - (k-1-j) d] = xp[t + j d]
        y += xp[:, j * dilation: j * dilation + t] @ w[:, :, j].T
    if b is not None:
        y += b
    return y


def receptive_field(kernel_sizes: Sequence[int] | int, dilations: Sequence[int]) -> int:
    """``R = 1 + sum_i (K_i - 1) d_i``: how many input steps one output of a stack of causal
    convolutions sees (the present one included).

    ``kernel_sizes``: one ``K`` for every layer, or a single int for all of them;
    ``dilations``: ``d_i`` per layer (a layer applied twice, as in a TCN's residual block,
    is listed twice).
    """
    dilations = [_positive("dilation", d) for d in dilations]
    if isinstance(kernel_sizes, (int, np.integer)) and not isinstance(kernel_sizes, bool):
        kernel_sizes = [int(kernel_sizes)] * len(dilations)
    kernel_sizes = [_positive("kernel size", k) for k in kernel_sizes]
    if len(kernel_sizes) != len(dilations):
        raise ValueError(f"one kernel size per layer: got {len(kernel_sizes)} kernel sizes "
                         f"and {len(dilations)} dilations")
    return 1 + sum((k - 1) * d for k, d in zip(kernel_sizes, dilations, strict=True))


def layers_for_receptive_field(steps: int, kernel_size: int = 2, convs_per_layer: int = 1
                               ) -> int:
    """The fewest layers ``L`` with dilations ``1, 2, 4, ..., 2^(L-1)`` whose receptive field
    covers ``steps`` inputs: ``1 + c (K - 1)(2^L - 1) >= steps``, ``c`` convolutions of
    ``K`` taps per layer (a TCN's residual block has ``c = 2``)."""
    steps = _positive("steps", steps)
    k = _positive("kernel_size", kernel_size)
    c = _positive("convs_per_layer", convs_per_layer)
    if k == 1 and steps > 1:
        raise ValueError("a kernel of one tap never widens the receptive field")
    layers = 0
    while 1 + c * (k - 1) * (2 ** layers - 1) < steps:
        layers += 1
    return layers
