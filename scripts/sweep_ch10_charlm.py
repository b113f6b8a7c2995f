"""Chapter 10's character-level language model trained with five seeds.

Run from the repository root::

    python scripts/sweep_ch10_charlm.py        (about fifteen minutes on one CPU core)

Each seed 0..4 trains the chapter's model exactly as ``scripts/train_charlm.py`` does (seed 0
*is* the shipped run) and records the validation perplexity of its best epoch, beside the
unigram and uniform baselines, which do not depend on a seed. Writes
``book/data/ch10/charlm_seeds.json`` and the log ``charlm_seeds.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import train_charlm

from rnncourse.figures.applications import CharVocab, stdlib_corpus, unigram_perplexity

OUT = _sweep.DATA / "ch10"
SEEDS = tuple(range(5))


def main() -> None:
    log = _sweep.Log(OUT / "charlm_seeds.log")
    partial = _sweep.Partial(OUT / "charlm_seeds.json")
    text = stdlib_corpus()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    split = int(0.9 * len(ids))
    results = {"seeds": list(SEEDS), "environment": _sweep.environment(),
               "uniform": float(len(vocab)),
               "unigram": unigram_perplexity(ids[:split], ids[split:], len(vocab)), "runs": []}
    def one(seed: int) -> dict:
        _, history = train_charlm.train(seed)
        return dict(seed=seed, best_epoch=history["best_epoch"],
                    val_ppl=min(history["val_ppl"]), corpus_chars=history["corpus_chars"])

    for seed in SEEDS:
        row = partial.cached(str(seed), lambda seed=seed: one(seed))
        results["runs"].append(row)
        log(f"seed {seed}: best validation perplexity {row['val_ppl']:.2f} "
            f"(epoch {row['best_epoch']}); unigram {results['unigram']:.2f}")
    _sweep.save_json(OUT / "charlm_seeds.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
