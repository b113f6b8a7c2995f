"""Truncated BPTT against torch.nn.RNN / GRU / LSTM run chunk by chunk with detached states."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.gru import gru_backward, gru_forward
from rnncourse.numpy.lstm import lstm_backward, lstm_forward
from rnncourse.numpy.rnn import rnn_backward, rnn_forward
from rnncourse.numpy.tbptt import Chunk, tbptt_chunks, truncated_bptt

torch = torch_or_skip()

# (kind, options) pairs that torch.nn can reproduce.
CASES = [("rnn", {}), ("rnn", {"nonlinearity": "relu"}), ("gru", {}), ("lstm", {})]
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def make(rng, kind, N, T, D, H, dtype=np.float64):
    """x, state0, params and targets Y for the squared-error loss."""
    G = GATES[kind]
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    params = dict(Wx=rng.standard_normal((D, G * H)) / np.sqrt(D),
                  Wh=rng.standard_normal((H, G * H)) / np.sqrt(H))
    if kind == "gru":
        params.update(bx=rng.standard_normal(G * H), bh=rng.standard_normal(G * H))
    else:
        params.update(b=rng.standard_normal(G * H))
    params = {k: v.astype(dtype) for k, v in params.items()}
    state0 = (h0, rng.standard_normal((N, H)).astype(dtype)) if kind == "lstm" else h0
    Y = rng.standard_normal((N, T, H)).astype(dtype)
    return x, state0, params, Y


def squared_error(Y):
    """loss_fn for the NumPy side: 0.5 * sum((h - Y)^2) over the chunk."""
    def loss_fn(h, start):
        err = h - Y[:, start:start + h.shape[1]]
        return 0.5 * float(np.sum(err * err)), err
    return loss_fn


def torch_module(kind, params, options):
    D, GH = params["Wx"].shape
    H = GH // GATES[kind]
    if kind == "rnn":
        m = torch.nn.RNN(D, H, batch_first=True, **options)
    elif kind == "gru":
        m = torch.nn.GRU(D, H, batch_first=True)
    else:
        m = torch.nn.LSTM(D, H, batch_first=True)
    m = m.double()
    bx = params.get("bx", params.get("b"))
    bh = params.get("bh", np.zeros_like(bx))  # rnn and lstm: one bias, the other is 0
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(params["Wx"].T.copy()))
        m.weight_hh_l0.copy_(torch.from_numpy(params["Wh"].T.copy()))
        m.bias_ih_l0.copy_(torch.from_numpy(bx))
        m.bias_hh_l0.copy_(torch.from_numpy(bh))
    return m


def torch_tbptt(kind, x, state0, params, Y, chunk, options):
    """The textbook recipe: run chunk by chunk, detach the state at every boundary."""
    m = torch_module(kind, params, options)
    if kind == "lstm":
        state = tuple(torch.from_numpy(s[None].copy()) for s in state0)
    else:
        state = torch.from_numpy(state0[None].copy())
    xt, Yt = torch.from_numpy(x), torch.from_numpy(Y)
    total = 0.0
    for start in range(0, x.shape[1], chunk):
        out, state = m(xt[:, start:start + chunk], state)
        loss = 0.5 * ((out - Yt[:, start:start + chunk]) ** 2).sum()
        loss.backward()  # .grad accumulates over the chunks
        total += loss.item()
        state = tuple(s.detach() for s in state) if kind == "lstm" else state.detach()
    grads = dict(Wx=m.weight_ih_l0.grad.numpy().T, Wh=m.weight_hh_l0.grad.numpy().T)
    if kind == "gru":
        grads.update(bx=m.bias_ih_l0.grad.numpy(), bh=m.bias_hh_l0.grad.numpy())
    else:
        grads.update(b=m.bias_ih_l0.grad.numpy())
    final = tuple(s[0].numpy() for s in state) if kind == "lstm" else state[0].numpy()
    return total, grads, final


def maxabs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def assert_states_close(a, b, tol):
    if isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            assert maxabs(u, v) <= tol
    else:
        assert maxabs(a, b) <= tol


def full_bptt(kind, x, state0, params, Y, options):
    """Loss, weight gradients and final state of *untruncated* BPTT, with the NumPy layers."""
    if kind == "rnn":
        h, cache = rnn_forward(x, state0, params["Wx"], params["Wh"], params["b"], **options)
        _, _, dWx, dWh, db = rnn_backward(h - Y, cache)
        return 0.5 * np.sum((h - Y) ** 2), dict(Wx=dWx, Wh=dWh, b=db), h[:, -1]
    if kind == "gru":
        h, cache = gru_forward(x, state0, *(params[k] for k in ("Wx", "Wh", "bx", "bh")),
                               **options)
        _, _, dWx, dWh, dbx, dbh = gru_backward(h - Y, cache)
        return (0.5 * np.sum((h - Y) ** 2), dict(Wx=dWx, Wh=dWh, bx=dbx, bh=dbh), h[:, -1])
    h, c_T, cache = lstm_forward(x, *state0, params["Wx"], params["Wh"], params["b"])
    _, _, _, dWx, dWh, db = lstm_backward(h - Y, cache)
    return 0.5 * np.sum((h - Y) ** 2), dict(Wx=dWx, Wh=dWh, b=db), (h[:, -1], c_T)


# --------------------------------------------------------------------------- against torch


@pytest.mark.parametrize("kind, options", CASES)
@pytest.mark.parametrize("chunk", [1, 3, 4])
def test_matches_torch_with_detached_states(rng, kind, options, chunk):
    x, state0, params, Y = make(rng, kind, 3, 10, 4, 5)
    loss, grads, state = truncated_bptt(kind, x, state0, params, squared_error(Y), chunk,
                                        **options)
    t_loss, t_grads, t_state = torch_tbptt(kind, x, state0, params, Y, chunk, options)
    assert abs(loss - t_loss) <= 1e-10
    assert grads.keys() == params.keys()
    for k in params:
        assert grads[k].shape == params[k].shape
        assert maxabs(grads[k], t_grads[k]) <= 1e-10
    assert_states_close(state, t_state, 1e-10)


@pytest.mark.parametrize("kind, options", CASES)
def test_truncation_changes_the_gradient_but_not_the_loss(rng, kind, options):
    """Not vacuous: cutting at every 3 steps gives another gradient, the same forward pass."""
    x, state0, params, Y = make(rng, kind, 2, 9, 3, 4)
    loss, grads, _ = truncated_bptt(kind, x, state0, params, squared_error(Y), 3, **options)
    full_loss, full_grads, _ = full_bptt(kind, x, state0, params, Y, options)
    assert abs(loss - full_loss) <= 1e-10
    assert maxabs(grads["Wh"], full_grads["Wh"]) > 1e-3


@given(
    case=st.sampled_from(CASES), N=st.integers(1, 3), T=st.integers(1, 6),
    D=st.integers(1, 3), H=st.integers(1, 3), chunk=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_random_shapes_match_torch(case, N, T, D, H, chunk, seed):
    kind, options = case
    x, state0, params, Y = make(np.random.default_rng(seed), kind, N, T, D, H)
    loss, grads, state = truncated_bptt(kind, x, state0, params, squared_error(Y), chunk,
                                        **options)
    t_loss, t_grads, t_state = torch_tbptt(kind, x, state0, params, Y, chunk, options)
    assert abs(loss - t_loss) <= 1e-10
    for k in params:
        assert maxabs(grads[k], t_grads[k]) <= 1e-10
    assert_states_close(state, t_state, 1e-10)


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("kind, options", [*CASES, ("gru", {"form": "cho"})])
@pytest.mark.parametrize("extra", [0, 5])
def test_one_chunk_is_full_bptt(rng, kind, options, extra):
    T = 7
    x, state0, params, Y = make(rng, kind, 2, T, 3, 4)
    loss, grads, state = truncated_bptt(kind, x, state0, params, squared_error(Y), T + extra,
                                        **options)
    full_loss, full_grads, full_state = full_bptt(kind, x, state0, params, Y, options)
    assert abs(loss - full_loss) <= 1e-12
    for k in params:
        assert maxabs(grads[k], full_grads[k]) <= 1e-12
    assert_states_close(state, full_state, 1e-12)


@pytest.mark.parametrize("kind, options", [*CASES, ("gru", {"form": "cho"})])
def test_final_state_is_the_full_forward_pass(rng, kind, options):
    x, state0, params, Y = make(rng, kind, 2, 8, 3, 4)
    _, _, full_state = full_bptt(kind, x, state0, params, Y, options)
    for chunk in range(1, 9):
        _, _, state = truncated_bptt(kind, x, state0, params, squared_error(Y), chunk,
                                     **options)
        assert_states_close(state, full_state, 1e-12)


def test_chunks_cover_the_sequence_in_order(rng):
    x, h0, params, Y = make(rng, "rnn", 2, 10, 3, 4)
    seen = []

    def loss_fn(h, start):
        seen.append((start, h.shape))
        assert not h.flags.writeable  # the backward pass still needs it
        return squared_error(Y)(h, start)

    steps = list(tbptt_chunks("rnn", x, h0, params, loss_fn, 4))
    assert all(isinstance(s, Chunk) for s in steps)
    assert [(s.start, s.stop) for s in steps] == [(0, 4), (4, 8), (8, 10)]
    assert seen == [(0, (2, 4, 4)), (4, (2, 4, 4)), (8, (2, 2, 4))]
    total, grads, state = truncated_bptt("rnn", x, h0, params, squared_error(Y), 4)
    assert abs(sum(s.loss for s in steps) - total) <= 1e-12
    assert maxabs(sum(s.grads["Wx"] for s in steps), grads["Wx"]) <= 1e-12
    assert maxabs(steps[-1].state, state) == 0


def test_params_are_read_anew_at_every_chunk(rng):
    """Change Wh in place after the first chunk: the second chunk must use the new Wh."""
    x, h0, params, Y = make(rng, "rnn", 2, 8, 3, 4)
    gen = tbptt_chunks("rnn", x, h0, params, squared_error(Y), 4)
    first = next(gen)
    params["Wh"] *= 0.5
    second = next(gen)
    m = torch_module("rnn", params, {})
    out, hn = m(torch.from_numpy(x[:, 4:]), torch.from_numpy(first.state[None].copy()))
    t_loss = 0.5 * ((out - torch.from_numpy(Y[:, 4:])) ** 2).sum()
    t_loss.backward()
    assert abs(second.loss - t_loss.item()) <= 1e-10
    assert maxabs(second.grads["Wh"], m.weight_hh_l0.grad.numpy().T) <= 1e-10
    assert maxabs(second.state, hn[0].detach().numpy()) <= 1e-10


def test_float32_in_float32_out(rng):
    for kind, _ in CASES:
        x, state0, params, Y = make(rng, kind, 2, 5, 3, 4, dtype=np.float32)
        loss, grads, state = truncated_bptt(kind, x, state0, params, squared_error(Y), 2)
        assert all(g.dtype == np.float32 for g in grads.values())
        states = state if isinstance(state, tuple) else (state,)
        assert all(s.dtype == np.float32 for s in states)


# --------------------------------------------------------------------------- training


def test_training_loop_with_in_place_updates_reduces_the_loss():
    """Teacher-student: learn to reproduce the hidden states of a fixed random RNN."""
    rng = np.random.default_rng(0)
    N, T, D, H = 4, 60, 2, 5
    x = rng.standard_normal((N, T, D))
    h0 = np.zeros((N, H))
    Y, _ = rnn_forward(x, h0, rng.standard_normal((D, H)), 0.8 * rng.standard_normal((H, H))
                       / np.sqrt(H), 0.5 * rng.standard_normal(H))
    params = dict(Wx=0.1 * rng.standard_normal((D, H)), Wh=0.1 * rng.standard_normal((H, H)),
                  b=np.zeros(H))
    loss_fn = squared_error(Y)
    before = truncated_bptt("rnn", x, h0, params, loss_fn, T)[0]
    for _epoch in range(30):
        for step in tbptt_chunks("rnn", x, h0, params, loss_fn, chunk=10):
            for name in params:
                params[name] -= 0.01 * step.grads[name]
    after = truncated_bptt("rnn", x, h0, params, loss_fn, T)[0]
    assert after < 0.01 * before  # about 340 -> 0.24


# --------------------------------------------------------------------------- bad inputs


def test_bad_chunk(rng):
    x, h0, params, Y = make(rng, "rnn", 2, 5, 3, 4)
    loss_fn = squared_error(Y)
    with pytest.raises(ValueError, match=r"truncated_bptt: chunk must be a positive number .* 0"):
        truncated_bptt("rnn", x, h0, params, loss_fn, 0)
    with pytest.raises(ValueError, match=r"tbptt_chunks: chunk must be a positive .* -3"):
        tbptt_chunks("rnn", x, h0, params, loss_fn, -3)  # raised at the call, not at next()
    with pytest.raises(TypeError, match=r"chunk must be an int \(time steps\), got float"):
        truncated_bptt("rnn", x, h0, params, loss_fn, 2.5)
    with pytest.raises(TypeError, match=r"chunk must be an int \(time steps\), got bool"):
        truncated_bptt("rnn", x, h0, params, loss_fn, True)


def test_bad_kind_params_options_and_state(rng):
    x, h0, params, Y = make(rng, "rnn", 2, 5, 3, 4)
    loss_fn = squared_error(Y)
    with pytest.raises(ValueError, match=r"kind must be 'rnn', 'lstm' or 'gru', got 'transformer'"):
        truncated_bptt("transformer", x, h0, params, loss_fn, 2)
    with pytest.raises(ValueError, match=r"kind='gru' must have the keys Wx, Wh, bx, bh; "
                                         r"missing \['bx', 'bh'\]; unexpected \['b'\]"):
        truncated_bptt("gru", x, h0, params, loss_fn, 2)
    with pytest.raises(TypeError, match=r"unexpected option\(s\) \['form'\] for kind='rnn' "
                                        r"\(it accepts: nonlinearity\)"):
        truncated_bptt("rnn", x, h0, params, loss_fn, 2, form="cho")
    with pytest.raises(TypeError, match=r"LSTM's state0 must be a pair \(h0, c0\), got ndarray"):
        truncated_bptt("lstm", x, h0, params, loss_fn, 2)
    with pytest.raises(TypeError, match=r"kind='rnn' carries one state h0: \(N, H\), got a tuple"):
        truncated_bptt("rnn", x, (h0, h0), params, loss_fn, 2)
    with pytest.raises(ValueError, match=r"x must be a 3-D array \(N, T, D\).* shape \(2, 3\)"):
        truncated_bptt("rnn", x[:, 0], h0, params, loss_fn, 2)
    with pytest.raises(TypeError, match=r"x: expected a float64 or float32 array, got strings"):
        truncated_bptt("rnn", np.full((2, 5, 3), "a"), h0, params, loss_fn, 2)


def test_errors_from_the_layers_and_the_loss_are_clear(rng):
    x, h0, params, Y = make(rng, "gru", 2, 5, 3, 4)
    bad = dict(params, Wh=np.zeros((4, 16)))
    with pytest.raises(ValueError, match=r"gru_forward: Wh must have shape \(H, 3H\)"):
        truncated_bptt("gru", x, h0, bad, squared_error(Y), 2)
    with pytest.raises(ValueError, match=r"gru_forward: h0 must have shape \(N, H\) = \(2, 4\)"):
        truncated_bptt("gru", x, h0[:1], params, squared_error(Y), 2)
    with pytest.raises(TypeError, match=r"loss_fn must return \(loss, dh_chunk\), got float"):
        truncated_bptt("gru", x, h0, params, lambda h, start: 1.0, 2)
    with pytest.raises(ValueError, match=r"gru_backward: dh must have shape \(2, 2, 4\)"):
        truncated_bptt("gru", x, h0, params, lambda h, start: (0.0, h[:, :1]), 2)
