"""A recurrent layer with a linear head, and its training on the adding problem.

:class:`SequenceRegressor` and :class:`SequenceClassifier` wrap any recurrent layer of
:mod:`rnncourse.torch` (``"rnn"``, ``"lstm"``, ``"gru"``, ``"peephole"``, ``"cifg"``, or
a class) with a linear head on the **last** hidden state (chapters 5, 6 and 8).
:func:`run_adding_experiment` generates the adding problem
(:func:`rnncourse.data.tasks.adding_problem`), trains such a model with
:func:`rnncourse.models.train.fit` and returns the test MSE next to the baseline::

    from rnncourse.models.sequence import run_adding_experiment
    res = run_adding_experiment("lstm", T=30, seed=0)
    res["test_mse"], res["baseline_mse"]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnncourse._args import check_count
from rnncourse.data.tasks import adding_problem, make_batches

__all__ = [
    "CELLS", "SequenceRegressor", "SequenceClassifier", "evaluate_adding",
    "run_adding_experiment",
]


def _cells() -> dict[str, type[nn.Module]]:
    from rnncourse import torch as rt

    return {"rnn": rt.RNN, "lstm": rt.LSTM, "gru": rt.GRU, "peephole": rt.PeepholeLSTM,
            "cifg": rt.CIFGLSTM}


#: The names accepted as ``cell``.
CELLS = ("rnn", "lstm", "gru", "peephole", "cifg")


def _make_layer(cell: str | type[nn.Module], input_size: int, hidden_size: int,
                **cell_kwargs: Any) -> nn.Module:
    if isinstance(cell, str):
        table = _cells()
        if cell.lower() not in table:
            raise ValueError(f"cell must be one of {CELLS} or an nn.Module class, got {cell!r}")
        cell = table[cell.lower()]
    return cell(input_size, hidden_size, batch_first=True, **cell_kwargs)


class SequenceRegressor(nn.Module):
    """A recurrent layer read at the last step, then a linear layer: ``y = h_T V + c``.

    Args:
        cell: ``"rnn"``, ``"lstm"``, ``"gru"``, ``"peephole"``, ``"cifg"`` (the layers
            of :mod:`rnncourse.torch`) or any class with ``torch.nn.RNN``'s constructor.
        input_size: ``D``.
        hidden_size: ``H``.
        output_size: ``K`` (default 1).
        **cell_kwargs: passed to the layer (e.g. ``forget_bias=1.0``,
            ``nonlinearity="relu"``, ``num_layers=2``).

    ``forward(x: (N, T, D)) -> (N, K)``.
    """

    def __init__(self, cell: str | type[nn.Module], input_size: int, hidden_size: int,
                 output_size: int = 1, **cell_kwargs: Any) -> None:
        super().__init__()
        self.rnn = _make_layer(cell, input_size, hidden_size, **cell_kwargs)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class SequenceClassifier(nn.Module):
    """A recurrent layer and a linear head giving class scores (logits).

    With ``steps=None`` the head reads the last hidden state: ``(N, T, D) -> (N, C)``.
    With ``steps=k`` it reads each of the last ``k`` steps: ``(N, T, D) -> (N, C, k)``,
    the layout ``torch.nn.CrossEntropyLoss`` expects for targets ``(N, k)`` (as in
    :func:`copy_task`).
    """

    def __init__(self, cell: str | type[nn.Module], input_size: int, hidden_size: int,
                 num_classes: int, *, steps: int | None = None, **cell_kwargs: Any) -> None:
        super().__init__()
        self.rnn = _make_layer(cell, input_size, hidden_size, **cell_kwargs)
        self.head = nn.Linear(hidden_size, num_classes)
        self.steps = None if steps is None else check_count("steps", steps)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        if self.steps is None:
            return self.head(out[:, -1])
        return self.head(out[:, -self.steps:]).transpose(1, 2)


def evaluate_adding(
    model: nn.Module, T: int, *, n_train: int = 1024, n_test: int = 512, seed: int = 0,
) -> tuple[float, float]:
    """``(test_mse, baseline_mse)`` of ``model`` on the test set of :func:`run_adding_experiment`.

    The test set is ``adding_problem(n_test, T, seed=seed + 10_000)``; the baseline
    predicts the mean target of the training set ``adding_problem(n_train, T, seed=seed)``.
    The model is put in evaluation mode; no gradients are computed.
    """
    _, y_tr = adding_problem(n_train, T, seed=seed, as_tensor=True)
    x_te, y_te = adding_problem(n_test, T, seed=seed + 10_000, as_tensor=True)
    model.eval()
    with torch.no_grad():
        test_mse = float(nn.functional.mse_loss(model(x_te), y_te))
    baseline = float(((y_te - y_tr.mean()) ** 2).mean())
    return test_mse, baseline


def run_adding_experiment(
    cell: str | type[nn.Module], T: int, *, hidden_size: int = 16, n_train: int = 1024,
    n_test: int = 512, batch_size: int = 32, epochs: int = 10, lr: float = 1e-2,
    clip_norm: float | None = 1.0, seed: int = 0, device: str | torch.device | None = None,
    **cell_kwargs: Any,
) -> dict[str, Any]:
    """Train a :class:`SequenceRegressor` on the adding problem; return its test error.

    Training and test sets are drawn with seeds ``seed`` and ``seed + 10_000``; the
    model is built after ``torch.manual_seed(seed)``; training uses
    :func:`rnncourse.models.train.fit` (Adam, ``lr``, gradient clipping ``clip_norm``, MSE) on
    ``device`` (None: the CPU unless ``$RNNCOURSE_DEVICE`` says otherwise). The model is then
    moved to the CPU, evaluated there, and returned there.

    Returns:
        ``dict(cell, T, test_mse, baseline_mse, train_loss, history, model)``:
        ``test_mse`` of the trained model, ``baseline_mse`` of predicting the mean of
        the training targets on the same test set, ``train_loss`` the last epoch's mean
        training loss, the :class:`rnncourse.models.train.History` and the model.
    """
    from rnncourse.models.train import fit

    x_tr, y_tr = adding_problem(n_train, T, seed=seed, as_tensor=True)
    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, hidden_size, **cell_kwargs)
    history = fit(model, nn.MSELoss(), make_batches(x_tr, y_tr, batch_size, seed=seed),
                  epochs=epochs, lr=lr, clip_norm=clip_norm, device=device, progress=False)
    model.cpu()  # evaluated, and returned, on the CPU
    test_mse, baseline = evaluate_adding(model, T, n_train=n_train, n_test=n_test, seed=seed)
    return dict(cell=cell if isinstance(cell, str) else cell.__name__, T=T,
                test_mse=test_mse, baseline_mse=baseline, train_loss=history.loss[-1],
                history=history, model=model)
