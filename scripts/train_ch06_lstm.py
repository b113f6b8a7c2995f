"""Train the models of chapter 6's adding-problem table; save them under book/data/ch06_lstm/.

Run from the repository root::

    python scripts/train_ch06_lstm.py

For each sequence length T in (10, 30, 60) and each cell (a plain tanh RNN, an LSTM with
forget bias 1), :func:`rnncourse.tasks.run_adding_experiment` trains a 12-unit model for
40 epochs of 512 sequences (Adam, lr 0.01, gradient clipping at norm 1, seed 0) with
:func:`rnncourse.train.fit`. It writes ``adding_<cell>_T<T>.pt`` (the state_dict, a few kB)
and ``adding_results.json`` (the settings, the per-epoch training loss and the test MSE).
About a minute on one CPU core.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from rnncourse.tasks import run_adding_experiment

OUT = Path(__file__).resolve().parents[1] / "book" / "data" / "ch06_lstm"
SETTINGS = dict(hidden_size=12, n_train=512, n_test=512, batch_size=32, epochs=40, lr=1e-2,
                clip_norm=1.0, seed=0)
LENGTHS = (10, 30, 60)
CELLS = {"rnn": {}, "lstm": {"forget_bias": 1.0}}


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"settings": SETTINGS, "cells": CELLS, "runs": []}
    for T in LENGTHS:
        for cell, kwargs in CELLS.items():
            # On the CPU, so that a rerun reproduces the shipped weights exactly.
            r = run_adding_experiment(cell, T, device="cpu", **SETTINGS, **kwargs)
            torch.save(r["model"].state_dict(), OUT / f"adding_{cell}_T{T}.pt")
            results["runs"].append(dict(cell=cell, T=T, test_mse=r["test_mse"],
                                        baseline_mse=r["baseline_mse"],
                                        loss=r["history"].loss))
            print(f"{cell:5s} T={T:3d} test MSE {r['test_mse']:.4f} "
                  f"baseline {r['baseline_mse']:.4f}", flush=True)
    (OUT / "adding_results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
