"""The compiled path: the recurrent loops of :mod:`.functional` through ``torch.compile``.

Optional reading: nothing here changes an equation, and :mod:`.functional` does not
import this module. It builds an :class:`~rnncourse.torch.functional.Ops` (how a layer
runs its loops and products) from functional's own loops; the modules pick it with
:func:`ops`. Opt-in: ``compiled=True`` on a module, ``ops=compiled.ops(True)`` on a
layer function, or ``RNNCOURSE_COMPILE=1`` in the environment. The eager loops stay the
reference: this module compiles *the same functions* and only decides how to call them.

Why chunks: the gate arithmetic of one step is a dozen small element-wise
operations; ``torch.compile`` fuses them into one or two generated C++ kernels.
Compiling one step and calling it ``T`` times pays the compiled function's
per-call overhead at every step, which eats the gain (measured: 0.083 ms per
call against 0.074 ms eager at a batch of 20 and ``H = 650``); compiling the
whole loop of ``T = 35`` steps, forward and backward, took over two minutes on
two cores. So the loop is compiled for a chunk of ``K`` steps (the largest
divisor of ``T`` up to 8, or ``RNNCOURSE_COMPILE_CHUNK``), and the state is
carried from chunk to chunk: one compiled graph for the forward and one for the
backward per layer shape, each unrolled over ``K`` steps.

Where the compiled path is not used (the eager loops run instead):

* packed input with varying lengths (each distinct pattern of batch sizes would
  be a new graph: compiling per length pattern costs far more than it saves);
* double backward (``create_graph=True``) and ``torch.func`` transforms
  (``vmap``), which need the eager code; CPU autocast (``torch.autocast("cpu")``),
  whose casts the compiled loops do not reproduce (their LSTM returns float32 where
  ``torch.nn.LSTM`` returns bfloat16);
* no C++ compiler, or a compiler error: one ``RuntimeWarning`` says why, and the
  process stays eager from then on.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from . import functional as F

__all__ = ["ops", "wanted", "available", "chunk_size", "prepare", "COMPILED"]

_ENV = "RNNCOURSE_COMPILE"
_cache: dict[Callable, Callable] = {}
_broken: list[str] = []  # why compiling failed in this process, if it did
MAX_CHUNK = 8
# The generated element-wise kernels use as many threads as the products (inductor's
# default) unless RNNCOURSE_COMPILE_THREADS says otherwise. Measured on 2 cores, LSTM
# forward and backward against torch.nn: 1.27 -> 1.24x at (35, 20, 650, 650) and
# 1.37 -> 1.15x at (100, 64, 128, 256) with two threads instead of one.
_THREADS = os.environ.get("RNNCOURSE_COMPILE_THREADS")
_OPTIONS = {"cpp.threads": int(_THREADS)} if _THREADS else {}


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
    warnings.warn(f"rnncourse.torch: compiled=True, but torch.compile cannot be used ({why}); "
                  "running the eager code instead", RuntimeWarning, stacklevel=5)


def wanted(compile: bool | None, batch_sizes: Tensor | tuple[int, ...] | None = None) -> bool:
    """Whether to run the compiled loops: ``compile``, or the environment if ``None``;
    never for packed input whose lengths differ (``batch_sizes`` not constant)."""
    if not (_env_says() if compile is None else compile):
        return False
    if batch_sizes is not None and len(batch_sizes) and batch_sizes[-1] != batch_sizes[0]:
        return False
    if torch._C._are_functorch_transforms_active():  # vmap, torch.func: eager only
        return False
    if torch.is_autocast_enabled("cpu"):  # autocast's casts: see above
        return False
    ok, why = available()
    if not ok:
        if why not in _broken:
            _broken.append(why)
            _warn(why)
        return False
    return True


def chunk_size(T: int) -> int:
    """``K``: ``RNNCOURSE_COMPILE_CHUNK``, else the largest divisor of ``T`` up to 8."""
    env = os.environ.get("RNNCOURSE_COMPILE_CHUNK")
    if env:
        return max(1, min(T, int(env)))
    return max(k for k in range(1, min(T, MAX_CHUNK) + 1) if T % k == 0)


# --------------------------------------------------------------------------- products
#
# The matrix products are most of the arithmetic, and they are torch's own (``torch.mm``,
# ``torch.addmm``: MKL's on the CPU), as on the eager path. What a call of the layer can
# choose is the layout of the weight. MKL's product x @ B with few rows in x runs fastest
# when B = W^T is itself contiguous (not a transposed view of W): measured on 2 cores at
# 20 rows, 0.40 against 0.59 ms for H = 650 (x 35 steps) and 17 against 22 us for
# H = 128; from 64 rows on, the two layouts take the same time. Storing W^T costs one
# copy per call (0.7 ms for the 2600 x 650 W_hh, copied in blocks of rows, against 1.7 ms
# for ``w.t().contiguous()``). The backward's products take W_hh itself: already so.
_FEW_ROWS = 64
_BLOCK = 512  # rows of w per copy: a block of w and of its transpose stay in the cache


def _transpose_stored(w: Tensor) -> Tensor:
    """``w`` (the same values and shape) stored so that ``w.t()`` is contiguous."""
    wt = w.new_empty(w.shape[1], w.shape[0])
    for s in range(0, w.shape[0], _BLOCK):
        wt[:, s:s + _BLOCK].copy_(w[s:s + _BLOCK].t())
    return wt.t()


def prepare(w: Tensor, rows: int) -> Tensor:
    """``w (out, in)`` ready for products ``x W^T`` with ``rows`` rows in ``x``: for few
    rows, stored so that ``w.t()`` is contiguous; otherwise ``w`` itself."""
    if rows < _FEW_ROWS and w.dim() == 2 and not w.t().is_contiguous():
        return _transpose_stored(w)
    return w


# --------------------------------------------------------------------------- compiling


def _compiled(fn: Callable) -> Callable:
    """``fn`` through ``torch.compile``; on a compiler error, ``fn`` itself (with a warning)."""
    if fn not in _cache:
        _cache[fn] = torch.compile(fn, dynamic=False, fullgraph=True, options=_OPTIONS)
    compiled = _cache[fn]

    def run(*args: Any) -> Any:
        if _broken:
            return fn(*args)
        try:
            return compiled(*args)
        except Exception as exc:  # a compiler that fails here: say so once, stay eager
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _broken.append(f"{type(exc).__name__}: {first}")
            _warn(_broken[-1])
            return fn(*args)

    return run


def _spans(T: int) -> list[tuple[int, int]]:
    K = chunk_size(T)
    return [(s, min(s + K, T)) for s in range(0, T, K)]


def _cat(parts: list[Tensor | None]) -> Tensor | None:
    return None if parts[0] is None else torch.cat(parts)


# Each driver runs a loop function chunk by chunk, carrying the state, with the
# time-indexed arguments sliced; the arguments are those of the eager loop.


def _rnn_forward(fn: Callable, XP, h, w_hh, relu, steps):
    outs = []
    for s, e in _spans(len(steps)):
        out, h = fn(XP[s:e], h, w_hh, relu, steps[s:e])
        outs.append(out)
    return torch.cat(outs), h


def _rnn_backward(fn: Callable, grad_out, dh, out, w_hh_t, relu, steps):
    dAs = []
    for s, e in reversed(_spans(len(steps))):
        dA, dh = fn(grad_out[s:e], dh, out[s:e], w_hh_t, relu, steps[s:e])
        dAs.append(dA)
    return torch.cat(dAs[::-1]), dh


def _lstm_forward(fn: Callable, XP, h, c, w_hh, w_peep, w_hr, steps):
    parts = []
    for s, e in _spans(len(steps)):
        *chunk, h, c = fn(XP[s:e], h, c, w_hh, w_peep, w_hr, steps[s:e])
        parts.append(chunk)
    return (*(torch.cat(p) for p in zip(*parts, strict=True)), h, c)


def _lstm_backward(fn: Callable, grad_out, dh, dc, acts, cells, tanh_cells, c0, w_hh_t, w_peep,
                   w_hr_t, steps):
    dAs, dHs = [], []
    for s, e in reversed(_spans(len(steps))):
        c_start = cells[s - 1] if s > 0 else c0
        dA, dH, dh, dc = fn(grad_out[s:e], dh, dc, acts[s:e], cells[s:e], tanh_cells[s:e],
                            c_start, w_hh_t, w_peep, w_hr_t, steps[s:e])
        dAs.append(dA)
        dHs.append(dH)
    return torch.cat(dAs[::-1]), _cat(dHs[::-1]), dh, dc


def _gru_forward(fn: Callable, XP, h, w_hh, b_hh, steps):
    parts = []
    for s, e in _spans(len(steps)):
        *chunk, h = fn(XP[s:e], h, w_hh, b_hh, steps[s:e])
        parts.append(chunk)
    return (*(torch.cat(p) for p in zip(*parts, strict=True)), h)


def _gru_backward(fn: Callable, grad_out, dh, out, acts, hns, h0, w_hh_t, steps):
    dXPs, dHHs = [], []
    for s, e in reversed(_spans(len(steps))):
        h_start = out[s - 1] if s > 0 else h0
        dXP, dHH, dh = fn(grad_out[s:e], dh, out[s:e], acts[s:e], hns[s:e], h_start, w_hh_t,
                          steps[s:e])
        dXPs.append(dXP)
        dHHs.append(dHH)
    return torch.cat(dXPs[::-1]), torch.cat(dHHs[::-1]), dh


_DRIVERS = {
    "_rnn_steps": _rnn_forward, "_rnn_steps_backward": _rnn_backward,
    "_lstm_steps": _lstm_forward, "_lstm_steps_backward": _lstm_backward,
    "_gru_steps": _gru_forward, "_gru_steps_backward": _gru_backward,
}


def _run(loop: Callable, *args: Any) -> Any:
    """Run one of functional's loops compiled, chunk by chunk (``Ops.run``)."""
    return _DRIVERS[loop.__name__](_compiled(loop), *args)


COMPILED = F.Ops(prepare=prepare, run=_run)


def ops(compile: bool | None, batch_sizes: Tensor | None = None) -> F.Ops:
    """The ops a layer runs with: :data:`COMPILED` where :func:`wanted`, else
    :data:`rnncourse.torch.functional.EAGER`."""
    return COMPILED if wanted(compile, batch_sizes) else F.EAGER
