"""Synthetic long-dependency tasks, and a small model to train on them (chapters 6-8).

**The adding problem** (Hochreiter & Schmidhuber, 1997). Each example is a sequence of
``T`` pairs ``(value_t, marker_t)``: the values are drawn from ``U(0, 1)``, the markers
are 0 except at two positions, one in the first half and one in the second half of the
sequence. The target is the sum of the two marked values::

    x: (N, T, 2)     x[n, t] = (value_t, marker_t)
    y: (N, 1)        y[n]    = sum over t of value_t * marker_t

To solve it, a network has to *store* the first marked value for up to ``T`` steps while
ignoring everything else. Predicting the mean, ``y = 1``, gives the **baseline** mean
squared error ``Var(u_1 + u_2) = 2/12 = 0.1667``: a model whose error stays there has
learned nothing about the markers.

**The copy (recall) task**: a few random symbols, then a stretch of blanks, then a "go"
symbol; the model must output the symbols it saw at the start (:func:`copy_task`).

Everything is seeded: each generator takes ``seed`` (an int or a
``numpy.random.Generator``) and returns ``float32`` NumPy arrays, or torch tensors with
``as_tensor=True``.

Models: :class:`SequenceRegressor` and :class:`SequenceClassifier` wrap any recurrent layer
of :mod:`rnncourse.torch` (``"rnn"``, ``"lstm"``, ``"gru"``, ``"peephole"``, or a class)
with a linear head on the **last** hidden state. :func:`run_adding_experiment` generates
the data, trains such a model with :func:`rnncourse.train.fit` and returns the test MSE
next to the baseline::

    from rnncourse.tasks import run_adding_experiment
    res = run_adding_experiment("lstm", T=30, seed=0)
    res["test_mse"], res["baseline_mse"]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnncourse._args import as_rng, check_count

__all__ = [
    "BASELINE_MSE", "CELLS", "adding_problem", "copy_task", "make_batches",
    "SequenceRegressor", "SequenceClassifier", "evaluate_adding", "run_adding_experiment",
]

#: Mean squared error of always predicting 1 on the adding problem: Var(u1 + u2) = 1/6.
BASELINE_MSE = 1.0 / 6.0

SeedLike = int | np.random.Generator


def _out(arrays: tuple[np.ndarray, ...], as_tensor: bool) -> tuple[Any, ...]:
    return tuple(torch.from_numpy(a) for a in arrays) if as_tensor else arrays


# --------------------------------------------------------------------------- the tasks


def adding_problem(
    n: int, T: int, *, seed: SeedLike = 0, as_tensor: bool = False,
) -> tuple[Any, Any]:
    """``n`` examples of the adding problem of length ``T``.

    Args:
        n: number of sequences.
        T: sequence length (>= 2). One marker lies in ``[0, T//2)``, the other in
            ``[T//2, T)``.
        seed: an int or a ``numpy.random.Generator``.
        as_tensor: return torch tensors instead of NumPy arrays.

    Returns:
        ``x: (n, T, 2)`` float32 (value, marker) and ``y: (n, 1)`` float32, the sum
        of the two marked values.
    """
    n, T = check_count("n", n), check_count("T", T, 2)
    g = as_rng(seed)
    values = g.uniform(0.0, 1.0, size=(n, T)).astype(np.float32)
    half = T // 2
    first = g.integers(0, half, size=n)
    second = g.integers(half, T, size=n)
    markers = np.zeros((n, T), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    return _out((x, y), as_tensor)


def copy_task(
    n: int, delay: int, *, n_symbols: int = 8, length: int = 5, seed: SeedLike = 0,
    as_tensor: bool = False,
) -> tuple[Any, Any]:
    """``n`` examples of the copy task: remember ``length`` symbols over ``delay`` blanks.

    Input alphabet (one-hot, size ``n_symbols + 2``): symbols ``0 .. n_symbols-1``,
    the blank ``n_symbols`` and the "go" marker ``n_symbols + 1``. A sequence is the
    ``length`` symbols, ``delay`` blanks, "go", then ``length - 1`` blanks, so that
    ``T = 2 * length + delay``.

    Returns:
        ``x: (n, T, n_symbols + 2)`` float32 one-hot inputs and ``y: (n, length)`` int64,
        the symbols to output during the last ``length`` steps (the step of "go" and
        the ``length - 1`` after it).
    """
    n, delay = check_count("n", n), check_count("delay", delay, 0)
    n_symbols, length = check_count("n_symbols", n_symbols), check_count("length", length)
    g = as_rng(seed)
    T = 2 * length + delay
    y = g.integers(0, n_symbols, size=(n, length))
    tokens = np.full((n, T), n_symbols, dtype=np.int64)
    tokens[:, :length] = y
    tokens[:, length + delay] = n_symbols + 1
    x = np.eye(n_symbols + 2, dtype=np.float32)[tokens]
    return _out((x, y.astype(np.int64)), as_tensor)


def make_batches(
    x: Any, y: Any, batch_size: int, *, seed: int = 0,
) -> Callable[[], Iterator[tuple[Tensor, Tensor]]]:
    """Mini-batches for :func:`rnncourse.train.fit`: a function returning one epoch.

    Each call shuffles with its own seeded generator (``seed``, then ``seed + 1``, ...),
    so that a training run repeats exactly.
    """
    x = torch.as_tensor(x)
    y = torch.as_tensor(y)
    batch_size = check_count("batch_size", batch_size)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    epoch = [seed]

    def batches() -> Iterator[tuple[Tensor, Tensor]]:
        g = torch.Generator().manual_seed(epoch[0])
        epoch[0] += 1
        order = torch.randperm(len(x), generator=g)
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]

    return batches


# --------------------------------------------------------------------------- the models


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


# --------------------------------------------------------------------------- the experiment


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
    :func:`rnncourse.train.fit` (Adam, ``lr``, gradient clipping ``clip_norm``, MSE) on
    ``device`` (None: the CPU unless ``$RNNCOURSE_DEVICE`` says otherwise). The model is then
    moved to the CPU, evaluated there, and returned there.

    Returns:
        ``dict(cell, T, test_mse, baseline_mse, train_loss, history, model)``:
        ``test_mse`` of the trained model, ``baseline_mse`` of predicting the mean of
        the training targets on the same test set, ``train_loss`` the last epoch's mean
        training loss, the :class:`rnncourse.train.History` and the model.
    """
    from rnncourse.train import fit

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
