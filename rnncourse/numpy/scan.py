"""Linear recurrences and the parallel scan; minGRU, a recurrent layer trained with it.

A **linear recurrence** (chapter 11), in the book's mini-batch notation::

    h_t = a_t ⊙ h_{t-1} + b_t          t = 1, ..., T,   h_0 given

with ``a_t, b_t, h_t: (N, H)`` stacked over time as ``a, b, h: (N, T, H)``. Nothing in
``a_t`` or ``b_t`` depends on ``h_{t-1}``, and that makes it different from every cell of
chapters 2-8. Write one step as the pair ``(a_t, b_t)``, the affine map
``h -> a_t ⊙ h + b_t``. Two steps in a row are again such a map::

    (a_1, b_1) ∘ (a_2, b_2) = (a_2 ⊙ a_1,  a_2 ⊙ b_1 + b_2)      first (a_1, b_1), then (a_2, b_2)

and ``∘`` is **associative** (composition of maps), so the prefixes
``(a_1, b_1) ∘ ... ∘ (a_t, b_t)`` -- whose ``b`` part is ``h_t`` when ``h_0 = 0`` --
can be computed by any bracketing: a *scan* (prefix sum) in ``ceil(log2 T)`` rounds
instead of ``T - 1`` sequential steps.

Three ways to compute ``h``, each returning ``(h, cost)``:

- :func:`scan_sequential` -- the loop, ``T - 1`` rounds;
- :func:`scan_hillis_steele` -- Hillis and Steele's scan: in round ``k`` every position
  ``t > 2^k`` (counting from 1) combines with position ``t - 2^k``; ``ceil(log2 T)`` rounds,
  ``T ceil(log2 T) - 2^ceil(log2 T) + 1`` combines (more work than the loop);
- :func:`scan_blelloch` -- Blelloch's work-efficient scan: an up-sweep and a down-sweep
  over a balanced tree of ``n = 2^ceil(log2 T)`` leaves; ``2 ceil(log2 T)`` rounds,
  ``2 (n - 1)`` combines.

``h_0`` enters before the scan as ``b_1 <- a_1 ⊙ h_0 + b_1``, computed like ``a_t`` and
``b_t`` themselves (it reads no other time step); after that, ``h_1 = b_1`` and the
remaining ``T - 1`` compositions are what the three methods organise differently.
:class:`ScanCost` counts them: a **round** is one pass in which positions read values
written in the previous pass (the loop's steps; the scans' levels); a **combine** is
one application of ``∘`` to one ``(N, H)`` slice. Each round of the scans is one
vectorised NumPy expression over all its positions, the batch and the features.

The backward pass of a linear recurrence is a linear recurrence backwards in time
(:func:`linear_scan_backward`), so it is a scan too.

**minGRU** (Feng et al., 2024, "Were RNNs all we needed?") drops the GRU's dependence of
the gates on ``h_{t-1}``, so its recurrence is linear::

    z_t  = σ(x_t Wx_z + b_z)           update gate (weight of the candidate)
    h~_t = x_t Wx_h + b_h              candidate, no tanh
    h_t  = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t      i.e. a_t = 1 - z_t, b_t = z_t ⊙ h~_t

with ``Wx: (D, 2H)``, ``b: (2H,)``, blocks ``z, h~`` side by side. Note the convention:
here ``z_t`` weighs the *new* candidate (as in the paper), whereas chapter 8's GRU
(PyTorch's) uses ``z_t`` to keep the *old* state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import Cache, as_float, check_finite, check_shapes, get_cache, upstream
from .activations import sigmoid

__all__ = [
    "METHODS",
    "ScanCost",
    "combine",
    "scan_sequential",
    "scan_hillis_steele",
    "scan_blelloch",
    "linear_scan",
    "linear_scan_backward",
    "mingru_forward",
    "mingru_backward",
]

#: The names :func:`linear_scan` accepts for ``method``.
METHODS = ("sequential", "hillis-steele", "blelloch")


@dataclass(frozen=True)
class ScanCost:
    """What a scan did, counted as it ran.

    ``rounds``: dependent passes over the time axis (each reads what the previous one
    wrote), the number of steps that must happen one after the other however many
    processors there are. ``combines``: applications of ``∘``, each to one ``(N, H)``
    slice, the total work.
    """

    rounds: int
    combines: int


Pair = tuple[np.ndarray, np.ndarray]


def combine(first: Pair, second: Pair) -> Pair:
    """``(a_1, b_1) ∘ (a_2, b_2) = (a_2 ⊙ a_1, a_2 ⊙ b_1 + b_2)``: first one step, then the other.

    Works on arrays of any matching shape (element-wise); associative, not commutative.
    """
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2 * b1 + b2


# --------------------------------------------------------------------------- input checks


def _array(where: str, name: str, x: Any) -> np.ndarray:
    """float32/float64 (integers become float64), or an object array (e.g. Fractions)."""
    arr = x if isinstance(x, np.ndarray) else None
    if arr is None:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{where}: {name} cannot be read as a numeric array ({exc})") from None
    if arr.dtype == object:  # exact arithmetic: fractions.Fraction, int
        return arr
    arr = as_float(f"{where}: {name}", arr)
    check_finite(f"{where}: {name}", arr)
    return arr


def _prepare(where: str, a: Any, b: Any, h0: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check ``a, b: (N, T, H)`` and ``h0: (N, H)`` or None; return ``(a, b)`` with h0 folded in."""
    a = _array(where, "a", a)
    b = _array(where, "b", b)
    specs = {"a": (a, ("N", "T", "H")), "b": (b, ("N", "T", "H"))}
    if h0 is not None:
        h0 = _array(where, "h0", h0)
        specs["h0"] = (h0, ("N", "H"))
    dims = check_shapes(where, specs)
    if dims["T"] == 0:
        raise ValueError(f"{where}: a and b have no time steps (T = 0); a scan needs T >= 1")
    if (a.dtype == object) != (b.dtype == object) or (
            h0 is not None and (h0.dtype == object) != (a.dtype == object)):
        raise TypeError(f"{where}: mix of object arrays (exact arithmetic) and float arrays; "
                        f"got a {a.dtype}, b {b.dtype}"
                        + (f", h0 {h0.dtype}" if h0 is not None else ""))
    if a.dtype != object:
        dtype = np.result_type(a, b, *(() if h0 is None else (h0,)))
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    b = b.copy()
    if h0 is not None:
        b[:, 0] = a[:, 0] * h0 + b[:, 0]
    return a, b


# --------------------------------------------------------------------------- the three scans


def scan_sequential(a: Any, b: Any, h0: Any = None) -> tuple[np.ndarray, ScanCost]:
    """``h_t = a_t ⊙ h_{t-1} + b_t`` by the loop over time.

    a, b: (N, T, H); h0: (N, H) or None (zeros). Returns ``h: (N, T, H)`` and the
    :class:`ScanCost` ``(T - 1, T - 1)``.
    """
    a, b = _prepare("scan_sequential", a, b, h0)
    h = b  # a fresh copy (from _prepare): overwritten in place
    rounds = 0
    for t in range(1, h.shape[1]):
        h[:, t] = a[:, t] * h[:, t - 1] + h[:, t]
        rounds += 1
    return h, ScanCost(rounds=rounds, combines=rounds)


def scan_hillis_steele(a: Any, b: Any, h0: Any = None) -> tuple[np.ndarray, ScanCost]:
    """``h_t = a_t ⊙ h_{t-1} + b_t`` by Hillis and Steele's parallel scan.

    a, b: (N, T, H); h0: (N, H) or None (zeros). Returns ``h: (N, T, H)`` and its
    :class:`ScanCost`.

    Round ``k = 0, 1, ...`` with offset ``d = 2^k``: every position ``t >= d`` (0-based)
    replaces its pair by ``(pair at t - d) ∘ (pair at t)``; afterwards position ``t``
    holds the composition of the ``min(t + 1, 2d)`` steps ending at ``t``. After
    ``ceil(log2 T)`` rounds it holds all ``t + 1`` steps: its ``b`` part is ``h_t``.
    """
    A, B = _prepare("scan_hillis_steele", a, b, h0)
    A = A.copy()
    T = B.shape[1]
    rounds = combines = 0
    d = 1
    while d < T:
        # The right-hand sides are evaluated before the assignment: they read the old
        # values. B first, because its update needs the old A.
        B[:, d:] = A[:, d:] * B[:, :-d] + B[:, d:]
        A[:, d:] = A[:, d:] * A[:, :-d]
        rounds += 1
        combines += T - d
        d *= 2
    return B, ScanCost(rounds=rounds, combines=combines)


def scan_blelloch(a: Any, b: Any, h0: Any = None) -> tuple[np.ndarray, ScanCost]:
    """``h_t = a_t ⊙ h_{t-1} + b_t`` by Blelloch's work-efficient scan.

    a, b: (N, T, H); h0: (N, H) or None (zeros). Returns ``h: (N, T, H)`` and its
    :class:`ScanCost`.

    The sequence is padded to ``n = 2^ceil(log2 T)`` steps with the identity ``(1, 0)``.
    The **up-sweep** (``log2 n`` rounds) stores in every right child of a balanced binary
    tree the composition of its subtree; the **down-sweep** (``log2 n`` rounds) starts
    with the identity at the root and hands every left child its parent's value (all
    steps before the subtree) and every right child ``parent ∘ left subtree``. That gives
    the *exclusive* prefixes; shifted by one, with the total of the up-sweep at the end,
    the inclusive ones, whose ``b`` part is ``h``.
    """
    A, B = _prepare("scan_blelloch", a, b, h0)
    N, T, H = B.shape
    n = 1 << (T - 1).bit_length()          # 2^ceil(log2 T)
    one = np.ones((N, n - T, H), dtype=A.dtype)    # the identity (1, 0) as padding
    A = np.concatenate([A, one], axis=1)
    B = np.concatenate([B, 0 * one], axis=1)
    rounds = combines = 0
    d = 1
    while d < n:                            # up-sweep
        left, right = slice(d - 1, n, 2 * d), slice(2 * d - 1, n, 2 * d)
        a_r, b_r = combine((A[:, left], B[:, left]), (A[:, right], B[:, right]))
        A[:, right], B[:, right] = a_r, b_r                          # the subtree's total
        rounds += 1
        combines += n // (2 * d)
        d *= 2
    total_b = B[:, n - 1].copy()
    A[:, n - 1], B[:, n - 1] = 1, 0          # the identity at the root
    d = n // 2
    while d >= 1:                           # down-sweep
        left, right = slice(d - 1, n, 2 * d), slice(2 * d - 1, n, 2 * d)
        a_l, b_l = A[:, left].copy(), B[:, left].copy()
        A[:, left], B[:, left] = A[:, right], B[:, right]            # parent's prefix
        A[:, right], B[:, right] = combine((A[:, left], B[:, left]), (a_l, b_l))
        rounds += 1
        combines += n // (2 * d)
        d //= 2
    # B holds the exclusive prefixes (h_{t-1}); shift by one for h_t.
    h = np.concatenate([B[:, 1:T], (total_b if T == n else B[:, T])[:, None]], axis=1)
    return h, ScanCost(rounds=rounds, combines=combines)


_SCANS = {"sequential": scan_sequential, "hillis-steele": scan_hillis_steele,
          "blelloch": scan_blelloch}


def linear_scan(a: Any, b: Any, h0: Any = None,
                method: str = "hillis-steele") -> tuple[np.ndarray, ScanCost]:
    """``h_t = a_t ⊙ h_{t-1} + b_t`` with the named ``method`` (one of :data:`METHODS`).

    a, b: (N, T, H); h0: (N, H) or None. Returns ``(h, cost)``, ``h: (N, T, H)``.
    """
    if method not in _SCANS:
        raise ValueError(f"linear_scan: method must be one of {METHODS}, got {method!r}")
    return _SCANS[method](a, b, h0)


def linear_scan_backward(
    dh: Any, a: Any, h: Any, h0: Any = None, method: str = "hillis-steele",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a linear recurrence: ``(da, db, dh0)``, each shaped like its input.

    dh: (N, T, H), the loss's gradient with respect to every ``h_t`` (as an output);
    a, h: (N, T, H), the forward pass's coefficients and states; h0: (N, H) or None.

    The total gradient on ``h_t`` collects ``dh_t`` and what flows back from
    ``h_{t+1} = a_{t+1} ⊙ h_t + b_{t+1}``::

        g_T = dh_T,     g_t = a_{t+1} ⊙ g_{t+1} + dh_t

    -- a linear recurrence run backwards in time, computed by the same scan on the
    reversed sequence. Then ``db_t = g_t``, ``da_t = g_t ⊙ h_{t-1}`` and
    ``dh0 = a_1 ⊙ g_1``.
    """
    where = "linear_scan_backward"
    a = _array(where, "a", a)
    h = _array(where, "h", h)
    dims = check_shapes(where, {"a": (a, ("N", "T", "H")), "h": (h, ("N", "T", "H"))})
    dh = _array(where, "dh", dh)
    if dh.shape != h.shape:
        raise ValueError(f"{where}: dh must have the shape of h, {h.shape}, got {dh.shape}")
    if h0 is None:
        h0 = np.zeros((dims["N"], dims["H"]), dtype=h.dtype)
    else:
        h0 = _array(where, "h0", h0)
        check_shapes(where, {"h0": (h0, ("N", "H"))}, known=dims)
    a_next = np.concatenate([a[:, 1:], 0 * a[:, :1]], axis=1)     # a_{t+1}; nothing after T
    g_rev, _ = linear_scan(a_next[:, ::-1], dh[:, ::-1], None, method)
    g = g_rev[:, ::-1]
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    return g * h_prev, g, a[:, 0] * g[:, 0]


# --------------------------------------------------------------------------- minGRU


def mingru_forward(
    x: Any, h0: Any, Wx: Any, b: Any, method: str = "hillis-steele",
) -> tuple[np.ndarray, Cache]:
    """minGRU over a sequence: ``h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t``.

    x: (N, T, D); h0: (N, H); Wx: (D, 2H); b: (2H,), blocks ``z, h~``.
    Returns ``h: (N, T, H)`` and the cache for :func:`mingru_backward`.

    Both gates' inputs, ``x_t Wx + b``, are one matrix product over all steps; the
    recurrence is then :func:`linear_scan` with ``a_t = 1 - z_t``, ``b_t = z_t ⊙ h~_t``
    and ``method`` (``"sequential"`` gives the loop; every method, the same ``h``).
    """
    where = "mingru_forward"
    arrays = {"x": x, "h0": h0, "Wx": Wx, "b": b}
    conv = {k: as_float(f"{where}: {k}", v) for k, v in arrays.items()}
    for k, v in conv.items():
        check_finite(f"{where}: {k}", v)
    check_shapes(where, {"x": (conv["x"], ("N", "T", "D")), "h0": (conv["h0"], ("N", "H")),
                         "Wx": (conv["Wx"], ("D", "2H")), "b": (conv["b"], ("2H",))})
    dtype = np.result_type(*conv.values())
    x, h0, Wx, b = (conv[k].astype(dtype, copy=False) for k in arrays)
    H = h0.shape[1]
    pre = x @ Wx + b                       # (N, T, 2H): no h_{t-1} anywhere
    z = sigmoid(pre[..., :H])
    cand = pre[..., H:]
    h, cost = linear_scan(1 - z, z * cand, h0, method)
    cache = {"kind": "mingru", "x": x, "h0": h0, "Wx": Wx, "z": z, "cand": cand, "h": h,
             "method": method, "cost": cost}
    return h, cache


def mingru_backward(
    dh: Any, cache: Cache,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`mingru_forward`: ``(dx, dh0, dWx, db)``.

    dh: (N, T, H), upstream gradient on every output ``h_t``. The recurrence's part is
    :func:`linear_scan_backward`; then, with ``a = 1 - z`` and ``b = z ⊙ h~``::

        dz = -da + db ⊙ h~,     dh~ = db ⊙ z,     d(pre_z) = dz ⊙ z ⊙ (1 - z)
    """
    c = get_cache("mingru_backward", cache, "mingru")
    z, cand, x, Wx = c["z"], c["cand"], c["x"], c["Wx"]
    dh = upstream("mingru_backward", "dh", dh, c["h"])
    da, db_, dh0 = linear_scan_backward(dh, 1 - z, c["h"], c["h0"], c["method"])
    dz = -da + db_ * cand
    dpre = np.concatenate([dz * z * (1 - z), db_ * z], axis=-1)      # (N, T, 2H)
    D = x.shape[-1]
    dWx = x.reshape(-1, D).T @ dpre.reshape(-1, dpre.shape[-1])
    return dpre @ Wx.T, dh0, dWx, dpre.sum(axis=(0, 1))
