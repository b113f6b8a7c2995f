"""Chapter 4's toy next-character model trained by SGD, Adagrad and Adam from ten initialisations.

Run from the repository root::

    python scripts/sweep_ch04_optimisers.py        (about a minute on one CPU core)

The string is the chapter's ("the cat sat on the mat. the rat sat on the cat."), the model
the chapter's 24-unit tanh RNN with a softmax read-out (float64 NumPy, full BPTT over the 46
steps, one update per pass); for each seed 0..9 of :func:`init_rnn_classifier`, 300 updates
of SGD (lr 0.5), Adagrad (lr 0.1) and Adam (lr 0.01). Records the loss before the first
update, after the last, and the largest rise of the loss from one update to the next (a
spike). One thread. Writes ``book/data/ch04/optimiser_results.json`` and the log
``optimiser_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import numpy as np

from rnncourse.data.text import char_dataset
from rnncourse.models.classifier import init_rnn_classifier, rnn_classifier_loss
from rnncourse.numpy import SGD, Adagrad, Adam, clip_grad_norm

OUT = _sweep.DATA / "ch04"
TEXT = "the cat sat on the mat. the rat sat on the cat."
HIDDEN = 24
STEPS = 300
OPTIMISERS = {"SGD": (SGD, 0.5), "Adagrad": (Adagrad, 0.1), "Adam": (Adam, 0.01)}
SEEDS = tuple(range(10))


def train(name: str, seed: int, steps: int = STEPS, max_norm: float | None = None
          ) -> tuple[list[float], list[float]]:
    """The loss and the global gradient norm before each of ``steps`` updates of optimiser
    ``name``; with ``max_norm``, the gradients are clipped to that global norm first (the
    recorded norm is the one before clipping)."""
    vocab, xs, ys = char_dataset(TEXT)
    optimiser_class, lr = OPTIMISERS[name]
    optimiser = optimiser_class(lr=lr)
    params = init_rnn_classifier(len(vocab), HIDDEN, len(vocab), seed=seed)
    losses, norms = [], []
    for _ in range(steps):
        loss, grads, _ = rnn_classifier_loss(params, xs, ys, np.zeros((1, HIDDEN)))
        grads = {k: grads[k] for k in params}
        # unclipped, only the norm that clip_grad_norm returns is used (any threshold will do)
        clipped, norm = clip_grad_norm(grads, 1.0 if max_norm is None else max_norm)
        optimiser.step(params, grads if max_norm is None else clipped)
        losses.append(float(loss))
        norms.append(norm)
    return losses, norms


def run(name: str, seed: int, steps: int = STEPS) -> list[float]:
    """The loss before each of ``steps`` updates of optimiser ``name``."""
    return train(name, seed, steps)[0]


def largest_rise(losses: list[float]) -> float:
    """The largest rise of the loss from one update to the next (a spike)."""
    return max(b - a for a, b in zip(losses[:-1], losses[1:], strict=True))


def main() -> None:
    log = _sweep.Log(OUT / "optimiser_results.log")
    results = {"text": TEXT, "hidden": HIDDEN, "steps": STEPS,
               "learning_rates": {k: v[1] for k, v in OPTIMISERS.items()},
               "seeds": list(SEEDS), "environment": _sweep.environment(), "runs": []}
    for seed in SEEDS:
        for name in OPTIMISERS:
            losses = run(name, seed)
            spike = largest_rise(losses)
            results["runs"].append(dict(optimiser=name, seed=seed, start=losses[0],
                                        final=losses[-1], largest_rise=spike))
            log(f"seed {seed} {name:8s} loss {losses[0]:.3f} -> {losses[-1]:.4f}, "
                f"largest rise in one update {spike:.3f}")
    _sweep.save_json(OUT / "optimiser_results.json", results)
    log.save()


if __name__ == "__main__":
    main()
