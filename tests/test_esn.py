"""The echo-state network of chapter 11 (rnncourse.models.esn, rnncourse.data.recall).

References: torch.nn.RNN (tanh, no bias) for the reservoir's states, numpy.linalg.lstsq
for the read-out, hand-computed R^2, the definition of the delayed targets.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.data.recall import delayed_recall
from rnncourse.models.esn import (
    fit_readout,
    make_reservoir,
    r_squared,
    readout,
    recall_experiment,
    reservoir_states,
)


def test_delayed_targets() -> None:
    u, y = delayed_recall(50, [0, 1, 7], seed=3)
    assert u.shape == (50, 1) and y.shape == (50, 3)
    np.testing.assert_array_equal(y[:, 0], u[:, 0])
    np.testing.assert_array_equal(y[1:, 1], u[:-1, 0])
    np.testing.assert_array_equal(y[7:, 2], u[:-7, 0])
    assert np.all(np.abs(u) <= 0.5)
    u2, _ = delayed_recall(50, [0, 1, 7], seed=3)
    np.testing.assert_array_equal(u, u2)
    with pytest.raises(ValueError, match="delays must be"):
        delayed_recall(5, [-1], seed=0)


def test_reservoir_against_torch_rnn() -> None:
    res = make_reservoir(2, 6, spectral_radius=0.8, seed=1)
    eig = np.linalg.eigvals(res.W.astype(np.complex128))
    assert abs(np.max(np.abs(eig)) - 0.8) < 1e-12
    u = np.random.default_rng(0).standard_normal((20, 2))
    rnn = torch.nn.RNN(2, 6, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(res.W_in.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(res.W.T))
        ref, _ = rnn(torch.from_numpy(u)[None])
    np.testing.assert_allclose(reservoir_states(res, u), ref[0].numpy(), atol=1e-12)


def test_readout_is_least_squares() -> None:
    rng = np.random.default_rng(2)
    s, y = rng.standard_normal((40, 5)), rng.standard_normal((40, 2))
    W = fit_readout(s, y, ridge=0.0)
    ref, *_ = np.linalg.lstsq(np.c_[s, np.ones(40)], y, rcond=None)
    np.testing.assert_allclose(W, ref, atol=1e-10)
    np.testing.assert_allclose(readout(s, W), np.c_[s, np.ones(40)] @ ref, atol=1e-10)


def test_r_squared_by_hand() -> None:
    y = np.array([[1.0], [2.0], [3.0]])           # mean 2, SS_tot = 2
    assert r_squared(y, y)[0] == 1.0
    assert r_squared(y, np.full((3, 1), 2.0))[0] == 0.0
    assert r_squared(y, np.array([[1.0], [2.0], [4.0]]))[0] == pytest.approx(1 - 1 / 2)


def test_recall_needs_the_reservoir() -> None:
    r = recall_experiment([0, 1, 5, 60], seed=0, T_train=600, T_test=300)
    assert r["esn"][0] > 0.99 and r["input_only"][0] > 0.99   # delay 0: the input itself
    assert r["esn"][2] > 0.9                                    # 5 steps back: remembered
    assert np.all(r["input_only"][1:] < 0.1)                   # white noise: no memory, no recall
    assert r["esn"][3] < 0.3                                    # 60 steps: faded away
