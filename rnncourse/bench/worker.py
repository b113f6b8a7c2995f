"""One measurement of ``rnncourse bench``, run in a fresh process.

:mod:`rnncourse.bench` starts this module once per measurement::

    python -m rnncourse.bench.worker measure --lib rnncourse --cell lstm --shape 35,20,650,650
    python -m rnncourse.bench.worker matmul --lib numpy --size 1024

and reads the one line it prints on stdout: ``RNNCOURSE_BENCH {json}``.  Each
library is timed in its own process because on a small machine two libraries
in one process disturb each other: an idle torch thread pool still spins on a
core, which NumPy's BLAS then cannot use, and the other way round.  A
NumPy measurement therefore never imports torch.

What is timed (``time.perf_counter``; on CUDA after ``torch.cuda.synchronize()``):

* ``measure``: forward over the whole sequence, the loss ``(h * dh).sum()``
  with a fixed random ``dh`` (for NumPy, ``dh`` goes straight into the
  backward function, which is the same thing), and the backward pass, which
  computes the gradients of all parameters and of the input. ``--warmup``
  untimed runs first, then ``--repeats`` timed ones. For ``--lib products``,
  the layer's matrix products alone, forward and backward (:func:`_products_step`).
* ``matmul``: one square product ``C = A B`` of ``--size`` rows, the rate a
  recurrent layer can at best approach, since matrix products are nearly all
  of its arithmetic. Its GFLOP/s come from the fastest run (the limit), and
  also from the median.

Errors are reported in the JSON line (``"ok": false``) with exit status 1.
This module is not a public API.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

MARKER = "RNNCOURSE_BENCH "
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
LIBS = ("numpy", "rnncourse", "compiled", "torch", "products")


# --------------------------------------------------------------------------- timing


def _time(step: Callable[[], None], repeats: int, warmup: int,
           sync: Callable[[], None] | None = None,
           before: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run ``step`` ``warmup`` times untimed, then ``repeats`` times timed.

    ``before`` runs outside the timed region before every call (e.g. dropping
    the previous gradients); ``sync`` waits for queued GPU work.
    """
    def once() -> float:
        if before is not None:
            before()
        if sync is not None:
            sync()
        start = time.perf_counter()
        step()
        if sync is not None:
            sync()
        return time.perf_counter() - start

    for _ in range(warmup):
        once()
    times = [once() for _ in range(repeats)]
    return {"median_s": statistics.median(times), "min_s": min(times), "times_s": times}


# --------------------------------------------------------------------------- environment


def _numpy_info() -> dict[str, Any]:
    import numpy as np

    info: dict[str, Any] = {"numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no mode="dicts"
        info["numpy_blas"] = None
    try:  # only if the user has it; not a dependency
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        info["numpy_threads"] = pools[0]["num_threads"] if pools else None
    except ImportError:
        info["numpy_threads"] = None
    return info


def _torch_info(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cuda_available": torch.cuda.is_available(),
        "cuda_device": None,
        "cudnn": None,
    }
    if device.startswith("cuda"):
        info["cuda_device"] = torch.cuda.get_device_name(torch.device(device))
        info["cudnn"] = torch.backends.cudnn.version()
    elif info["cuda_available"]:
        info["cuda_device"] = torch.cuda.get_device_name(0)
    return info


def _machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "env_threads": {k: os.environ[k] for k in (
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS") if k in os.environ},
    }


# --------------------------------------------------------------------------- measurements


def _measure_numpy(cell: str, shape: tuple[int, int, int, int], dtype: str, seed: int,
                   repeats: int, warmup: int) -> dict[str, Any]:
    import numpy as np

    from rnncourse import numpy as rn

    T, B, I, H = shape
    G = GATES[cell]
    rng = np.random.default_rng(seed)
    k = 1 / np.sqrt(H)  # torch.nn's default scale U(-1/sqrt(H), 1/sqrt(H))

    def u(*size: int) -> np.ndarray:
        return rng.uniform(-k, k, size).astype(dtype)

    x = rng.standard_normal((B, T, I)).astype(dtype)  # batch first, as rnncourse.numpy wants
    dh = rng.standard_normal((B, T, H)).astype(dtype)
    h0 = np.zeros((B, H), dtype)
    Wx, Wh = u(I, G * H), u(H, G * H)
    if cell == "rnn":
        b = u(H)

        def step() -> None:
            _, cache = rn.rnn_forward(x, h0, Wx, Wh, b)
            rn.rnn_backward(dh, cache)
    elif cell == "lstm":
        b = u(G * H)

        def step() -> None:
            _, _, cache = rn.lstm_forward(x, h0, h0, Wx, Wh, b)
            rn.lstm_backward(dh, cache)
    else:
        bx, bh = u(G * H), u(G * H)

        def step() -> None:
            _, cache = rn.gru_forward(x, h0, Wx, Wh, bx, bh)
            rn.gru_backward(dh, cache)

    result = _time(step, repeats, warmup)
    result["info"] = _numpy_info()
    return result


def _torch_setup(device: str, dtype: str, seed: int) -> tuple[Any, Any]:
    """``(torch.device, torch dtype)`` for a measurement, with torch's seed set; a clear
    error where CUDA is asked for but cannot be used."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA is not available in this torch build or on this machine")
    torch.manual_seed(seed)
    return dev, getattr(torch, dtype)


def _measure_torch(lib: str, cell: str, shape: tuple[int, int, int, int], dtype: str,
                   device: str, seed: int, repeats: int, warmup: int) -> dict[str, Any]:
    import torch

    if lib in ("rnncourse", "compiled"):
        import rnncourse.torch as layers
    else:
        layers = torch.nn
    dev, tdtype = _torch_setup(device, dtype, seed)
    T, B, I, H = shape
    extra = {"compiled": True} if lib == "compiled" else {}
    model = getattr(layers, cell.upper())(I, H, **extra).to(device=dev, dtype=tdtype)
    params = list(model.parameters())
    x = torch.randn(T, B, I, device=dev, dtype=tdtype, requires_grad=True)
    dh = torch.randn(T, B, H, device=dev, dtype=tdtype)

    def before() -> None:
        for p in params:
            p.grad = None
        x.grad = None

    def step() -> None:
        out, _ = model(x)
        (out * dh).sum().backward()

    sync = torch.cuda.synchronize if dev.type == "cuda" else None
    # The first call on its own: for the compiled path it includes compiling. A
    # compiled path that fell back to eager (it warns) is an error, not a row.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = _time(step, 1, 0, sync=sync, before=before)["min_s"]
    fallback = [w for w in caught if "cannot be used" in str(w.message)]
    if lib == "compiled" and fallback:
        raise RuntimeError(str(fallback[0].message))
    result = _time(step, repeats, warmup, sync=sync, before=before)
    result["first_call_s"] = first
    result["info"] = _torch_info(device)
    return result


def _products_step(cell: str, shape: tuple[int, int, int, int], dtype: str, device: str,
                   seed: int) -> Callable[[], None]:
    """One forward and backward of a layer's matrix products alone, nothing else: the
    time below which no layer built from these products can go.

    The same products, in the same layouts, as ``rnncourse.torch`` with
    ``compiled=True``: ``x W_ih^T + b`` over all steps; per step ``h_{t-1} W_hh^T``
    added to the step's projection (``W_hh`` stored as ``compiled.prepare`` stores it,
    the copy included), each step's product taking the previous one's output, so
    that the steps wait for each other as in the recurrence; per step, backwards,
    ``da_t W_hh``; then ``dA W_ih`` and the two weight gradients ``dA^T x`` and
    ``dA^T h_prev`` over all steps. The gate arithmetic is left out: the step's
    ``h_t`` is the first ``H`` columns of its product.
    """
    import torch

    from rnncourse.torch import compiled

    dev, tdtype = _torch_setup(device, dtype, seed)
    T, B, I, H = shape
    GH = GATES[cell] * H

    def rand(*size: int) -> Any:
        return torch.randn(*size, device=dev, dtype=tdtype)

    w_ih, w_hh, b = rand(GH, I) / H**0.5, rand(GH, H) / H**0.5, rand(GH)
    x, h_prev, dA = rand(T * B, I), rand(T * B, H), rand(T, B, GH)
    h0 = rand(B, H)

    def step() -> None:
        w = compiled.prepare(w_hh, B)
        XP = torch.addmm(b, x, w_ih.t()).view(T, B, GH)
        h = h0
        for t in range(T):
            h = torch.addmm(XP[t], h, w.t())[:, :H]
        dh = h0
        for t in reversed(range(T)):
            dh = torch.addmm(dh, dA[t], w_hh)
        dA2 = dA.view(T * B, GH)
        torch.mm(dA2, w_ih), dA2.t() @ x, dA2.t() @ h_prev

    return step


def _measure_products(cell: str, shape: tuple[int, int, int, int], dtype: str, device: str,
                      seed: int, repeats: int, warmup: int) -> dict[str, Any]:
    import torch

    step = _products_step(cell, shape, dtype, device, seed)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    result = _time(step, repeats, warmup, sync=sync)
    result["first_call_s"] = None
    result["info"] = _torch_info(device)
    return result


def _matmul(lib: str, size: int, dtype: str, device: str, repeats: int,
            warmup: int) -> dict[str, Any]:
    if lib == "numpy":
        if device != "cpu":
            raise ValueError("NumPy runs on the CPU only")
        import numpy as np

        rng = np.random.default_rng(0)
        a, b = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
        c = np.empty_like(a)
        result = _time(lambda: np.matmul(a, b, out=c), repeats, warmup)
        result["info"] = _numpy_info()
    else:
        import torch

        dev, tdtype = _torch_setup(device, dtype, 0)
        a, b = (torch.randn(size, size, device=dev, dtype=tdtype) for _ in range(2))
        c = torch.empty_like(a)
        sync = torch.cuda.synchronize if dev.type == "cuda" else None
        result = _time(lambda: torch.mm(a, b, out=c), repeats, warmup, sync=sync)
        result["info"] = _torch_info(device)
    # The limit is the best run: a slower one was disturbed by something else.
    result["gflops"] = 2 * size**3 / result["min_s"] / 1e9
    result["gflops_median"] = 2 * size**3 / result["median_s"] / 1e9
    return result


# --------------------------------------------------------------------------- command line


def _shape(text: str) -> tuple[int, int, int, int]:
    parts = tuple(int(p) for p in text.split(","))
    if len(parts) != 4 or min(parts) <= 0:
        raise argparse.ArgumentTypeError(f"expected T,B,I,H, got {text!r}")
    return parts  # type: ignore[return-value]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rnncourse.bench.worker")
    p.add_argument("task", choices=["measure", "matmul"])
    p.add_argument("--lib", choices=LIBS, required=True)
    p.add_argument("--cell", choices=list(GATES), default="lstm")
    p.add_argument("--shape", type=_shape, default=(5, 2, 3, 4))
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out: dict[str, Any] = {"task": args.task, "lib": args.lib, "device": args.device,
                           "dtype": args.dtype}
    try:
        if args.task == "matmul":
            out["size"] = args.size
            out.update(_matmul(args.lib, args.size, args.dtype, args.device, args.repeats,
                               args.warmup))
        elif args.lib == "numpy":
            out["cell"], out["shape"] = args.cell, list(args.shape)
            if args.device != "cpu":
                raise ValueError("NumPy runs on the CPU only")
            out.update(_measure_numpy(args.cell, args.shape, args.dtype, args.seed,
                                      args.repeats, args.warmup))
        elif args.lib == "products":
            out["cell"], out["shape"] = args.cell, list(args.shape)
            out.update(_measure_products(args.cell, args.shape, args.dtype, args.device,
                                         args.seed, args.repeats, args.warmup))
        else:
            out["cell"], out["shape"] = args.cell, list(args.shape)
            out.update(_measure_torch(args.lib, args.cell, args.shape, args.dtype,
                                      args.device, args.seed, args.repeats, args.warmup))
        out["info"].update(_machine_info())
        out["ok"] = True
    except Exception as exc:  # reported to the parent, which shows it in the table
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc()
    print(MARKER + json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
