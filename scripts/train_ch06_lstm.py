"""Train chapter 6's adding-problem models over ten seeds; save under book/data/ch06_lstm/.

Run from the repository root::

    python scripts/train_ch06_lstm.py          (about 15 minutes on one CPU core)

For each sequence length T in (10, 30, 60), each cell (a plain tanh RNN, an LSTM with forget
bias 1) and each seed 0..9, :func:`rnncourse.models.sequence.run_adding_experiment` trains a 12-unit
model for 40 epochs of 512 sequences (Adam, lr 0.01, gradient clipping at norm 1) with
:func:`rnncourse.models.train.fit`, on the CPU with one thread. It writes

- ``adding_results.json``: the settings, and per run the seed, the per-epoch training loss,
  the test MSE and the baseline MSE;
- ``adding_<cell>_T<T>.pt``: the weights of the seed-0 models (a few kB each), which the
  chapter loads for its gradient-flow figure and its table;
- ``adding_results.log``: what this script printed.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import torch

from rnncourse.models.sequence import run_adding_experiment

OUT = _sweep.DATA / "ch06_lstm"
SETTINGS = dict(hidden_size=12, n_train=512, n_test=512, batch_size=32, epochs=40, lr=1e-2,
                clip_norm=1.0)
LENGTHS = (10, 30, 60)
CELLS = {"rnn": {}, "lstm": {"forget_bias": 1.0}}
SEEDS = tuple(range(10))


def run(cell: str, T: int, seed: int, epochs: int | None = None) -> dict:
    """One run of the sweep (``epochs`` shortens it, for the tests)."""
    settings = dict(SETTINGS, seed=seed)
    if epochs is not None:
        settings["epochs"] = epochs
    return run_adding_experiment(cell, T, device="cpu", **settings, **CELLS[cell])


def main() -> None:
    log = _sweep.Log(OUT / "adding_results.log")
    partial = _sweep.Partial(OUT / "adding_results.json")
    results = {"settings": SETTINGS, "cells": CELLS, "seeds": list(SEEDS),
               "environment": _sweep.environment(), "runs": []}
    for T in LENGTHS:
        for cell in CELLS:
            for seed in SEEDS:
                key = f"{cell}/{T}/{seed}"
                row = partial.get(key)
                if row is None or (seed == 0 and not (OUT / f"adding_{cell}_T{T}.pt").exists()):
                    r = run(cell, T, seed)
                    if seed == 0:
                        torch.save(r["model"].state_dict(), OUT / f"adding_{cell}_T{T}.pt")
                    row = dict(cell=cell, T=T, seed=seed, test_mse=r["test_mse"],
                               baseline_mse=r["baseline_mse"], loss=r["history"].loss)
                    partial.put(key, row)
                results["runs"].append(row)
                log(f"{cell:5s} T={T:3d} seed {seed}: test MSE {row['test_mse']:.4f} "
                    f"baseline {row['baseline_mse']:.4f}")
    _sweep.save_json(OUT / "adding_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
