"""The decoding page of chapter 9: scheduled sampling over five seeds, and the beam widths
of the shipped models.

Run from the repository root::

    nice -n 10 python scripts/sweep_ch09_decoding.py      (about 15 minutes on one CPU core)

1. **Teacher forcing vs scheduled sampling** (Bengio et al. 2015). The plain GRU
   encoder–decoder of ``sweep_ch09_attention.py`` (hidden size 32, embeddings of 16),
   trained with seeds 0..4 on the same 4000 strings of 2 to 8 digits
   (``reversal_data(4000, 2, 8, rng=0)``), 8 epochs, Adam with lr 0.01, gradient norm
   clipped at 1, batches of 64, either with teacher forcing or with scheduled sampling:
   the decoder reads the true previous token with probability
   ``eps_i = inverse_sigmoid_decay(i, k=108)`` at update ``i`` (from 0.99 at the start to
   0.50 at the last of the 504 updates), and a token sampled from its own output otherwise
   (``rnncourse.models.exposure``). The schedule was fixed before the runs and not tuned,
   and neither was teacher forcing: equal (zero) tuning effort. Scored on fresh strings
   (``rng=11``): greedy sequence accuracy at each length 1..10 (200 strings per length),
   and on 1400 strings of lengths 2..8 the teacher-forced and free-running token error
   rates (``position_errors``).
2. **Beam widths on the shipped models** (``book/data/ch09/reverse_plain.pt``, hidden 64,
   and ``reverse_attention.pt``, hidden 32; trained by ``train_seq2seq.py``): 150 strings
   (``reversal_data(150, 2, 10, rng=21)``, lengths 2 to 10, so 9 and 10 beyond the training
   range) decoded by beam search with widths 1, 2, 3, 5, 10 and 20, ranked by raw
   log-probability (``alpha = 0``) and by the log-probability per token (``alpha = 1``),
   ``max_len`` = length + 2: sequence accuracy, outputs shorter than the target, and
   the mean log-probability of the output found. This part is an exact evaluation of
   shipped weights (no training).
3. **Sampling from the shipped character model** of chapter 10 (``book/data/ch10/charlm.pt``):
   300 characters after the prompt ``"The hidden state "`` with sampling seeds 0..9, under
   four rules: pure sampling (temperature 1), temperature 0.7, top-k with ``k = 5``
   (Fan et al. 2018) and nucleus sampling with ``p = 0.9`` (Holtzman et al. 2020), none of
   them tuned. Scored per sample: the share of its words (runs of two or more letters) that
   occur in the training text (``real_words``), and the share of its words that are
   distinct (``distinct_words``, a diversity score). The seeds vary the samples, not the
   model: one trained model is shipped.

On the CPU with one thread. Writes ``book/data/ch09/decoding_results.json`` and ``.log``.
"""

from __future__ import annotations

import re

import _sweep  # first: one thread for every library
import numpy as np
import torch

from rnncourse.data import bookdata
from rnncourse.data import reversal as D
from rnncourse.models import seq2seq as S
from rnncourse.models.exposure import ScheduledSampling, inverse_sigmoid_decay, position_errors
from rnncourse.models.train import fit

OUT = _sweep.DATA / "ch09"
SEEDS = tuple(range(5))
LENGTHS = tuple(range(1, 11))
TRAIN = dict(n=4000, min_len=2, max_len=8, epochs=8, hidden_size=32, batch_size=64)
K = 108                       # inverse sigmoid decay: eps = 0.50 at update 504 (the last)
METHODS = ("teacher forcing", "scheduled sampling")
WIDTHS = (1, 2, 3, 5, 10, 20)
ALPHAS = (0.0, 1.0)
BEAM_DATA = dict(n=150, min_len=2, max_len=10, rng=21)
SAMPLING = dict(prompt="The hidden state ", n_chars=300, seeds=list(range(10)))
RULES = {"temperature 1": dict(temperature=1.0), "temperature 0.7": dict(temperature=0.7),
         "top-k, k = 5": dict(top_k=5), "nucleus, p = 0.9": dict(top_p=0.9)}


def build() -> torch.nn.Module:
    return S.Seq2Seq(D.VOCAB, D.VOCAB, embed_size=16, hidden_size=TRAIN["hidden_size"])


def train(method: str, seed: int, epochs: int = TRAIN["epochs"]):
    """The model trained with ``method`` and ``seed``, its loss per epoch and the schedule."""
    data = D.reversal_data(TRAIN["n"], TRAIN["min_len"], TRAIN["max_len"], rng=0)
    torch.manual_seed(seed)
    model = build()
    if method == "teacher forcing":
        trained, schedule = model, []
    elif method == "scheduled sampling":
        trained = ScheduledSampling(model, lambda i: inverse_sigmoid_decay(i, K), seed=seed)
    else:
        raise ValueError(method)
    history = fit(trained, S.sequence_loss, D.batches(data, TRAIN["batch_size"]),
                  epochs=epochs, lr=0.01, clip_norm=1.0, device="cpu", progress=False)
    if method == "scheduled sampling":
        schedule = trained.p_true_history
    return model.eval(), history.loss, schedule


def greedy(model):
    return lambda src, L: S.greedy_decode(model, src, L, max_len=src.shape[1] + 2)


def evaluate(model: torch.nn.Module) -> dict:
    rng = np.random.default_rng(11)
    accuracy = S.accuracy_by_length(greedy(model), list(LENGTHS), 200, rng)
    data = D.reversal_data(1400, 2, 8, rng)
    pred = greedy(model)(data.src, data.lengths)
    e = position_errors(model, data.src, data.lengths, data.tgt_in, data.tgt_out, pred)
    n = e.n.astype(float)
    return dict(accuracy=[float(a) for a in accuracy],
                sequence_accuracy_2_8=float(S.sequence_accuracy(pred, data.tgt_out)
                                            .float().mean()),
                token_error_teacher_forced=float(np.nansum(e.teacher_forced * n) / n.sum()),
                token_error_free_running=float(np.nansum(e.free_running * n) / n.sum()),
                teacher_forced=np.nan_to_num(e.teacher_forced, nan=-1).tolist(),
                free_running=np.nan_to_num(e.free_running, nan=-1).tolist(),
                after_error=np.nan_to_num(e.after_error, nan=-1).tolist(),
                clean=np.nan_to_num(e.clean, nan=-1).tolist(),
                n=e.n.tolist(), n_after_error=e.n_after_error.tolist(),
                n_clean=e.n_clean.tolist())


def one(method: str, seed: int) -> dict:
    model, loss, schedule = train(method, seed)
    out = dict(method=method, seed=seed, loss=loss, **evaluate(model))
    if schedule:
        out["p_true_first_last"] = [schedule[0], schedule[-1]]
    return out


def load_shipped(name: str) -> torch.nn.Module:
    cls, hidden = (S.Seq2Seq, 64) if name == "plain" else (S.AttentionSeq2Seq, 32)
    model = cls(D.VOCAB, D.VOCAB, embed_size=16, hidden_size=hidden)
    model.load_state_dict(torch.load(bookdata.path(f"ch09/reverse_{name}.pt"),
                                     weights_only=True))
    return model.eval()


def beam_widths(name: str) -> list[dict]:
    """Accuracy, short outputs and mean log p by beam width and alpha, for a shipped model."""
    model = load_shipped(name)
    data = D.reversal_data(BEAM_DATA["n"], BEAM_DATA["min_len"], BEAM_DATA["max_len"],
                           rng=BEAM_DATA["rng"])
    rows = []
    for alpha in ALPHAS:
        for width in WIDTHS:
            right = shorter = 0
            logps, by_length = [], {}
            for src, L, target in zip(data.src, data.lengths, data.tgt_out, strict=True):
                L = int(L)
                tokens, logp = S.beam_search(model, src[:L], beam_width=width, max_len=L + 2,
                                             alpha=alpha)
                ok = bool(S.sequence_accuracy(torch.tensor([tokens]), target[None]))
                right += ok
                shorter += len(tokens) - 1 < L          # tokens end with <eos>
                logps.append(logp)
                by_length.setdefault(L, []).append(ok)
            rows.append(dict(model=name, alpha=alpha, width=width,
                             accuracy=right / BEAM_DATA["n"], shorter=shorter,
                             mean_logp=float(np.mean(logps)),
                             accuracy_by_length={str(k): float(np.mean(v))
                                                 for k, v in sorted(by_length.items())}))
    return rows


def word_scores(text: str, known: set[str]) -> dict:
    """The share of the words of ``text`` found in ``known``, and the share that are distinct."""
    words = re.findall(r"[A-Za-z]{2,}", text)
    if not words:
        return dict(real_words=0.0, distinct_words=0.0, words=0)
    return dict(real_words=sum(w.lower() in known for w in words) / len(words),
                distinct_words=len({w.lower() for w in words}) / len(words), words=len(words))


def sampling_rules() -> list[dict]:
    """Part 3: samples of the shipped character model under each rule, scored."""
    from rnncourse.data.corpus import book_corpus
    from rnncourse.models.charlm import CharLM, sample

    corpus = book_corpus()
    known = {w.lower() for w in re.findall(r"[A-Za-z]{2,}", corpus.train)}
    model = CharLM(len(corpus.vocab))
    model.load_state_dict(torch.load(bookdata.path("ch10") / "charlm.pt", weights_only=True))
    model.eval()
    rows = []
    for rule, kwargs in RULES.items():
        for seed in SAMPLING["seeds"]:
            text = sample(model, corpus.vocab, SAMPLING["prompt"], SAMPLING["n_chars"],
                          seed=seed, **kwargs)
            rows.append(dict(rule=rule, seed=seed, text=text, **word_scores(text, known)))
    return rows


def main() -> None:
    log = _sweep.Log(OUT / "decoding_results.log")
    partial = _sweep.Partial(OUT / "decoding_results.json")
    results = {"seeds": list(SEEDS), "lengths": list(LENGTHS), "train": TRAIN, "k": K,
               "widths": list(WIDTHS), "alphas": list(ALPHAS), "beam_data": BEAM_DATA,
               "environment": _sweep.environment(), "runs": [], "beam": []}
    for name in ("plain", "attention"):
        rows = partial.cached(f"beam/{name}", lambda name=name: beam_widths(name))
        results["beam"] += rows
        for r in rows:
            log(f"beam {name:9s} alpha={r['alpha']:g} width {r['width']:2d}: accuracy "
                f"{r['accuracy']:.3f}, shorter {r['shorter']:3d}, mean log p "
                f"{r['mean_logp']:.3f}")
    for seed in SEEDS:
        for method in METHODS:
            row = partial.cached(f"{method}/{seed}", lambda m=method, s=seed: one(m, s))
            results["runs"].append(row)
            log(f"seed {seed} {method:18s} loss {row['loss'][-1]:.3f}  greedy accuracy 2..8 "
                f"{row['sequence_accuracy_2_8']:.3f}  token error: teacher-forced "
                f"{row['token_error_teacher_forced']:.4f}, free-running "
                f"{row['token_error_free_running']:.4f}")
    results["sampling"] = dict(SAMPLING, rules=RULES,
                               runs=partial.cached("sampling", sampling_rules))
    for rule in RULES:
        rows = [r for r in results["sampling"]["runs"] if r["rule"] == rule]
        log(f"sampling {rule:17s} real words " + " ".join(f"{r['real_words']:.2f}" for r in rows)
            + "  distinct " + " ".join(f"{r['distinct_words']:.2f}" for r in rows))
    _sweep.save_json(OUT / "decoding_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
