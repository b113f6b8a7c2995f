"""Train chapter 10's character-level language model once and cache its weights.

    .venv/bin/python scripts/train_charlm.py

Writes ``book/data/ch10/charlm.pt`` (the ``state_dict`` of a
:class:`rnncourse.figures.applications.CharLM`) and ``book/data/ch10/charlm_history.json``
(training loss and validation perplexity per epoch). The weights saved are those of the
epoch with the lowest validation perplexity (early stopping). The corpus is the source of
``CORPUS_MODULES`` of *this* Python: the first 90 % for training, the rest for validation.
One CPU thread, seeded; a few minutes on a laptop.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from rnncourse.figures.applications import (
    CharLM,
    CharVocab,
    char_batches,
    perplexity,
    sequence_cross_entropy,
    stdlib_corpus,
)
from rnncourse.train import fit

OUT = Path(__file__).resolve().parents[1] / "book" / "data" / "ch10"
EPOCHS, SEQ_LEN, BATCH, LR = 30, 64, 32, 3e-3


def train(seed: int = 0, epochs: int = EPOCHS) -> tuple[dict, dict]:
    """Train one model; return the best epoch's ``state_dict`` and the history to store."""
    torch.set_num_threads(1)
    text = stdlib_corpus()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    split = int(0.9 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    torch.manual_seed(seed)
    model = CharLM(len(vocab))
    val_ppl: list[float] = []
    best: dict = {}

    def validate(epoch: int, history) -> None:
        val_ppl.append(perplexity(model, val_ids))
        if val_ppl[-1] == min(val_ppl):   # early stopping: keep the best epoch's weights
            best.update(epoch=epoch + 1, state={k: v.clone() for k, v in
                                                model.state_dict().items()})
        print(f"seed {seed} epoch {epoch + 1:3d}  train loss {history.loss[-1]:.3f}  "
              f"val ppl {val_ppl[-1]:.2f}", flush=True)

    # On the CPU, so that a rerun reproduces the shipped weights exactly.
    history = fit(model, sequence_cross_entropy, char_batches(train_ids, SEQ_LEN, BATCH),
                  epochs=epochs, lr=LR, clip_norm=1.0, device="cpu", progress=False, seed=seed,
                  on_epoch_end=validate)
    return best["state"], {
        "corpus_chars": len(text), "vocab": vocab.chars, "epochs": epochs,
        "best_epoch": best["epoch"], "seq_len": SEQ_LEN, "batch_size": BATCH, "lr": LR,
        "train_ppl": [round(math.exp(v), 4) for v in history.loss],
        "val_ppl": [round(v, 4) for v in val_ppl],
    }


def main() -> None:
    state, stored = train(seed=0)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(state, OUT / "charlm.pt")
    (OUT / "charlm_history.json").write_text(json.dumps(stored, indent=1) + "\n")


if __name__ == "__main__":
    main()
