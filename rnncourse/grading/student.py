"""The grader's rules, for the notebooks' check cells: :func:`check_call`.

The autograder fails an exercise whose function changes one of its inputs in
place, or returns a float array that is not float64 (see
:mod:`rnncourse.grading.compare`). The check cells below each exercise call the
student's function through :func:`check_call`, so that the notebook says the
same thing, in the same words, before the work is handed in::

    grads = check_call(rnn_backward, dh, rnn_forward(x, h0, Wx, Wh, b)[1])

The dtype policy, as the notebooks state it: inputs are float64 arrays;
every float array a function returns must be float64 too (NumPy's default:
do not convert to float32); numbers may be Python or NumPy numbers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["check_call", "changed_inputs", "inplace_message", "DTYPE_POLICY"]

DTYPE_POLICY = ("work in float64: the inputs are float64 arrays, and every float array you "
                "return must be float64 too (NumPy's default; do not convert to float32)")


def _labelled(fn: Callable, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    """The arguments under the names that ``fn``'s own parameters give them."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    return [(params[i] if i < len(params) else f"argument {i + 1}", a)
            for i, a in enumerate(args)] + list(kwargs.items())


def _arrays(label: str, value: Any) -> list[tuple[str, np.ndarray]]:
    if isinstance(value, np.ndarray):
        return [(label, value)]
    if isinstance(value, (list, tuple)):
        return [(f"{label}[{i}]", v) for i, v in enumerate(value) if isinstance(v, np.ndarray)]
    return []


def inplace_message(function: str, argument: str) -> str:
    """The sentence the grader and the check cells use for an argument changed in place."""
    first = argument.split("[")[0]
    return (f"`{function}` changes its argument `{argument}` in place -- the caller's array is "
            f"modified; work on a copy instead (e.g. `{first} = {first}.copy()`, or "
            f"`x = x + 1` rather than `x += 1`)")


def changed_inputs(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call ``fn``; return its result and the names of the arguments it changed in place."""
    kept = [(label, a, a.copy()) for name, value in _labelled(fn, args, kwargs)
            for label, a in _arrays(name, value)]
    result = fn(*args, **kwargs)
    changed = [label for label, a, before in kept
               if a.shape != before.shape or not np.array_equal(a, before, equal_nan=True)]
    return result, changed


def check_call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call a student's function as the grader does; raise ``AssertionError`` on a broken rule.

    Checks, after the call: no array argument (or array inside a list or tuple
    argument) changed; every float array returned (or inside a returned tuple
    or list) is float64. Returns the function's result.
    """
    name = getattr(fn, "__name__", "the function")
    result, changed = changed_inputs(fn, *args, **kwargs)
    if changed:
        raise AssertionError(inplace_message(name, changed[0]))
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    for i, out in enumerate(outputs):
        if isinstance(out, np.ndarray) and out.dtype.kind == "f" and out.dtype != np.float64:
            where = f"output {i + 1}" if isinstance(result, (tuple, list)) else "its result"
            raise AssertionError(f"`{name}` returned {where} as a {out.dtype} array: "
                                 f"{DTYPE_POLICY}")
    return result
