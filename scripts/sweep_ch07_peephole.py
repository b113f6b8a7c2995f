"""Chapter 7's timing task: an LSTM and a peephole LSTM trained with the same 20 seeds.

Run from the repository root::

    python scripts/sweep_ch07_peephole.py        (about two minutes on one CPU core)

Task: fire k = 10 steps after a single input spike, sequences of T = 30 steps
(:func:`rnncourse.data.pulse.make_pulse_data`, 256 training sequences, 500 test
sequences). For each seed 0..19 both cells (H = 4, forget bias 1) are trained by
:func:`rnncourse.models.pulse.train_pulse` (Adam, lr 0.02, gradient norm clipped at 1,
30 epochs of 8 mini-batches of 32) on the CPU with one thread: the seed sets the initial
weights and the batch order, and both cells see the same data and the same order. Writes to
``book/data/ch07/``:

- ``pulse_results.json``: the settings and every score of :func:`evaluate` per run;
- ``pulse_models.pt``: the 40 trained state_dicts (H = 4: a few hundred numbers each);
- ``pulse_results.log``: what this script printed.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import torch

from rnncourse.data import pulse as D
from rnncourse.models import pulse as P

OUT = _sweep.DATA / "ch07"
TASK = dict(T=30, k=10, n_train=256, n_test=500, train_seed=0, test_seed=1)
SETTINGS = dict(hidden_size=4, epochs=30, batch_size=32, lr=0.02)
SEEDS = tuple(range(20))
CELLS = ("lstm", "peephole")


def data() -> tuple[D.PulseData, D.PulseData]:
    """The training and test sets of the chapter."""
    train = D.make_pulse_data(TASK["n_train"], TASK["T"], TASK["k"], rng=TASK["train_seed"])
    test = D.make_pulse_data(TASK["n_test"], TASK["T"], TASK["k"], rng=TASK["test_seed"])
    return train, test


def run(cell: str, seed: int, epochs: int | None = None) -> tuple[P.PulseNet, dict, list]:
    """Train one model (``epochs`` shortens it, for the tests); its scores and loss curve."""
    train, test = data()
    settings = dict(SETTINGS) if epochs is None else dict(SETTINGS, epochs=epochs)
    model, history = P.train_pulse(cell, seed, train, device="cpu", **settings)
    return model, P.evaluate(model, test), history.loss


def main() -> None:
    log = _sweep.Log(OUT / "pulse_results.log")
    results = {"task": TASK, "settings": SETTINGS, "seeds": list(SEEDS),
               "environment": _sweep.environment(), "runs": []}
    models = {}
    for seed in SEEDS:
        for cell in CELLS:
            model, scores, loss = run(cell, seed)
            models[f"{cell}/{seed}"] = model.state_dict()
            results["runs"].append(dict(cell=cell, seed=seed, **scores, train_loss=loss))
            log(f"seed {seed:2d} {cell:8s} target share {scores['target_share']:.3f}  "
                f"within 1 step {scores['within_one']:.2f}  on time {scores['on_time']:.2f}  "
                f"mean lag {scores['mean_lag']:+.2f}  test loss {scores['loss']:.3f}")
    torch.save(models, OUT / "pulse_models.pt")
    _sweep.save_json(OUT / "pulse_results.json", results)
    log.save()


if __name__ == "__main__":
    main()
