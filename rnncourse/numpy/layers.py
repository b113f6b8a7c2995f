"""The layers around a recurrent core: the word embedding and the output layer.

A language model reads word ids, looks each one up in an embedding table, runs
the recurrence, and maps every hidden state to scores over the vocabulary::

    x_t = W[w_t]                          embedding: row w_t of the table W
    h_t = phi(x_t Wx + h_{t-1} Wh + b)    the recurrent layer (see rnn.py)
    y_t = h_t V + c                       output layer, the same at every step

(In the course's letters ``U`` is input->hidden, ``W`` hidden->hidden and
``V`` hidden->output; here ``W`` is the argument name of the embedding table,
as in ``torch.nn.Embedding.weight``.)  This module holds the first and the
last line, each as a ``*_forward(...) -> (out, cache)`` /
``*_backward(dout, cache)`` pair.

Shapes: ``ids: (N, T)`` integers in ``[0, V)``, an embedding table
``W: (V, D)``, hidden states ``h: (N, T, H)``, output weights ``V: (H, K)``,
bias ``c: (K,)`` and scores ``(N, T, K)``.  The embedding is
``torch.nn.Embedding(V, D)`` with ``weight = W``; the output layer is
``torch.nn.Linear(H, K)`` applied at every step with ``weight = V.T`` and
``bias = c``.
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    Cache,
    as_float,
    as_index,
    check_finite,
    check_shapes,
    get_cache,
    prepare,
    upstream,
)

__all__ = [
    "embedding_forward",
    "embedding_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
]


def _like(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A zero-memory stand-in for a forward output that the cache does not keep.

    The backward passes only need the *shape and dtype* of the forward output to
    check the upstream gradient, not its values.
    """
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)


# --------------------------------------------------------------------------- embedding


def embedding_forward(ids: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, Cache]:
    """Look up the embedding of every word: ``x[n, t] = W[ids[n, t]]``.

    Looking up row ``w`` is the product ``onehot(w) W`` done without building
    the one-hot vector.

    Args:
        ids: ``(N, T)`` integer word ids in ``[0, V)``.
        W: ``(V, D)`` embedding table, one row per word of the vocabulary.

    Returns:
        ``out: (N, T, D)`` and the cache that :func:`embedding_backward` needs.
    """
    where = "embedding_forward"
    W = as_float(f"{where}: W", W)
    check_finite(f"{where}: W", W)
    if W.ndim != 2:
        raise ValueError(f"{where}: W must be 2-D with shape (V, D), "
                         f"got a {W.ndim}-D array of shape {W.shape}")
    ids = as_index(f"{where}: ids", ids, upper=W.shape[0])
    check_shapes(where, dict(ids=(ids, ("N", "T")), W=(W, ("V", "D"))))
    out = W[ids]  # (N, T, D)
    cache = dict(kind="embedding", ids=ids, W_shape=W.shape, dtype=W.dtype)
    return out, cache


def embedding_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of the embedding table.

    Every position adds its upstream gradient to the row of the word it looked
    up: ``dW[w] = sum of dout[n, t] over all (n, t) with ids[n, t] = w``.  A word
    that appears several times gets the sum, hence ``np.add.at`` (a plain
    ``dW[ids] += dout`` would keep only one of the repeated updates).  Rows of
    words that do not appear stay zero.

    Args:
        dout: ``(N, T, D)`` gradient of the loss with respect to ``out``.
        cache: from :func:`embedding_forward`.

    Returns:
        ``dW: (V, D)``.  (There is no gradient for the integer ids.)
    """
    where = "embedding_backward"
    c = get_cache(where, cache, "embedding")
    ids, (V, D) = c["ids"], c["W_shape"]
    dout = upstream(where, "dout", dout, _like(ids.shape + (D,), c["dtype"]))
    dW = np.zeros((V, D), dtype=dout.dtype)
    np.add.at(dW, ids, dout)
    return dW


# --------------------------------------------------------------------------- output layer


def temporal_affine_forward(
    h: np.ndarray, V: np.ndarray, c: np.ndarray,
) -> tuple[np.ndarray, Cache]:
    """The output layer at every time step: ``y_t = h_t V + c``.

    The same ``V`` and ``c`` are used at every step, so all ``N * T`` hidden
    states go through one matrix product.

    Args:
        h: ``(N, T, H)`` hidden states.
        V: ``(H, K)`` hidden-to-output weights.
        c: ``(K,)`` output bias.

    Returns:
        ``scores: (N, T, K)`` and the cache for :func:`temporal_affine_backward`.
    """
    where = "temporal_affine_forward"
    h, V, c = prepare(
        where, dict(h=h, V=V, c=c), dict(h=("N", "T", "H"), V=("H", "K"), c=("K",)),
    )
    scores = h @ V + c
    cache = dict(kind="temporal_affine", h=h, V=V)
    return scores, cache


def temporal_affine_backward(
    dscores: np.ndarray, cache: Cache,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of the output layer.

    With ``dy_t`` the gradient of the scores at step ``t``::

        dh_t = dy_t V^T     dV = sum over t of h_t^T dy_t     dc = sum over t and batch of dy_t

    Args:
        dscores: ``(N, T, K)`` gradient of the loss with respect to the scores.
        cache: from :func:`temporal_affine_forward`.

    Returns:
        ``(dh, dV, dc)``, shaped like ``h``, ``V`` and ``c``.
    """
    where = "temporal_affine_backward"
    cc = get_cache(where, cache, "temporal_affine")
    h, V = cc["h"], cc["V"]
    N, T, H = h.shape
    K = V.shape[1]
    dscores = upstream(where, "dscores", dscores, _like((N, T, K), h.dtype))
    dh = dscores @ V.T
    # The sum over time as one product over the flattened (N*T) axis.
    dy2 = dscores.reshape(N * T, K)
    dV = h.reshape(N * T, H).T @ dy2
    dc = dy2.sum(axis=0)
    return dh, dV, dc
