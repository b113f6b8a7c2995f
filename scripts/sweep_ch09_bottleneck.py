"""Chapter 9's bottleneck experiment — plain encoder–decoder against attention — with five seeds.

Run from the repository root::

    python scripts/sweep_ch09_bottleneck.py        (about ten minutes on one CPU core)

For seeds 0..4 (seed 0 is the shipped pair of models), ``scripts/train_seq2seq.py`` trains
the plain GRU encoder–decoder (hidden size 64) and the attention model (hidden size 32) on
strings of 2 to 8 digits; each is scored by greedy decoding on 300 fresh strings of every
length 1..12 (``accuracy_by_length(..., rng=11)``, as in the chapter). On the CPU with one
thread. Writes ``book/data/ch09/bottleneck_results.json`` and ``bottleneck_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import train_seq2seq

from rnncourse.models import seq2seq as S

OUT = _sweep.DATA / "ch09"
SEEDS = tuple(range(5))
LENGTHS = tuple(range(1, 13))


def accuracy(model) -> list[float]:
    """Sequence accuracy of greedy decoding at each length of ``LENGTHS``."""
    model.eval()
    decode = lambda src, L: S.greedy_decode(model, src, L, max_len=src.shape[1] + 2)  # noqa: E731
    return [float(a) for a in S.accuracy_by_length(decode, list(LENGTHS), 300, rng=11)]


def one(name: str, seed: int) -> dict:
    """Train model ``name`` with ``seed``; its accuracy by length and training loss."""
    model, loss = train_seq2seq.train(name, seed)
    return dict(model=name, seed=seed, accuracy=accuracy(model), loss=loss)


def main() -> None:
    log = _sweep.Log(OUT / "bottleneck_results.log")
    partial = _sweep.Partial(OUT / "bottleneck_results.json")
    results = {"seeds": list(SEEDS), "lengths": list(LENGTHS), "train_lengths": [2, 8],
               "environment": _sweep.environment(), "runs": []}
    for seed in SEEDS:
        for name in train_seq2seq.CONFIG:
            row = partial.cached(f"{name}/{seed}", lambda name=name, seed=seed: one(name, seed))
            results["runs"].append(row)
            log(f"seed {seed} {name:9s} accuracy by length 1..12: "
                + " ".join(f"{a:.2f}" for a in row["accuracy"]))
    _sweep.save_json(OUT / "bottleneck_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
