"""Chapter 8's CIFG LSTM (forget gate tied to the input gate, f = 1 - i) on the adding problem,
beside an LSTM started with a forget bias of 1.

Run from the repository root::

    python scripts/sweep_ch08_cifg.py        (about a minute on one CPU core)

The same runs as ``scripts/sweep_ch08_gru.py`` (its seeds 0..9, T in (10, 40), every default
of :func:`rnncourse.models.sequence.run_adding_experiment`: hidden size 16, 1024 training sequences,
10 epochs of batches of 32, Adam lr 0.01, gradient norm clipped at 1) for
:class:`rnncourse.torch.CIFGLSTM` with PyTorch's default initialisation, so the results pair
seed by seed with that sweep's LSTM and GRU; and, as a control, the LSTM of that sweep with
``forget_bias=1.0`` (chapter 6's advice), the other way to start a cell that keeps its
memory. Writes ``book/data/ch08/cifg_results.json`` and its log ``cifg_results.log``; an
interrupted run resumes from ``cifg_results.partial.json``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library

from rnncourse.models.sequence import run_adding_experiment

OUT = _sweep.DATA / "ch08"
LENGTHS = (10, 40)
SEEDS = tuple(range(10))
#: name in the results -> (cell, keyword arguments of the layer)
MODELS = {"cifg": ("cifg", {}), "lstm_fb1": ("lstm", {"forget_bias": 1.0})}


def run(model: str, T: int, seed: int, epochs: int | None = None) -> dict:
    """One run of ``model`` (a key of MODELS; ``epochs`` shortens it, for the tests)."""
    cell, cell_kwargs = MODELS[model]
    kwargs = {} if epochs is None else dict(epochs=epochs)
    r = run_adding_experiment(cell, T, seed=seed, device="cpu", **kwargs, **cell_kwargs)
    return dict(cell=model, T=T, seed=seed, test_mse=r["test_mse"],
                baseline_mse=r["baseline_mse"])


def main() -> None:
    log = _sweep.Log(OUT / "cifg_results.log")
    partial = _sweep.Partial(OUT / "cifg_results.json")
    results = {"settings": "run_adding_experiment defaults: hidden_size=16, n_train=1024, "
                           "n_test=512, batch_size=32, epochs=10, lr=0.01, clip_norm=1.0; "
                           "cifg: rnncourse.torch.CIFGLSTM, PyTorch's initialisation; "
                           "lstm_fb1: rnncourse.torch.LSTM with forget_bias=1.0",
               "seeds": list(SEEDS), "environment": _sweep.environment(), "runs": []}
    for T in LENGTHS:
        for model in MODELS:
            for seed in SEEDS:
                r = partial.cached(f"{model}-T{T}-seed{seed}",
                                   lambda m=model, T=T, s=seed: run(m, T, s))
                results["runs"].append(r)
                log(f"{model:8s} T={T:2d} seed {seed}: test MSE {r['test_mse']:.4f}  "
                    f"baseline {r['baseline_mse']:.4f}")
    _sweep.save_json(OUT / "cifg_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
