"""Chapter 10's many-to-one classifier: is a line code or prose?

:class:`LineClassifier` reads a line's character ids with a GRU and classifies it from
the last state; :func:`train_line_classifier` trains it as the chapter and
``scripts/sweep_ch10_applications.py`` do; :func:`classifier_scores` and :func:`p_prose`
evaluate it. The lines themselves are frozen data: :mod:`rnncourse.data.corpus`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rnncourse.data.corpus import encode_lines
from rnncourse.torch import GRU

__all__ = [
    "LineClassifier", "train_line_classifier", "classifier_scores", "p_prose",
]


class LineClassifier(nn.Module):
    """Many-to-one: ids ``(N, T)`` -> class logits ``(N, K)`` from the last GRU state."""

    def __init__(self, n_classes: int = 2, embed_size: int = 16, hidden_size: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(97, embed_size)
        self.rnn = GRU(embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        _, h_n = self.rnn(self.embed(x))          # h_n: (1, N, H)
        return self.head(h_n[-1])


def train_line_classifier(x: Tensor, y: Tensor, *, seed: int = 0, epochs: int = 8,
                          lr: float = 0.01, batch_size: int = 32,
                          device: str | torch.device | None = None) -> LineClassifier:
    """Train a :class:`LineClassifier` as chapter 10 does (Adam, cross-entropy, a seeded
    shuffle of mini-batches every epoch); returned on the CPU in evaluation mode."""
    from rnncourse.models.train import fit

    shuffle = torch.Generator().manual_seed(seed)

    def batches() -> list[tuple[Tensor, Tensor]]:
        order = torch.randperm(len(y), generator=shuffle)
        return [(x[i], y[i]) for i in order.split(batch_size)]

    torch.manual_seed(seed)
    model = LineClassifier()
    fit(model, nn.CrossEntropyLoss(), batches, epochs=epochs, lr=lr, device=device,
        progress=False, seed=seed)
    return model.cpu().eval()


def classifier_scores(model: LineClassifier, x: Tensor, y: Tensor) -> dict[str, float]:
    """Accuracy overall and on each class (``code``: label 0, ``prose``: label 1)."""
    with torch.no_grad():
        predicted = model.eval()(x).argmax(dim=1)
    return {"accuracy": (predicted == y).double().mean().item(),
            "code": (predicted[y == 0] == 0).double().mean().item(),
            "prose": (predicted[y == 1] == 1).double().mean().item()}


def p_prose(model: LineClassifier, lines: Sequence[str]) -> list[float]:
    """The model's probability that each line is prose."""
    with torch.no_grad():
        return torch.softmax(model.eval()(encode_lines(lines)), dim=1)[:, 1].tolist()
