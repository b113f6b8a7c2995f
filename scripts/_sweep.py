"""What every training script in scripts/ shares: one CPU thread, and a log kept beside the results.

Import this module **before** NumPy and torch (``import _sweep`` as the first import of a
script): it pins every thread pool to one thread, so that a rerun on the same machine repeats
the shipped numbers bit for bit. (Other CPUs may still differ in the last bits; the book only
prints what these scripts wrote, and the tests re-run a short part of each script with a
tolerance.)
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import torch  # noqa: E402  (after the thread settings above)

torch.set_num_threads(1)

DATA = Path(__file__).resolve().parents[1] / "book" / "data"


class Log:
    """Print lines and keep them; :meth:`save` writes them next to the results."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(self.lines) + "\n")


def environment() -> dict[str, Any]:
    """Where a sweep ran: recorded with its results (the numbers depend on it)."""
    import numpy

    return dict(python=platform.python_version(), numpy=numpy.__version__,
                torch=torch.__version__, machine=platform.machine(),
                threads=torch.get_num_threads(), command=" ".join(sys.argv))


def rate_grid(partial: Partial, log: Log, models: Any, rates: Any, seeds: Any, run: Any,
              describe: Any) -> list[dict]:
    """Every run of a learning-rate grid: ``run(name, seed, lr)`` for each model, rate and seed
    (in that order), resumed from ``partial`` where it was interrupted; ``describe(r)`` is
    logged after each run's name, rate and seed."""
    runs = []
    for name in models:
        for lr in rates:
            for seed in seeds:
                r = partial.cached(f"{name}|{lr}|{seed}",
                                   lambda n=name, s=seed, rate=lr: run(n, s, rate))
                runs.append(r)
                log(f"{name} lr {lr:<6g} seed {seed}: {describe(r)}")
    return runs


def chosen_rates(runs: list[dict], models: Any, rates: Any) -> dict[str, float]:
    """Per model, the learning rate with the lowest mean validation error over the seeds:
    ``runs`` are dicts with ``model``, ``lr`` and ``val_mse`` (the test error plays no part)."""
    def mean_val(name: str, lr: float) -> float:
        values = [r["val_mse"] for r in runs if r["model"] == name and r["lr"] == lr]
        return sum(values) / len(values)
    return {name: min(rates, key=lambda lr, n=name: mean_val(n, lr)) for name in models}


def save_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1) + "\n")


class Partial:
    """Runs finished so far, kept in ``<name>.partial.json`` so that an interrupted sweep
    resumes where it stopped; :meth:`done` removes the file once the results are saved.

    Several processes may share one file (each running different runs): :meth:`put` locks
    it, reads what the others stored meanwhile, and writes the union."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_suffix(".partial.json")
        self.runs: dict[str, Any] = (json.loads(self.path.read_text())
                                     if self.path.exists() else {})

    def get(self, key: str) -> Any:
        return self.runs.get(key)

    def put(self, key: str, value: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.path.exists():
                self.runs = {**json.loads(self.path.read_text()), **self.runs}
            self.runs[key] = value
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.runs, indent=1) + "\n")
            tmp.replace(self.path)

    def cached(self, key: str, make: Any) -> Any:
        """The stored value of ``key``, or ``make()`` (then stored) if there is none yet."""
        if key not in self.runs:
            self.put(key, make())
        return self.runs[key]

    def start_from(self, shipped: Path, settings: dict[str, Any], entries: Any) -> None:
        """Begin an empty resume file with the runs of finished results: if ``shipped``
        exists and holds ``settings`` (key by key), store every ``(key, value)`` of
        ``entries(results)``. A rerun then trains only what is new (a model or an arm
        added since), and reassembles the rest."""
        if self.runs or not shipped.exists():
            return
        old = json.loads(shipped.read_text())
        if all(old.get(k) == v for k, v in settings.items()):
            for key, value in entries(old):
                self.put(key, value)

    def done(self) -> None:
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(".lock").unlink(missing_ok=True)
