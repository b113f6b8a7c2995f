"""Chapter 10's language model: five seeds, the n-gram baselines, samples, and a look inside.

Run from the repository root::

    python scripts/sweep_ch10_charlm.py        (about ten minutes on one CPU core)

On the frozen corpus of the book's prose (``book/data/ch10/corpus.txt``; training,
validation and test parts as recorded in ``corpus.json``):

1. Kneser–Ney n-gram models (:class:`rnncourse.models.ngram.KneserNey`) of orders 1 to
   :data:`MAX_ORDER`, fit on the training part; bits per character on the validation and
   the test parts. The *validation* part chooses the order; the test part only reports.
2. The LSTM of ``scripts/train_charlm.py`` with seeds 0..4; the validation part chooses
   each run's epoch (early stopping); bits per character on both parts. Seed 0's weights
   and history are the shipped ``charlm.pt`` and ``charlm_history.json``.
3. For every seed, :func:`rnncourse.analysis.units.unit_search` on the validation
   text: for each checkable feature (inside backticks, inside ``$...$``, inside brackets,
   position in the line), the unit of ``h`` or ``c`` best correlated with it, and the
   runner-up; and the correlation of that same unit on the test text.
4. Samples of seed 0's model at several temperatures, and of the chosen n-gram model.

Writes ``book/data/ch10/charlm_results.json`` and the log ``charlm_results.log``; resumable
(``charlm_results.partial.json``).
"""

from __future__ import annotations

import json

import _sweep  # first: one thread for every library
import numpy as np
import torch
import train_charlm

from rnncourse.analysis.units import text_features, unit_correlations, unit_search
from rnncourse.data.corpus import book_corpus
from rnncourse.models.charlm import bits_per_char, lstm_states, sample
from rnncourse.models.ngram import KneserNey

OUT = _sweep.DATA / "ch10"
SEEDS = tuple(range(5))
MAX_ORDER = 16
TEMPERATURES = (0.3, 0.7, 1.0, 1.5)
PROMPT = "The hidden state"
SAMPLE_CHARS = 300


def ngram_baselines(max_order: int = MAX_ORDER) -> dict:
    """Validation and test bits per character of each order; the order validation chose."""
    corpus = book_corpus()
    rows = []
    for n in range(1, max_order + 1):
        model = KneserNey(n, corpus.vocab.chars).fit(corpus.train)
        rows.append(dict(order=n, discounts=model.discounts,
                         val_bpc=model.bits_per_char(corpus.validation),
                         test_bpc=model.bits_per_char(corpus.test)))
    best = min(rows, key=lambda r: r["val_bpc"])
    return dict(orders=rows, chosen_order=best["order"])


def run(seed: int, epochs: int = train_charlm.EPOCHS, save: bool = False) -> dict:
    """Train one seed; its bits per character and its unit search."""
    corpus = book_corpus()
    vocab = corpus.vocab
    model, history = train_charlm.train(seed, epochs)
    if save:
        torch.save(model.state_dict(), OUT / "charlm.pt")
        (OUT / "charlm_history.json").write_text(json.dumps(history, indent=1) + "\n")
    found = unit_search(model, vocab, corpus.validation)
    h_test, c_test = lstm_states(model, vocab.encode(corpus.test))
    test_features = text_features(corpus.test)
    for name, (best, _) in found.items():
        states = h_test if best["state"] == "h" else c_test
        best["r_test"] = float(unit_correlations(states[:, best["unit"], None],
                                                 test_features[name])[0])
    return dict(seed=seed, best_epoch=history["best_epoch"],
                val_bpc=bits_per_char(model, vocab.encode(corpus.validation)),
                test_bpc=bits_per_char(model, vocab.encode(corpus.test)),
                train_bpc_last=history["train_bpc"][-1], units=found)


def samples(chosen_order: int) -> dict:
    """Seed 0's model (the shipped weights) at each temperature, and the n-gram model."""
    corpus = book_corpus()
    vocab = corpus.vocab
    from rnncourse.models.charlm import CharLM

    model = CharLM(len(vocab))
    model.load_state_dict(torch.load(OUT / "charlm.pt", weights_only=True))
    lstm = {str(t): sample(model.eval(), vocab, PROMPT, SAMPLE_CHARS, temperature=t, seed=0)
            for t in TEMPERATURES}
    ngram = KneserNey(chosen_order, vocab.chars).fit(corpus.train)
    return dict(prompt=PROMPT, seed=0, lstm=lstm,
                ngram={str(t): ngram.sample(SAMPLE_CHARS, PROMPT, temperature=t, seed=0)
                       for t in (0.7, 1.0)})


def main() -> None:
    log = _sweep.Log(OUT / "charlm_results.log")
    partial = _sweep.Partial(OUT / "charlm_results.json")
    corpus = book_corpus()
    results = {"seeds": list(SEEDS), "environment": _sweep.environment(),
               "corpus": {k: corpus.info[k] for k in ("sha256", "chars", "split_chars")},
               "vocab_size": len(corpus.vocab), "settings": dict(
                   epochs=train_charlm.EPOCHS, seq_len=train_charlm.SEQ_LEN,
                   batch_size=train_charlm.BATCH, lr=train_charlm.LR, hidden_size=128,
                   embed_size=32)}
    results["ngram"] = partial.cached("ngram", ngram_baselines)
    for row in results["ngram"]["orders"]:
        log(f"Kneser-Ney order {row['order']:2d}: validation {row['val_bpc']:.4f}, "
            f"test {row['test_bpc']:.4f} bits per character")
    log(f"validation chooses order {results['ngram']['chosen_order']}")
    results["runs"] = []
    for seed in SEEDS:
        row = partial.cached(str(seed), lambda seed=seed: run(seed, save=seed == 0))
        results["runs"].append(row)
        log(f"seed {seed}: validation {row['val_bpc']:.4f}, test {row['test_bpc']:.4f} bits "
            f"per character (epoch {row['best_epoch']})")
        for name, (best, second) in row["units"].items():
            log(f"    {name:22s} {best['state']}[{best['unit']:3d}] r = {best['r']:+.3f} "
                f"(test {best['r_test']:+.3f});  runner-up {second['state']}"
                f"[{second['unit']:3d}] r = {second['r']:+.3f}")
    results["samples"] = partial.cached("samples",
                                        lambda: samples(results["ngram"]["chosen_order"]))
    val = [r["val_bpc"] for r in results["runs"]]
    log(f"LSTM validation: {np.mean(val):.4f} ± {np.std(val, ddof=1):.4f} "
        f"({min(val):.4f}-{max(val):.4f})")
    _sweep.save_json(OUT / "charlm_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
