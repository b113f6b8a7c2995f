"""Chapter 9's two live experiments, repeated with five seeds.

Run from the repository root::

    python scripts/sweep_ch09_seq2seq.py        (a few minutes on one CPU core)

- The aligned GRU tagger reversing strings of 6 digits (2,000 training strings, 8 epochs,
  Adam lr 0.01, hidden size 64): token accuracy at each output position on 1,000 test
  strings.
- The GRU encoder–decoder (hidden size 64) trained with teacher forcing on strings of 2 to 5
  digits (3,000 examples, 6 epochs, Adam lr 0.01, gradient norm clipped at 1): sequence and
  token accuracy of greedy decoding on 1,000 test strings, and greedy against a beam of 5 on
  the first 200 of them.

Both exactly as the chapter trains them, with ``torch.manual_seed(seed)`` before building the
model, for seeds 0..4, on the CPU with one thread. Writes
``book/data/ch09/sweep_results.json`` and the log ``sweep_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import torch

from rnncourse.data import reversal as D
from rnncourse.models import seq2seq as S
from rnncourse.models.train import fit

OUT = _sweep.DATA / "ch09"
SEEDS = tuple(range(5))


def run_tagger(seed: int, epochs: int = 8) -> list[float]:
    """Token accuracy of the aligned tagger at output positions 1..6."""
    torch.manual_seed(seed)
    train6 = D.reversal_data(2000, 6, 6, rng=2)
    tagger = S.AlignedTagger(D.VOCAB, D.VOCAB, embed_size=16, hidden_size=64)
    batches = [((src,), tgt_out[:, :6]) for (src, _, _), tgt_out in D.batches(train6, 64)]
    fit(tagger, S.sequence_loss, batches, epochs=epochs, lr=0.01, device="cpu", progress=False)
    test6 = D.reversal_data(1000, 6, 6, rng=3)
    with torch.no_grad():
        pred = tagger(test6.src).argmax(-1)
    return (pred == test6.tgt_out[:, :6]).float().mean(0).tolist()


def run_seq2seq(seed: int, epochs: int = 6) -> dict:
    """Greedy sequence and token accuracy, and greedy vs beam-5 on 200 strings."""
    torch.manual_seed(seed)
    train = D.reversal_data(3000, 2, 5, rng=0)
    model = S.Seq2Seq(D.VOCAB, D.VOCAB, embed_size=16, hidden_size=64)
    history = fit(model, S.sequence_loss, D.batches(train, 64), epochs=epochs, lr=0.01,
                  clip_norm=1.0, device="cpu", progress=False)
    test = D.reversal_data(1000, 2, 5, rng=1)
    pred = S.greedy_decode(model, test.src, test.lengths, max_len=7)
    beam_right = 0
    for src, L, target in zip(test.src[:200], test.lengths[:200], test.tgt_out[:200],
                              strict=True):
        tokens, _ = S.beam_search(model, src[:L], beam_width=5, max_len=7)
        beam_right += bool(S.sequence_accuracy(torch.tensor([tokens]), target[None]))
    return dict(loss=history.loss,
                sequence_accuracy=float(S.sequence_accuracy(pred, test.tgt_out).float().mean()),
                token_accuracy=float(S.token_accuracy(pred, test.tgt_out)),
                greedy_200=float(S.sequence_accuracy(pred[:200], test.tgt_out[:200])
                                 .float().mean()),
                beam5_200=beam_right / 200)


def main() -> None:
    log = _sweep.Log(OUT / "sweep_results.log")
    partial = _sweep.Partial(OUT / "sweep_results.json")
    results = {"seeds": list(SEEDS), "environment": _sweep.environment(), "tagger": [],
               "seq2seq": []}
    for seed in SEEDS:
        acc = partial.cached(f"tagger/{seed}", lambda seed=seed: run_tagger(seed))
        results["tagger"].append(dict(seed=seed, position_accuracy=acc))
        log(f"seed {seed} aligned tagger, accuracy at positions 1..6: "
            + " ".join(f"{a:.2f}" for a in acc))
    for seed in SEEDS:
        r = partial.cached(f"seq2seq/{seed}", lambda seed=seed: run_seq2seq(seed))
        results["seq2seq"].append(dict(seed=seed, **r))
        log(f"seed {seed} seq2seq: sequence accuracy {r['sequence_accuracy']:.3f}, token "
            f"{r['token_accuracy']:.3f}; on 200: greedy {r['greedy_200']:.3f}, "
            f"beam of 5 {r['beam5_200']:.3f}")
    _sweep.save_json(OUT / "sweep_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
