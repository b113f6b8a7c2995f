"""Chapter 4's toy model in NumPy: a tanh RNN with an output at every step.

The smallest useful recurrent network, in the book's row-vector notation::

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)        (N, H)
    y_t = h_t V + c                            (N, K) scores
    C   = cross-entropy of softmax(y_t) against the targets, over the steps
          where mask[:, t] = 1 (the outputs the cost uses)

:func:`rnn_classifier_loss` runs it forward and backward with the package's functions
(:func:`~rnncourse.numpy.rnn_forward`, :func:`~rnncourse.numpy.temporal_affine_forward`,
:func:`~rnncourse.numpy.temporal_softmax_cross_entropy` and their backward passes);
:func:`init_rnn_classifier` gives it seeded weights. ``scripts/sweep_ch04_optimisers.py``
trains it with SGD, Adagrad and Adam.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnncourse.numpy import (
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_cross_entropy,
)

__all__ = [
    "init_rnn_classifier", "rnn_classifier_loss",
]


def init_rnn_classifier(D: int, H: int, K: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights for the toy model, scaled by ``1 / sqrt(fan-in)``.

    Returns:
        ``{"Wx": (D, H), "Wh": (H, H), "b": (H,), "V": (H, K), "c": (K,)}``, float64;
        the biases start at zero.
    """
    rng = np.random.default_rng(seed)
    return dict(
        Wx=rng.standard_normal((D, H)) / np.sqrt(D),
        Wh=rng.standard_normal((H, H)) / np.sqrt(H),
        b=np.zeros(H),
        V=rng.standard_normal((H, K)) / np.sqrt(H),
        c=np.zeros(K),
    )


def rnn_classifier_loss(
    params: Mapping[str, np.ndarray], x: np.ndarray, y: np.ndarray, h0: np.ndarray,
    mask: np.ndarray | None = None,
) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
    """Forward and backward pass of the toy model over one batch of sequences.

    Args:
        params: ``Wx: (D, H)``, ``Wh: (H, H)``, ``b: (H,)``, ``V: (H, K)``, ``c: (K,)``.
        x: ``(N, T, D)`` inputs.
        y: ``(N, T)`` integer targets in ``[0, K)``.
        h0: ``(N, H)`` initial state.
        mask: ``(N, T)`` 0/1, which outputs the cost uses (``None``: all of them).
            The cost is the mean cross-entropy over the used outputs.

    Returns:
        ``(loss, grads, h)``: the cost, its gradients ``{"Wx", "Wh", "b", "V", "c",
        "h0"}`` and the hidden states ``h: (N, T, H)``.
    """
    h, rnn_cache = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    scores, out_cache = temporal_affine_forward(h, params["V"], params["c"])
    loss, dscores = temporal_softmax_cross_entropy(scores, y, mask)
    dh, dV, dc = temporal_affine_backward(dscores, out_cache)
    _, dh0, dWx, dWh, db = rnn_backward(dh, rnn_cache)
    grads = dict(Wx=dWx, Wh=dWh, b=db, V=dV, c=dc, h0=dh0)
    return loss, grads, h
