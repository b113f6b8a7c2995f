"""Train chapter 10's character-level language model on the book's own prose.

    .venv/bin/python scripts/train_charlm.py        (two or three minutes on one CPU core)

Trains a :class:`rnncourse.models.charlm.CharLM` (embedding 32, LSTM 128, linear
read-out) on the training part of the frozen corpus ``book/data/ch10/corpus.txt`` (see
``scripts/extract_corpus.py``), validates after every epoch and keeps the weights of the
epoch with the lowest validation bits per character (early stopping: the validation part
chooses the epoch; the test part is never used here). Writes, for seed 0,

- ``book/data/ch10/charlm.pt`` -- the ``state_dict`` of the best epoch;
- ``book/data/ch10/charlm_history.json`` -- training and validation bits per character per
  epoch, the best epoch, the settings.

``scripts/sweep_ch10_charlm.py`` calls :func:`train` for every seed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import _sweep  # noqa: F401  (first: one thread)
import torch

from rnncourse.data.corpus import book_corpus
from rnncourse.data.text import char_batches
from rnncourse.models.charlm import CharLM, bits_per_char, sequence_cross_entropy
from rnncourse.models.train import fit

OUT = Path(__file__).resolve().parents[1] / "book" / "data" / "ch10"
EPOCHS, SEQ_LEN, BATCH, LR = 25, 64, 32, 5e-3


def train(seed: int = 0, epochs: int = EPOCHS) -> tuple[CharLM, dict]:
    """Train one model; return it (with the best epoch's weights, in eval mode) and its
    history: ``train_bpc`` (epoch means), ``val_bpc`` (after each epoch), ``best_epoch``."""
    torch.set_num_threads(1)
    corpus = book_corpus()
    vocab = corpus.vocab
    train_ids, val_ids = vocab.encode(corpus.train), vocab.encode(corpus.validation)
    torch.manual_seed(seed)
    model = CharLM(len(vocab))
    val_bpc: list[float] = []
    best: dict = {}

    def validate(epoch: int, history) -> None:
        val_bpc.append(bits_per_char(model, val_ids))
        if val_bpc[-1] == min(val_bpc):   # early stopping: keep the best epoch's weights
            best.update(epoch=epoch + 1, state={k: v.clone() for k, v in
                                                model.state_dict().items()})
        print(f"seed {seed} epoch {epoch + 1:3d}  train {history.loss[-1] / math.log(2):.3f}"
              f"  validation {val_bpc[-1]:.3f} bits per character", flush=True)

    # On the CPU, so that a rerun reproduces the shipped weights exactly.
    history = fit(model, sequence_cross_entropy, char_batches(train_ids, SEQ_LEN, BATCH),
                  epochs=epochs, lr=LR, clip_norm=1.0, device="cpu", progress=False, seed=seed,
                  on_epoch_end=validate)
    model.load_state_dict(best["state"])
    model.eval()
    return model, {
        "seed": seed, "corpus_sha256": corpus.info["sha256"], "vocab": vocab.chars,
        "epochs": epochs, "best_epoch": best["epoch"], "seq_len": SEQ_LEN,
        "batch_size": BATCH, "lr": LR, "hidden_size": model.rnn.hidden_size,
        "train_bpc": [round(v / math.log(2), 5) for v in history.loss],
        "val_bpc": [round(v, 5) for v in val_bpc],
    }


def main() -> None:
    model, history = train(seed=0)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), OUT / "charlm.pt")
    (OUT / "charlm_history.json").write_text(json.dumps(history, indent=1) + "\n")


if __name__ == "__main__":
    main()
