"""Gradient clipping and the optimisers of the course, over dicts of arrays.

A model's parameters are a dict ``{"Wx": ..., "Wh": ..., "b": ...}`` and
backpropagation gives a dict of gradients with the same keys and shapes.

Clipping (returns new arrays; the inputs are not modified)::

    by value:   g <- min(max(g, -v), v)                      element-wise
    by norm:    ||g|| = sqrt(sum over all arrays of sum g^2) one global norm
                g <- g * max_norm / (||g|| + 1e-6)          only if that factor is < 1

Optimisers (each ``step(params, grads)`` updates ``params`` *in place*, and
keeps its per-parameter state -- momentum, running averages, step counts --
inside the optimiser object, keyed by the parameter's name)::

    SGD:      g <- g + lambda p                      (weight decay, if any)
              v <- mu v + (1 - tau) g                (momentum; v = g at the first step)
              p <- p - lr (g + mu v)  (Nesterov)  or  p - lr v  (or p - lr g without momentum)
    Adagrad:  G <- G + g^2
              p <- p - lr_t g / (sqrt(G) + eps),   lr_t = lr / (1 + (t - 1) lr_decay)
    Adam:     m <- beta1 m + (1 - beta1) g
              v <- beta2 v + (1 - beta2) g^2
              m_hat = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
              p <- p - lr m_hat / (sqrt(v_hat) + eps)

These are the update rules of ``torch.optim.SGD``, ``Adagrad`` and ``Adam``
(``Adam``'s ``weight_decay`` is the L2 penalty added to the gradient, as in
``torch.optim.Adam``, not the decoupled one of ``AdamW``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._validate import as_float, check_finite

__all__ = ["clip_grad_value", "clip_grad_norm", "SGD", "Adagrad", "Adam"]


def _check_grads(where: str, grads: Any) -> dict[Any, np.ndarray]:
    """The gradients as float arrays, all finite."""
    if not isinstance(grads, Mapping):
        raise TypeError(f"{where}: grads must be a dict of arrays, got {type(grads).__name__}")
    out = {}
    for k, g in grads.items():
        g = as_float(f"{where}: grads[{k!r}]", g)
        check_finite(f"{where}: grads[{k!r}]", g)
        out[k] = g
    return out


def _positive(where: str, name: str, value: Any, allow_zero: bool = False) -> float:
    """A finite real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{where}: {name} must be finite and {need}, got {value}")
    return value


# --------------------------------------------------------------------------- clipping


def clip_grad_value(grads: dict[Any, np.ndarray], clip_value: float) -> dict[Any, np.ndarray]:
    """Clip every gradient element-wise to ``[-clip_value, clip_value]``.

    Like ``torch.nn.utils.clip_grad_value_``, but returns new arrays instead of
    modifying the inputs.

    Args:
        grads: ``{name: array}``, finite (clipping would hide a NaN, not fix it).
        clip_value: ``v > 0``.

    Returns:
        ``{name: clipped array}``, same keys, shapes and dtypes.
    """
    where = "clip_grad_value"
    v = _positive(where, "clip_value", clip_value)
    return {k: np.clip(g, -v, v) for k, g in _check_grads(where, grads).items()}


def clip_grad_norm(
    grads: dict[Any, np.ndarray], max_norm: float,
) -> tuple[dict[Any, np.ndarray], float]:
    """Rescale all gradients together so that their global L2 norm is at most ``max_norm``.

    ::

        total_norm = sqrt(sum over every array g of sum(g^2))
        coef = max_norm / (total_norm + 1e-6)
        g <- g * coef       for every g, if coef < 1 (otherwise unchanged)

    This is exactly ``torch.nn.utils.clip_grad_norm_(..., norm_type=2)``
    (torch multiplies by ``min(coef, 1)``, the same thing). The direction of
    the update is kept; only its length is capped, which is what stops the
    exploding gradients of a recurrent network from throwing the weights far
    away in one step.

    Unlike torch's default (``error_if_nonfinite=False``, which silently turns
    every gradient into NaN or zeros), NaN or infinite gradients, or a total
    norm that overflows to infinity, raise ``ValueError``: no rescaling can
    repair them.

    Args:
        grads: ``{name: array}``.
        max_norm: ``> 0``.

    Returns:
        ``(clipped, total_norm)``: new arrays (same keys, shapes and dtypes) and
        the norm *before* clipping, as a Python float (useful to plot).
    """
    where = "clip_grad_norm"
    max_norm = _positive(where, "max_norm", max_norm)
    grads = _check_grads(where, grads)
    with np.errstate(over="ignore"):  # an overflow gives inf, reported just below
        norms = [np.linalg.norm(g.reshape(-1)) for g in grads.values()]
        total_norm = float(np.linalg.norm(np.asarray(norms, dtype=np.float64)))
    if not math.isfinite(total_norm):
        raise ValueError(f"{where}: the total norm of the gradients is {total_norm} (overflow); "
                         "they cannot be clipped")
    coef = max_norm / (total_norm + 1e-6)
    if coef < 1:
        clipped = {k: g * coef for k, g in grads.items()}  # Python float keeps float32
    else:
        clipped = {k: g.copy() for k, g in grads.items()}
    return clipped, total_norm


# --------------------------------------------------------------------------- optimisers


class _Optimizer:
    """What every optimiser shares: input checks and the per-parameter state."""

    def __init__(self) -> None:
        # state[name] holds this parameter's buffers (momentum, running averages, step count).
        self.state: dict[Any, dict[str, Any]] = {}

    def _pairs(self, params: Any, grads: Any) -> list[tuple[Any, np.ndarray, np.ndarray]]:
        """Check ``params`` against ``grads``; return ``(name, param, grad)`` triples."""
        where = f"{type(self).__name__}.step"
        if not isinstance(params, Mapping):
            raise TypeError(f"{where}: params must be a dict of arrays, "
                            f"got {type(params).__name__}")
        grads = _check_grads(where, grads)
        missing = [k for k in params if k not in grads]
        extra = [k for k in grads if k not in params]
        if missing:
            raise ValueError(f"{where}: no gradient for parameter(s) {missing}")
        if extra:
            raise ValueError(f"{where}: gradient(s) {extra} have no parameter of that name")
        out = []
        for k, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype not in (np.float32, np.float64):
                what = type(p).__name__ + (f" of {p.dtype}" if isinstance(p, np.ndarray) else "")
                raise TypeError(f"{where}: params[{k!r}] must be a float64 or float32 numpy "
                                f"array (it is updated in place), got a {what}")
            if not p.flags.writeable:
                raise ValueError(f"{where}: params[{k!r}] is read-only; it is updated in place")
            g = grads[k]
            if g.shape != p.shape:
                raise ValueError(f"{where}: grads[{k!r}] must have the shape of params[{k!r}], "
                                 f"{p.shape}, got {g.shape}")
            state = self.state.get(k)
            if state is not None and state["shape"] != p.shape:
                raise ValueError(f"{where}: params[{k!r}] has shape {p.shape}, but the "
                                 f"optimiser's state for it has shape {state['shape']}")
            out.append((k, p, g.astype(p.dtype, copy=False)))
        return out

    def _state(self, name: Any, p: np.ndarray, **init: Any) -> dict[str, Any]:
        """The state of parameter ``name``, created with ``init`` at its first step."""
        if name not in self.state:
            self.state[name] = dict(shape=p.shape, **init)
        return self.state[name]


class SGD(_Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and weight decay.

    ::

        g <- g + weight_decay * p
        v <- momentum * v + (1 - dampening) * g        (v = g at the first step)
        p <- p - lr * (g + momentum * v)   if nesterov
        p <- p - lr * v                    otherwise  (= p - lr * g when momentum = 0)

    As ``torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov)``.
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, dampening: float = 0.0) -> None:
        super().__init__()
        where = "SGD"
        self.lr = _positive(where, "lr", lr)
        self.momentum = _positive(where, "momentum", momentum, allow_zero=True)
        self.dampening = _positive(where, "dampening", dampening, allow_zero=True)
        self.weight_decay = _positive(where, "weight_decay", weight_decay, allow_zero=True)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"{where}: Nesterov momentum needs momentum > 0 and dampening = 0")

    def step(self, params: dict[Any, np.ndarray], grads: dict[Any, np.ndarray]) -> None:
        """Update every ``params[name]`` in place with ``grads[name]``."""
        mu, tau, lam = self.momentum, self.dampening, self.weight_decay
        for name, p, g in self._pairs(params, grads):
            if lam != 0:
                g = g + lam * p
            if mu != 0:
                state = self._state(name, p)
                if "v" not in state:
                    state["v"] = g.copy()
                else:
                    state["v"] = mu * state["v"] + (1 - tau) * g
                v = state["v"]
                g = g + mu * v if self.nesterov else v
            p -= self.lr * g


class Adagrad(_Optimizer):
    """Adagrad: a per-coordinate learning rate that shrinks with the gradients seen so far.

    At step ``t = 1, 2, ...``::

        g  <- g + weight_decay * p
        G  <- G + g^2                       (G starts at initial_accumulator_value)
        p  <- p - lr_t * g / (sqrt(G) + eps),   lr_t = lr / (1 + (t - 1) * lr_decay)

    As ``torch.optim.Adagrad(params, lr, lr_decay, weight_decay,
    initial_accumulator_value, eps)``.
    """

    def __init__(self, lr: float = 0.01, eps: float = 1e-10, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0) -> None:
        super().__init__()
        where = "Adagrad"
        self.lr = _positive(where, "lr", lr)
        self.eps = _positive(where, "eps", eps, allow_zero=True)
        self.lr_decay = _positive(where, "lr_decay", lr_decay, allow_zero=True)
        self.weight_decay = _positive(where, "weight_decay", weight_decay, allow_zero=True)
        self.initial_accumulator_value = _positive(
            where, "initial_accumulator_value", initial_accumulator_value, allow_zero=True)

    def step(self, params: dict[Any, np.ndarray], grads: dict[Any, np.ndarray]) -> None:
        """Update every ``params[name]`` in place with ``grads[name]``."""
        for name, p, g in self._pairs(params, grads):
            state = self._state(name, p, t=0,
                                G=np.full_like(p, self.initial_accumulator_value))
            state["t"] += 1
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            lr_t = self.lr / (1 + (state["t"] - 1) * self.lr_decay)
            state["G"] += g * g
            p -= lr_t * g / (np.sqrt(state["G"]) + self.eps)


class Adam(_Optimizer):
    """Adam: momentum on the gradient, scaled by a running RMS of the gradient.

    At step ``t = 1, 2, ...``::

        g <- g + weight_decay * p          (L2 penalty, as torch.optim.Adam)
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)          (bias corrections: m and v start at 0)
        v_hat = v / (1 - beta2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    As ``torch.optim.Adam(params, lr, betas, eps, weight_decay)``.
    """

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__()
        where = "Adam"
        self.lr = _positive(where, "lr", lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            msg = f"{where}: betas must be a pair (beta1, beta2), got {betas!r}"
            raise TypeError(msg) from None
        self.beta1 = _positive(where, "betas[0]", beta1, allow_zero=True)
        self.beta2 = _positive(where, "betas[1]", beta2, allow_zero=True)
        if not (self.beta1 < 1 and self.beta2 < 1):
            raise ValueError(f"{where}: betas must lie in [0, 1), got {betas!r}")
        self.eps = _positive(where, "eps", eps, allow_zero=True)
        self.weight_decay = _positive(where, "weight_decay", weight_decay, allow_zero=True)

    def step(self, params: dict[Any, np.ndarray], grads: dict[Any, np.ndarray]) -> None:
        """Update every ``params[name]`` in place with ``grads[name]``."""
        b1, b2 = self.beta1, self.beta2
        for name, p, g in self._pairs(params, grads):
            state = self._state(name, p, t=0, m=np.zeros_like(p), v=np.zeros_like(p))
            state["t"] += 1
            t = state["t"]
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            state["m"] = b1 * state["m"] + (1 - b1) * g
            state["v"] = b2 * state["v"] + (1 - b2) * g * g
            m_hat = state["m"] / (1 - b1**t)
            v_hat = state["v"] / (1 - b2**t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
