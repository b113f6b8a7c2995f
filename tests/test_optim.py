"""Gradient clipping and the optimisers against torch.nn.utils and torch.optim."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.optim import SGD, Adagrad, Adam, clip_grad_norm, clip_grad_value

torch = torch_or_skip()

SHAPES = {"Wx": (3, 4), "Wh": (4, 4), "b": (4,)}


def make_grads(rng, shapes=SHAPES, scale=1.0):
    return {k: scale * rng.standard_normal(s) for k, s in shapes.items()}


def torch_params_with_grads(grads):
    ps = []
    for g in grads.values():
        p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.from_numpy(g.copy())
        ps.append(p)
    return ps


# --------------------------------------------------------------------------- clipping


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_grad_norm_matches_torch(rng, max_norm):
    grads = make_grads(rng)
    ps = torch_params_with_grads(grads)
    total_t = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    before = {k: g.copy() for k, g in grads.items()}
    clipped, total = clip_grad_norm(grads, max_norm)
    assert isinstance(total, float)
    assert abs(total - total_t.item()) <= 1e-10
    for (k, g), p in zip(clipped.items(), ps, strict=True):
        assert g.shape == SHAPES[k]
        assert np.max(np.abs(g - p.grad.numpy())) <= 1e-10
        np.testing.assert_array_equal(grads[k], before[k])  # the inputs are not modified
        assert not np.shares_memory(g, grads[k])


def test_clip_grad_norm_at_the_threshold_matches_torch(rng):
    """max_norm equal to the norm: torch still scales by max_norm / (norm + 1e-6) < 1."""
    grads = make_grads(rng)
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    ps = torch_params_with_grads(grads)
    torch.nn.utils.clip_grad_norm_(ps, norm)
    clipped, _ = clip_grad_norm(grads, norm)
    for g, p in zip(clipped.values(), ps, strict=True):
        assert np.max(np.abs(g - p.grad.numpy())) <= 1e-15
    assert not np.array_equal(clipped["b"], grads["b"])


def test_clip_grad_norm_by_hand():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}  # global norm 5
    clipped, total = clip_grad_norm(grads, 1.0)
    assert total == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(clipped["a"], [3 * coef, 0.0], rtol=1e-15)
    np.testing.assert_allclose(clipped["b"], [[4 * coef]], rtol=1e-15)
    same, total = clip_grad_norm(grads, 10.0)  # below max_norm: unchanged
    assert total == 5.0
    np.testing.assert_array_equal(same["a"], grads["a"])
    assert clip_grad_norm({}, 1.0) == ({}, 0.0)


def test_clip_grad_norm_keeps_float32(rng):
    grads = {k: g.astype(np.float32) for k, g in make_grads(rng, scale=10).items()}
    clipped, total = clip_grad_norm(grads, 1.0)
    assert all(g.dtype == np.float32 for g in clipped.values())
    new_norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in clipped.values()))
    assert abs(new_norm - 1.0) < 1e-5


def test_clip_grad_norm_rejects_non_finite(rng):
    grads = make_grads(rng)
    grads["Wh"][1, 2] = np.nan
    with pytest.raises(ValueError, match=r"clip_grad_norm: grads\['Wh'\]: contains 1 NaN"):
        clip_grad_norm(grads, 1.0)
    grads["Wh"][1, 2] = -np.inf
    with pytest.raises(ValueError, match=r"grads\['Wh'\]: contains 0 NaN and 1 infinite"):
        clip_grad_norm(grads, 1.0)
    with pytest.raises(ValueError, match=r"the total norm of the gradients is inf \(overflow\)"):
        clip_grad_norm({"a": np.array([1e200, 1e200])}, 1.0)


@pytest.mark.parametrize("clip_value", [0.3, 5.0])
def test_clip_grad_value_matches_torch(rng, clip_value):
    grads = make_grads(rng, scale=2.0)
    ps = torch_params_with_grads(grads)
    torch.nn.utils.clip_grad_value_(ps, clip_value)
    before = {k: g.copy() for k, g in grads.items()}
    clipped = clip_grad_value(grads, clip_value)
    for (k, g), p in zip(clipped.items(), ps, strict=True):
        assert np.max(np.abs(g - p.grad.numpy())) <= 1e-10
        np.testing.assert_array_equal(grads[k], before[k])


def test_clip_grad_value_by_hand():
    out = clip_grad_value({"g": np.array([-3.0, -0.5, 0.0, 0.75, 9.0], dtype=np.float32)}, 1.0)
    np.testing.assert_array_equal(out["g"], [-1.0, -0.5, 0.0, 0.75, 1.0])
    assert out["g"].dtype == np.float32


def test_clipping_bad_arguments(rng):
    grads = make_grads(rng)
    for f, name in ((clip_grad_norm, "max_norm"), (clip_grad_value, "clip_value")):
        with pytest.raises(ValueError, match=rf"{f.__name__}: {name} must be finite and > 0, "
                                             r"got -1.0"):
            f(grads, -1.0)
        with pytest.raises(ValueError, match=rf"{name} must be finite and > 0, got nan"):
            f(grads, float("nan"))
        with pytest.raises(TypeError, match=rf"{name} must be a number, got str"):
            f(grads, "1")
        with pytest.raises(TypeError, match=r"grads must be a dict of arrays, got list"):
            f(list(grads.values()), 1.0)
        with pytest.raises(TypeError, match=r"grads\['x'\]: expected a float64 or float32 "
                                            r"array, got booleans"):
            f({"x": np.array([True])}, 1.0)


# --------------------------------------------------------------------------- optimisers

CONFIGS = [
    ("SGD", dict(lr=0.1), dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1),
     dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    ("Adagrad", dict(), dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.5,
                     eps=1e-6),
     dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adam", dict(), dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]
OURS = {"SGD": SGD, "Adagrad": Adagrad, "Adam": Adam}


def run_both(rng, name, ours_kw, torch_kw, shapes, steps):
    """Run our optimiser and torch's on the same params and the same random gradients."""
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    tparams = [torch.from_numpy(p.copy()).requires_grad_() for p in params.values()]
    opt = OURS[name](**ours_kw)
    topt = getattr(torch.optim, name)(tparams, **torch_kw)
    for _ in range(steps):
        grads = {k: rng.standard_normal(s) for k, s in shapes.items()}
        for tp, g in zip(tparams, grads.values(), strict=True):
            tp.grad = torch.from_numpy(g.copy())
        topt.step()
        opt.step(params, grads)
        for p, tp in zip(params.values(), tparams, strict=True):
            assert np.max(np.abs(p - tp.detach().numpy())) <= 1e-10


@pytest.mark.parametrize(("name", "ours_kw", "torch_kw"), CONFIGS)
def test_optimiser_matches_torch_over_steps(rng, name, ours_kw, torch_kw):
    run_both(rng, name, ours_kw, torch_kw, SHAPES, steps=8)


@given(name=st.sampled_from(["SGD", "Adagrad", "Adam"]), D=st.integers(1, 4),
       H=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_optimiser_property_random_shapes_match_torch(name, D, H, seed):
    rng = np.random.default_rng(seed)
    kw = dict(SGD=dict(lr=0.1, momentum=0.9), Adagrad=dict(lr=0.1), Adam=dict(lr=0.01))[name]
    run_both(rng, name, kw, kw, {"Wx": (D, H), "Wh": (H, H), "b": (H,)}, steps=5)


def test_first_steps_by_hand():
    g = {"w": np.array([2.0, -0.5])}
    p = {"w": np.array([1.0, 1.0])}
    SGD(lr=0.1).step(p, g)
    np.testing.assert_allclose(p["w"], [0.8, 1.05], rtol=1e-15)
    # Adam's first step (and Adagrad's): g / sqrt(g^2) = sign(g), so each coordinate moves
    # by about lr against the sign of its gradient, whatever the gradient's size.
    for opt in (Adam(lr=0.01), Adagrad(lr=0.01)):
        p = {"w": np.array([1.0, 1.0])}
        opt.step(p, g)
        np.testing.assert_allclose(p["w"], [0.99, 1.01], rtol=1e-8)
    # SGD with momentum 0.5: v = g, then v = 0.5 g + g = 1.5 g.
    p = {"w": np.zeros(2)}
    opt = SGD(lr=1.0, momentum=0.5)
    opt.step(p, g)
    opt.step(p, g)
    np.testing.assert_allclose(p["w"], -2.5 * g["w"], rtol=1e-15)


@pytest.mark.parametrize("opt", [SGD(lr=0.1, momentum=0.9), Adagrad(), Adam()])
def test_step_updates_in_place_and_keeps_float32(rng, opt):
    W = rng.standard_normal((3, 2)).astype(np.float32)
    view = W[0]  # a view held elsewhere (e.g. by a model) sees the update
    before = W.copy()
    params = {"W": W}
    opt.step(params, {"W": np.ones((3, 2), np.float32)})
    opt.step(params, {"W": np.ones((3, 2))})  # a float64 grad is cast to the param's dtype
    assert params["W"] is W and W.dtype == np.float32
    assert np.all(W < before)
    np.testing.assert_array_equal(view, W[0])
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values()
               if isinstance(v, np.ndarray))


def test_state_is_kept_per_optimiser_and_per_parameter(rng):
    """Two Adam objects do not share state; each parameter has its own step count."""
    a, b = Adam(lr=0.1), Adam(lr=0.1)
    pa, pb = {"w": np.zeros(2)}, {"w": np.zeros(2)}
    g = {"w": np.array([1.0, -1.0])}
    a.step(pa, g)
    a.step(pa, g)
    b.step(pb, g)
    assert a.state["w"]["t"] == 2 and b.state["w"]["t"] == 1
    a.step({"w": pa["w"], "new": np.zeros(3)}, {"w": g["w"], "new": np.ones(3)})
    assert a.state["w"]["t"] == 3 and a.state["new"]["t"] == 1


@pytest.mark.parametrize("cls", [SGD, Adagrad, Adam])
def test_optimiser_bad_step_inputs(rng, cls):
    opt = cls(lr=0.1, momentum=0.9) if cls is SGD else cls(lr=0.1)
    name = cls.__name__
    params = {"W": rng.standard_normal((2, 3)), "b": np.zeros(3)}
    grads = {"W": np.ones((2, 3)), "b": np.ones(3)}
    with pytest.raises(ValueError, match=rf"{name}.step: no gradient for parameter\(s\) \['b'\]"):
        opt.step(params, {"W": grads["W"]})
    with pytest.raises(ValueError, match=r"gradient\(s\) \['c'\] have no parameter of that name"):
        opt.step(params, {**grads, "c": np.ones(1)})
    with pytest.raises(ValueError, match=r"grads\['W'\] must have the shape of params\['W'\], "
                                         r"\(2, 3\), got \(3, 2\)"):
        opt.step(params, {"W": np.ones((3, 2)), "b": grads["b"]})
    with pytest.raises(TypeError, match=r"params\['b'\] must be a float64 or float32 numpy "
                                        r"array \(it is updated in place\), got a list"):
        opt.step({"W": params["W"], "b": [0.0, 0.0, 0.0]}, grads)
    with pytest.raises(TypeError, match=r"params\['b'\] must be .* got a ndarray of int64"):
        opt.step({"W": params["W"], "b": np.zeros(3, dtype=np.int64)}, grads)
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\['b'\] is read-only"):
        opt.step({"W": params["W"], "b": ro}, grads)
    with pytest.raises(ValueError, match=r"grads\['b'\]: contains 1 NaN"):
        opt.step(params, {"W": grads["W"], "b": np.array([0.0, np.nan, 0.0])})
    with pytest.raises(TypeError, match=r"params must be a dict of arrays, got list"):
        opt.step([params["W"]], grads)
    before = {k: p.copy() for k, p in params.items()}
    opt.step(params, grads)  # a good step after all the rejected ones: nothing was half-done
    assert not np.array_equal(params["W"], before["W"])
    with pytest.raises(ValueError, match=r"params\['b'\] has shape \(4,\), but the optimiser's "
                                         r"state for it has shape \(3,\)"):
        opt.step({"W": params["W"], "b": np.zeros(4)}, {"W": grads["W"], "b": np.ones(4)})


def test_rejected_steps_leave_params_untouched(rng):
    params = {"W": rng.standard_normal((2, 2)), "b": np.zeros(2)}
    before = {k: p.copy() for k, p in params.items()}
    opt = Adam()
    with pytest.raises(ValueError):
        opt.step(params, {"W": np.ones((2, 2)), "b": np.ones(3)})  # b is checked after W
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    assert opt.state == {}


@pytest.mark.parametrize(("make", "match"), [
    (lambda: SGD(lr=0.0), r"SGD: lr must be finite and > 0, got 0.0"),
    (lambda: SGD(lr=-0.1), r"SGD: lr must be finite and > 0, got -0.1"),
    (lambda: SGD(lr=0.1, momentum=-0.5), r"SGD: momentum must be finite and >= 0, got -0.5"),
    (lambda: SGD(lr=0.1, nesterov=True), r"Nesterov momentum needs momentum > 0 and dampening"),
    (lambda: SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), r"dampening = 0"),
    (lambda: Adagrad(lr=0.0), r"Adagrad: lr must be finite and > 0, got 0.0"),
    (lambda: Adagrad(eps=-1.0), r"Adagrad: eps must be finite and >= 0"),
    (lambda: Adagrad(lr_decay=-1.0), r"Adagrad: lr_decay must be finite and >= 0"),
    (lambda: Adam(lr=-1e-3), r"Adam: lr must be finite and > 0, got -0.001"),
    (lambda: Adam(lr=float("inf")), r"Adam: lr must be finite and > 0, got inf"),
    (lambda: Adam(betas=(0.9, 1.0)), r"Adam: betas must lie in \[0, 1\), got \(0.9, 1.0\)"),
    (lambda: Adam(betas=(-0.1, 0.9)), r"Adam: betas\[0\] must be finite and >= 0"),
    (lambda: Adam(weight_decay=-0.1), r"Adam: weight_decay must be finite and >= 0"),
])
def test_optimiser_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_optimiser_bad_hyperparameter_types():
    with pytest.raises(TypeError, match=r"SGD: lr must be a number, got NoneType"):
        SGD(lr=None)
    with pytest.raises(TypeError, match=r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"):
        Adam(betas=0.9)
