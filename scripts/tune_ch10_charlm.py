"""Chapter 10's language model, tuned as carefully as its n-gram baseline; then an ablation.

Run from the repository root::

    nice -n 10 python scripts/tune_ch10_charlm.py     (about three hours on one CPU core)

The n-gram baseline of ``scripts/sweep_ch10_charlm.py`` chose its order among 16 on the
validation text. The LSTM gets the same effort here, in two stages, each configuration
trained once (seed 0) and scored on the **validation** text only. First 16 configurations
of an LSTM of 128 units:

- windows in random order (``char_batches``, each from a zero state) or truncated BPTT
  with the state carried across batches (``stateful_batches``);
- eight ways to regularise: none; standard dropout 0.1 or 0.25; variational dropout 0.1 or
  0.25; the read-out tied to the embedding, alone or with variational dropout 0.1 or 0.25.
  Dropout acts on the LSTM's input and on its output. Untied models embed characters in 32
  dimensions, tied ones in 128 (the hidden size, which tying requires).

Then the size: the best of these with 64 and 256 units instead of 128, each with the
chosen dropout rate and with the other rate of the same kind (a larger network may want
more dropout); 4 more configurations.

Common to all: ``CharLM(fused=True)`` (PyTorch's LSTM kernel, for speed),
windows of 32 characters, batches of 32, Adam from learning rate 0.01, the gradient norm
clipped at 1; after every epoch the validation bits per character; the
learning rate is halved after every epoch that does not improve on the best by at least
0.002 bits, training stops after two such epochs in a row or :data:`MAX_EPOCHS` epochs,
and the weights of the best epoch are kept (early stopping). (The score per epoch reads the
validation text as 8 parallel streams, which is fast; the kept weights are then scored
with ``bits_per_char``, reading it as one stream, and that score chooses the configuration.)

The configuration with the lowest validation bpc is then trained with seeds 0..4 (the
final models): only these are scored on the test text, each alone, mixed with the chosen
n-gram model (the mixture weight chosen on the validation text, per seed), and by class of
character. Finally an ablation: the final configuration with one regulariser changed at a
time, seeds 0..4, scored on the validation text; for a stateful model also one arm with
the window length drawn at random for every batch (``random_lengths=True``, the learning
rate scaled by the length, as in AWD-LSTM); and two arms that add a regulariser inside the
recurrence, which needs the LSTM stepped in Python (``rnncourse.torch.SteppedLSTM``,
about 2.2 times slower here): zoneout with the rates Krueger et al. (2017) report for
character-level Penn Treebank (:data:`ZONEOUT`: cells 0.5, hidden states 0.05), and layer
normalisation (Ba et al. 2016).

``--arms NAME ...`` runs only the named ablation arms (``--seeds`` only some seeds), so that
several processes can share the work (they share the resume file), and leaves the results
unfinished; a run without it assembles them. A rerun after a finished run starts from the
shipped results (when their settings are these), so a new arm costs only its own runs.

Writes ``book/data/ch10/charlm_tuned.json`` (and ``.log``), and the weights of the final
configuration's seed 0 as ``charlm_tuned.pt``; resumable (``charlm_tuned.partial.json``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import time

import _sweep  # first: one thread for every library
import numpy as np
import torch
from torch import nn

from rnncourse.data.corpus import book_corpus
from rnncourse.data.text import char_batches, stateful_batches
from rnncourse.models.charlm import (
    CHAR_CLASSES,
    CharLM,
    bits_per_char,
    char_classes,
    log2_probs,
    sequence_cross_entropy,
)
from rnncourse.models.ngram import KneserNey

OUT = _sweep.DATA / "ch10"
SEEDS = tuple(range(5))
MAX_EPOCHS, PATIENCE, MIN_GAIN = 40, 2, 0.002
HIDDEN, SEQ_LEN, BATCH, LR, CLIP = 128, 32, 32, 1e-2, 1.0
SIZES = (64, 256)                                 # stage 2: other hidden sizes
LAMBDAS = np.round(np.linspace(0, 1, 21), 2)      # mixture weights tried on validation
BLOCK = 250                                       # characters per block (paired by passage)
ZONEOUT = (0.5, 0.05)                             # (cells, hidden states), Krueger et al.

REGULARISERS = {
    "none": dict(dropout=0.0),
    "standard dropout 0.1": dict(dropout=0.1, variational=False),
    "standard dropout 0.25": dict(dropout=0.25, variational=False),
    "variational dropout 0.1": dict(dropout=0.1),
    "variational dropout 0.25": dict(dropout=0.25),
    "tied": dict(dropout=0.0, tie_weights=True),
    "tied, variational dropout 0.1": dict(dropout=0.1, tie_weights=True),
    "tied, variational dropout 0.25": dict(dropout=0.25, tie_weights=True),
}


def config_name(c: dict) -> str:
    extra = "".join(f", {k}={c[k]}" for k in ("dropout", "variational", "tie_weights", "embed",
                                              "zoneout", "layer_norm")
                    if k in c)
    return f"H={c['hidden']}, {c['batching']}, {c['reg']}{extra}"


def _file(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16] + ".pt"


CONFIGS = [dict(hidden=HIDDEN, batching=b, reg=r) for b in ("random windows", "stateful")
           for r in REGULARISERS]


def size_configs(best: dict) -> list[dict]:
    """Stage 2: ``best`` with each of :data:`SIZES` units, with its own dropout rate and
    with the other rate of the same kind (none when ``best`` has no dropout)."""
    regs = [best["reg"]]
    if REGULARISERS[best["reg"]]["dropout"] > 0:
        for rate in ("0.1", "0.25"):
            other = best["reg"].rsplit(" ", 1)[0] + " " + rate
            if other != best["reg"] and other in REGULARISERS:
                regs.append(other)
    return [dict(best, hidden=h, reg=r) for h in SIZES for r in regs]


def build(c: dict) -> CharLM:
    kw = dict(REGULARISERS[c["reg"]])
    kw.update({k: c[k] for k in ("dropout", "variational", "tie_weights", "layer_norm")
               if k in c})
    if "zoneout" in c:
        kw["zoneout"] = tuple(c["zoneout"])
    embed = c["hidden"] if kw.get("tie_weights") or c.get("embed") == "hidden" else 32
    kw.setdefault("variational", True)
    return CharLM(len(book_corpus().vocab), embed, c["hidden"], fused=True, **kw)


def train(c: dict, seed: int) -> tuple[CharLM, dict]:
    """Train configuration ``c`` from ``seed``; the best epoch's weights, and the history."""
    corpus = book_corpus()
    vocab = corpus.vocab
    train_ids, val_ids = vocab.encode(corpus.train), vocab.encode(corpus.validation)
    torch.manual_seed(seed)
    model = build(c)
    stateful = c["batching"].startswith("stateful")
    random_lengths = c["batching"] == "stateful, random lengths"
    if stateful:
        epoch_batches = stateful_batches(train_ids, SEQ_LEN, BATCH, seed=seed,
                                         random_lengths=random_lengths)
    else:
        epoch_batches = char_batches(train_ids, SEQ_LEN, BATCH, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    lr = LR
    best, bad, hist = math.inf, 0, dict(train_bpc=[], val_bpc=[], lr=[])
    best_state, best_epoch, t0 = None, 0, time.perf_counter()
    for epoch in range(MAX_EPOCHS):
        model.train()
        state, total = None, 0.0
        batches = epoch_batches()
        for x, y in batches:
            if stateful and state is not None:
                state = tuple(s.detach() for s in state)   # truncate the gradient, keep h, c
            logits, new_state = model.step(x, state if stateful else None)
            loss = sequence_cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            for group in opt.param_groups:    # a batch's weight follows its length
                group["lr"] = lr * x.shape[1] / SEQ_LEN if random_lengths else lr
            opt.step()
            state, total = new_state, total + loss.item()
        val = stream_bpc(model, val_ids)
        hist["train_bpc"].append(round(total / len(batches) / math.log(2), 5))
        hist["val_bpc"].append(round(val, 5))
        hist["lr"].append(lr)
        if val < best:
            best_state, best_epoch = copy.deepcopy(model.state_dict()), epoch + 1
        if val < best - MIN_GAIN:
            bad = 0
        else:
            bad += 1
            lr /= 2
        best = min(best, val)
        if bad >= PATIENCE:
            break
    model.load_state_dict(best_state)
    model.eval()
    hist.update(best_epoch=best_epoch, epochs_run=len(hist["val_bpc"]),
                val_bpc_best=bits_per_char(model, val_ids),
                stopped_early=bad >= PATIENCE, seconds=round(time.perf_counter() - t0, 1),
                parameters=sum(p.numel() for p in model.parameters()))
    return model, hist


@torch.no_grad()
def stream_bpc(model: CharLM, ids: np.ndarray, streams: int = 8) -> float:
    """Validation bpc for early stopping, fast: the text read as ``streams`` parallel
    streams, each from a zero state (so a few characters at each stream's start are
    predicted with less context than in :func:`bits_per_char`, which scores the final
    weights)."""
    model.eval()
    data = torch.as_tensor(ids, dtype=torch.int64)
    n = (len(data) - 1) // streams
    logits, _ = model.step(data[:streams * n].view(streams, n))
    y = data[1:streams * n + 1].view(streams, n)
    return float(sequence_cross_entropy(logits.double(), y)) / math.log(2)


def blocks(bits: np.ndarray) -> list[float]:
    n = len(bits) // BLOCK * BLOCK
    return [round(float(v), 5) for v in bits[:n].reshape(-1, BLOCK).mean(1)]


def evaluate(model: CharLM, ngram_bits: dict) -> dict:
    """Validation and test bpc of the LSTM, of its mixture with the n-gram model (weight
    chosen on validation), per class of character and per block of the test text."""
    corpus = book_corpus()
    vocab = corpus.vocab
    lstm = {part: -log2_probs(model, vocab.encode(text))
            for part, text in (("validation", corpus.validation), ("test", corpus.test))}
    p_l = {part: 2.0 ** -b for part, b in lstm.items()}
    p_n = {part: 2.0 ** -b for part, b in ngram_bits.items()}
    val_mix = [float(-np.log2(lam * p_l["validation"] + (1 - lam) * p_n["validation"]).mean())
               for lam in LAMBDAS]
    lam = float(LAMBDAS[int(np.argmin(val_mix))])
    mix = {part: -np.log2(lam * p_l[part] + (1 - lam) * p_n[part]) for part in p_l}
    out = dict(mixture_lambda=lam, mixture_val_by_lambda=[round(v, 5) for v in val_mix])
    texts = dict(validation=corpus.validation[1:], test=corpus.test[1:])
    for part in ("validation", "test"):
        classes = char_classes(texts[part])
        out[part] = dict(
            lstm_bpc=float(lstm[part].mean()), mixture_bpc=float(mix[part].mean()),
            by_class={name: dict(chars=int((classes == k).sum()),
                                 lstm=float(lstm[part][classes == k].mean()),
                                 mixture=float(mix[part][classes == k].mean()))
                      for k, name in enumerate(CHAR_CLASSES)},
            lstm_blocks=blocks(lstm[part]), mixture_blocks=blocks(mix[part]))
    return out


def ngram_part(order: int) -> dict:
    corpus = book_corpus()
    kn = KneserNey(order, corpus.vocab.chars).fit(corpus.train)
    bits = {part: -kn.logprobs(text)[1:]
            for part, text in (("validation", corpus.validation), ("test", corpus.test))}
    texts = dict(validation=corpus.validation[1:], test=corpus.test[1:])
    out = dict(order=order)
    for part, b in bits.items():
        classes = char_classes(texts[part])
        out[part] = dict(bpc=float(b.mean()), blocks=blocks(b),
                         by_class={name: float(b[classes == k].mean())
                                   for k, name in enumerate(CHAR_CLASSES)})
    return out, bits


def ablation_arms(chosen: dict) -> dict[str, dict]:
    """The ablation: ``chosen`` with one thing changed, by the arm's name."""
    arms = {}
    reg = REGULARISERS[chosen["reg"]]
    if reg["dropout"] > 0:
        arms["no dropout"] = dict(chosen, dropout=0.0)
        arms["standard dropout" if reg.get("variational", True) else "variational dropout"] = (
            dict(chosen, variational=not reg.get("variational", True)))
    if reg.get("tie_weights"):
        arms["untied"] = dict(chosen, tie_weights=False, embed="hidden")
    arms["other batching"] = dict(chosen, batching={"stateful": "random windows",
                                                    "random windows": "stateful"}[
                                                        chosen["batching"]])
    if chosen["batching"] == "stateful":
        arms["random lengths"] = dict(chosen, batching="stateful, random lengths")
    arms["zoneout"] = dict(chosen, zoneout=list(ZONEOUT))
    arms["layer norm"] = dict(chosen, layer_norm=True)
    return arms


EVALUATED = ("mixture_lambda", "mixture_val_by_lambda", "validation", "test")


def shipped_runs(results: dict) -> dict:
    """The resume file's entries held in finished results: each run under its key, and
    the evaluations of the final models under ``evaluate | seed N``."""
    runs = {}
    rows = results["search"] + results["sizes"] + [
        r for arm in results["ablation"].values() for r in arm]
    for row in rows + results["final"]:
        keep = {k: v for k, v in row.items() if k not in EVALUATED}
        runs[f"{config_name(row['config'])} | seed {row['seed']}"] = keep
    for row in results["final"]:
        runs[f"evaluate | seed {row['seed']}"] = {k: row[k] for k in EVALUATED}
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arms", nargs="+", metavar="NAME",
                        help="run only these ablation arms (e.g. zoneout 'layer norm')")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS),
                        help="with --arms: only these seeds, in this order")
    args = parser.parse_args()
    if set(args.seeds) - set(SEEDS):
        parser.error(f"--seeds: the seeds are {list(SEEDS)}, got {args.seeds}")
    if args.seeds != list(SEEDS) and not args.arms:
        parser.error("--seeds goes with --arms (a run without --arms uses every seed)")
    log = _sweep.Log(OUT / "charlm_tuned.log")
    partial = _sweep.Partial(OUT / "charlm_tuned.json")
    cache = OUT / ".charlm_tuned_cache"
    cache.mkdir(exist_ok=True)
    corpus = book_corpus()
    sweep = json.loads((OUT / "charlm_results.json").read_text())
    order = sweep["ngram"]["chosen_order"]
    results = dict(
        environment=_sweep.environment(), seeds=list(SEEDS),
        corpus_sha256=corpus.info["sha256"],
        settings=dict(max_epochs=MAX_EPOCHS, patience=PATIENCE, min_gain=MIN_GAIN,
                      seq_len=SEQ_LEN, batch_size=BATCH, lr=LR, clip_norm=CLIP,
                      hidden=HIDDEN, sizes=list(SIZES), lambdas=LAMBDAS.tolist(), block=BLOCK,
                      classes=list(CHAR_CLASSES), zoneout=list(ZONEOUT)))
    partial.start_from(OUT / "charlm_tuned.json",
                       dict(complete=True, corpus_sha256=results["corpus_sha256"],
                            settings=results["settings"]),
                       lambda old: shipped_runs(old).items())

    def run(c: dict, seed: int) -> dict:
        key = f"{config_name(c)} | seed {seed}"

        def make() -> dict:
            model, hist = train(c, seed)
            torch.save(model.state_dict(), cache / _file(key))
            return dict(config=c, seed=seed, **hist)
        row = partial.cached(key, make)
        log(f"{key:58s} validation {row['val_bpc_best']:.4f} (epoch {row['best_epoch']} of "
            f"{row['epochs_run']}{', stopped early' if row['stopped_early'] else ''}; "
            f"{row['seconds']:.0f} s, {row['parameters']:,} parameters)")
        return row

    def weights(c: dict, seed: int) -> CharLM:
        key = f"{config_name(c)} | seed {seed}"
        path = cache / _file(key)
        model = build(c)
        if not path.exists():
            partial.runs.pop(key, None)
            run(c, seed)
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()

    log("1. The search: 16 configurations, seed 0, validation bits per character")
    results["search"] = [run(c, 0) for c in CONFIGS]
    best = min(results["search"], key=lambda r: r["val_bpc_best"])["config"]
    log(f"validation chooses: {config_name(best)}")
    log("1b. The size: the chosen configuration with 64 and 256 units, seed 0, validation")
    results["sizes"] = [run(c, 0) for c in size_configs(best)]
    chosen = min(results["search"] + results["sizes"],
                 key=lambda r: r["val_bpc_best"])["config"]
    results["chosen"] = chosen
    log(f"validation chooses: {config_name(chosen)}")
    arms = ablation_arms(chosen)
    if args.arms:
        unknown = set(args.arms) - set(arms)
        if unknown:
            parser.error(f"unknown arms {sorted(unknown)}; the arms are {list(arms)}")
        for name in args.arms:
            for seed in args.seeds:
                run(arms[name], seed)
        return                       # a run without --arms assembles the results

    ngram, ngram_bits = ngram_part(order)
    results["ngram"] = ngram
    log(f"{order}-gram: validation {ngram['validation']['bpc']:.4f}, "
        f"test {ngram['test']['bpc']:.4f}")

    log("2. The final configuration, seeds 0..4: validation, test, mixture")
    results["final"] = []
    for seed in SEEDS:
        row = dict(run(chosen, seed))
        row.update(partial.cached(f"evaluate | seed {seed}",
                                  lambda seed=seed: evaluate(weights(chosen, seed), ngram_bits)))
        if seed == 0:
            torch.save(weights(chosen, 0).state_dict(), OUT / "charlm_tuned.pt")
        results["final"].append(row)
        log(f"    seed {seed}: LSTM validation {row['validation']['lstm_bpc']:.4f}, test "
            f"{row['test']['lstm_bpc']:.4f};  mixture (lambda {row['mixture_lambda']:.2f}) "
            f"validation {row['validation']['mixture_bpc']:.4f}, test "
            f"{row['test']['mixture_bpc']:.4f}")

    _sweep.save_json(OUT / "charlm_tuned.json", results)     # the comparison, already usable
    log("3. Ablation: the final configuration with one thing changed, seeds 0..4, validation")
    results["ablation"] = {}
    for name, c in arms.items():
        results["ablation"][name] = [run(c, seed) for seed in SEEDS]
        _sweep.save_json(OUT / "charlm_tuned.json", results)
    results["complete"] = True
    _sweep.save_json(OUT / "charlm_tuned.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
