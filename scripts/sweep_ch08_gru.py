"""Chapter 8's adding-problem comparison of the RNN, the LSTM and the GRU over ten seeds.

Run from the repository root::

    python scripts/sweep_ch08_gru.py        (about five minutes on one CPU core)

For T in (10, 40), each cell and each seed 0..9,
:func:`rnncourse.models.sequence.run_adding_experiment` with its defaults (hidden size 16,
1024 training sequences, 10 epochs of batches of 32, Adam
lr 0.01, gradient norm clipped at 1; the LSTM with PyTorch's default biases, no forget bias
of 1), on the CPU with one thread. Writes ``book/data/ch08/adding_results.json`` (test and
baseline MSE of every run) and the log ``adding_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library

from rnncourse.models.sequence import run_adding_experiment

OUT = _sweep.DATA / "ch08"
LENGTHS = (10, 40)
CELLS = ("rnn", "lstm", "gru")
SEEDS = tuple(range(10))


def run(cell: str, T: int, seed: int, epochs: int | None = None) -> dict:
    """One run of the sweep (``epochs`` shortens it, for the tests)."""
    kwargs = {} if epochs is None else dict(epochs=epochs)
    return run_adding_experiment(cell, T, seed=seed, device="cpu", **kwargs)


def main() -> None:
    log = _sweep.Log(OUT / "adding_results.log")
    results = {"settings": "run_adding_experiment defaults: hidden_size=16, n_train=1024, "
                           "n_test=512, batch_size=32, epochs=10, lr=0.01, clip_norm=1.0",
               "seeds": list(SEEDS), "environment": _sweep.environment(), "runs": []}
    for T in LENGTHS:
        for cell in CELLS:
            for seed in SEEDS:
                r = run(cell, T, seed)
                results["runs"].append(dict(cell=cell, T=T, seed=seed, test_mse=r["test_mse"],
                                            baseline_mse=r["baseline_mse"]))
                log(f"{cell:4s} T={T:2d} seed {seed}: test MSE {r['test_mse']:.4f}  "
                    f"baseline {r['baseline_mse']:.4f}")
    _sweep.save_json(OUT / "adding_results.json", results)
    log.save()


if __name__ == "__main__":
    main()
