"""Comparing what a student's function returned with the reference, in the grader.

Both sides are plain data by now (NumPy arrays and scalars, Python numbers,
strings, ``None``, lists, tuples, dicts: see :mod:`rnncourse.grading.sandbox`);
no object the student made exists in this process, so no ``__eq__`` of theirs
can run. :func:`compare` returns ``None`` when the values agree, else one
sentence that says what is wrong, e.g. ``"dWh differs from the reference, max
relative error 0.31 (at index (0, 2): got 1.2, expected 0.9)"``.

The rules:

* an array must come back as an array (not a list) with the same shape; float
  references need the same float dtype -- the course's one dtype policy, stated in
  every notebook and checked by the check cells (:mod:`.student`): float64 inputs,
  float64 outputs, whatever the values --
  integer references any integer dtype, boolean references booleans; values
  agree within ``rtol``/``atol`` (floats) or exactly (integers, booleans);
  NaN and infinity are reported as such;
* a number may come back as a Python or NumPy number (or a 0-d array); an
  integer reference needs an integer;
* a list or tuple needs the same length (either kind is accepted), item by item;
  a list of numbers may also come back as an array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["compare", "describe"]


def describe(v: Any) -> str:
    """A few words for a value: ``"a list of 3 items"``, ``"an array of shape (2, 3)"``."""
    if v is None:
        return "None"
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape} and dtype {v.dtype}"
    if isinstance(v, (bool, np.bool_)):
        return f"the boolean {bool(v)}"
    if isinstance(v, (int, np.integer)):
        return f"the integer {int(v)}"
    if isinstance(v, (float, np.floating)):
        return f"the float {float(v):.6g}"
    if isinstance(v, str):
        return f"the string {v[:40]!r}"
    if isinstance(v, (list, tuple)):
        return f"a {type(v).__name__} of {len(v)} items"
    if isinstance(v, dict):
        return f"a dict with keys {sorted(v)[:8]}"
    return f"a {type(v).__name__}"


def _fmt(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.6g}"


def _index(idx: tuple) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ("," if len(idx) == 1 else "") + ")"


def _at(idx: tuple, got: np.ndarray, exp: np.ndarray) -> str:
    where = f"at index {_index(idx)}: " if idx else ""
    return f" ({where}got {_fmt(got[idx])}, expected {_fmt(exp[idx])})"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating, np.bool_)) or (
        isinstance(v, np.ndarray) and v.ndim == 0)


def compare_arrays(exp: np.ndarray, got: np.ndarray, name: str, rtol: float, atol: float,
                   *, strict_dtype: bool = True) -> str | None:
    if got.shape != exp.shape:
        return f"{name} has shape {got.shape}, expected {exp.shape}"
    ek, gk = exp.dtype.kind, got.dtype.kind
    if exp.size:
        if ek == "f" and gk != "f":
            return f"{name} has dtype {got.dtype}, expected {exp.dtype} (floating point)"
        if ek == "f" and strict_dtype and got.dtype != exp.dtype:
            return (f"{name} has dtype {got.dtype}, expected {exp.dtype} (every float array "
                    f"you return must be float64, like the inputs)")
        if ek in "iu" and gk not in "iu":
            return f"{name} has dtype {got.dtype}, expected integers (e.g. int64)"
        if ek == "b" and gk != "b":
            return f"{name} has dtype {got.dtype}, expected booleans"
    if exp.size == 0:
        return None
    if ek == "f":
        e, g = exp.astype(np.float64), got.astype(np.float64)
        nan = np.isnan(g) & ~np.isnan(e)
        inf = np.isinf(g) & ~(np.isinf(e) & (np.sign(e) == np.sign(g)))
        for bad, what in ((nan, "NaN"), (inf, "infinity")):
            if bad.any():
                first = f" (first at index {_index(tuple(np.argwhere(bad)[0]))})" if g.ndim else ""
                return f"{name} contains {what}{first}"
        ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if ok.all():
            return None
        bad = ~ok
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.abs(g - e)
            finite = np.isfinite(diff)
            if np.all(e[bad] != 0) and finite[bad].all():
                err = f"max relative error {float(np.max(diff[bad] / np.abs(e[bad]))):.2g}"
            else:
                err = f"max absolute error {float(np.max(np.where(finite, diff, 0)[bad])):.2g}"
        idx = tuple(np.argwhere(bad)[0])
        return f"{name} differs from the reference, {err}" + _at(idx, g, e)
    same = got.astype(np.int64) == exp.astype(np.int64) if ek in "iu" else got == exp
    if same.all():
        return None
    idx = tuple(np.argwhere(~same)[0])
    return (f"{name} differs from the reference at {int((~same).sum())} of {same.size} "
            f"position(s)" + _at(idx, got, exp))


def _compare_numbers(exp: Any, got: Any, name: str, rtol: float, atol: float) -> str | None:
    if isinstance(got, np.ndarray):
        got = got[()]
    if isinstance(exp, np.ndarray):
        exp = exp[()]
    if isinstance(exp, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"{name} is {describe(got)}, expected a boolean"
        return None if bool(got) == bool(exp) else f"{name} is {bool(got)}, expected {bool(exp)}"
    if isinstance(got, (bool, np.bool_)):
        return f"{name} is {describe(got)}, expected a number"
    if isinstance(exp, (int, np.integer)):
        if not isinstance(got, (int, np.integer)):
            return f"{name} is {describe(got)}, expected an integer"
        return None if int(got) == int(exp) else f"{name} is {int(got)}, expected {int(exp)}"
    g, e = float(got), float(exp)
    if np.isnan(g) and not np.isnan(e):
        return f"{name} is NaN"
    if np.isinf(g) and g != e:
        return f"{name} is infinite"
    if np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    err = (f"relative error {abs(g - e) / abs(e):.2g}" if e != 0
           else f"absolute error {abs(g - e):.2g}")
    return f"{name} differs from the reference, {err} (got {g:.6g}, expected {e:.6g})"


def compare(exp: Any, got: Any, name: str, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """``None`` if ``got`` agrees with the reference ``exp``, else the reason."""
    if isinstance(exp, np.ndarray) and exp.ndim > 0:
        if isinstance(got, np.ndarray):
            return compare_arrays(exp, got, name, rtol, atol)
        if isinstance(got, (list, tuple)):
            return (f"{name} is a {type(got).__name__}, expected a NumPy array of shape "
                    f"{exp.shape} (convert it with np.array)")
        return f"{name} is {describe(got)}, expected a NumPy array of shape {exp.shape}"
    if _is_number(exp):
        if not _is_number(got):
            return f"{name} is {describe(got)}, expected a number"
        return _compare_numbers(exp, got, name, rtol, atol)
    if exp is None or isinstance(exp, str):
        return None if type(got) is type(exp) and got == exp else \
            f"{name} is {describe(got)}, expected {describe(exp)}"
    if isinstance(exp, (list, tuple)):
        if isinstance(got, np.ndarray):
            try:
                arr = np.asarray(exp)
            except ValueError:
                arr = None
            if arr is not None and arr.dtype.kind in "biuf":  # one dtype policy: float64
                return compare_arrays(arr, got, name, rtol, atol)
        if not isinstance(got, (list, tuple)):
            return f"{name} is {describe(got)}, expected a {type(exp).__name__} of {len(exp)} items"
        if len(got) != len(exp):
            return f"{name} has {len(got)} items, expected {len(exp)}"
        for i, (e, g) in enumerate(zip(exp, got, strict=True)):
            reason = compare(e, g, f"{name}[{i}]", rtol, atol)
            if reason:
                return reason
        return None
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            return f"{name} is {describe(got)}, expected a dict"
        if set(got) != set(exp):
            return f"{name} has keys {sorted(got)[:8]}, expected {sorted(exp)[:8]}"
        for k in exp:
            reason = compare(exp[k], got[k], f"{name}[{k!r}]", rtol, atol)
            if reason:
                return reason
        return None
    raise TypeError(f"cannot compare a reference of type {type(exp).__name__}")
