"""Sequence-to-vector forecasters of chapters 2, 10 and 12: the model, its training, its forecasts.

A :class:`Forecaster` reads the past of a univariate series, ``(N, T, 1)``, with one recurrent
layer and maps the last hidden state to the next ``horizon`` values with a linear layer.
:func:`train_forecaster` trains one the way the chapters do (Adam on the MSE, mini-batches in
a seeded shuffle, :func:`rnncourse.models.train.fit`), so that the chapters and the multi-seed
scripts in ``scripts/`` run exactly the same experiment; :func:`train_model` trains any other
forecaster (chapter 12's convolutional ones) the same way. :func:`recursive_forecast` turns a
one-step forecaster into a multi-step one by feeding it its own predictions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from rnncourse.models.train import History, fit

__all__ = ["Forecaster", "linear_forecast", "predict", "recursive_forecast", "train_forecaster",
           "train_model"]


class Forecaster(nn.Module):
    """A recurrent layer, then a linear layer on its last state.

    Args:
        layer: the recurrent layer's class, e.g. ``rnncourse.torch.RNN`` or ``LSTM``
            (built as ``layer(input_size=1, hidden_size=H, batch_first=True)``).
        hidden_size: ``H``.
        horizon: how many future values to forecast at once.

    ``forward(x)``: ``x: (N, T, 1)`` -> ``(N,)`` for ``horizon=1``, else ``(N, horizon)``.
    """

    def __init__(self, layer: type[nn.Module], hidden_size: int = 32, horizon: int = 1) -> None:
        super().__init__()
        self.horizon = horizon
        self.rnn = layer(input_size=1, hidden_size=hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, horizon)

    def forward(self, x: Tensor) -> Tensor:
        output, _ = self.rnn(x)                          # (N, T, H)
        forecast = self.head(output[:, -1])              # (N, horizon)
        return forecast.squeeze(-1) if self.horizon == 1 else forecast


def _as_input(x: np.ndarray) -> Tensor:
    if x.ndim != 2:
        raise ValueError(f"x must be (N, T) series, got shape {x.shape}")
    return torch.tensor(x, dtype=torch.float32).unsqueeze(-1)       # (N, T, 1)


def train_forecaster(
    layer: type[nn.Module], x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float,
    seed: int = 0, batch_size: int = 128, hidden_size: int = 32,
    device: str | torch.device | None = None,
) -> tuple[Forecaster, History]:
    """Train a :class:`Forecaster` on ``x: (N, T)`` (the past) and ``y: (N,)`` or
    ``(N, horizon)`` (the future).

    ``seed`` seeds the initial weights, the shuffle of the mini-batches and :func:`fit`.
    The model is returned on the CPU, in evaluation mode.
    """
    horizon = 1 if y.ndim == 1 else y.shape[1]
    return train_model(lambda: Forecaster(layer, hidden_size, horizon), x, y, epochs=epochs,
                       lr=lr, seed=seed, batch_size=batch_size, device=device)


def train_model(
    make: Callable[[], nn.Module], x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float,
    seed: int = 0, batch_size: int = 128, device: str | torch.device | None = None,
) -> tuple[nn.Module, History]:
    """Train the model ``make()`` builds (any forecaster ``(N, T, 1) -> (N,)`` or
    ``(N, horizon)``, e.g. :class:`rnncourse.models.tcn.TCNForecaster`) exactly as
    :func:`train_forecaster` trains a :class:`Forecaster`: Adam on the MSE, mini-batches of
    ``batch_size`` in a fresh seeded shuffle every epoch.

    ``seed`` seeds the initial weights (``make`` is called after ``torch.manual_seed(seed)``),
    the shuffle and :func:`fit`. The model is returned on the CPU, in evaluation mode.
    """
    xt, yt = _as_input(x), torch.tensor(y, dtype=torch.float32)
    shuffle = torch.Generator().manual_seed(seed)

    def batches() -> list[tuple[Tensor, Tensor]]:       # a fresh shuffle every epoch
        order = torch.randperm(len(yt), generator=shuffle)
        return [(xt[i], yt[i]) for i in order.split(batch_size)]

    torch.manual_seed(seed)
    model = make()
    history = fit(model, nn.MSELoss(), batches, epochs=epochs, lr=lr, device=device,
                  progress=False, seed=seed)
    return model.cpu().eval(), history


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The model's forecasts for ``x: (N, T)``, as float64 NumPy (computed on the CPU)."""
    with torch.no_grad():
        return model.cpu().eval()(_as_input(x)).double().numpy()


def linear_forecast(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """The least-squares baseline: ``y = x w + w_0`` fitted on the training series.

    ``x: (N, T)`` past values, ``y: (N,)`` or ``(N, horizon)`` (then one set of weights per
    horizon). Returns the forecasts for ``x_test``, shaped like ``y`` per row.
    """
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x.ndim != 2:
            raise ValueError(f"{name} must be (N, T) series, got shape {x.shape}")
    if len(y_train) != len(x_train):
        raise ValueError(f"y_train has {len(y_train)} rows, x_train {len(x_train)}")
    w, *_ = np.linalg.lstsq(np.c_[x_train, np.ones(len(x_train))], y_train, rcond=None)
    return np.c_[x_test, np.ones(len(x_test))] @ w


def recursive_forecast(step: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                       steps: int) -> np.ndarray:
    """Forecast ``steps`` values by feeding a one-step forecaster its own predictions.

    ``step`` maps a window ``(N, T)`` to the next value ``(N,)`` (e.g.
    ``lambda w: predict(model, w)``). The window slides: for ``k = 1, ..., steps``,
    ``hat x_{T+k} = step([x_k, ..., x_T, hat x_{T+1}, ..., hat x_{T+k-1}])``, the oldest value
    dropped as each forecast is appended, so ``step`` always reads ``T`` values as in
    training. Returns ``(N, steps)``.
    """
    if x.ndim != 2:
        raise ValueError(f"x must be (N, T) series, got shape {x.shape}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    window, out = np.array(x, dtype=np.float64), []
    for _ in range(steps):
        nxt = np.asarray(step(window), dtype=np.float64).reshape(len(window))
        out.append(nxt)
        window = np.concatenate([window[:, 1:], nxt[:, None]], axis=1)
    return np.stack(out, axis=1)
