"""The compiled path: the recurrent loops of :mod:`.functional` through ``torch.compile``.

Opt-in: ``compile=True`` on a layer (or ``RNNCOURSE_COMPILE=1`` in the environment).
The eager code stays the reference; this module only decides whether to use the
compiled version of the same functions, and falls back to eager, with one warning,
where compiling is impossible (no C++ compiler for ``torch.compile``'s CPU backend)
or fails.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable

import torch

__all__ = ["wanted", "compiled_pair", "available"]

_ENV = "RNNCOURSE_COMPILE"
_cache: dict[Callable, Callable] = {}
_broken: list[str] = []  # why compiling failed in this process, if it did


def _env_says() -> bool:
    return os.environ.get(_ENV, "0").strip().lower() not in ("", "0", "false", "no", "off")


def available() -> tuple[bool, str]:
    """Whether ``torch.compile`` can run here, and if not, why."""
    if _broken:
        return False, _broken[0]
    if not hasattr(torch, "compile"):
        return False, "this PyTorch has no torch.compile"
    cxx = os.environ.get("CXX") or next(
        (c for c in ("g++", "c++", "clang++") if shutil.which(c)), None)
    if cxx is None or shutil.which(cxx) is None:
        return False, "no C++ compiler found (torch.compile's CPU backend needs g++ or clang++)"
    return True, ""


def _warn(why: str) -> None:
    warnings.warn(f"rnncourse.torch: compile requested but unavailable ({why}); "
                  "running the eager code instead", RuntimeWarning, stacklevel=4)


def wanted(compile: bool | None) -> bool:
    """Whether to run the compiled loops: ``compile``, or the environment if ``None``."""
    if not (_env_says() if compile is None else compile):
        return False
    if torch._C._are_functorch_transforms_active():  # vmap, torch.func: eager only
        return False
    ok, why = available()
    if not ok:
        if why not in _broken:
            _broken.append(why)
            _warn(why)
        return False
    return True


def _compiled(fn: Callable) -> Callable:
    if fn not in _cache:
        _cache[fn] = torch.compile(fn, dynamic=False, fullgraph=True)
    compiled = _cache[fn]

    def run(*args):
        if _broken:
            return fn(*args)
        try:
            return compiled(*args)
        except Exception as exc:  # a compiler that fails here: say so once, stay eager
            _broken.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            _warn(_broken[-1])
            return fn(*args)

    return run


def compiled_pair(eager: tuple[Callable, Callable]) -> tuple[Callable, Callable]:
    """The compiled versions of a layer's forward and backward loops."""
    return _compiled(eager[0]), _compiled(eager[1])
