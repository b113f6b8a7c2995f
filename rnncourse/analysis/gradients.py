"""How gradients travel back through time, measured (chapters 4, 5 and 6).

The basic layer, in the book's row-vector notation (``h_t: (H,)`` a row)::

    a_t = x_t Wx + h_{t-1} Wh + b,        h_t = phi(a_t)

One step back in time multiplies by the step Jacobian (entry ``[i, j]`` is
``d h_{t,i} / d h_{t-1,j}``)::

    J_t = d h_t / d h_{t-1} = diag(phi'(a_t)) Wh^T                  (H, H)

and, by the chain rule, over ``T - t`` steps::

    d h_T / d h_t = J_T J_{T-1} ... J_{t+1}                        (H, H)

A gradient row ``g = dL/dh_T`` reaches ``h_t`` as ``g (d h_T / d h_t)``; the spectral norm
``||d h_T / d h_t||_2`` is the most it can be stretched. ``nonlinearity`` is ``"tanh"``,
``"relu"`` (through :func:`rnncourse.numpy.rnn_forward`) or ``"linear"`` (``phi(a) = a``,
``phi' = 1``, so the product is ``(Wh^T)^(T-t)``).

- chapter 4: :func:`total_hidden_gradients`, the gradient reaching every hidden state;
- chapter 5: :func:`spectral_radius`, :func:`matrix_with_spectral_radius`,
  :func:`run_rnn`, :func:`step_jacobians`, :func:`jacobian_products`,
  :func:`jacobian_norms`, :func:`lstm_cell_jacobian_norms`, :func:`wh_gradient_by_step`,
  and :func:`summarise_remedies` (the shipped runs of the remedies, grouped);
- chapter 6: :func:`gradient_norms`, the gradient on the RNN's ``h_t`` against the LSTM's
  ``c_t``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from rnncourse._args import as_rng
from rnncourse.numpy import (
    lstm_init,
    lstm_step_backward,
    lstm_step_forward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)
from rnncourse.numpy.activations import activation_grad

__all__ = [
    "total_hidden_gradients", "NONLINEARITIES", "spectral_radius",
    "matrix_with_spectral_radius", "RNNRun", "run_rnn", "step_jacobians", "jacobian_products",
    "jacobian_norms", "lstm_cell_jacobian_norms", "wh_gradient_by_step", "summarise_remedies",
    "gradient_norms",
]


def total_hidden_gradients(dh_out: np.ndarray, h: np.ndarray, Wh: np.ndarray) -> np.ndarray:
    """The total gradient on every hidden state of a tanh RNN: arrows 2 plus arrows 3.

    ``dh_out[:, t]`` is what reaches ``h_t`` from its own output (arrow 2). Going
    backwards in time, ``h_t`` also receives what ``h_{t+1}`` sends back (arrow 3)::

        dh_total_t = dh_out_t + (dh_total_{t+1} * (1 - h_{t+1}^2)) Wh^T,
        dh_total_{T-1} = dh_out_{T-1}

    This is the recurrence inside :func:`rnncourse.numpy.rnn_backward`, returned
    here for every step so that it can be looked at.

    Args:
        dh_out: ``(N, T, H)`` gradient on each state through its output only.
        h: ``(N, T, H)`` the hidden states of the forward pass.
        Wh: ``(H, H)`` hidden-to-hidden weights.

    Returns:
        ``dh_total: (N, T, H)``, the gradient of the cost with respect to each ``h_t``.
    """
    dh_out, h, Wh = (np.asarray(a, dtype=np.float64) for a in (dh_out, h, Wh))
    if dh_out.shape != h.shape or h.ndim != 3 or Wh.shape != (h.shape[2], h.shape[2]):
        raise ValueError(f"total_hidden_gradients: expected dh_out and h of shape (N, T, H) "
                         f"and Wh (H, H), got {dh_out.shape}, {h.shape}, {Wh.shape}")
    dh_total = np.empty_like(dh_out)
    from_next = np.zeros_like(dh_out[:, 0])  # nothing comes back after the last step
    for t in reversed(range(h.shape[1])):
        dh_total[:, t] = dh_out[:, t] + from_next
        from_next = (dh_total[:, t] * (1 - h[:, t] ** 2)) @ Wh.T
    return dh_total


NONLINEARITIES = ("linear", "tanh", "relu")


def spectral_radius(W: np.ndarray) -> float:
    """``max |eigenvalue|`` of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def matrix_with_spectral_radius(
    H: int, radius: float, rng: np.random.Generator | int, kind: str = "orthogonal",
) -> np.ndarray:
    """A random ``(H, H)`` recurrent matrix whose spectral radius is ``radius``.

    Args:
        H: number of hidden units.
        radius: the spectral radius wanted, ``>= 0``.
        rng: a ``numpy.random.Generator`` or an integer seed.
        kind: ``"orthogonal"``: ``radius * Q`` with ``Q`` a random orthogonal matrix;
            every eigenvalue *and* every singular value is then ``radius``, so
            ``||W^k||_2 = radius^k`` exactly. ``"gaussian"``: a standard normal matrix
            rescaled by its own spectral radius (not normal: its powers may grow for a
            while before they follow ``radius^k``).

    Returns:
        ``W: (H, H)``.
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    g = as_rng(rng, name="rng").standard_normal((H, H))
    if kind == "orthogonal":
        Q, R = np.linalg.qr(g)
        Q = Q * np.sign(np.diag(R))  # a uniformly random orthogonal matrix
        return radius * Q
    if kind == "gaussian":
        return radius * g / spectral_radius(g)
    raise ValueError(f"kind must be 'orthogonal' or 'gaussian', got {kind!r}")


class RNNRun(NamedTuple):
    """One sequence through a basic RNN: what the Jacobians need.

    ``x: (T, D)``, ``Wx: (D, H)``, ``b: (H,)``, ``h: (T, H)`` (row ``t - 1`` is
    ``h_t``; ``h_0 = 0``), ``dphi: (T, H)`` (row ``t - 1`` is ``phi'(a_t)``).
    """

    x: np.ndarray
    Wx: np.ndarray
    b: np.ndarray
    h: np.ndarray
    dphi: np.ndarray


def run_rnn(
    Wh: np.ndarray, T: int, nonlinearity: str = "tanh", rng: np.random.Generator | int = 0,
    *, input_size: int = 4, input_scale: float = 1.0, b: np.ndarray | None = None,
) -> RNNRun:
    """Run a basic RNN with recurrent matrix ``Wh`` on ``T`` random input steps.

    The inputs are standard normal, ``Wx`` is normal with standard deviation
    ``input_scale / sqrt(input_size)``, ``b`` is zero unless given, ``h_0 = 0``.

    Returns:
        An :class:`RNNRun` with the states and ``phi'(a_t)`` of every step.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    Wh = np.asarray(Wh, dtype=np.float64)
    H = Wh.shape[0]
    g = as_rng(rng, name="rng")
    x = g.standard_normal((T, input_size))
    Wx = g.standard_normal((input_size, H)) * input_scale / np.sqrt(input_size)
    b = np.zeros(H) if b is None else np.asarray(b, dtype=np.float64)
    if nonlinearity == "linear":
        h = np.empty((T, H))
        prev = np.zeros(H)
        for t in range(T):
            prev = x[t] @ Wx + prev @ Wh + b
            h[t] = prev
        dphi = np.ones((T, H))
    else:
        h = rnn_forward(x[None], np.zeros((1, H)), Wx, Wh, b, nonlinearity)[0][0]
        dphi = activation_grad(nonlinearity, h)
    return RNNRun(x, Wx, b, h, dphi)


def step_jacobians(Wh: np.ndarray, dphi: np.ndarray) -> np.ndarray:
    """``J_t = diag(phi'(a_t)) Wh^T`` for ``t = 1..T``.

    Args:
        Wh: ``(H, H)`` recurrent weights (row-vector form, ``h_{t-1} Wh``).
        dphi: ``(T, H)``, row ``t - 1`` is ``phi'(a_t)``.

    Returns:
        ``J: (T, H, H)``, ``J[t - 1][i, j] = d h_{t,i} / d h_{t-1,j}``.
    """
    dphi = np.asarray(dphi, dtype=np.float64)
    return dphi[:, :, None] * np.asarray(Wh, dtype=np.float64).T[None]


def jacobian_products(Wh: np.ndarray, dphi: np.ndarray) -> np.ndarray:
    """``d h_T / d h_t = J_T ... J_{t+1}`` for every ``t = 0..T``.

    Built backwards from ``d h_T / d h_T = I``, one product per step:
    ``d h_T / d h_t = (d h_T / d h_{t+1}) J_{t+1}``.

    Args:
        Wh: ``(H, H)``.
        dphi: ``(T, H)`` as in :func:`step_jacobians`.

    Returns:
        ``P: (T + 1, H, H)`` with ``P[t] = d h_T / d h_t`` (``P[T] = I``).
    """
    J = step_jacobians(Wh, dphi)
    T, H = J.shape[0], J.shape[1]
    P = np.empty((T + 1, H, H))
    P[T] = np.eye(H)
    for t in range(T - 1, -1, -1):
        P[t] = P[t + 1] @ J[t]  # J[t] is J_{t+1}
    return P


def jacobian_norms(
    Wh: np.ndarray, T: int, nonlinearity: str = "tanh", rng: np.random.Generator | int = 0,
    **run_kwargs: Any,
) -> np.ndarray:
    """``||d h_T / d h_t||_2`` for ``t = 0..T`` on one random input sequence.

    Runs :func:`run_rnn` (``run_kwargs``: ``input_size``, ``input_scale``, ``b``),
    then multiplies the step Jacobians (:func:`jacobian_products`).

    Returns:
        ``norms: (T + 1,)``; ``norms[t]`` belongs to the distance ``T - t``, and
        ``norms[T] = 1``.
    """
    run = run_rnn(Wh, T, nonlinearity, rng, **run_kwargs)
    return np.linalg.norm(jacobian_products(Wh, run.dphi), ord=2, axis=(1, 2))


def lstm_cell_jacobian_norms(
    T: int, H: int, forget_bias: float, rng: np.random.Generator | int = 0,
    *, input_size: int = 4, path: str = "full",
) -> np.ndarray:
    """``||d c_T / d c_t||_2`` for ``t = 0..T`` through a NumPy LSTM.

    Weights from :func:`rnncourse.numpy.lstm_init` (PyTorch's uniform draw, forget
    bias ``forget_bias``), standard normal inputs, ``h_0 = c_0 = 0``. The Jacobian is
    taken with ``(h_t, c_t)`` as the state: ``c_t`` is perturbed, ``h_t`` held.

    How: the same sequence is run as a batch of ``H`` copies, and
    :func:`rnncourse.numpy.lstm_step_backward` is run from ``dc_T = I`` (row ``i``
    of the batch carries ``e_i``) and ``dh_T = 0``; the ``dprev_c`` it returns at
    step ``t + 1`` is then the whole matrix ``d c_T / d c_t``, one row per copy.

    ``path="cell"`` keeps only the additive cell path ``c_t = f_t * c_{t-1} + ...``,
    whose Jacobian is ``diag(f_T * ... * f_{t+1})``: its norm is ``max_i prod f``.

    Returns:
        ``norms: (T + 1,)``, ``norms[T] = 1``.
    """
    if path not in ("full", "cell"):
        raise ValueError(f"path must be 'full' or 'cell', got {path!r}")
    g = as_rng(rng, name="rng")
    p = lstm_init(input_size, H, g, forget_bias=forget_bias)
    x = np.repeat(g.standard_normal((1, T, input_size)), H, axis=0)  # (H, T, D) copies
    prev_h, prev_c, caches = np.zeros((H, H)), np.zeros((H, H)), []
    for t in range(T):
        prev_h, prev_c, cache = lstm_step_forward(x[:, t], prev_h, prev_c, **p)
        caches.append(cache)
    norms = np.empty(T + 1)
    norms[T] = 1.0
    dh, dc = np.zeros((H, H)), np.eye(H)
    for t in range(T - 1, -1, -1):
        if path == "cell":
            dc = dc * caches[t]["gates"][:, H:2 * H]  # times f_{t+1}, element-wise
        else:
            _, dh, dc, _, _, _ = lstm_step_backward(dh, dc, caches[t])
        norms[t] = np.linalg.norm(dc, 2)  # dc = d c_T / d c_t (h_t held fixed)
    return norms


def wh_gradient_by_step(
    run: RNNRun, Wh: np.ndarray, dh_T: np.ndarray, nonlinearity: str = "tanh",
) -> np.ndarray:
    """Split ``dL/dWh`` into the contribution of each step, for a loss on ``h_T`` only.

    ``dL/dWh = sum_t h_{t-1}^T da_t``: the term of step ``t`` is what
    :func:`rnncourse.numpy.rnn_step_backward` returns as ``dWh`` at that step.

    Args:
        run: from :func:`run_rnn` with the same ``Wh`` (``"tanh"`` or ``"relu"``).
        Wh: ``(H, H)``.
        dh_T: ``(H,)``, the gradient of the loss with respect to ``h_T``.

    Returns:
        ``dWh_t: (T, H, H)``; row ``t - 1`` is step ``t``'s term. They sum to
        ``rnn_backward``'s ``dWh``.
    """
    T, H = run.h.shape
    prev, caches = np.zeros((1, H)), []
    for t in range(T):
        prev, cache = rnn_step_forward(run.x[t][None], prev, run.Wx, Wh, run.b, nonlinearity)
        caches.append(cache)
    out = np.empty((T, H, H))
    dh = np.asarray(dh_T, dtype=np.float64)[None]
    for t in range(T - 1, -1, -1):
        _, dh, _, out[t], _ = rnn_step_backward(dh, caches[t])
    return out


def summarise_remedies(runs: list[dict]) -> dict[tuple[str, int], dict[str, Any]]:
    """Group the runs of ``scripts/sweep_ch05_remedies.py`` by configuration and length.

    Args:
        runs: dicts with at least ``config``, ``T``, ``test_mse``, ``baseline_mse`` and
            ``solved`` (one per seed).

    Returns:
        ``{(config, T): dict(n, solved, mean, sd, min, max, ratio)}`` in the order the
        pairs first appear: ``solved`` counts the solved runs, ``mean`` and ``sd`` (sample
        standard deviation) and ``min``/``max`` are of the test MSE, ``ratio`` is the list of
        ``test_mse / baseline_mse`` of every run.
    """
    from rnncourse.evidence import mean_std

    groups: dict[tuple[str, int], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["config"], int(r["T"])), []).append(r)
    out = {}
    for key, rows in groups.items():
        mse = [float(r["test_mse"]) for r in rows]
        mean, sd = mean_std(mse)
        out[key] = dict(n=len(rows), solved=sum(bool(r["solved"]) for r in rows), mean=mean,
                        sd=sd, min=min(mse), max=max(mse),
                        ratio=[float(r["test_mse"]) / float(r["baseline_mse"]) for r in rows])
    return out


def gradient_norms(
    kind: str, params: Mapping[str, np.ndarray], x: np.ndarray, u: np.ndarray | None = None,
) -> np.ndarray:
    """Norm of the gradient of ``L = h_T . u`` on the state at every step.

    Args:
        kind: ``"rnn"`` (tanh; state ``h_t``) or ``"lstm"`` (state ``c_t``).
        params: ``Wx: (D, gH)``, ``Wh: (H, gH)``, ``b: (gH,)`` with ``g = 1`` or ``4``
            (as from :func:`rnncourse.numpy.lstm_init` or :func:`rnncourse.convert.from_torch`).
        x: ``(N, T, D)`` inputs; the norms are averaged over the ``N`` sequences.
        u: ``(H,)`` direction read by the loss (default ``ones / sqrt(H)``).

    Returns:
        ``norms: (T,)``, ``norms[t]`` the mean over the batch of ``||dL/dstate_{t+1}||``
        (so ``norms[-1]`` is at the last step, ``norms[0]`` ``T - 1`` steps back).
    """
    if kind not in ("rnn", "lstm"):
        raise ValueError(f"kind must be 'rnn' or 'lstm', got {kind!r}")
    Wx, Wh, b = params["Wx"], params["Wh"], params["b"]
    x = np.asarray(x, dtype=Wx.dtype)
    N, T, _ = x.shape
    H = Wh.shape[0]
    u = np.ones(H) / np.sqrt(H) if u is None else np.asarray(u, dtype=float)
    h, c, caches = np.zeros((N, H)), np.zeros((N, H)), []
    for t in range(T):
        if kind == "rnn":
            h, cache = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        else:
            h, c, cache = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        caches.append(cache)
    norms = np.empty(T)
    dh, dc = np.broadcast_to(u, (N, H)).copy(), np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        if kind == "rnn":
            norms[t] = np.linalg.norm(dh, axis=1).mean()
            _, dh, _, _, _ = rnn_step_backward(dh, caches[t])
        else:
            o, c_t = caches[t]["gates"][:, 3 * H:], caches[t]["next_c"]
            total_dc = dc + dh * o * (1 - np.tanh(c_t) ** 2)  # dL/dc_t, both paths
            norms[t] = np.linalg.norm(total_dc, axis=1).mean()
            _, dh, dc, _, _, _ = lstm_step_backward(dh, dc, caches[t])
    return norms
