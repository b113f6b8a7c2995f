"""rnncourse.models.forecast: the sequence-to-vector forecaster of chapters 2 and 10.

Reference: the same computation written with torch.nn.RNN / torch.nn.LSTM and a linear
layer, on copied weights; least squares for what training must reach on a linear task.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.models.forecast import Forecaster, linear_forecast, predict, train_forecaster
from rnncourse.torch import LSTM, RNN


@pytest.mark.parametrize(("ours", "ref", "horizon"), [(RNN, torch.nn.RNN, 1),
                                                      (LSTM, torch.nn.LSTM, 3)])
def test_forward_equals_torch_nn_on_the_same_weights(ours, ref, horizon):
    torch.manual_seed(0)
    model = Forecaster(ours, hidden_size=5, horizon=horizon)
    layer = ref(1, 5, batch_first=True)
    layer.load_state_dict(model.rnn.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 7))
    out, _ = layer(torch.tensor(x, dtype=torch.float32).unsqueeze(-1))
    expected = model.head(out[:, -1]).detach().double().numpy()
    got = predict(model, x)
    assert got.shape == ((4,) if horizon == 1 else (4, horizon))
    np.testing.assert_allclose(got, expected.squeeze(-1) if horizon == 1 else expected,
                               rtol=1e-5, atol=1e-6)


def test_training_is_seeded_and_learns_a_linear_rule():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 6))
    y = 0.5 * x[:, -1] - 0.25 * x[:, -2]             # a rule an RNN can represent
    kwargs = dict(epochs=15, lr=0.02, seed=3, batch_size=32, hidden_size=8, device="cpu")
    a, history = train_forecaster(RNN, x, y, **kwargs)
    b, _ = train_forecaster(RNN, x, y, **kwargs)
    np.testing.assert_array_equal(predict(a, x), predict(b, x))
    assert not a.training
    mse = np.mean((predict(a, x) - y) ** 2)
    assert history.loss[-1] < history.loss[0] / 5
    assert mse < 0.1 * np.var(y)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"x must be \(N, T\) series, got shape \(3,\)"):
        predict(Forecaster(RNN, 2), np.zeros(3))


def test_linear_forecast_recovers_an_exact_linear_rule():
    # Futures that are exact linear functions of the past (hand-chosen weights and offsets):
    # least squares must reproduce them on new series, one rule per horizon.
    rng = np.random.default_rng(2)
    x_train, x_test = rng.standard_normal((40, 5)), rng.standard_normal((7, 5))
    W = np.array([[0.5, 0.0], [-1.0, 2.0], [0.0, 0.0], [0.25, -0.5], [1.0, 1.0]])
    b = np.array([0.1, -3.0])
    np.testing.assert_allclose(linear_forecast(x_train, x_train @ W + b, x_test),
                               x_test @ W + b, atol=1e-10)
    np.testing.assert_allclose(linear_forecast(x_train, x_train @ W[:, 0], x_test),
                               x_test @ W[:, 0], atol=1e-10)
    with pytest.raises(ValueError, match="y_train has 3 rows, x_train 40"):
        linear_forecast(x_train, np.zeros(3), x_test)


def test_train_model_trains_a_forecaster_exactly_as_train_forecaster_does():
    from rnncourse.models.forecast import train_model
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((64, 5)), rng.standard_normal(64)
    kwargs = dict(epochs=2, lr=0.01, seed=4, batch_size=16, device="cpu")
    a, ha = train_forecaster(RNN, x, y, hidden_size=6, **kwargs)
    b, hb = train_model(lambda: Forecaster(RNN, 6, 1), x, y, **kwargs)
    assert ha.loss == hb.loss
    np.testing.assert_array_equal(predict(a, x), predict(b, x))


def test_recursive_forecast_continues_a_sine_exactly():
    # A pure sine obeys x_t = 2 cos(w) x_{t-1} - x_{t-2}: a one-step rule that, fed its own
    # outputs, must continue the sine; the reference is the closed form sin(w t + phi).
    from rnncourse.models.forecast import recursive_forecast
    w, phi = 0.3, np.array([0.0, 1.0, 2.5])
    t = np.arange(40)
    x = np.sin(w * t + phi[:, None])
    rule = lambda window: 2 * np.cos(w) * window[:, -1] - window[:, -2]   # noqa: E731
    got = recursive_forecast(rule, x, 25)
    np.testing.assert_allclose(got, np.sin(w * np.arange(40, 65) + phi[:, None]), atol=1e-12)


def test_recursive_forecast_slides_a_window_of_fixed_length():
    from rnncourse.models.forecast import recursive_forecast
    seen = []

    def step(window):
        seen.append(window.copy())
        return window.sum(axis=1)

    x = np.array([[1.0, 2.0, 3.0]])
    out = recursive_forecast(step, x, 3)
    # by hand: 1+2+3 = 6; 2+3+6 = 11; 3+6+11 = 20
    np.testing.assert_array_equal(out, [[6.0, 11.0, 20.0]])
    assert [w.tolist() for w in seen] == [[[1, 2, 3]], [[2, 3, 6]], [[3, 6, 11]]]
    with pytest.raises(ValueError, match="steps"):
        recursive_forecast(step, x, 0)
