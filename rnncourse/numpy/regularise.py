"""Two ways to regularise and stabilise the LSTM's recurrence, in NumPy: zoneout and
layer normalisation (chapter 10).

**Layer normalisation** (Ba, Kiros and Hinton 2016) rescales each row of a batch to mean
0 and variance 1 over its features, then applies a learned gain and shift::

    mu = mean_k a_k       var = mean_k (a_k - mu)^2       (over the last axis, size K)
    LN(a) = gamma * (a - mu) / sqrt(var + eps) + beta      gamma, beta: (K,)

Unlike batch normalisation it uses no statistics of the batch, so it is the same at
training and test time and the same at every time step. In the LSTM it normalises the
two products separately (all four gates' pre-activations together) and the cell state
before the output's ``tanh``; the products' shifts are left out, since the bias ``b``
already is one::

    a_t = LN(x_t Wx; gx, 0) + LN(h_{t-1} Wh; gh, 0) + b         (N, 4H), gates i, f, g, o
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(LN(c_t; gc, bc))

**Zoneout** (Krueger et al. 2017) keeps, at each step and for each unit, the previous
value of the state instead of the new one, with probability ``p`` (a Bernoulli mask
``d_t``, drawn anew at every step; ``pc`` for the cell, ``ph`` for the hidden state)::

    c_t = d^c_t * c_{t-1} + (1 - d^c_t) * (f_t * c_{t-1} + i_t * g_t)
    h_t = d^h_t * h_{t-1} + (1 - d^h_t) * o_t * tanh(f_t * c_{t-1} + i_t * g_t)

Where dropout sets a unit to zero, zoneout copies it forward unchanged, so the identity
path through time (and its gradient) survives. At test time the mask is replaced by its
expectation, ``d = p``, as dropout is.

The functions here are the equations, one step at a time; the PyTorch layer that trains
with them is :class:`rnncourse.torch.SteppedLSTM`.
"""

from __future__ import annotations

import numpy as np

from ._validate import Cache, get_cache, prepare, upstream
from .activations import sigmoid
from .lstm import _blocks, _cell_forward

__all__ = [
    "layer_norm_forward", "layer_norm_backward", "zoneout", "ln_lstm_step_forward",
    "zoneout_lstm_step_forward",
]


def layer_norm_forward(
    a: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5,
) -> tuple[np.ndarray, Cache]:
    """``LN(a) = gamma * (a - mu) / sqrt(var + eps) + beta`` over the last axis.

    Args:
        a: ``(N, K)``; every row is normalised on its own.
        gamma, beta: ``(K,)`` gain and shift.
        eps: added to the variance (the biased one, divided by ``K``), as in PyTorch.

    Returns:
        ``y: (N, K)`` and the cache for :func:`layer_norm_backward`.
    """
    a, gamma, beta = prepare("layer_norm_forward", dict(a=a, gamma=gamma, beta=beta),
                             dict(a=("N", "K"), gamma=("K",), beta=("K",)))
    if not eps > 0:
        raise ValueError(f"layer_norm_forward: eps must be > 0, got {eps!r}")
    mu = a.mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(a.var(axis=-1, keepdims=True) + eps)
    a_hat = (a - mu) * inv_std
    y = gamma * a_hat + beta
    return y, dict(kind="layer_norm", a_hat=a_hat, inv_std=inv_std, gamma=gamma, y=y)


def layer_norm_backward(
    dy: np.ndarray, cache: Cache,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of :func:`layer_norm_forward`.

    With ``a_hat = (a - mu) / sigma`` and ``g = dy * gamma``, every row's mean and
    variance depend on all of its entries, which gives the three-term formula::

        da = (g - mean_k g - a_hat * mean_k (g * a_hat)) / sigma
        dgamma = sum over rows of dy * a_hat         dbeta = sum over rows of dy

    Returns:
        ``(da, dgamma, dbeta)``, shaped like ``a``, ``gamma``, ``beta``.
    """
    c = get_cache("layer_norm_backward", cache, "layer_norm")
    dy = upstream("layer_norm_backward", "dy", dy, c["y"])
    a_hat = c["a_hat"]
    g = dy * c["gamma"]
    da = (g - g.mean(axis=-1, keepdims=True)
          - a_hat * (g * a_hat).mean(axis=-1, keepdims=True)) * c["inv_std"]
    return da, (dy * a_hat).sum(axis=0), dy.sum(axis=0)


def zoneout(
    prev: np.ndarray, new: np.ndarray, p: float, mask: np.ndarray | None = None,
) -> np.ndarray:
    """``d * prev + (1 - d) * new``: keep each unit's previous value where ``d = 1``.

    Args:
        prev, new: ``(N, H)`` the state before and after the step.
        p: the probability of keeping the previous value, ``0 <= p <= 1``.
        mask: ``(N, H)`` of zeros and ones, the draw ``d`` (training); ``None`` uses its
            expectation ``d = p`` (evaluation).
    """
    prev, new = prepare("zoneout", dict(prev=prev, new=new),
                        dict(prev=("N", "H"), new=("N", "H")))
    if not 0 <= p <= 1:
        raise ValueError(f"zoneout: p must be in [0, 1], got {p!r}")
    if mask is None:
        return p * prev + (1 - p) * new
    mask = np.asarray(mask)
    if mask.shape != prev.shape or not np.isin(mask, (0, 1)).all():
        raise ValueError(f"zoneout: mask must be zeros and ones of shape {prev.shape}, "
                         f"got shape {mask.shape}")
    return np.where(mask == 1, prev, new)


def _step_args(where: str, *args: np.ndarray) -> list[np.ndarray]:
    """An LSTM step's ``x, prev_h, prev_c, Wx, Wh, b``, validated as
    :func:`rnncourse.numpy.lstm_step_forward` validates them."""
    names = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
    return prepare(where, dict(zip(names, args, strict=True)),
                   dict(x=("N", "D"), prev_h=("N", "H"), prev_c=("N", "H"), Wx=("D", "4H"),
                        Wh=("H", "4H"), b=("4H",)))


def ln_lstm_step_forward(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    gx: np.ndarray, gh: np.ndarray, gc: np.ndarray, bc: np.ndarray,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of the layer-normalised LSTM (equations in the module docstring).

    Args:
        x: ``(N, D)``; prev_h, prev_c: ``(N, H)``.
        Wx: ``(D, 4H)``, Wh: ``(H, 4H)``, b: ``(4H,)`` as in
            :func:`rnncourse.numpy.lstm_step_forward`.
        gx, gh: ``(4H,)`` gains of the input and recurrent products' normalisations.
        gc, bc: ``(H,)`` gain and shift of the cell state's.

    Returns:
        ``(next_h, next_c)``, each ``(N, H)``.
    """
    x, prev_h, prev_c, Wx, Wh, b = _step_args("ln_lstm_step_forward", x, prev_h, prev_c,
                                              Wx, Wh, b)
    zero = np.zeros(Wx.shape[1], dtype=x.dtype)
    a = (layer_norm_forward(x @ Wx, gx, zero, eps)[0]
         + layer_norm_forward(prev_h @ Wh, gh, zero, eps)[0] + b)
    i, f, g, o = _blocks(a)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(layer_norm_forward(next_c, gc, bc, eps)[0])
    return next_h, next_c


def zoneout_lstm_step_forward(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, pc: float, ph: float,
    mask_c: np.ndarray | None = None, mask_h: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of the LSTM with zoneout on its cell (``pc``) and hidden (``ph``) states.

    The candidate states are the plain LSTM's (:func:`rnncourse.numpy.lstm_step_forward`);
    :func:`zoneout` then mixes each with its previous value, through the masks (training)
    or their expectation (``mask_c = mask_h = None``: evaluation).

    Returns:
        ``(next_h, next_c)``, each ``(N, H)``.
    """
    x, prev_h, prev_c, Wx, Wh, b = _step_args("zoneout_lstm_step_forward", x, prev_h,
                                              prev_c, Wx, Wh, b)
    _, new_c, new_h = _cell_forward(x @ Wx + prev_h @ Wh + b, prev_c)
    return zoneout(prev_h, new_h, ph, mask_h), zoneout(prev_c, new_c, pc, mask_c)
