"""The gated recurrent unit (GRU), forward and backward, in NumPy, in two forms.

One step, in the book's row-vector, mini-batch notation (``⊙`` is the
element-wise product, ``σ`` the logistic sigmoid)::

    r_t = σ(x_t Wx_r + bx_r + h_{t-1} Wh_r + bh_r)          reset gate
    z_t = σ(x_t Wx_z + bx_z + h_{t-1} Wh_z + bh_z)          update gate

    form="pytorch" (PyTorch, cuDNN)                 form="cho" (Cho et al., 2014)
    n_t = tanh(x_t Wx_n + bx_n                      n_t = tanh(x_t Wx_n + bx_n
               + r_t ⊙ (h_{t-1} Wh_n + bh_n))                  + (r_t ⊙ h_{t-1}) Wh_n + bh_n)

    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}                   candidate n_t, update

In PyTorch's form the reset gate scales the finished product ``h_{t-1} Wh_n + bh_n``,
so the hidden products of all three blocks are one matrix product ``h_{t-1} Wh`` that
need not wait for ``r_t`` (this is what cuDNN computes); in Cho's form ``r_t`` first
chooses which components of ``h_{t-1}`` enter the product, so the ``n`` block's product
has to wait for the gate.  The two are different functions of the same weights (neither
can be rewritten as the other), so weights trained with one form must be run with that
form.

Shapes: ``x_t: (N, D)``, ``h_t: (N, H)``, ``Wx: (D, 3H)``, ``Wh: (H, 3H)``,
``bx: (3H,)``, ``bh: (3H,)``, the blocks in PyTorch's order ``r, z, n``; these are
PyTorch's ``weight_ih_l0.T``, ``weight_hh_l0.T``, ``bias_ih_l0`` and ``bias_hh_l0``.
The two biases cannot be merged as in :mod:`rnncourse.numpy.rnn`, because in PyTorch's
form ``r_t`` multiplies ``bh_n`` but not ``bx_n``.  Cho's paper writes the update as
``h_t = z h_{t-1} + (1 - z) h~_t``, the same convention as PyTorch's (some texts swap
``z`` and ``1 - z``).

As for the plain RNN, ``gru_forward`` computes ``x_t Wx + bx`` for every time step in
one product before the loop, and ``gru_backward`` leaves the weight gradients, sums over
time, to large products after the loop.  Step and sequence functions share the same
element-wise equations (``_cell`` and ``_cell_backward``).
"""

from __future__ import annotations

import numpy as np

from ._validate import Cache, get_cache, prepare, upstream
from .activations import sigmoid

__all__ = ["gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward"]

FORMS = ("pytorch", "cho")

Grads = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _check_form(where: str, form: object) -> str:
    if form not in FORMS:
        raise ValueError(f"{where}: form must be 'pytorch' or 'cho', got {form!r}")
    return form  # type: ignore[return-value]


def _blocks(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the last axis, of size 3H, into the r, z and n blocks."""
    H = a.shape[-1] // 3
    return a[..., :H], a[..., H:2 * H], a[..., 2 * H:]


# --------------------------------------------------------------------------- the equations


def _cell(
    xa: np.ndarray, prev_h: np.ndarray, Wh: np.ndarray, bh: np.ndarray, form: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One step given ``xa = x_t Wx + bx``; returns ``(h_t, r, z, n, hn)``.

    ``hn`` is what the backward pass needs of the n block's hidden term:
    ``h_{t-1} Wh_n + bh_n`` in PyTorch's form, ``r ⊙ h_{t-1}`` in Cho's.
    """
    xa_r, xa_z, xa_n = _blocks(xa)
    Wh_r, Wh_z, Wh_n = _blocks(Wh)
    bh_r, bh_z, bh_n = _blocks(bh)
    if form == "pytorch":
        ha_r, ha_z, hn = _blocks(prev_h @ Wh + bh)  # all three hidden products at once
        r = sigmoid(xa_r + ha_r)
        z = sigmoid(xa_z + ha_z)
        n = np.tanh(xa_n + r * hn)
    else:
        r = sigmoid(xa_r + prev_h @ Wh_r + bh_r)
        z = sigmoid(xa_z + prev_h @ Wh_z + bh_z)
        hn = r * prev_h  # the reset gate acts before the product
        n = np.tanh(xa_n + hn @ Wh_n + bh_n)
    next_h = (1 - z) * n + z * prev_h
    return next_h, r, z, n, hn


def _cell_backward(
    dnext_h: np.ndarray, prev_h: np.ndarray, r: np.ndarray, z: np.ndarray, n: np.ndarray,
    hn: np.ndarray, Wh: np.ndarray, form: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`_cell`; returns ``(dxa, dha, dprev_h)``.

    ``dxa: (N, 3H)`` is the gradient w.r.t. the input terms ``x_t Wx_k + bx_k`` and
    ``dha: (N, 3H)`` w.r.t. the hidden terms ``h Wh_k + bh_k`` of the blocks
    ``k = r, z, n`` (for the n block of Cho's form, ``h`` is ``r ⊙ h_{t-1}``).
    """
    H = prev_h.shape[1]
    Wh_rz, Wh_n = Wh[:, :2 * H], Wh[:, 2 * H:]
    dz = dnext_h * (prev_h - n)  # h_t = (1 - z) n + z h_{t-1}
    dn = dnext_h * (1 - z)
    dprev_h = dnext_h * z
    dan = dn * (1 - n * n)  # through tanh
    if form == "pytorch":
        dr = dan * hn  # n = tanh(... + r ⊙ hn)
        dhn = dan * r
    else:
        dhn = dan  # n = tanh(... + hn Wh_n + bh_n), hn = r ⊙ h_{t-1}
        drh = dan @ Wh_n.T
        dr = drh * prev_h
        dprev_h = dprev_h + drh * r
    dar = dr * r * (1 - r)  # through the sigmoids
    daz = dz * z * (1 - z)
    dxa = np.concatenate([dar, daz, dan], axis=-1)
    dha = np.concatenate([dar, daz, dhn], axis=-1)
    if form == "pytorch":
        dprev_h = dprev_h + dha @ Wh.T
    else:
        dprev_h = dprev_h + dha[:, :2 * H] @ Wh_rz.T
    return dxa, dha, dprev_h


def _weight_grads(
    x: np.ndarray, prev_h: np.ndarray, hn: np.ndarray, dxa: np.ndarray, dha: np.ndarray,
    form: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(dWx, dWh, dbx, dbh)`` from 2-D rows (one row per sample, or per sample and step)."""
    dWx = x.T @ dxa
    if form == "pytorch":
        dWh = prev_h.T @ dha
    else:  # the n block's hidden input is r ⊙ h_{t-1}
        H = prev_h.shape[1]
        dWh = np.concatenate([prev_h.T @ dha[:, :2 * H], hn.T @ dha[:, 2 * H:]], axis=1)
    return dWx, dWh, dxa.sum(axis=0), dha.sum(axis=0)


# --------------------------------------------------------------------------- one step


def gru_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, bx: np.ndarray,
    bh: np.ndarray, form: str = "pytorch",
) -> tuple[np.ndarray, Cache]:
    """One GRU step (equations in the module docstring).

    Args:
        x: ``(N, D)`` inputs at this step.
        prev_h: ``(N, H)`` hidden state from the previous step.
        Wx: ``(D, 3H)`` input weights, blocks ``r, z, n``.
        Wh: ``(H, 3H)`` hidden weights, blocks ``r, z, n``.
        bx: ``(3H,)`` input bias.
        bh: ``(3H,)`` hidden bias.
        form: ``"pytorch"`` (default) or ``"cho"``.

    Returns:
        ``next_h: (N, H)`` and the cache that :func:`gru_step_backward` needs.
    """
    where = "gru_step_forward"
    form = _check_form(where, form)
    x, prev_h, Wx, Wh, bx, bh = prepare(
        where, dict(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, bx=bx, bh=bh),
        dict(x=("N", "D"), prev_h=("N", "H"), Wx=("D", "3H"), Wh=("H", "3H"),
             bx=("3H",), bh=("3H",)),
    )
    next_h, r, z, n, hn = _cell(x @ Wx + bx, prev_h, Wh, bh, form)
    cache = dict(kind="gru_step", x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, next_h=next_h,
                 r=r, z=z, n=n, hn=hn, form=form)
    return next_h, cache


def gru_step_backward(dnext_h: np.ndarray, cache: Cache) -> Grads:
    """Backward pass of one GRU step.

    Args:
        dnext_h: ``(N, H)`` gradient of the loss with respect to ``next_h``.
        cache: from :func:`gru_step_forward`.

    Returns:
        ``(dx, dprev_h, dWx, dWh, dbx, dbh)``, shaped like the forward's arguments.
    """
    where = "gru_step_backward"
    c = get_cache(where, cache, "gru_step")
    dnext_h = upstream(where, "dnext_h", dnext_h, c["next_h"])
    dxa, dha, dprev_h = _cell_backward(
        dnext_h, c["prev_h"], c["r"], c["z"], c["n"], c["hn"], c["Wh"], c["form"])
    dWx, dWh, dbx, dbh = _weight_grads(c["x"], c["prev_h"], c["hn"], dxa, dha, c["form"])
    dx = dxa @ c["Wx"].T
    return dx, dprev_h, dWx, dWh, dbx, dbh


# --------------------------------------------------------------------------- a sequence


def gru_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, bx: np.ndarray,
    bh: np.ndarray, form: str = "pytorch",
) -> tuple[np.ndarray, Cache]:
    """Run the GRU over a whole sequence.

    Args:
        x: ``(N, T, D)`` inputs, batch first.
        h0: ``(N, H)`` initial hidden state.
        Wx, Wh, bx, bh, form: as in :func:`gru_step_forward`.

    Returns:
        ``h: (N, T, H)``, the hidden state at every step (``h[:, -1]`` is ``h_T``),
        and the cache for :func:`gru_backward`.
    """
    where = "gru_forward"
    form = _check_form(where, form)
    x, h0, Wx, Wh, bx, bh = prepare(
        where, dict(x=x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh),
        dict(x=("N", "T", "D"), h0=("N", "H"), Wx=("D", "3H"), Wh=("H", "3H"),
             bx=("3H",), bh=("3H",)),
    )
    N, T, _ = x.shape
    xa = x @ Wx + bx  # (N, T, 3H): x_t Wx + bx for every t at once
    h, r, z, n, hn = (np.empty((N, T, h0.shape[1]), dtype=xa.dtype) for _ in range(5))
    prev_h = h0
    for t in range(T):
        prev_h, r[:, t], z[:, t], n[:, t], hn[:, t] = _cell(xa[:, t], prev_h, Wh, bh, form)
        h[:, t] = prev_h
    cache = dict(kind="gru", x=x, h0=h0, Wx=Wx, Wh=Wh, h=h, r=r, z=z, n=n, hn=hn, form=form)
    return h, cache


def gru_backward(dh: np.ndarray, cache: Cache) -> Grads:
    """Backpropagation through time over the whole sequence.

    Args:
        dh: ``(N, T, H)`` gradient of the loss with respect to every hidden state
            through the outputs only; the gradient flowing from ``h_{t+1}`` back
            into ``h_t`` is added here.
        cache: from :func:`gru_forward`.

    Returns:
        ``(dx, dh0, dWx, dWh, dbx, dbh)``; the weight gradients are sums over all
        time steps.
    """
    where = "gru_backward"
    c = get_cache(where, cache, "gru")
    h, h0, x, Wx, Wh, form = c["h"], c["h0"], c["x"], c["Wx"], c["Wh"], c["form"]
    dh = upstream(where, "dh", dh, h)
    N, T, H = h.shape
    h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)  # h_{t-1} for every t
    dxa = np.empty((N, T, 3 * H), dtype=h.dtype)  # gradients w.r.t. the input terms
    dha = np.empty_like(dxa)  # and w.r.t. the hidden terms, every t
    dprev_h = np.zeros_like(h0)
    for t in reversed(range(T)):
        # h_t receives gradient from its output and from h_{t+1}.
        dxa[:, t], dha[:, t], dprev_h = _cell_backward(
            dh[:, t] + dprev_h, h_prev[:, t], c["r"][:, t], c["z"][:, t], c["n"][:, t],
            c["hn"][:, t], Wh, form)
    dh0 = dprev_h
    # Sums over time as single products over the flattened (N*T) axis.
    dWx, dWh, dbx, dbh = _weight_grads(
        x.reshape(N * T, -1), h_prev.reshape(N * T, H), c["hn"].reshape(N * T, H),
        dxa.reshape(N * T, 3 * H), dha.reshape(N * T, 3 * H), form)
    dx = dxa @ Wx.T
    return dx, dh0, dWx, dWh, dbx, dbh
