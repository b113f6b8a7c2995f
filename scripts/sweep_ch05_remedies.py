"""Chapter 5's remedies trained: the adding problem at three lengths, five models, ten seeds.

Run from the repository root::

    python scripts/sweep_ch05_remedies.py        (about seven minutes of one CPU core)

For T in (15, 30, 60), each configuration below and each seed 0..9,
:func:`rnncourse.models.sequence.run_adding_experiment` trains a 16-unit model for 40 epochs of 1024
sequences (batches of 32, Adam with lr 0.01, so 1280 updates) and tests it on 512 fresh ones:

- ``tanh``: the plain tanh RNN, PyTorch's default initialisation, **no** clipping;
- ``tanh + clipping``: the same, with the gradient norm clipped at 1;
- ``IRNN``: ReLU, ``W_hh = I``, zero biases (Le et al., 2015), clipped at 1;
- ``tanh, orthogonal``: tanh with an orthogonal ``W_hh`` (and Glorot ``W_ih``, zero biases),
  clipped at 1;
- ``LSTM``: forget-gate bias 1, otherwise PyTorch's initialisation, clipped at 1.

A run counts as **solved** when its test MSE is below a tenth of the baseline's (the baseline
predicts the mean training target), the definition of chapters 6 and 8. Each run also records
its training loss per epoch and how often the gradient norm (before any clipping) exceeded 1,
that is how often clipping at 1 acted or would have acted. One thread; finished runs are kept
in ``remedies_results.partial.json``, so an interrupted sweep resumes. Writes
``book/data/ch05/remedies_results.json`` and the log ``remedies_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library

from rnncourse.models.sequence import run_adding_experiment

OUT = _sweep.DATA / "ch05"
SETTINGS = dict(hidden_size=16, n_train=1024, n_test=512, batch_size=32, epochs=40, lr=1e-2)
CLIP = 1.0
LENGTHS = (15, 30, 60)
SEEDS = tuple(range(10))
#: name -> (cell, keyword arguments of run_adding_experiment)
CONFIGS: dict[str, tuple[str, dict]] = {
    "tanh": ("rnn", dict(clip_norm=None)),
    "tanh + clipping": ("rnn", dict(clip_norm=CLIP)),
    "IRNN": ("rnn", dict(clip_norm=CLIP, nonlinearity="relu", init="identity")),
    "tanh, orthogonal": ("rnn", dict(clip_norm=CLIP, init="orthogonal")),
    "LSTM": ("lstm", dict(clip_norm=CLIP, forget_bias=1.0)),
}


def solved(test_mse: float, baseline_mse: float) -> bool:
    """The book's definition: test MSE below a tenth of the baseline's."""
    return test_mse < baseline_mse / 10


def run(config: str, T: int, seed: int, epochs: int | None = None) -> dict:
    """One run of the sweep, as stored (``epochs`` shortens it, for the tests)."""
    cell, kwargs = CONFIGS[config]
    settings = dict(SETTINGS, seed=seed)
    if epochs is not None:
        settings["epochs"] = epochs
    r = run_adding_experiment(cell, T, device="cpu", **settings, **kwargs)
    norms = r["history"].step_grad_norm
    return dict(config=config, T=T, seed=seed, test_mse=r["test_mse"],
                baseline_mse=r["baseline_mse"], solved=solved(r["test_mse"], r["baseline_mse"]),
                loss=r["history"].loss, largest_grad_norm=max(norms),
                share_above_clip=sum(n > CLIP for n in norms) / len(norms))


def main() -> None:
    log = _sweep.Log(OUT / "remedies_results.log")
    partial = _sweep.Partial(OUT / "remedies_results.json")
    results = {"settings": dict(SETTINGS, clip_norm=CLIP, solved="test_mse < baseline_mse / 10"),
               "configs": {k: dict(cell=c, **kw) for k, (c, kw) in CONFIGS.items()},
               "lengths": list(LENGTHS), "seeds": list(SEEDS),
               "environment": _sweep.environment(), "runs": []}
    for T in LENGTHS:
        for config in CONFIGS:
            for seed in SEEDS:
                r = partial.cached(f"{config}|{T}|{seed}",
                                   lambda c=config, t=T, s=seed: run(c, t, s))
                results["runs"].append(r)
                log(f"{config:17s} T={T:2d} seed {seed}: test MSE {r['test_mse']:.4f} "
                    f"(baseline {r['baseline_mse']:.4f}) {'solved' if r['solved'] else '      '} "
                    f"grad norm > {CLIP:g} in {r['share_above_clip']:.1%} of updates, "
                    f"largest {r['largest_grad_norm']:.3g}")
            runs = [r for r in results["runs"] if r["config"] == config and r["T"] == T]
            log(f"{config:17s} T={T:2d}: solved {sum(r['solved'] for r in runs)} of {len(runs)}")
    _sweep.save_json(OUT / "remedies_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
