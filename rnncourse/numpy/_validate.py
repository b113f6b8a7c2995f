"""Input checks shared by the public functions of :mod:`rnncourse.numpy`.

Every public function validates its arguments here, at the boundary, so that a
wrong shape or dtype is reported as *what was wrong* ("Wh: expected shape
(H, 4H) = (5, 20), got (5, 16)") instead of surfacing as a broadcasting error
from deep inside NumPy.

Shapes are written with symbols: ``("N", "D")`` means a 2-D array whose first
axis is the batch size ``N`` and whose second is the input size ``D``.  A
symbol may carry a factor, ``"4H"``.  The first array that mentions a symbol
binds it; later arrays must agree, and the message says where the binding came
from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Cache",
    "prepare",
    "get_cache",
    "upstream",
    "as_float",
    "as_index",
    "check_shapes",
    "check_finite",
    "common_dtype",
]

Cache = dict[str, Any]

_DIM = re.compile(r"^(\d*)([A-Za-z_][A-Za-z_0-9]*)$")


def _kind(a: Any) -> str:
    return type(a).__name__


def as_float(name: str, a: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """Return ``a`` as a floating-point ndarray, or raise a clear ``TypeError``.

    float64 and float32 arrays pass through unchanged (no copy); integer arrays
    and Python numbers or lists become float64. Booleans, complex numbers,
    strings and objects are rejected, because none of them can be meant.
    If ``dtype`` is given, the result is cast to it.
    """
    if a is None:
        raise TypeError(f"{name}: expected an array, got None")
    if isinstance(a, np.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except (ValueError, TypeError) as exc:  # ragged lists and the like
            raise TypeError(f"{name}: cannot be read as a numeric array ({exc})") from None
    if type(arr) is not np.ndarray:
        # Subclasses (np.matrix, masked arrays, ...) change what * and @ mean.
        arr = np.asarray(arr)
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"{name}: dtype {arr.dtype} is not supported; use float64 (default) or float32"
            )
    elif kind in "iu":
        arr = arr.astype(np.float64)
    else:
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
                "O": "Python objects"}.get(kind, f"dtype {arr.dtype}")
        raise TypeError(
            f"{name}: expected a float64 or float32 array, got {what} "
            f"(a {_kind(a)} with dtype {arr.dtype})"
        )
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def as_index(name: str, a: Any, upper: int | None = None) -> np.ndarray:
    """Return ``a`` as an integer ndarray of indices in ``[0, upper)``."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(
            arr == np.round(arr)
        ):
            raise TypeError(
                f"{name}: expected integer indices, got floats (dtype {arr.dtype}); "
                f"convert them with .astype(int)"
            )
        raise TypeError(f"{name}: expected integer indices, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name}: indices must be >= 0, found {arr.min()}")
    if upper is not None and arr.size and arr.max() >= upper:
        raise ValueError(f"{name}: indices must be < {upper}, found {arr.max()}")
    return arr.astype(np.intp, copy=False)


def common_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 when every array is float32, else float64."""
    if arrays and all(a.dtype == np.float32 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def check_finite(name: str, a: np.ndarray) -> None:
    """Raise ``ValueError`` if ``a`` contains NaN or infinity."""
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))
        n_nan = int(np.isnan(a).sum())
        n_inf = int(np.isinf(a).sum())
        first = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{name}: contains {n_nan} NaN and {n_inf} infinite value(s), "
            f"first at index {first}"
        )


def _parse(dim: int | str) -> tuple[int, str | None]:
    """``"4H"`` -> (4, "H"); ``"N"`` -> (1, "N"); ``7`` -> (7, None)."""
    if isinstance(dim, int):
        return dim, None
    m = _DIM.match(dim)
    if not m:
        raise AssertionError(f"bad shape symbol {dim!r}")  # a bug in rnncourse, not user input
    return int(m.group(1) or 1), m.group(2)


def _fmt(spec: Sequence[int | str]) -> str:
    return "(" + ", ".join(str(d) for d in spec) + ("," if len(spec) == 1 else "") + ")"


def check_shapes(
    where: str,
    arrays: Mapping[str, tuple[np.ndarray, Sequence[int | str]]],
    known: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Check that arrays agree with symbolic shapes; return the bound symbols.

    ``arrays`` maps an argument name to ``(array, spec)``; the arrays are
    checked in order. ``known`` pre-binds symbols (e.g. from a cache).

    >>> import numpy as np
    >>> check_shapes("f", {"x": (np.zeros((2, 3)), ("N", "D")),
    ...                    "W": (np.zeros((3, 8)), ("D", "4H"))})
    {'N': 2, 'D': 3, 'H': 2}
    """
    dims: dict[str, int] = dict(known or {})
    source: dict[str, str] = {k: "the cache" for k in dims}
    for name, (arr, spec) in arrays.items():
        shape = tuple(arr.shape)
        if len(shape) != len(spec):
            raise ValueError(
                f"{where}: {name} must be {len(spec)}-D with shape {_fmt(spec)}, "
                f"got a {arr.ndim}-D array of shape {shape}"
            )
        # First bind any unbound symbols from this array, then compare.
        for size, dim in zip(shape, spec, strict=True):
            factor, sym = _parse(dim)
            if sym is not None and sym not in dims:
                if size % factor:
                    raise ValueError(
                        f"{where}: {name} has shape {shape}, but axis {spec.index(dim)} "
                        f"must be {dim} (a multiple of {factor}), got {size}"
                    )
                dims[sym] = size // factor
                source[sym] = name
        expected = tuple(
            factor * dims[sym] if sym is not None else factor
            for factor, sym in map(_parse, spec)
        )
        if shape != expected:
            why = ", ".join(
                f"{sym} = {dims[sym]} from {source[sym]}"
                for sym in dict.fromkeys(s for _, s in map(_parse, spec) if s)
                if source.get(sym) != name
            )
            raise ValueError(
                f"{where}: {name} must have shape {_fmt(spec)} = {expected}, got {shape}"
                + (f" ({why})" if why else "")
            )
    return dims


def prepare(where: str, arrays: dict[str, Any], specs: dict[str, tuple]) -> list[np.ndarray]:
    """Validate the arguments of a public function and return them as arrays.

    Each argument is converted with :func:`as_float`, checked for NaN and
    infinity, checked against its symbolic shape in ``specs``, and cast to one
    common dtype (float32 only if all are float32). Returned in order.
    """
    conv = {k: as_float(f"{where}: {k}", v) for k, v in arrays.items()}
    for k, v in conv.items():
        check_finite(f"{where}: {k}", v)
    check_shapes(where, {k: (conv[k], specs[k]) for k in conv})
    dtype = common_dtype(*conv.values())
    return [v.astype(dtype, copy=False) for v in conv.values()]


def get_cache(where: str, cache: Any, kind: str) -> Cache:
    """Check that ``cache`` came from the forward function named ``kind``."""
    if not isinstance(cache, dict) or cache.get("kind") != kind:
        got = cache.get("kind") if isinstance(cache, dict) else type(cache).__name__
        raise TypeError(f"{where}: expected the cache returned by {kind}_forward, got {got!r}")
    return cache


def upstream(where: str, name: str, d: Any, like: np.ndarray) -> np.ndarray:
    """An upstream gradient: a float array shaped like the forward output ``like``."""
    d = as_float(f"{where}: {name}", d)
    if d.shape != like.shape:
        raise ValueError(f"{where}: {name} must have shape {like.shape} (as in the forward pass), "
                         f"got {d.shape}")
    return d.astype(like.dtype, copy=False)
