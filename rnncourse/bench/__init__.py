"""``rnncourse bench``: how fast are the course's recurrent layers?

Times forward + backward of ``rnncourse.numpy``, ``rnncourse.torch`` (eager, and
with ``compiled=True``: ``rnncourse.torch+compile``) and ``torch.nn`` for the RNN,
LSTM and GRU over a set of shapes, and prints a table (optionally a JSON file).
``--libs products`` adds the matrix products of the compiled path alone, without
the gate arithmetic: the time below which no layer built from torch's public
products can go at that shape::

    rnncourse bench                                   # the standard shapes, float32
    python -m rnncourse.bench --shapes 35,20,650,650 --cells lstm --repeats 20
    python -m rnncourse.bench --shapes tiny --json bench.json

Shapes are ``(T, B, I, H)``: sequence length, batch size, input size, hidden
size; ``standard`` is (50, 32, 64, 128), (100, 64, 128, 256) and
(35, 20, 650, 650) (the last is the medium language model of Zaremba et al.).

How it measures:

* every (library, cell, shape, dtype, device) runs in a fresh process
  (:mod:`rnncourse.bench.worker`). Timing NumPy and torch in one process
  distorts both on a small machine: a library's idle thread pool keeps a
  core busy that the other library's threads then wait for;
* one run is the forward pass over the whole sequence, the loss
  ``(h * dh).sum()`` with a fixed random ``dh``, and the backward pass with the
  gradients of all parameters and of the input; after ``--warmup`` untimed
  runs, ``--repeats`` timed ones (``time.perf_counter``, after
  ``torch.cuda.synchronize()`` on a GPU) give the median (reported) and the
  minimum;
* "1st call s" is the first forward + backward of the measurement's process,
  before the warm-up: for ``rnncourse.torch+compile`` it includes compiling
  (``torch.compile`` caches its kernels on disk, so a second run of the
  benchmark on the same machine compiles faster); the timed runs come after;
* the ratio is the median time over that of ``torch.nn`` on the same device
  in the same run (on a GPU ``torch.nn`` runs cuDNN); below 1 means faster;
* arithmetic, counting a multiply-add as 2 FLOPs and ignoring the element-wise
  work: one step's forward products ``x_t W_ih^T`` and ``h_{t-1} W_hh^T`` cost
  ``2 B (I + H) G H`` with ``G = 1, 4, 3`` gate blocks (RNN, LSTM, GRU); the
  backward pass has twice as many (the gradients with respect to the inputs
  of the products and with respect to the weights), so::

      FLOPs(fwd + bwd) = 3 * T * 2 B (I + H) G H

  and GFLOP/s is that over the median time;
* the matrix-multiply rate is a square ``--matmul-size`` product timed the
  same way, with NumPy (the limit of ``rnncourse.numpy``) and with torch on
  each device (the limit of the torch rows), from its fastest run: "% mm" is
  the layer's GFLOP/s as a fraction of it. A recurrent layer stays well below it, since its per-step
  products are small (``B`` rows) and wait for each other.

Threads are left at the libraries' defaults and printed in the header.
Timings are meaningful only on an otherwise idle machine.

From Python: :func:`main` (``argv`` list), or :func:`add_arguments` and
:func:`run` to put the command into another ``argparse`` parser.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..cli.argtypes import non_negative_int, positive_float, positive_int

__all__ = ["SHAPE_SETS", "CELLS", "LIBS", "DEFAULT_LIBS", "flops", "add_arguments", "run", "main"]

Shape = tuple[int, int, int, int]

#: Named shape sets for ``--shapes``: (T, B, I, H).
SHAPE_SETS: dict[str, list[Shape]] = {
    "tiny": [(5, 2, 3, 4)],  # proves that it runs (CI)
    "small": [(20, 16, 32, 64), (50, 32, 64, 128)],
    "standard": [(50, 32, 64, 128), (100, 64, 128, 256), (35, 20, 650, 650)],
}

#: Cells and their number of gate blocks G.
CELLS: dict[str, int] = {"rnn": 1, "lstm": 4, "gru": 3}

#: ``--libs`` names and how the table shows them.
LIBS: dict[str, str] = {
    "numpy": "rnncourse.numpy",
    "rnncourse": "rnncourse.torch",
    "compiled": "rnncourse.torch+compile",
    "torch": "torch.nn",
    "products": "products alone",
}
#: What ``--libs`` runs by default (``products`` is asked for by name).
DEFAULT_LIBS = ("numpy", "rnncourse", "compiled", "torch")

_MARKER = "RNNCOURSE_BENCH "
_TORCH_LIBS = ("rnncourse", "compiled", "torch", "products")
# The folder that holds rnncourse/ (bench/__init__.py is two levels below it): put first on
# the workers' PYTHONPATH, so that they import this copy of the package.
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def flops(cell: str, shape: Shape) -> int:
    """FLOPs of forward + backward: ``3 * T * 2 B (I + H) G H`` (see the module docstring)."""
    T, B, I, H = shape
    return 3 * T * 2 * B * (I + H) * CELLS[cell] * H


# --------------------------------------------------------------------------- arguments


def _shape_arg(text: str) -> list[Shape]:
    """argparse type of one ``--shapes`` word: a set name or ``T,B,I,H``."""
    if text in SHAPE_SETS:
        return list(SHAPE_SETS[text])
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or min(parts) <= 0:
        raise argparse.ArgumentTypeError(
            f"bad shape {text!r}: expected {', '.join(SHAPE_SETS)} or T,B,I,H "
            "(four positive integers: sequence length, batch, input size, hidden size), "
            "e.g. 50,32,64,128"
        )
    return [parts]  # type: ignore[list-item]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the benchmark's options on ``parser`` (and set ``func=run`` as default)."""
    parser.description = (
        "Time forward+backward of rnncourse.numpy, rnncourse.torch and torch.nn "
        "(RNN, LSTM, GRU), each measurement in its own process, and compare with torch.nn "
        "and with the machine's matrix-multiply rate."
    )
    parser.add_argument(
        "--shapes", nargs="+", type=_shape_arg, default=[SHAPE_SETS["standard"]],
        metavar="SHAPE",
        help="shape sets (tiny, small, standard) or T,B,I,H (default: standard = "
             + ", ".join(",".join(map(str, s)) for s in SHAPE_SETS["standard"]) + ")",
    )
    parser.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS),
                        metavar="CELL", help="rnn, lstm, gru (default: all)")
    parser.add_argument("--libs", nargs="+", choices=list(LIBS), default=list(DEFAULT_LIBS),
                        metavar="LIB",
                        help="numpy (rnncourse.numpy), rnncourse (rnncourse.torch), compiled "
                             "(rnncourse.torch with compiled=True), torch (torch.nn, the "
                             "reference), products (the matrix products of the compiled "
                             "path alone: the floor of any layer built from them) "
                             "(default: all but products)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="(default: float32)")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto",
                        help="auto: the CPU, plus GPU rows for the torch libraries when CUDA "
                             "is available (default: auto)")
    parser.add_argument("--repeats", type=positive_int, default=10,
                        help="timed runs per measurement; the median is reported (default: 10)")
    parser.add_argument("--warmup", type=non_negative_int, default=2,
                        help="untimed runs first (default: 2)")
    parser.add_argument("--matmul-size", type=positive_int, default=2048, metavar="N",
                        help="size of the square product giving the matmul rate (default: 2048)")
    parser.add_argument("--timeout", type=positive_float, default=600.0, metavar="SECONDS",
                        help="time limit of each measurement's process (default: 600)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random data")
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="run N measurements at once: faster, but they disturb each "
                             "other's timings; for smoke tests only (default: 1)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines on stderr, only the table")
    parser.set_defaults(func=run)


# --------------------------------------------------------------------------- running workers


@dataclass
class _Job:
    """One worker process to run and what it returned."""

    task: str  # "measure" or "matmul"
    lib: str
    device: str
    cell: str | None = None
    shape: Shape | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.result.get("ok"))

    def label(self) -> str:
        if self.task == "matmul":
            return f"matmul {self.lib} {self.device}"
        return f"{self.cell} {','.join(map(str, self.shape or ()))} {LIBS[self.lib]} {self.device}"


def _worker_env() -> dict[str, str]:
    """The environment of a worker: ours, with this package importable."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(_PACKAGE_ROOT) + (os.pathsep + path if path else "")
    return env


def _run_job(job: _Job, args: argparse.Namespace) -> None:
    """Run ``job`` in a fresh interpreter; store its JSON line, or the failure, in it."""
    cmd = [sys.executable, "-m", "rnncourse.bench.worker", job.task, "--lib", job.lib,
           "--device", job.device, "--dtype", args.dtype, "--repeats", str(args.repeats),
           "--warmup", str(args.warmup), "--seed", str(args.seed)]
    if job.task == "matmul":
        cmd += ["--size", str(args.matmul_size)]
    else:
        cmd += ["--cell", str(job.cell), "--shape", ",".join(map(str, job.shape or ()))]
    if job.lib in _TORCH_LIBS and importlib.util.find_spec("torch") is None:
        job.result = {"ok": False, "error": "torch is not installed"}
        return
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              env=_worker_env())
    except subprocess.TimeoutExpired:
        job.result = {"ok": False, "error": f"timed out after {args.timeout:g} s"}
        return
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_MARKER)]
    if lines:
        try:
            job.result = json.loads(lines[-1][len(_MARKER):])
            return
        except json.JSONDecodeError:
            pass
    tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    why = tail[-1].strip() if tail else "no output"
    job.result = {"ok": False, "error": f"worker exited with status {proc.returncode}: {why}"}


def _progress(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(f"bench: {text}", file=sys.stderr, flush=True)


def _run_all(jobs: list[_Job], args: argparse.Namespace, first: int, total: int) -> None:
    """Run ``jobs``, one after the other (``--jobs 1``) or a few at once."""

    def one(k: int, job: _Job) -> None:
        start = time.perf_counter()
        _run_job(job, args)
        took = time.perf_counter() - start
        if job.ok:
            what = (f"{job.result['gflops']:.1f} GFLOP/s" if job.task == "matmul"
                    else f"{job.result['median_s'] * 1e3:.3f} ms")
        else:
            what = "FAILED: " + job.result.get("error", "?")
        _progress(args, f"[{k:>{len(str(total))}}/{total}] {job.label()}: {what} "
                        f"({took:.1f} s)")

    if args.jobs == 1:
        for k, job in enumerate(jobs, start=first):
            one(k, job)
    else:  # the threads only wait for the worker processes
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(one, range(first, first + len(jobs)), jobs))


# --------------------------------------------------------------------------- the report


def _devices(args: argparse.Namespace, cpu_info: dict[str, Any] | None) -> list[str]:
    if args.device == "cpu":
        return ["cpu"]
    if args.device == "cuda":
        return ["cuda"]
    cuda = bool(cpu_info and cpu_info.get("cuda_available"))
    return ["cpu", "cuda"] if cuda else ["cpu"]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _header(report: dict[str, Any]) -> list[str]:
    m, s = report["machine"], report["settings"]
    threads = m.get("numpy_threads")
    lines = [
        f"rnncourse bench {report['rnncourse_version']}: forward+backward, {s['dtype']}, "
        f"median of {s['repeats']} runs after {s['warmup']} warm-up, each measurement in "
        "its own process",
        f"machine: {m.get('cpu', '?')}, {m.get('cpu_count', '?')} CPUs "
        f"({m.get('cpus_usable', '?')} usable); {m.get('platform', '?')}; "
        f"Python {m.get('python', '?')}",
        f"numpy {m.get('numpy', '?')} (BLAS: {m.get('numpy_blas') or '?'}, threads: "
        f"{threads if threads is not None else 'default'})",
    ]
    if m.get("torch"):
        gpu = m.get("cuda_device") if m.get("cuda_available") else "not available"
        cudnn = f", cuDNN {m['cudnn']}" if m.get("cudnn") else ""
        lines.append(f"torch {m['torch']} (threads: {m.get('torch_threads')}, interop: "
                     f"{m.get('torch_interop_threads')}); CUDA: {gpu}{cudnn}")
    elif not any(lib in _TORCH_LIBS for lib in s["libs"]):
        lines.append("torch: not measured")
    elif importlib.util.find_spec("torch") is None:
        lines.append("torch: not installed")
    else:
        lines.append("torch: installed, but no torch worker succeeded (see the errors)")
    if "numpy" in s["libs"] and "cpu" not in s["devices"]:
        lines.append("rnncourse.numpy runs on the CPU only: not measured on "
                     + ", ".join(s["devices"]))
    if m.get("env_threads"):
        lines.append("thread variables: " + ", ".join(f"{k}={v}"
                                                      for k, v in m["env_threads"].items()))
    rates = []
    for mm in report["matmul"]:
        name = "numpy" if mm["lib"] == "numpy" else f"torch.mm {mm['device']}"
        rates.append(f"{name} " + (f"{mm['gflops']:.1f} GFLOP/s" if mm["ok"]
                                   else f"FAILED ({mm.get('error')})"))
    lines.append(f"matmul rate ({s['matmul_size']}x{s['matmul_size']} {s['dtype']}, best run): "
                 + ("; ".join(rates) if rates else "not measured"))
    lines.append("FLOPs(fwd+bwd) = 3 * T * 2B(I+H)GH, G = 1 (RNN), 4 (LSTM), 3 (GRU); "
                 "ratio = median / torch.nn's on the same device")
    return lines


def _table(results: list[dict[str, Any]]) -> list[str]:
    head = ["cell", "T,B,I,H", "device", "library", "median ms", "min ms", "vs torch.nn",
            "GFLOP/s", "% mm", "1st call s"]
    rows: list[list[str] | None] = []
    group = None
    for r in results:
        key = (r["cell"], tuple(r["shape"]), r["device"])
        if group is not None and key != group:
            rows.append(None)  # a blank line between groups
        group = key
        lib = r["label"] + (" (cuDNN)" if r["lib"] == "torch" and r["device"] == "cuda" else "")
        first = [r["cell"].upper(), ",".join(map(str, r["shape"])), r["device"], lib]
        if r["ok"]:
            pct = None if r["matmul_fraction"] is None else 100 * r["matmul_fraction"]
            rows.append(first + [
                f"{r['median_s'] * 1e3:.3f}", f"{r['min_s'] * 1e3:.3f}",
                _fmt(r["ratio"], ".2f") + ("x" if r["ratio"] is not None else ""),
                f"{r['gflops']:.2f}", _fmt(pct, ".1f"), _fmt(r.get("first_call_s"), ".2f"),
            ])
        else:
            rows.append(first + ["FAILED: " + str(r.get("error"))])
    widths = [len(h) for h in head]
    for row in rows:
        if row is None:
            continue
        cells = row if len(row) == len(head) else row[:4] + [""] * (len(head) - 4)
        widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]

    def line(row: list[str]) -> str:
        left = "  ".join(c.ljust(w) for c, w in zip(row[:4], widths[:4], strict=True))
        if len(row) != len(head):  # a failure: the message instead of the numbers
            return f"{left}  {row[4]}"
        right = "  ".join(c.rjust(w) for c, w in zip(row[4:], widths[4:], strict=True))
        return f"{left}  {right}"

    out = [line(head), "-" * len(line(head))]
    out += ["" if row is None else line(row).rstrip() for row in rows]
    return out


def _collect(jobs: list[_Job], matmul: dict[tuple[str, str], _Job],
             args: argparse.Namespace) -> list[dict[str, Any]]:
    """One JSON-ready record per measurement, with ratio, GFLOP/s and % of matmul."""
    reference = {(j.cell, j.shape, j.device): j.result["median_s"]
                 for j in jobs if j.lib == "torch" and j.ok}
    results = []
    for j in jobs:
        assert j.cell is not None and j.shape is not None
        r: dict[str, Any] = {
            "cell": j.cell, "shape": list(j.shape), "T": j.shape[0], "B": j.shape[1],
            "I": j.shape[2], "H": j.shape[3], "lib": j.lib, "label": LIBS[j.lib],
            "device": j.device, "dtype": args.dtype, "ok": j.ok,
            "gflop": flops(j.cell, j.shape) / 1e9,
        }
        if j.ok:
            med = j.result["median_s"]
            ref = reference.get((j.cell, j.shape, j.device))
            mm = matmul.get(("numpy" if j.lib == "numpy" else "torch", j.device))
            gflops = r["gflop"] / med
            r.update(
                median_s=med, min_s=j.result["min_s"], times_s=j.result["times_s"],
                first_call_s=j.result.get("first_call_s"),
                ratio=None if ref is None else med / ref, gflops=gflops,
                matmul_fraction=gflops / mm.result["gflops"] if mm and mm.ok else None,
            )
        else:
            r["error"] = j.result.get("error", "unknown error")
            if "traceback" in j.result:
                r["traceback"] = j.result["traceback"]
        results.append(r)
    return results


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed ``args``; print the table.

    Returns 0 if every measurement succeeded, 1 if some failed (they are shown
    in the table), 2 if ``--device cuda`` was asked for without a GPU.
    """
    shapes: list[Shape] = []
    for group in args.shapes:  # a list of lists (one per --shapes word), or shapes
        for shape in group if isinstance(group, list) else [group]:
            if tuple(shape) not in shapes:
                shapes.append(tuple(shape))
    libs = [lib for lib in LIBS if lib in args.libs]
    cells = [c for c in CELLS if c in args.cells]
    use_torch = any(lib in _TORCH_LIBS for lib in libs)

    # The matrix-multiply rates first; torch's worker also says whether CUDA is there.
    matmul: dict[tuple[str, str], _Job] = {}
    if "numpy" in libs and args.device != "cuda":
        matmul["numpy", "cpu"] = _Job("matmul", "numpy", "cpu")
    if use_torch:
        matmul["torch", "cuda" if args.device == "cuda" else "cpu"] = _Job(
            "matmul", "torch", "cuda" if args.device == "cuda" else "cpu")
    _run_all(list(matmul.values()), args, 1, len(matmul))
    torch_info = next((j.result.get("info") for (lib, _), j in matmul.items()
                       if lib == "torch" and j.ok), None)
    if args.device == "cuda" and not (torch_info and torch_info.get("cuda_available")):
        why = matmul["torch", "cuda"].result.get("error") if use_torch else "no torch library"
        print(f"rnncourse bench: error: --device cuda, but CUDA cannot be used ({why})",
              file=sys.stderr)
        return 2
    devices = _devices(args, torch_info)
    if "cuda" in devices and args.device == "auto" and use_torch:
        matmul["torch", "cuda"] = _Job("matmul", "torch", "cuda")
        _run_all([matmul["torch", "cuda"]], args, len(matmul), len(matmul))

    jobs = [_Job("measure", lib, device, cell, shape)
            for device in devices for cell in cells for shape in shapes for lib in libs
            if not (lib == "numpy" and device != "cpu")]
    _run_all(jobs, args, 1, len(jobs))

    machine: dict[str, Any] = {"numpy": np.__version__, "python": platform.python_version()}
    for job in [*matmul.values(), *jobs]:  # what the workers saw, torch's last
        if job.ok:
            machine.update({k: v for k, v in job.result["info"].items()
                            if v is not None or k not in machine})
    report: dict[str, Any] = {
        "rnncourse_version": __version__,
        "command": sys.argv,
        "settings": {
            "shapes": [list(s) for s in shapes], "cells": cells, "libs": libs,
            "dtype": args.dtype, "device": args.device, "devices": devices,
            "repeats": args.repeats, "warmup": args.warmup, "matmul_size": args.matmul_size,
            "timeout_s": args.timeout, "seed": args.seed, "jobs": args.jobs,
        },
        "machine": machine,
        "flops": "3 * T * 2*B*(I+H)*G*H, G = 1 (rnn), 4 (lstm), 3 (gru)",
        "matmul": [
            {"lib": lib, "device": dev, "size": args.matmul_size, "ok": j.ok,
             **({"gflops": j.result["gflops"], "gflops_median": j.result["gflops_median"],
                 "min_s": j.result["min_s"], "median_s": j.result["median_s"]} if j.ok
                else {"error": j.result.get("error")})}
            for (lib, dev), j in matmul.items()
        ],
        "results": _collect(jobs, matmul, args),
    }
    print("\n".join(_header(report)))
    print()
    print("\n".join(_table(report["results"])))
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"rnncourse bench: error: cannot write {args.json}: {exc}", file=sys.stderr)
            return 2
        _progress(args, f"wrote {args.json}")
    ok = all(j.ok for j in jobs) and all(j.ok for j in matmul.values())
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rnncourse.bench``: parse ``argv`` (default ``sys.argv[1:]``) and run."""
    parser = argparse.ArgumentParser(prog="python -m rnncourse.bench")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help and argument errors
        return exit_.code if isinstance(exit_.code, int) else 2
    return run(args)
