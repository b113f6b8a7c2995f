"""Train the two reversal models of chapter 9 and save their weights to book/data/ch09/.

    python scripts/train_seq2seq.py        (about a minute on one CPU core)

Both models read digit strings of 2 to 8 digits and write them backwards:
a plain GRU encoder–decoder (hidden size 64) and a GRU encoder–decoder with
Bahdanau attention (hidden size 32, fewer parameters than the plain one). Same data,
same seed, same optimiser (Adam, lr 0.01, gradient norm clipped at 1), 10 epochs of
4000 examples in batches of 64, teacher forcing.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rnncourse.data import reversal as D
from rnncourse.models.seq2seq import AttentionSeq2Seq, Seq2Seq, sequence_loss
from rnncourse.models.train import fit

OUT = Path(__file__).resolve().parent.parent / "book" / "data" / "ch09"
CONFIG = {"plain": dict(hidden_size=64), "attention": dict(hidden_size=32)}


def build(name: str) -> torch.nn.Module:
    """The untrained model ``name`` ("plain" or "attention"), as the chapter builds it."""
    cls = Seq2Seq if name == "plain" else AttentionSeq2Seq
    return cls(D.VOCAB, D.VOCAB, embed_size=16, **CONFIG[name])


def train(name: str, seed: int = 0, epochs: int = 10) -> tuple[torch.nn.Module, list[float]]:
    """Train model ``name`` with ``seed`` exactly as the shipped one (seed 0) was trained."""
    torch.set_num_threads(1)
    data = D.reversal_data(4000, 2, 8, rng=0)
    torch.manual_seed(seed)
    model = build(name)
    # On the CPU, so that a rerun reproduces the shipped weights exactly.
    history = fit(model, sequence_loss, D.batches(data, 64), epochs=epochs, lr=0.01,
                  clip_norm=1.0, device="cpu", progress=False)
    return model, history.loss


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in CONFIG:
        model, loss = train(name, seed=0)
        torch.save(model.state_dict(), OUT / f"reverse_{name}.pt")
        print(f"{name}: final training loss {loss[-1]:.3f}")


if __name__ == "__main__":
    main()
