"""The element-wise activations against torch and hand-derived values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import torch_or_skip

from rnncourse.numpy.activations import activation_grad, relu, sigmoid

torch = torch_or_skip()


def test_sigmoid_matches_torch_over_a_wide_range():
    a = np.linspace(-50, 50, 20001)
    ref = torch.sigmoid(torch.from_numpy(a)).numpy()
    assert np.max(np.abs(sigmoid(a) - ref)) <= 1e-15


def test_sigmoid_is_stable_at_extremes():
    a = np.array([-1e6, -1000.0, -40.0, 0.0, 40.0, 1000.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        s = sigmoid(a)
    assert s[3] == 0.5
    assert np.all(s[:3] >= 0) and np.all(s[:3] < 1e-17)
    assert np.all(s[-3:] == 1.0)


def test_sigmoid_float32_and_in_place():
    a = np.array([-3.0, 0.0, 2.0], dtype=np.float32)
    expected = 1 / (1 + np.exp(-a.astype(np.float64)))
    s = sigmoid(a)
    assert s.dtype == np.float32 and np.allclose(s, expected, atol=1e-7)
    b = a.copy()
    out = sigmoid(b, out=b)
    assert out is b and np.allclose(b, expected, atol=1e-7)


@pytest.mark.parametrize("name, f, df", [
    ("tanh", np.tanh, lambda a: 1 / np.cosh(a) ** 2),
    ("relu", relu, lambda a: (a > 0).astype(float)),
])
def test_activation_grad_from_output(name, f, df):
    a = np.array([-2.0, -0.5, 0.3, 1.7])
    np.testing.assert_allclose(activation_grad(name, f(a)), df(a), rtol=1e-12)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        activation_grad("sigmoid", a)
