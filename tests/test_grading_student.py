"""The check cells' helper: the grader's rules (no change in place, float64) in the notebook."""

from __future__ import annotations

import numpy as np
import pytest

from rnncourse.grading.student import DTYPE_POLICY, changed_inputs, check_call


def backward_in_place(dh, cache):
    dh[:, 0] += 1.0  # the caller's dh changes
    return dh.sum(), cache


def forward_in_place(x, prev_c, f):
    prev_c *= f  # a list-free, classic slip: the caller's prev_c changes
    return x + prev_c


def test_an_argument_changed_in_place_is_named_by_the_functions_own_parameter():
    dh = np.zeros((2, 3))
    with pytest.raises(AssertionError, match=r"^`backward_in_place` changes its argument `dh` "
                                             r"in place -- the caller's array is modified; work "
                                             r"on a copy instead \(e\.g\. `dh = dh\.copy\(\)`"):
        check_call(backward_in_place, dh, ())
    prev_c = np.ones(3)
    with pytest.raises(AssertionError, match=r"`forward_in_place` changes its argument `prev_c`"):
        check_call(forward_in_place, np.ones(3), prev_c, f=np.full(3, 0.5))
    assert np.array_equal(prev_c, np.full(3, 0.5))  # (the change really happened)


def test_arrays_inside_a_tuple_argument_are_watched_too():
    def step_backward(dout, cache):
        cache[0][...] = 0
        return dout

    x = np.ones(2)
    _, changed = changed_inputs(step_backward, np.ones(2), (x, np.ones(2)))
    assert changed == ["cache[0]"]


def test_a_float32_result_breaks_the_dtype_policy_and_float64_passes():
    with pytest.raises(AssertionError, match=r"`f32` returned output 2 as a float32 array: "
                       + DTYPE_POLICY.replace("(", r"\(").replace(")", r"\)")):
        check_call(lambda_named("f32", lambda x: (x, x.astype(np.float32))), np.ones(2))
    ints = check_call(lambda_named("ok", lambda x: (x * 2, np.arange(3))), np.ones(2))
    assert np.array_equal(ints[0], [2.0, 2.0])


def test_a_function_that_restores_its_input_passes():
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            plus = f()
            x[i] = old - h
            minus = f()
            x[i] = old
            grad[i] = (plus - minus) / (2 * h)
        return grad

    x = np.array([1.0, -2.0])
    np.testing.assert_allclose(check_call(numerical_gradient, lambda: np.sum(x**2), x), 2 * x,
                               atol=1e-8)


def lambda_named(name, fn):
    fn.__name__ = name
    return fn
