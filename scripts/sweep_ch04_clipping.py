"""Chapter 4's SGD run again, with and without clipping the gradient norm, from ten initialisations.

Run from the repository root::

    python scripts/sweep_ch04_clipping.py        (under a minute on one CPU core)

The model, string and initialisations are those of ``sweep_ch04_optimisers.py`` (the
chapter's 24-unit tanh RNN with a softmax read-out, float64 NumPy, full BPTT over the 46 steps,
seeds 0..9 of :func:`init_rnn_classifier`): 300 updates of SGD with lr 0.5, once as there
(no clipping: the same runs as that sweep's SGD rows) and once with the global gradient norm
clipped at 1 by :func:`rnncourse.numpy.clip_grad_norm` before each update. Records the loss
before the first update and after the last, the largest rise of the loss from one update to
the next (a spike), the largest gradient norm met and the share of updates whose gradient norm
exceeded 1 (those that clipping shortened). One thread. Writes
``book/data/ch04/clipping_results.json`` and the log ``clipping_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import sweep_ch04_optimisers as O

OUT = _sweep.DATA / "ch04"
MAX_NORM = 1.0
SEEDS = O.SEEDS


def run(seed: int, max_norm: float | None, steps: int = O.STEPS
        ) -> tuple[list[float], list[float]]:
    """Loss and gradient norm (before clipping) at each of ``steps`` SGD updates of the
    optimiser sweep; ``max_norm=None``: plain SGD, otherwise clipped to that global norm."""
    return O.train("SGD", seed, steps, max_norm)


def summary(losses: list[float], norms: list[float]) -> dict:
    return dict(start=losses[0], final=losses[-1], largest_rise=O.largest_rise(losses),
                largest_grad_norm=max(norms),
                share_above_max_norm=sum(n > MAX_NORM for n in norms) / len(norms))


def main() -> None:
    log = _sweep.Log(OUT / "clipping_results.log")
    results = {"text": O.TEXT, "hidden": O.HIDDEN, "steps": O.STEPS,
               "lr": O.OPTIMISERS["SGD"][1], "max_norm": MAX_NORM, "seeds": list(SEEDS),
               "environment": _sweep.environment(), "runs": []}
    for seed in SEEDS:
        for clip in (False, True):
            s = summary(*run(seed, MAX_NORM if clip else None))
            results["runs"].append(dict(clipped=clip, seed=seed, **s))
            name = f"clipped at {MAX_NORM:g}" if clip else "plain"
            log(f"seed {seed} SGD {name:13s} loss {s['start']:.3f} -> {s['final']:.4f}, "
                f"largest rise in one update {s['largest_rise']:.3f}, largest gradient norm "
                f"{s['largest_grad_norm']:.3g}, norm > {MAX_NORM:g} in "
                f"{s['share_above_max_norm']:.0%} of updates")
    _sweep.save_json(OUT / "clipping_results.json", results)
    log.save()


if __name__ == "__main__":
    main()
