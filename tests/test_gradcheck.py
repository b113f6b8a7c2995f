"""The gradient checker against hand-derived gradients and hand-computed errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import max_rel_error
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.gradcheck import gradcheck, numerical_gradient, rel_error

# --------------------------------------------------------------------------- numerical_gradient


def test_numerical_gradient_of_sin_with_upstream(rng):
    """d/dx sum(sin(x) * df) = cos(x) * df."""
    x = rng.standard_normal((3, 4))
    df = rng.standard_normal((3, 4))
    num = numerical_gradient(lambda: np.sin(x), x, df)
    assert num.shape == x.shape and num.dtype == np.float64
    assert max_rel_error(num, np.cos(x) * df) <= 1e-7


def test_numerical_gradient_of_a_quadratic_form(rng):
    """d/dx (x^T A x + b^T x) = (A + A^T) x + b, for a non-symmetric A."""
    A = rng.standard_normal((5, 5))
    b = rng.standard_normal(5)
    x = rng.standard_normal(5)
    num = numerical_gradient(lambda: float(x @ A @ x + b @ x), x)
    assert max_rel_error(num, (A + A.T) @ x + b) <= 1e-7


def test_numerical_gradient_of_a_matrix_product(rng):
    """d/dW sum((x W) * df) = x^T df, with W 2-D and not contiguous (a transposed view)."""
    x = rng.standard_normal((4, 3))
    W = rng.standard_normal((2, 3)).T  # (3, 2), Fortran-ordered
    df = rng.standard_normal((4, 2))
    num = numerical_gradient(lambda: x @ W, W, df)
    assert max_rel_error(num, x.T @ df) <= 1e-7


def test_numerical_gradient_restores_x_and_copies_the_outputs(rng):
    """x is restored bit for bit; f returning x itself (an alias) still gives the identity."""
    x = rng.standard_normal(6)
    before = x.copy()
    num = numerical_gradient(lambda: x, x, np.ones(6))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(num, np.ones(6), rtol=1e-9)


def test_numerical_gradient_of_a_scalar_input():
    x = np.array(1.5)
    assert numerical_gradient(lambda: x**3, x) == pytest.approx(3 * 1.5**2, rel=1e-9)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1))
def test_numerical_gradient_property_random_shapes(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    df = rng.standard_normal(shape)
    num = numerical_gradient(lambda: np.sin(x) + x**2, x, df)
    assert max_rel_error(num, (np.cos(x) + 2 * x) * df) <= 1e-7


def test_numerical_gradient_rejects_float32_and_non_floats():
    with pytest.raises(TypeError, match=r"x: gradient checks need float64 \(got float32\)"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match=r"x: expected a floating-point ndarray, got int64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match=r"x: expected a floating-point ndarray, got list"):
        numerical_gradient(lambda: 0.0, [0.0, 1.0])
    with pytest.raises(TypeError, match=r"Wh: gradient checks need float64"):
        gradcheck(lambda: 0.0, {"Wh": np.zeros(2, np.float32)}, {"Wh": np.zeros(2)})


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.ones(3)

    def f():
        if x[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    assert np.array_equal(x, np.ones(3))


def test_numerical_gradient_of_empty_array_is_empty():
    g = numerical_gradient(lambda: 0.0, np.zeros((0, 3)))
    assert g.shape == (0, 3)


# --------------------------------------------------------------------------- rel_error


def test_rel_error_by_hand():
    assert rel_error(np.array([1.0]), np.array([3.0])) == 0.5  # |1 - 3| / (1 + 3)
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    # The largest element-wise error wins: (0, 1/3) -> 1/3.
    assert rel_error(np.array([5.0, 1.0]), np.array([5.0, 2.0])) == pytest.approx(1 / 3, rel=1e-15)
    assert rel_error(np.array([-1.0]), np.array([1.0])) == 1.0  # opposite signs: the maximum
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0  # 0 / eps, no division by zero
    # Below eps the denominator is eps = 1e-12: tiny absolute differences count as small.
    assert rel_error(np.array([1e-13]), np.array([0.0])) == pytest.approx(0.1, rel=1e-12)
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_rel_error_is_symmetric_and_scale_free(rng):
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    assert rel_error(a, b) == rel_error(b, a)
    assert rel_error(1e6 * a, 1e6 * b) == pytest.approx(rel_error(a, b), rel=1e-12)


def test_rel_error_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"rel_error: shapes differ, \(2,\) vs \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


# --------------------------------------------------------------------------- gradcheck


def affine_problem(rng):
    """out = x W + b, whose gradients are known by hand."""
    x = rng.standard_normal((4, 3))
    W = rng.standard_normal((3, 2))
    b = rng.standard_normal(2)
    df = rng.standard_normal((4, 2))
    right = {"x": df @ W.T, "W": x.T @ df, "b": df.sum(axis=0)}
    return (lambda: x @ W + b), {"x": x, "W": W, "b": b}, df, right


def test_gradcheck_accepts_a_right_gradient(rng):
    f, inputs, df, right = affine_problem(rng)
    errors = gradcheck(f, inputs, right, df)
    assert set(errors) == {"x", "W", "b"}
    assert all(e <= 1e-7 for e in errors.values())


def test_gradcheck_detects_a_wrong_gradient(rng):
    f, inputs, df, right = affine_problem(rng)
    wrong = dict(right, x=-right["x"], W=1.1 * right["W"], b=right["b"] + 0.01)
    errors = gradcheck(f, inputs, wrong, df)
    assert errors["x"] == pytest.approx(1.0, rel=1e-6)  # a sign error: |g + g| / 2|g| = 1
    assert errors["W"] == pytest.approx(0.1 / 2.1, rel=1e-6)  # |1.1 g - g| / (2.1 |g|)
    assert errors["b"] > 1e-4


def test_gradcheck_on_a_scalar_loss(rng):
    """sum(tanh(x)^2): d/dx = 2 tanh(x) (1 - tanh(x)^2)."""
    x = rng.standard_normal((2, 3))
    t = np.tanh(x)
    errors = gradcheck(lambda: float(np.sum(np.tanh(x) ** 2)), {"x": x},
                       {"x": 2 * t * (1 - t**2)})
    assert errors["x"] <= 1e-7
    errors = gradcheck(lambda: float(np.sum(np.tanh(x) ** 2)), {"x": x}, {"x": 2 * t})
    assert errors["x"] > 1e-2  # forgot the tanh derivative


def test_gradcheck_bad_inputs(rng):
    f, inputs, df, right = affine_problem(rng)
    with pytest.raises(KeyError, match=r"no analytic gradient given for \['b'\]"):
        gradcheck(f, inputs, {"x": right["x"], "W": right["W"]}, df)
    with pytest.raises(ValueError, match=r"analytic gradient of W has shape \(2, 3\), "
                                         r"the input has shape \(3, 2\)"):
        gradcheck(f, inputs, dict(right, W=right["W"].T), df)
    x32 = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match=r"gradient checks need float64 \(got float32\)"):
        gradcheck(lambda: x32.sum(), {"x": x32}, {"x": np.ones(3)})
