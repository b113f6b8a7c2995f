"""The grader's rules, for the notebooks' check cells: :func:`check_call`.

The check cells below each exercise call the student's function through
:func:`check_call`, so that the notebook says what the autograder will say, in
the same words, before the work is handed in::

    grads = check_call(rnn_backward, dh, rnn_forward(x, h0, Wx, Wh, b)[1])

It runs the function *as the grader does*: the cell that defines it is
executed again in a fresh namespace, after only the notebook's setup
definitions (the spec's ``helpers``) and the cells of the exercises it builds
on (``requires``), and that fresh function is called. So a helper defined in
another cell, or a variable of the notebook, fails here as it fails in the
grader, with a message that says how to fix it. Then it checks the grader's
rules:

* no argument is changed in place (see :mod:`rnncourse.grading.compare`);
* every float array returned is float64 -- the dtype policy, as the notebooks
  state it: inputs are float64 arrays; every float array a function returns
  must be float64 too (NumPy's default: do not convert to float32); numbers
  may be Python or NumPy numbers;
* a function documented to return a tuple (``returns`` in its exercise, e.g.
  ``(next_h, next_c, cache)``) returns all of it (see :mod:`.returns`).

A function that is still the exercise's stub fails with one line, ``...is not
implemented yet``, instead of a traceback. The cell's source is found where
IPython keeps it (``linecache``, under the function's file name); a function
defined outside a notebook (no such source) is called as it is.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import linecache
from collections.abc import Callable
from typing import Any

import numpy as np

from .returns import missing_return
from .sandbox import without_magics  # the grader's own rule for IPython magics

__all__ = ["check_call", "changed_inputs", "inplace_message", "DTYPE_POLICY", "CheckFailed",
           "NotImplementedYet"]

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


class CheckFailed(AssertionError):
    """A rule of the grader that the function breaks; shown as one line in a notebook."""

    def _render_traceback_(self) -> list[str]:  # IPython: no traceback, the message only
        return [f"{type(self).__name__}: {self}"]


class NotImplementedYet(CheckFailed):
    """The function (or one it builds on) is still the exercise's stub."""


@functools.lru_cache(maxsize=1)
def _specs() -> tuple:
    from . import checks

    return tuple(checks.load(stem) for stem in checks.available())


def _exercise(fn: Callable) -> tuple[Any, Any, bool] | None:
    """The packaged spec and exercise that grade ``fn`` (found by its name); whether unique.

    Two notebooks may grade functions of the same name (``rnn_forward`` in chapters 2 and
    4): the one whose other exercises the notebook defines wins, and ``unique`` is False
    when that does not decide.
    """
    name = getattr(fn, "__name__", "")
    names = getattr(fn, "__globals__", {})
    found = []
    for spec in _specs():
        functions = [e.function for e in spec.exercises]
        if name not in functions:
            continue
        before = functions[:functions.index(name)]
        score = sum(f in names for f in functions) - sum(f not in names for f in before)
        found.append((score, spec, spec.exercises[functions.index(name)]))
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    unique = len(found) == 1 or found[0][0] > found[1][0]
    return found[0][1], found[0][2], unique


def _cell_source(fn: Callable) -> str | None:
    """The source of the notebook cell that defined ``fn``, where IPython keeps it."""
    code = getattr(fn, "__code__", None)
    if code is None or "<locals>" in getattr(fn, "__qualname__", "<locals>") \
            or getattr(fn, "__module__", None) not in ("__main__", None):
        return None  # not defined at the top of a notebook cell
    lines = linecache.getlines(code.co_filename)
    return "".join(lines) if lines else None


def _as_graded(fn: Callable) -> tuple[Callable, dict, Any, Any, bool]:
    """``fn`` as the grader would define it, the namespace it lives in, its spec and exercise.

    Falls back to ``fn`` itself when its source or its exercise is unknown.
    """
    found = _exercise(fn)
    source = _cell_source(fn)
    if found is None:
        return fn, {}, None, None, False
    spec, ex, unique = found
    if source is None:
        return fn, {}, spec, ex, unique
    notebook = getattr(fn, "__globals__", {})
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(spec.helpers, "<setup>", "exec"), ns)  # noqa: S102 -- the course's own code
    for need in [*spec.requirements(ex), ex]:
        if need is ex:
            other, text = fn, source
        else:
            other = notebook.get(need.function)
            if not callable(other):
                raise CheckFailed(
                    f"`{ex.function}` builds on `{need.function}` (an earlier exercise), which "
                    f"is not defined: run the cell of `{need.function}` first")
            text = _cell_source(other)
            if text is None:
                ns[need.function] = other
                continue
        try:
            try:
                code = compile(text, f"<cell {need.grade_id}>", "exec")
            except SyntaxError:
                code = compile(without_magics(text), f"<cell {need.grade_id}>", "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, ns)  # noqa: S102 -- the student's own cell, in their own kernel
        except Exception as exc:
            raise CheckFailed(_cell_failed(ex, need, exc, notebook, ns)) from None
        if not callable(ns.get(need.function)):
            raise CheckFailed(f"the cell of `{need.function}` does not define it")
    return ns[ex.function], ns, spec, ex, unique


def _alone(ex: Any, spec: Any) -> str:
    need = [e.function for e in spec.requirements(ex)]
    builds = f" and the cells of {', '.join(f'`{n}`' for n in need)}" if need else ""
    return (f"the autograder runs the cell of `{ex.function}` on its own, after only the "
            f"setup's definitions{builds}")


def _cell_failed(ex: Any, need: Any, exc: Exception, notebook: dict, ns: dict) -> str:
    what = f"{type(exc).__name__}: {exc}"
    cell = f"the cell of `{need.function}`"
    if isinstance(exc, NameError) and getattr(exc, "name", None) in notebook:
        return (f"{cell} uses `{exc.name}`, which another cell of your notebook defines; "
                f"{_alone(ex, _spec_of(ex))}, so it fails there ({what}): define "
                f"`{exc.name}` inside that cell")
    return f"{cell} fails when run on its own, as the autograder runs it: {what}"


def _spec_of(ex: Any) -> Any:
    return next(s for s in _specs() if ex in s.exercises)


def _stub_message(exc: BaseException, ex: Any, spec: Any) -> str:
    """Which function is still a stub: the innermost of the student's cells on the stack."""
    where = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith("<cell ") and filename.endswith(">"):
            where = filename[6:-1]
        tb = tb.tb_next
    if spec is not None and where not in (None, ex.grade_id):
        other = next((e.function for e in spec.exercises if e.grade_id == where), where)
        return (f"`{ex.function}` calls `{other}`, which is not implemented yet: write "
                f"`{other}` first")
    name = ex.function if ex is not None else "the function"
    return (f"`{name}` is not implemented yet: replace `raise NotImplementedError()` in its "
            f"cell with your code, run that cell, then this one")


def check_call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call a student's function as the grader does; raise ``AssertionError`` on a broken rule.

    The function's cell runs again on its own (see the module's docstring), then
    checks, after the call: no array argument (or array inside a list or tuple
    argument) changed; every float array returned (or inside a returned tuple
    or list) is float64; all the documented return values are there. Returns
    the function's result.
    """
    name = getattr(fn, "__name__", "the function")
    graded, ns, spec, ex, unique = _as_graded(fn)
    try:
        result, changed = changed_inputs(graded, *args, **kwargs)
    except NotImplementedError as exc:
        raise NotImplementedYet(_stub_message(exc, ex, spec)) from None
    except NameError as exc:
        missing = getattr(exc, "name", None)
        if ns and missing and missing not in ns and missing in getattr(fn, "__globals__", {}):
            raise CheckFailed(
                f"`{name}` uses `{missing}`, which another cell of your notebook defines; "
                f"{_alone(ex, spec)}, so it would fail there (NameError: {exc}): define "
                f"`{missing}` inside the cell of `{name}`") from None
        raise
    if ex is not None and ex.returns and unique:
        why = missing_return(name, ex.returns, result)
        if why:
            raise CheckFailed(why)
    if changed:
        raise CheckFailed(inplace_message(name, changed[0]))
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    for i, out in enumerate(outputs):
        if isinstance(out, np.ndarray) and out.dtype.kind == "f" and out.dtype != np.float64:
            where = f"output {i + 1}" if isinstance(result, (tuple, list)) else "its result"
            raise CheckFailed(f"`{name}` returned {where} as a {out.dtype} array: "
                                 f"{DTYPE_POLICY}")
    return result
