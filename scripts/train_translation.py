"""Train chapter 9's English → German models over five seeds and score the decoding methods.

Run from the repository root, after ``scripts/make_translation_data.py``::

    nice -n 10 python scripts/train_translation.py      (about two minutes of one core a seed)

The data are ``book/data/ch09_translation/`` (1600 training pairs, BPE tokenizers trained on
them). The model is the course's attention encoder–decoder
(``rnncourse.models.seq2seq.AttentionSeq2Seq``: embeddings of 32, a bidirectional GRU
encoder of 2 x 32 units, a GRU decoder of 64 units, additive attention), trained with seeds
0..4 for :data:`EPOCHS` epochs (Adam, lr 0.01, gradient norm clipped at 1, batches of 64
shuffled each epoch, teacher forcing): about half a minute of one core each.

Each model then decodes the 400 *validation* sources with greedy search and with beam search
(width 5) without length normalisation and under each length normalisation ``alpha`` of
:data:`ALPHAS` (log p divided by ``length ** alpha``, ``<eos>`` counted), and the 400 *test*
sources with greedy search, beam search without normalisation and beam search with the
``alpha`` of :data:`ALPHAS` of the highest mean validation BLEU over the seeds. Scores: corpus BLEU
(``rnncourse.analysis.bleu.corpus_bleu``, on the words of the decoded sentences, with
``"exp"`` smoothing as sacreBLEU's default), the ratio of output to reference words, and the
share of exact sentences. Decoding stops at ``1.5 S + 5`` tokens for a source of ``S``.

On the CPU with one thread. Writes ``book/data/ch09_translation/results.json`` and ``.log``,
the seed-0 weights ``model_seed0.pt`` (the chapter decodes with them), and the seed-0 model's
three decodings of every test source, ``test_decoded_seed0.tsv`` (one line per test pair,
``greedy<TAB>beam<TAB>beam with the chosen alpha``: beam search is too slow to run over the
whole test set on the page).
"""

from __future__ import annotations

import time

import _sweep  # first: one thread for every library
import numpy as np
import torch

from rnncourse.analysis.bleu import corpus_bleu
from rnncourse.data import subwords as W
from rnncourse.data import translation as T
from rnncourse.models import seq2seq as S
from rnncourse.models.train import fit

DATA = _sweep.DATA / "ch09_translation"
SEEDS = tuple(range(5))
EPOCHS = 8
ALPHAS = (0.5, 1.0)
CONFIG = dict(embed_size=32, hidden_size=64, score="additive", bidirectional=True)
BEAM = 5


def load_data() -> dict:
    """The splits, the tokenizers and the token ids of every sentence."""
    tok = {lang: W.load(DATA / f"bpe_{lang}.json") for lang in ("en", "de")}
    out = {"tok": tok}
    for split in ("train", "valid", "test"):
        pairs = T.read_pairs(DATA / f"{split}.tsv")
        out[split] = dict(pairs=pairs, src=W.encode(tok["en"], [p[0] for p in pairs]),
                          tgt=W.encode(tok["de"], [p[1] for p in pairs]))
    return out


def build(data: dict) -> torch.nn.Module:
    return S.AttentionSeq2Seq(data["tok"]["en"].get_vocab_size(),
                              data["tok"]["de"].get_vocab_size(), **CONFIG)


def train(data: dict, seed: int, epochs: int = EPOCHS) -> tuple[torch.nn.Module, list[float]]:
    torch.manual_seed(seed)
    model = build(data)
    rng = np.random.default_rng(seed)
    train = data["train"]
    history = fit(model, S.sequence_loss,
                  lambda: T.batches(train["src"], train["tgt"], 64, rng),
                  epochs=epochs, lr=0.01, clip_norm=1.0, device="cpu", progress=False)
    return model.eval(), history.loss


def max_len(n_src: int) -> int:
    return int(1.5 * n_src) + 5


def decode(model: torch.nn.Module, data: dict, split: str, method: str,
           alpha: float = 0.0) -> list[str]:
    """The German sentences decoded for every source of ``split``."""
    tok, src = data["tok"]["de"], data[split]["src"]
    if method == "greedy":
        out = []
        for (s, lengths, _), _ in T.batches(src, src, 100):
            pred = S.greedy_decode(model, s, lengths, max_len=max_len(s.shape[1]))
            out += [W.decode(tok, row.tolist()) for row in pred]
        return out
    out = []
    for ids in src:
        tokens, _ = S.beam_search(model, torch.tensor(ids), beam_width=BEAM,
                                  max_len=max_len(len(ids)), alpha=alpha)
        out.append(W.decode(tok, tokens))
    return out


def score(hyps: list[str], refs: list[str]) -> dict:
    h, r = [x.split() for x in hyps], [x.split() for x in refs]
    return dict(bleu=corpus_bleu(h, r, smooth="exp"),
                length_ratio=sum(map(len, h)) / sum(map(len, r)),
                exact=float(np.mean([a == b for a, b in zip(hyps, refs, strict=True)])))


def method_name(alpha: float | None) -> str:
    return "greedy" if alpha is None else f"beam{BEAM},alpha={alpha:g}"


def main() -> None:
    log = _sweep.Log(DATA / "results.log")
    partial = _sweep.Partial(DATA / "results.json")
    data = load_data()
    refs = {split: [p[1] for p in data[split]["pairs"]] for split in ("valid", "test")}
    models = {}

    def run_valid(seed: int) -> dict:
        start = time.process_time()
        model, loss = train(data, seed)
        seconds = time.process_time() - start
        models[seed] = model
        if seed == 0:
            torch.save(model.state_dict(), DATA / "model_seed0.pt")
        valid = {method_name(None): score(decode(model, data, "valid", "greedy"), refs["valid"])}
        for alpha in (0.0, *ALPHAS):
            valid[method_name(alpha)] = score(decode(model, data, "valid", "beam", alpha),
                                              refs["valid"])
        return dict(seed=seed, loss=loss, train_cpu_seconds=seconds, valid=valid)

    runs = []
    for seed in SEEDS:
        row = partial.cached(f"valid/{seed}", lambda seed=seed: run_valid(seed))
        runs.append(row)
        log(f"seed {seed}: loss {row['loss'][-1]:.3f}, {row['train_cpu_seconds']:.0f} s; "
            "validation BLEU " + ", ".join(f"{k} {v['bleu']:.4f}"
                                           for k, v in row["valid"].items()))
    mean = {a: np.mean([r["valid"][method_name(a)]["bleu"] for r in runs])
            for a in ALPHAS}
    best = max(mean, key=mean.get)
    log(f"alpha of the highest mean validation BLEU: {best:g}")
    methods = [None, 0.0, best]

    def run_test(seed: int) -> dict:
        model = models.get(seed)
        if model is None:  # resumed: retrain (same seed, same weights)
            model, _ = train(data, seed)
        hyps = [decode(model, data, "test", "greedy" if a is None else "beam",
                       0.0 if a is None else a) for a in methods]
        if seed == 0:
            (DATA / "test_decoded_seed0.tsv").write_text(
                "".join("\t".join(row) + "\n" for row in zip(*hyps, strict=True)),
                encoding="utf-8")
        return {method_name(a): score(h, refs["test"]) for a, h in zip(methods, hyps,
                                                                        strict=True)}

    for row in runs:
        row["test"] = partial.cached(f"test/{row['seed']}", lambda s=row["seed"]: run_test(s))
        log(f"seed {row['seed']}: test BLEU " + ", ".join(f"{k} {v['bleu']:.4f}"
                                                         for k, v in row["test"].items()))
    results = dict(seeds=list(SEEDS), epochs=EPOCHS, config=CONFIG, beam_width=BEAM,
                   alphas=list(ALPHAS), best_alpha=best,
                   methods=[method_name(a) for a in methods],
                   environment=_sweep.environment(), runs=runs)
    _sweep.save_json(DATA / "results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
