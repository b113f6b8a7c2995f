"""Language modelling as probability: likelihood, perplexity, bits per character, sampling.

A language model gives a probability to a whole sequence ``x_1 ... x_T`` by
the chain rule of probability, one conditional per step::

    p(x_1, ..., x_T) = prod_t p(x_t | x_1, ..., x_{t-1})

A recurrent network computes each factor: after reading ``x_1 ... x_{t-1}``
its state ``h_{t-1}`` summarises the past, and ``softmax(h_{t-1} V + c)`` is
the distribution of the next symbol.  Training feeds the *true* previous
symbol at every step (teacher forcing), so one forward pass over a text gives
every factor at once; the log-likelihood is the sum of their logs::

    log p(x) = sum_t log p(x_t | x_<t)          (nats: natural logarithms)

The cross-entropy loss per symbol is the average negative log-likelihood,
``L = -log p(x) / T``; the perplexity is ``exp(L)``; bits per character are
``L / ln 2`` (the same average in base-2 logarithms), so
``perplexity = 2 ** bits_per_char``.

Sampling runs the chain rule forwards: draw ``x_t`` from the model's
distribution, feed it back in, repeat.  A temperature ``tau > 0`` divides the
scores first, ``softmax(y / tau)``: ``tau < 1`` sharpens the distribution
(``tau -> 0`` is the argmax), ``tau > 1`` flattens it.

Truncation cuts the unreliable tail off instead, then renormalises what is left:
**top-k** sampling (Fan et al. 2018) keeps the ``k`` most probable symbols
(:func:`top_k_filter`); **nucleus** or top-p sampling (Holtzman et al. 2020) keeps
the smallest set of most probable symbols whose probabilities add up to at least
``p`` (:func:`top_p_filter`), so the number kept adapts to how sure the model is.
:func:`truncated_softmax` applies the temperature, then top-k, then top-p.

The model of :func:`sample` is the character model of chapter 4: one-hot
inputs, the package's tanh RNN (:func:`rnncourse.numpy.rnn_step_forward`) and
an output layer, with parameters ``Wx: (K, H)``, ``Wh: (H, H)``, ``b: (H,)``,
``V: (H, K)``, ``c: (K,)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._validate import as_float, check_finite, check_shapes
from .losses import _scores_targets_mask, log_softmax, softmax
from .rnn import rnn_step_forward

__all__ = [
    "sequence_log_likelihood",
    "bits_per_char",
    "temperature_softmax",
    "top_k_filter",
    "top_p_filter",
    "truncated_softmax",
    "sample_next",
    "sample",
]


def sequence_log_likelihood(scores: Any, y: Any, mask: Any = None) -> np.ndarray:
    """``log p(y_n) = sum_t m[n, t] log softmax(scores[n, t])[y[n, t]]``, in nats, per sequence.

    The chain rule in log form: the log-probability of a whole sequence is the
    sum over its steps of the log-probability of the symbol that came next.

    Args:
        scores: ``(N, T, K)`` scores of the next symbol at every step.
        y: ``(N, T)`` integer targets in ``[0, K)`` (the next symbols).
        mask: optional ``(N, T)`` booleans or 0/1, 1 at the real steps
            (padding is left out of the sum).

    Returns:
        ``(N,)`` log-likelihoods, each ``<= 0``.  Their negated sum divided by
        the number of counted steps is the mean cross-entropy of
        :func:`rnncourse.numpy.temporal_softmax_cross_entropy`.
    """
    where = "sequence_log_likelihood"
    scores, y, m = _scores_targets_mask(where, scores, y, mask)
    logp_y = np.take_along_axis(log_softmax(scores), y[..., None], axis=-1)[..., 0]
    return np.sum(m * logp_y, axis=1)


def bits_per_char(mean_nll: float) -> float:
    """Bits per character of a mean negative log-likelihood measured in nats: ``L / ln 2``.

    ``log2 p = ln p / ln 2``, so the same average in base 2.  A uniform guess
    over ``K`` characters costs ``log2 K`` bits; and
    ``2 ** bits_per_char(L) == exp(L)``, the perplexity.
    """
    if isinstance(mean_nll, bool) or not isinstance(mean_nll, (int, float, np.integer,
                                                                 np.floating)):
        raise TypeError(f"bits_per_char: mean_nll must be a number (nats), got "
                        f"{type(mean_nll).__name__}")
    if not np.isfinite(mean_nll) or mean_nll < 0:
        raise ValueError(f"bits_per_char: mean_nll must be a finite number >= 0 (a negative "
                         f"log-likelihood), got {mean_nll}")
    return float(mean_nll) / math.log(2)


def _temperature(where: str, temperature: Any) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer,
                                                                       np.floating)):
        raise TypeError(f"{where}: temperature must be a number > 0, got "
                        f"{type(temperature).__name__}")
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"{where}: temperature must be a finite number > 0, got {temperature} "
                         f"(for the most likely symbol, take the argmax of the scores)")
    return float(temperature)


def temperature_softmax(scores: Any, temperature: float = 1.0) -> np.ndarray:
    """``softmax(scores / temperature)`` over the last axis.

    ``temperature = 1`` is the model's own distribution; smaller values move
    the mass to the most likely symbol, larger ones towards uniform.
    """
    t = _temperature("temperature_softmax", temperature)
    scores = as_float("temperature_softmax: scores", scores)
    check_finite("temperature_softmax: scores", scores)
    return softmax(scores / t)


def _probabilities(where: str, probs: Any) -> np.ndarray:
    p = as_float(f"{where}: probs", probs)
    check_finite(f"{where}: probs", p)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"{where}: probs must have a last axis of K >= 1 symbols, got "
                         f"shape {p.shape}")
    if (p < 0).any() or not np.allclose(p.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError(f"{where}: probs must be >= 0 and sum to 1 along the last axis")
    return p


def _rank(p: np.ndarray) -> np.ndarray:
    """Indices sorting each row from the most to the least probable symbol; equal
    probabilities keep their order (the lower id first), so truncation is deterministic."""
    return np.argsort(-p, axis=-1, kind="stable")


def top_k_filter(probs: Any, k: int) -> np.ndarray:
    """Top-k truncation (Fan et al. 2018): keep the ``k`` most probable symbols, renormalise.

    ``q_i = p_i / sum_{j in S} p_j`` for ``i`` in ``S``, the ``k`` largest ``p_i``
    (ties broken towards the lower id), and ``q_i = 0`` elsewhere.

    Args:
        probs: ``(..., K)`` probabilities (each row sums to 1).
        k: how many symbols to keep, ``1 <= k``; ``k >= K`` keeps every symbol.

    Returns:
        The truncated distribution, same shape; ``k = 1`` is the argmax (greedy).
    """
    where = "top_k_filter"
    p = _probabilities(where, probs)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{where}: k must be an int >= 1, got {k!r}")
    keep = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(keep, _rank(p)[..., :min(int(k), p.shape[-1])], True, axis=-1)
    q = np.where(keep, p, 0.0)
    return q / q.sum(axis=-1, keepdims=True)


def top_p_filter(probs: Any, top_p: float) -> np.ndarray:
    """Nucleus (top-p) truncation (Holtzman et al. 2020): keep the smallest set of most
    probable symbols whose total probability is at least ``top_p``, renormalise.

    Sort ``p`` from large to small, ``p_(1) >= p_(2) >= ...``; keep the first ``m``
    symbols, ``m`` the smallest with ``p_(1) + ... + p_(m) >= top_p``. (A symbol is kept
    exactly when the mass of the symbols ranked *before* it is below ``top_p``.)

    Args:
        probs: ``(..., K)`` probabilities (each row sums to 1).
        top_p: in ``(0, 1]``; ``1`` keeps every symbol (up to rounding in the sums).
            A total that equals ``top_p`` exactly is enough: with ``p = (0.5, 0.3, 0.2)``
            and ``top_p = 0.8`` two symbols are kept.

    Returns:
        The truncated distribution, same shape. The most probable symbol is always kept.
    """
    where = "top_p_filter"
    p = _probabilities(where, probs)
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.integer, np.floating)) \
            or not 0 < top_p <= 1:
        raise ValueError(f"{where}: top_p must be a number in (0, 1], got {top_p!r}")
    order = _rank(p)
    sorted_p = np.take_along_axis(p, order, axis=-1)
    before = np.cumsum(sorted_p, axis=-1) - sorted_p        # mass ranked before each symbol
    keep_sorted = before < top_p
    keep = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    q = np.where(keep, p, 0.0)
    return q / q.sum(axis=-1, keepdims=True)


def truncated_softmax(scores: Any, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None) -> np.ndarray:
    """The distribution a sampler draws from: ``softmax(scores / temperature)``, then
    :func:`top_k_filter` (if ``top_k``), then :func:`top_p_filter` (if ``top_p``).

    With ``top_k = top_p = None`` it is :func:`temperature_softmax` itself.
    """
    p = temperature_softmax(scores, temperature)
    if top_k is not None:
        p = top_k_filter(p, top_k)
    if top_p is not None:
        p = top_p_filter(p, top_p)
    return p


def _generator(where: str, rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{where}: rng must be a numpy.random.Generator "
                        f"(np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def sample_next(scores: Any, rng: np.random.Generator, temperature: float = 1.0,
                top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """Draw one symbol per row from ``softmax(scores / temperature)`` (truncated by
    ``top_k`` and ``top_p`` when given: :func:`truncated_softmax`).

    By inversion: with ``u`` uniform in ``[0, 1)``, the symbol is the first
    ``k`` whose cumulative probability exceeds ``u``.

    Args:
        scores: ``(N, K)`` scores (or ``(K,)`` for one distribution).
        rng: a seeded ``numpy.random.Generator``.
        temperature: a finite number > 0.
        top_k, top_p: truncation (see :func:`top_k_filter`, :func:`top_p_filter`).

    Returns:
        Integer ids, ``(N,)`` (or a 0-d array for ``(K,)`` scores).
    """
    where = "sample_next"
    rng = _generator(where, rng)
    t = _temperature(where, temperature)
    scores = as_float(f"{where}: scores", scores)
    check_finite(f"{where}: scores", scores)
    if scores.ndim not in (1, 2) or scores.shape[-1] == 0:
        raise ValueError(f"{where}: scores must have shape (N, K) or (K,) with K >= 1, got "
                         f"{scores.shape}")
    p = softmax(scores / t)
    if top_k is not None:
        p = top_k_filter(p, top_k)
    if top_p is not None:
        p = top_p_filter(p, top_p)
    cdf = np.cumsum(p, axis=-1)
    u = rng.random(p.shape[:-1])
    # How many cumulative probabilities are <= u; never past the last symbol (rounding).
    k = np.sum(cdf <= np.asarray(u)[..., None], axis=-1)
    return np.minimum(k, p.shape[-1] - 1).astype(np.int64)


def sample(
    params: Mapping[str, Any], first: int, length: int, rng: np.random.Generator,
    temperature: float = 1.0, h0: Any = None,
) -> np.ndarray:
    """Generate ``length`` symbols from the character model, starting after ``first``.

    At every step: one-hot input of the previous symbol, one step of the tanh
    RNN, scores ``h V + c``, draw the next symbol with :func:`sample_next`, feed
    it back in.

    Args:
        params: ``Wx: (K, H)``, ``Wh: (H, H)``, ``b: (H,)``, ``V: (H, K)``, ``c: (K,)``.
        first: the id of the symbol read first (not part of the result).
        length: how many symbols to draw, >= 0.
        rng: a seeded ``numpy.random.Generator``.
        temperature: a finite number > 0.
        h0: ``(H,)`` initial state (zeros by default).

    Returns:
        ``(length,)`` integer ids.
    """
    where = "sample"
    rng = _generator(where, rng)
    t = _temperature(where, temperature)
    missing = [k for k in ("Wx", "Wh", "b", "V", "c") if k not in params]
    if missing:
        raise KeyError(f"{where}: params lacks {missing}; expected Wx, Wh, b, V and c")
    Wx, Wh, b, V, c = (as_float(f"{where}: {k}", params[k]) for k in ("Wx", "Wh", "b", "V", "c"))
    dims = check_shapes(where, dict(Wx=(Wx, ("K", "H")), Wh=(Wh, ("H", "H")), b=(b, ("H",)),
                                    V=(V, ("H", "K")), c=(c, ("K",))))
    K, H = dims["K"], dims["H"]
    for name, v in (("first", first), ("length", length)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{where}: {name} must be an int, got {type(v).__name__}")
    if not 0 <= first < K:
        raise ValueError(f"{where}: first must be a symbol id in [0, {K}), got {first}")
    if length < 0:
        raise ValueError(f"{where}: length must be >= 0, got {length}")
    h = np.zeros((1, H)) if h0 is None else as_float(f"{where}: h0", h0).reshape(1, -1)
    if h.shape != (1, H):
        raise ValueError(f"{where}: h0 must have shape (H,) = ({H},), got {np.shape(h0)}")
    eye = np.eye(K)
    out = np.empty(int(length), dtype=np.int64)
    previous = int(first)
    for i in range(int(length)):
        h, _ = rnn_step_forward(eye[previous][None], h, Wx, Wh, b)
        previous = int(sample_next(h @ V + c, rng, t)[0])
        out[i] = previous
    return out
