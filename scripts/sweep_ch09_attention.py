"""Chapter 9's comparison of encoder–decoder variants on the reversal task, over five seeds.

Run from the repository root::

    nice -n 10 python scripts/sweep_ch09_attention.py      (about five minutes on one CPU core)

Variants (all with hidden size 32, embeddings of 16, GRU cells; see ``rnncourse.models.seq2seq``):

- ``plain``: the encoder–decoder, the source reaches the decoder only through ``z_0 = h_S``;
- ``plain+context``: the same, and the decoder reads ``c = h_S`` at every step (Cho et al. 2014);
- ``additive``, ``dot``, ``general``: attention with the three scores, one-way encoder;
- ``bidirectional+<score>``: a bidirectional encoder (16 units per direction) with the
  score of the three above that has the highest mean accuracy over the training lengths on
  *validation* strings (``rng=12``, 200 per length 2..8, stored as ``val_accuracy``), not on
  the test strings that are reported.

Each is trained with seeds 0..4 on 4000 strings of 2 to 8 digits (``reversal_data(4000, 2, 8,
rng=0)``) for 8 epochs (Adam, lr 0.01, gradient norm clipped at 1, batches of 64, teacher
forcing) — a smaller budget than ``train_seq2seq.py`` uses, so that all 30 runs fit in about
ten minutes — and scored on fresh strings (``rng=11``):

- ``accuracy``: greedy sequence accuracy at each length 1..10 (200 strings per length);
- ``bleu``: corpus BLEU (``rnncourse.analysis.bleu.corpus_bleu``, digits as tokens, ``<eos>``
  left out) of the greedy outputs on 300 strings of lengths 2..8;
- ``beam``: 100 strings of lengths 6..9 decoded by beam search (width 5) with raw
  log-probability (``alpha = 0``) and with length normalisation (``alpha = 1``: log p divided
  by the number of tokens, ``<eos>`` counted): sequence accuracy, and how many outputs are
  shorter / longer than the target.

On the CPU with one thread. Writes ``book/data/ch09/attention_results.json`` and ``.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import numpy as np
import torch

from rnncourse.analysis.bleu import corpus_bleu
from rnncourse.data import reversal as D
from rnncourse.models import seq2seq as S
from rnncourse.models.train import fit

OUT = _sweep.DATA / "ch09"
SEEDS = tuple(range(5))
LENGTHS = tuple(range(1, 11))
TRAIN = dict(n=4000, min_len=2, max_len=8, epochs=8)
HIDDEN = 32
UNI = ("plain", "plain+context", "additive", "dot", "general")


def build(name: str) -> torch.nn.Module:
    """The untrained variant ``name`` (see the module docstring)."""
    common = dict(embed_size=16, hidden_size=HIDDEN)
    if name == "plain":
        return S.Seq2Seq(D.VOCAB, D.VOCAB, **common)
    if name == "plain+context":
        return S.Seq2Seq(D.VOCAB, D.VOCAB, context_every_step=True, **common)
    bidirectional = name.startswith("bidirectional+")
    score = name.split("+")[1] if bidirectional else name
    return S.AttentionSeq2Seq(D.VOCAB, D.VOCAB, score=score, bidirectional=bidirectional,
                              **common)


def train(name: str, seed: int, epochs: int = TRAIN["epochs"]) -> tuple[torch.nn.Module, list]:
    data = D.reversal_data(TRAIN["n"], TRAIN["min_len"], TRAIN["max_len"], rng=0)
    torch.manual_seed(seed)
    model = build(name)
    history = fit(model, S.sequence_loss, D.batches(data, 64), epochs=epochs, lr=0.01,
                  clip_norm=1.0, device="cpu", progress=False)
    return model.eval(), history.loss


def _strip(tokens) -> list[int]:
    """The digits of an output, up to its first ``<eos>``."""
    out = []
    for t in (tokens.tolist() if isinstance(tokens, torch.Tensor) else tokens):
        if t in (S.EOS, S.PAD):
            break
        out.append(int(t))
    return out


def evaluate(model: torch.nn.Module, per_length: int = 200, n_bleu: int = 300,
             n_beam: int = 100) -> dict:
    """Accuracy by length, BLEU and the beam-search comparison (module docstring)."""
    decode = lambda src, L: S.greedy_decode(model, src, L, max_len=src.shape[1] + 2)  # noqa: E731
    rng = np.random.default_rng(11)
    accuracy = S.accuracy_by_length(decode, list(LENGTHS), per_length, rng)
    # validation strings (another generator), for choosing the bidirectional variant's score
    inside = list(range(TRAIN["min_len"], TRAIN["max_len"] + 1))
    val_accuracy = S.accuracy_by_length(decode, inside, per_length, np.random.default_rng(12))
    data = D.reversal_data(n_bleu, 2, 8, rng)
    pred = decode(data.src, data.lengths)
    bleu = corpus_bleu([_strip(p) for p in pred], [_strip(t) for t in data.tgt_out])
    data = D.reversal_data(n_beam, 6, 9, rng)
    beam = {}
    for alpha in (0.0, 1.0):
        right = shorter = longer = 0
        for src, L, target in zip(data.src, data.lengths, data.tgt_out, strict=True):
            tokens, _ = S.beam_search(model, src[:L], beam_width=5, max_len=int(L) + 2,
                                      alpha=alpha)
            right += bool(S.sequence_accuracy(torch.tensor([tokens]), target[None]))
            shorter += len(_strip(tokens)) < int(L)
            longer += len(_strip(tokens)) > int(L)
        beam[f"alpha={alpha:g}"] = dict(accuracy=right / n_beam, shorter=shorter,
                                        longer=longer)
    return dict(accuracy=[float(a) for a in accuracy],
                val_accuracy=[float(a) for a in val_accuracy], bleu=bleu, beam=beam)


def one(name: str, seed: int) -> dict:
    model, loss = train(name, seed)
    params = sum(p.numel() for p in model.parameters())
    return dict(model=name, seed=seed, params=params, loss=loss, **evaluate(model))


def best_score(runs: list[dict]) -> str:
    """The attention score with the highest mean *validation* accuracy over the training
    lengths 2..8 (strings of their own, not the test strings that are reported)."""
    mean = {s: np.mean([r["val_accuracy"] for r in runs if r["model"] == s])
            for s in ("additive", "dot", "general")}
    return max(mean, key=mean.get)


def main() -> None:
    log = _sweep.Log(OUT / "attention_results.log")
    partial = _sweep.Partial(OUT / "attention_results.json")
    results = {"seeds": list(SEEDS), "lengths": list(LENGTHS), "hidden_size": HIDDEN,
               "train": TRAIN, "environment": _sweep.environment(), "runs": []}

    def run(name: str, seed: int) -> None:
        row = partial.cached(f"{name}/{seed}", lambda: one(name, seed))
        results["runs"].append(row)
        log(f"seed {seed} {name:22s} BLEU {row['bleu']:.3f}  accuracy 1..10: "
            + " ".join(f"{a:.2f}" for a in row["accuracy"])
            + "  beam a=0/1: " + " / ".join(f"{b['accuracy']:.2f}" for b in row["beam"].values()))

    for seed in SEEDS:
        for name in UNI:
            run(name, seed)
    results["best_score"] = best_score(results["runs"])
    log(f"best score over lengths 2..8 on the validation strings: {results['best_score']}")
    for seed in SEEDS:
        run(f"bidirectional+{results['best_score']}", seed)
    _sweep.save_json(OUT / "attention_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
