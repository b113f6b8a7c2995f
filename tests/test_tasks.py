"""Tests of rnncourse.data.tasks (synthetic long-dependency tasks) and rnncourse.models.sequence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.data.tasks import BASELINE_MSE, adding_problem, copy_task, make_batches
from rnncourse.models.sequence import (
    SequenceClassifier,
    SequenceRegressor,
    evaluate_adding,
    run_adding_experiment,
)


def test_adding_problem_shapes_and_target():
    x, y = adding_problem(200, 12, seed=3)
    assert x.shape == (200, 12, 2) and y.shape == (200, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    markers = x[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :6].sum(axis=1) == 1) and np.all(markers[:, 6:].sum(axis=1) == 1)
    # the target, recomputed by hand with a loop
    for n in range(5):
        idx = [t for t in range(12) if markers[n, t] == 1]
        assert y[n, 0] == pytest.approx(x[n, idx[0], 0] + x[n, idx[1], 0], abs=1e-6)
    assert np.all((x[..., 0] >= 0) & (x[..., 0] < 1))


def test_adding_problem_seeded_and_tensor():
    x1, y1 = adding_problem(10, 8, seed=5)
    x2, y2 = adding_problem(10, 8, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, adding_problem(10, 8, seed=6)[0])
    xt, yt = adding_problem(10, 8, seed=5, as_tensor=True)
    assert isinstance(xt, torch.Tensor) and xt.dtype == torch.float32
    np.testing.assert_array_equal(xt.numpy(), x1)


def test_baseline_is_variance_of_two_uniforms():
    _, y = adding_problem(100_000, 4, seed=0)
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert ((y - 1.0) ** 2).mean() == pytest.approx(BASELINE_MSE, rel=0.02)


@pytest.mark.parametrize("bad", [dict(n=0, T=5), dict(n=3, T=1), dict(n=2.5, T=5)])
def test_adding_problem_rejects_bad_sizes(bad):
    with pytest.raises(ValueError):
        adding_problem(bad["n"], bad["T"])


def test_copy_task_layout():
    x, y = copy_task(4, 3, n_symbols=5, length=2, seed=0)
    assert x.shape == (4, 2 * 2 + 3, 7) and y.shape == (4, 2)
    tokens = x.argmax(-1)
    np.testing.assert_array_equal(tokens[:, :2], y)
    assert np.all(tokens[:, 2:5] == 5) and np.all(tokens[:, 5] == 6) and np.all(tokens[:, 6] == 5)
    np.testing.assert_array_equal(x.sum(-1), 1)


def test_make_batches_covers_everything_and_reshuffles():
    x, y = torch.arange(10.0)[:, None, None], torch.arange(10.0)[:, None]
    batches = make_batches(x, y, 4, seed=0)
    first = [b[1].flatten().tolist() for b in batches()]
    second = [b[1].flatten().tolist() for b in batches()]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10)) and first != second
    again = make_batches(x, y, 4, seed=0)
    assert [b[1].flatten().tolist() for b in again()] == first


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole"])
def test_models_shapes(cell):
    torch.manual_seed(0)
    x = torch.randn(3, 7, 2)
    assert SequenceRegressor(cell, 2, 5)(x).shape == (3, 1)
    assert SequenceClassifier(cell, 2, 5, 4)(x).shape == (3, 4)
    assert SequenceClassifier(cell, 2, 5, 4, steps=3)(x).shape == (3, 4, 3)


def test_regressor_reads_last_step_like_torch_lstm():
    torch.manual_seed(0)
    model = SequenceRegressor(torch.nn.LSTM, 2, 4)
    x = torch.randn(3, 6, 2)
    out, _ = model.rnn(x)
    torch.testing.assert_close(model(x), model.head(out[:, -1]))
    with pytest.raises(ValueError):
        SequenceRegressor("transformer", 2, 4)


def test_forget_bias_passes_through():
    model = SequenceRegressor("lstm", 2, 3, forget_bias=1.0)
    np.testing.assert_allclose(model.rnn.bias_ih_l0[3:6].detach().numpy(), 1.0)


def test_run_adding_experiment_short_lstm_learns():
    torch.set_num_threads(1)
    r = run_adding_experiment("lstm", 6, hidden_size=8, n_train=512, n_test=128, epochs=15,
                              seed=0, forget_bias=1.0)
    assert set(r) >= {"test_mse", "baseline_mse", "train_loss", "history", "model"}
    assert r["history"].epochs == 15
    assert 0.1 < r["baseline_mse"] < 0.25
    assert r["test_mse"] < 0.5 * r["baseline_mse"]
    assert evaluate_adding(r["model"], 6, n_train=512, n_test=128, seed=0) == pytest.approx(
        (r["test_mse"], r["baseline_mse"]))


def test_run_adding_experiment_device_cpu_gives_the_auto_result_here():
    # "auto" picks the GPU when there is one; without one it must be the CPU run exactly.
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: 'auto' trains there, results differ from the CPU's")
    kw = dict(hidden_size=4, n_train=64, n_test=64, epochs=1, seed=3)
    auto = run_adding_experiment("gru", 6, **kw)
    cpu = run_adding_experiment("gru", 6, device="cpu", **kw)
    assert auto["history"].device == "cpu"
    assert auto["test_mse"] == cpu["test_mse"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_run_adding_experiment_trains_on_cuda_and_returns_a_cpu_model():
    res = run_adding_experiment("lstm", 6, hidden_size=4, n_train=64, n_test=64, epochs=1,
                                device="cuda")
    assert res["history"].device.startswith("cuda")
    assert all(p.device.type == "cpu" for p in res["model"].parameters())
    assert 0 <= res["test_mse"] < 10
