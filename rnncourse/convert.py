"""Moving weights between ``torch.nn.RNN/LSTM/GRU`` and the NumPy reference.

PyTorch stores column-vector weights, ``W_ih x + b_ih``; the book and
:mod:`rnncourse.numpy` use the row-vector, mini-batch form ``x Wx + b``.  For
layer ``k`` (``suffix`` is ``""`` or ``"_reverse"``)::

    Wx = weight_ih_l{k}{suffix}.T                       (D, g H)
    Wh = weight_hh_l{k}{suffix}.T                       (H, g H)
    b  = bias_ih_l{k}{suffix} + bias_hh_l{k}{suffix}    (g H,)    RNN and LSTM
    bx = bias_ih_l{k}{suffix},  bh = bias_hh_l{k}{suffix}         GRU

with ``g`` gate blocks (RNN 1; LSTM 4: i, f, g, o; GRU 3: r, z, n) in PyTorch's
order.  The RNN and LSTM only ever use the sum of their two biases, so one
``b`` is kept.  The GRU's new-gate candidate ``n = tanh(x Wx_n + bx_n +
r * (h Wh_n + bh_n))`` multiplies ``bh_n`` by the reset gate, so its two
biases cannot be merged and both are kept.

The parameters of a network are a dict of layers, keyed ``"l0"``,
``"l0_reverse"`` (bidirectional only), ``"l1"``, ... in PyTorch's order, each a
dict of arrays: ``{"Wx", "Wh", "b"}`` (RNN, LSTM) or ``{"Wx", "Wh", "bx",
"bh"}`` (GRU).  The RNN's nonlinearity (``tanh`` or ``relu``) is not a
parameter: read it from the module (``module.nonlinearity``).

torch is imported only inside the functions that need it, so this module (and
the NumPy package) work without it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .numpy._validate import as_float, check_finite

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["GATES", "from_torch", "to_torch"]

#: Gate blocks per kind of layer, in PyTorch's order.
GATES = {"rnn": 1, "lstm": 4, "gru": 3}

_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")


def _check_kind(where: str, kind: Any) -> int:
    if kind not in GATES:
        raise ValueError(f"{where}: kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
    return GATES[kind]


def _bias_names(kind: str) -> tuple[str, ...]:
    return ("bx", "bh") if kind == "gru" else ("b",)


def _gate_mismatch(
    where: str, name: str, size: int, axis: str, H: int, g: int, kind: str,
) -> ValueError:
    """The error for a weight with the wrong number of gate blocks (e.g. LSTM as GRU)."""
    found = f"{size // H}H" if size % H == 0 else f"{size}"
    guess = [k for k, gk in GATES.items() if gk * H == size]
    hint = f"; are these the weights of kind {guess[0]!r}?" if guess else ""
    return ValueError(
        f"{where}: {name} has {found} {axis} ({size} with H = {H}), expected {g}H = {g * H} "
        f"for kind={kind!r}{hint}"
    )


# --------------------------------------------------------------------------- torch -> NumPy


def _as_numpy(name: str, value: Any, dtype: np.dtype) -> np.ndarray:
    """A tensor (any device, any float dtype) or array as a fresh NumPy array."""
    if type(value).__module__.startswith("torch"):
        import torch

        value = value.detach().to(device="cpu", dtype=torch.float64).numpy()
    arr = as_float(name, value)
    check_finite(name, arr)
    return np.array(arr, dtype=dtype, copy=True)


def from_torch(
    state_dict_or_module: Any, kind: str, dtype: Any = np.float64, prefix: str = "",
) -> dict[str, dict[str, np.ndarray]]:
    """Convert a ``torch.nn.RNN/LSTM/GRU`` (or its ``state_dict``) to NumPy parameters.

    Args:
        state_dict_or_module: the module, or a mapping of its parameter names
            (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...) to tensors or arrays.
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        dtype: ``np.float64`` (default) or ``np.float32``.
        prefix: take only the keys that start with it, and strip it (e.g.
            ``"encoder."`` for the recurrent part of a larger model's state_dict).

    Returns:
        ``{"l0": {"Wx": (D, gH), "Wh": (H, gH), "b": (gH,)}, "l0_reverse": ...,
        "l1": ...}`` -- for the GRU ``"bx"`` and ``"bh"`` instead of ``"b"``. The
        number of layers, the directions and whether there are biases are read
        from the keys; a module built with ``bias=False`` gives zero biases.
    """
    where = "from_torch"
    g = _check_kind(where, kind)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{where}: dtype must be float64 or float32, got {dtype}")
    sd = state_dict_or_module
    if callable(getattr(sd, "state_dict", None)):
        sd = sd.state_dict()
    if not isinstance(sd, Mapping):
        raise TypeError(
            f"{where}: expected a torch.nn.RNN/LSTM/GRU module or its state_dict, "
            f"got {type(state_dict_or_module).__name__}"
        )

    # Group the tensors by (layer, suffix).
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for key, value in sd.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        m = _KEY.match(name)
        if m is None:
            raise ValueError(
                f"{where}: unexpected key {key!r}; expected weight_ih_l0, weight_hh_l0, "
                f"bias_ih_l0, ... (use prefix= for the state_dict of a larger model)"
            )
        what, layer, suffix = m.group(1), int(m.group(2)), m.group(3) or ""
        if what == "weight_hr":
            raise ValueError(
                f"{where}: {key!r} belongs to an LSTM with proj_size > 0 (a projected "
                f"hidden state), which the NumPy reference does not implement"
            )
        found.setdefault((layer, suffix), {})[what] = value
    if not found:
        raise ValueError(f"{where}: no recurrent weights found (weight_ih_l0, ...)"
                         + (f" under prefix {prefix!r}" if prefix else ""))

    num_layers = max(layer for layer, _ in found) + 1
    suffixes = ("", "_reverse") if any(s for _, s in found) else ("",)
    has_bias = any("bias_ih" in t or "bias_hh" in t for t in found.values())
    expected = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if has_bias else ())
    for layer in range(num_layers):
        for s in suffixes:
            missing = [f"{w}_l{layer}{s}" for w in expected if w not in found.get((layer, s), {})]
            if missing:
                raise ValueError(f"{where}: missing {', '.join(missing)}")

    params: dict[str, dict[str, np.ndarray]] = {}
    H = None
    for layer in range(num_layers):
        for s in suffixes:
            t = found[(layer, s)]
            w = {k: _as_numpy(f"{where}: {k}_l{layer}{s}", v, dtype) for k, v in t.items()}
            w_ih, w_hh = w["weight_ih"], w["weight_hh"]
            n_ih, n_hh = f"weight_ih_l{layer}{s}", f"weight_hh_l{layer}{s}"
            for n_w, w_w in ((n_ih, w_ih), (n_hh, w_hh)):
                if w_w.ndim != 2:
                    raise ValueError(f"{where}: {n_w} must be 2-D, got shape {w_w.shape}")
            if H is None:
                H = w_hh.shape[1]  # weight_hh: (gH, H)
                if H == 0:
                    raise ValueError(f"{where}: {n_hh} has shape {w_hh.shape}: hidden size 0")
            if w_hh.shape[1] != H:
                raise ValueError(f"{where}: {n_hh} has shape {w_hh.shape}, but H = {H} "
                                 f"from weight_hh_l0 (all layers share one hidden size)")
            if w_ih.shape[0] != g * H:
                raise _gate_mismatch(where, n_ih, w_ih.shape[0], "rows", H, g, kind)
            if w_hh.shape[0] != g * H:
                raise _gate_mismatch(where, n_hh, w_hh.shape[0], "rows", H, g, kind)
            D = w_ih.shape[1]
            if layer > 0 and D != len(suffixes) * H:
                raise ValueError(
                    f"{where}: {n_ih} has shape {w_ih.shape}, expected ({g * H}, "
                    f"{len(suffixes) * H}): layer {layer} reads the {len(suffixes) * H} "
                    f"features of layer {layer - 1}"
                )
            zeros = np.zeros(g * H, dtype=dtype)
            b_ih, b_hh = w.get("bias_ih", zeros), w.get("bias_hh", zeros)
            for bname, bias in (("bias_ih", b_ih), ("bias_hh", b_hh)):
                if bias.shape != (g * H,):
                    raise ValueError(f"{where}: {bname}_l{layer}{s} must have shape "
                                     f"({g * H},) = (gH,) with H = {H}, got {bias.shape}")
            p = {"Wx": np.ascontiguousarray(w_ih.T), "Wh": np.ascontiguousarray(w_hh.T)}
            if kind == "gru":
                p["bx"], p["bh"] = b_ih, b_hh.copy()
            else:
                p["b"] = b_ih + b_hh
            params[f"l{layer}{s}"] = p
    return params


# --------------------------------------------------------------------------- NumPy -> torch


def to_torch(
    params: Mapping[str, Mapping[str, Any]], kind: str, dtype: torch.dtype | None = None,
    bias: bool = True,
) -> OrderedDict[str, torch.Tensor]:
    """Convert NumPy parameters (as from :func:`from_torch`) to a ``state_dict``.

    The result loads with ``module.load_state_dict(sd)`` (strict) into a
    ``torch.nn.RNN/LSTM/GRU`` built with the matching ``input_size``,
    ``hidden_size``, ``num_layers``, ``bidirectional`` and ``bias``.

    For the RNN and LSTM, which only use ``bias_ih + bias_hh``, the single
    ``b`` goes into ``bias_ih`` and ``bias_hh`` is zero: the function computed
    is identical, though the two tensors differ from the ones ``b`` came from.
    The GRU's ``bx`` and ``bh`` go to ``bias_ih`` and ``bias_hh`` unchanged.

    Args:
        params: ``{"l0": {...}, "l0_reverse": {...}, "l1": {...}}`` as documented
            in :mod:`rnncourse.convert`.
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        dtype: a torch floating dtype; ``torch.float64`` by default.
        bias: ``False`` to leave out the bias tensors, for a module built with
            ``bias=False``; the biases in ``params`` must then be zero.

    Returns:
        An ``OrderedDict`` of tensors in ``torch.nn``'s parameter order.
    """
    import torch

    where = "to_torch"
    g = _check_kind(where, kind)
    dtype = torch.float64 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{where}: dtype must be a floating torch.dtype, got {dtype!r}")
    if not isinstance(params, Mapping):
        raise TypeError(f"{where}: params must be a dict of layers, got {type(params).__name__}")
    if not params:
        raise ValueError(f"{where}: params is empty; expected layers 'l0', 'l1', ...")
    layers = [k for k in params if re.fullmatch(r"l\d+", str(k))]
    num_layers = len(layers)
    suffixes = ("", "_reverse") if "l0_reverse" in params else ("",)
    names = [f"l{layer}{s}" for layer in range(num_layers) for s in suffixes]
    if sorted(map(str, params)) != sorted(names):
        raise ValueError(
            f"{where}: params must have the layers {names} (every layer with and without "
            f"'_reverse', or none with it), got {list(params)}"
        )

    def tensor(arr: np.ndarray) -> torch.Tensor:  # a fresh copy, C-contiguous
        return torch.tensor(np.ascontiguousarray(arr), dtype=dtype)

    wanted = {"Wx", "Wh", *_bias_names(kind)}
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    H = None
    for name in names:
        layer = int(name[1:].removesuffix("_reverse"))
        s = "_reverse" if name.endswith("_reverse") else ""
        p = params[name]
        if not isinstance(p, Mapping) or set(p) != wanted:
            got = sorted(p) if isinstance(p, Mapping) else type(p).__name__
            raise ValueError(f"{where}: params[{name!r}] must have the keys "
                             f"{sorted(wanted)} for kind={kind!r}, got {got}")
        a = {}
        for k, v in p.items():
            a[k] = as_float(f"{where}: params[{name!r}][{k!r}]", v)
            check_finite(f"{where}: params[{name!r}][{k!r}]", a[k])
        Wx, Wh = a["Wx"], a["Wh"]
        for k in ("Wx", "Wh"):
            if a[k].ndim != 2:
                raise ValueError(f"{where}: params[{name!r}][{k!r}] must be 2-D, "
                                 f"got shape {a[k].shape}")
        if H is None:
            H = Wh.shape[0]  # Wh: (H, gH)
            if H == 0:
                raise ValueError(f"{where}: params[{name!r}]['Wh'] has shape {Wh.shape}: "
                                 f"hidden size 0")
        if Wh.shape[0] != H:
            raise ValueError(f"{where}: params[{name!r}]['Wh'] has shape {Wh.shape}, but "
                             f"H = {H} from params['l0']['Wh'] (all layers share one H)")
        if Wh.shape[1] != g * H:
            raise _gate_mismatch(where, f"params[{name!r}]['Wh']", Wh.shape[1], "columns",
                                 H, g, kind)
        if Wx.shape[1] != g * H:
            raise _gate_mismatch(where, f"params[{name!r}]['Wx']", Wx.shape[1], "columns",
                                 H, g, kind)
        if layer > 0 and Wx.shape[0] != len(suffixes) * H:
            raise ValueError(
                f"{where}: params[{name!r}]['Wx'] has shape {Wx.shape}, expected "
                f"({len(suffixes) * H}, {g * H}): layer {layer} reads the "
                f"{len(suffixes) * H} features of layer {layer - 1}"
            )
        for k in _bias_names(kind):
            if a[k].shape != (g * H,):
                raise ValueError(f"{where}: params[{name!r}][{k!r}] must have shape "
                                 f"({g * H},) = (gH,) with H = {H}, got {a[k].shape}")
            if not bias and np.any(a[k] != 0):
                raise ValueError(f"{where}: bias=False, but params[{name!r}][{k!r}] is not "
                                 f"zero; the module would compute a different function")

        sd[f"weight_ih_l{layer}{s}"] = tensor(Wx.T)
        sd[f"weight_hh_l{layer}{s}"] = tensor(Wh.T)
        if bias:
            if kind == "gru":
                sd[f"bias_ih_l{layer}{s}"] = tensor(a["bx"])
                sd[f"bias_hh_l{layer}{s}"] = tensor(a["bh"])
            else:
                sd[f"bias_ih_l{layer}{s}"] = tensor(a["b"])
                sd[f"bias_hh_l{layer}{s}"] = torch.zeros(g * H, dtype=dtype)
    return sd
