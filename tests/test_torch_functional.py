"""Tests of ``rnncourse.torch.functional``: one recurrent layer as a function.

References: ``torch.nn.RNN/LSTM/GRU`` with the same weights (also on packed
inputs), ``torch.autograd.gradcheck`` of the custom backward, and for the
peephole LSTM a per-step autograd transcription of Gers & Schmidhuber (2000)
written here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from rnncourse.torch.functional import (  # noqa: E402
    gru_layer,
    lstm_layer,
    peephole_lstm_layer,
    rnn_layer,
)

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-10, F32: 1e-5}
T, N, D, H = 5, 4, 3, 6
LENGTHS = [5, 5, 3, 1]  # decreasing, as pack_padded_sequence wants by default

KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def make_ref(kind: str, bias: bool, dtype: torch.dtype, seed: int = 0, d: int = D,
             h: int = H) -> torch.nn.Module:
    torch.manual_seed(seed)
    if kind.startswith("rnn"):
        m = torch.nn.RNN(d, h, nonlinearity=kind[4:], bias=bias)
    else:
        m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](d, h, bias=bias)
    return m.to(dtype)


def weights(m: torch.nn.Module, bias: bool) -> list:
    ws = [m.weight_ih_l0, m.weight_hh_l0]
    return ws + ([m.bias_ih_l0, m.bias_hh_l0] if bias else [None, None])


def inputs(dtype: torch.dtype, seed: int = 1, device: str = "cpu", t: int = T, n: int = N,
           d: int = D, h: int = H):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(t, n, d, generator=g, dtype=dtype).to(device).requires_grad_()
    h0 = torch.randn(n, h, generator=g, dtype=dtype).to(device).requires_grad_()
    c0 = torch.randn(n, h, generator=g, dtype=dtype).to(device).requires_grad_()
    return x, h0, c0


def call_ours(kind, x, h0, c0, ws, batch_sizes=None):
    """Our layer; returns ``out, h_n, c_n`` (``c_n`` None without a cell)."""
    if kind.startswith("rnn"):
        out, h = rnn_layer(x, h0, *ws, nonlinearity=kind[4:], batch_sizes=batch_sizes)
        return out, h, None
    if kind == "lstm":
        return lstm_layer(x, h0, c0, *ws, batch_sizes=batch_sizes)
    out, h = gru_layer(x, h0, *ws, batch_sizes=batch_sizes)
    return out, h, None


def call_ref(kind, m, x, h0, c0, lengths=None):
    """torch.nn, padded back if ``lengths`` packs the input."""
    inp = x if lengths is None else pack_padded_sequence(x, torch.tensor(lengths))
    state = (h0[None], c0[None]) if kind == "lstm" else h0[None]
    out, state = m(inp, state)
    if lengths is not None:
        out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    if kind == "lstm":
        return out, state[0][0], state[1][0]
    return out, state[0], None


def loss_of(out, h, c, seed: int = 2):
    """A scalar that weighs every output differently, so all gradients are exercised."""
    g = torch.Generator().manual_seed(seed)
    total = (out * torch.randn(out.shape, generator=g, dtype=out.dtype).to(out.device)).sum()
    total = total + (h * torch.randn(h.shape, generator=g, dtype=h.dtype).to(h.device)).sum()
    if c is not None:
        total = total + (c * torch.randn(c.shape, generator=g, dtype=c.dtype).to(c.device)).sum()
    return total


def grads(loss, tensors):
    return torch.autograd.grad(loss, [t for t in tensors if t is not None])


def assert_close(a, b, tol, what=""):
    assert a.shape == b.shape, (what, a.shape, b.shape)
    err = (a - b).abs().max().item() if a.numel() else 0.0
    assert err <= tol, f"{what}: max abs error {err:.3g} > {tol:g}"


def compare(kind, bias, dtype, lengths=None):
    m = make_ref(kind, bias, dtype)
    ws = weights(m, bias)
    x, h0, c0 = inputs(dtype)
    uses_c = kind == "lstm"
    wrt = [x, h0] + ([c0] if uses_c else []) + ws
    ref = call_ref(kind, m, x, h0, c0, lengths)
    batch_sizes = None
    if lengths is not None:
        batch_sizes = pack_padded_sequence(x, torch.tensor(lengths)).batch_sizes
    ours = call_ours(kind, x, h0, c0, ws, batch_sizes)
    tol = TOL[dtype]
    for name, a, b in zip(("out", "h_n", "c_n"), ours, ref, strict=True):
        if b is not None:
            assert_close(a, b, tol, name)
    g_ours = grads(loss_of(*ours), wrt)
    g_ref = grads(loss_of(*ref), wrt)
    names = ["x", "h0"] + (["c0"] if uses_c else []) + ["w_ih", "w_hh", "b_ih", "b_hh"]
    for name, a, b in zip(names, g_ours, g_ref, strict=False):
        assert_close(a, b, tol, "grad " + name)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", KINDS)
def test_matches_torch_nn(kind, bias, dtype):
    compare(kind, bias, dtype)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", KINDS)
def test_packed_matches_torch_nn(kind, bias, dtype):
    compare(kind, bias, dtype, lengths=LENGTHS)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_equal_lengths_matches_torch_nn(kind):
    compare(kind, True, F64, lengths=[T] * N)


@given(
    kind=st.sampled_from(KINDS), bias=st.booleans(), d=st.integers(1, 4), h=st.integers(1, 4),
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4), seed=st.integers(0, 2**16),
)
def test_random_lengths_match_torch_nn(kind, bias, d, h, lengths, seed):
    lengths = sorted(lengths, reverse=True)
    t, n = lengths[0], len(lengths)
    m = make_ref(kind, bias, F64, seed=seed, d=d, h=h)
    ws = weights(m, bias)
    x, h0, c0 = inputs(F64, seed=seed + 1, t=t, n=n, d=d, h=h)
    bs = pack_padded_sequence(x, torch.tensor(lengths)).batch_sizes
    ours = call_ours(kind, x, h0, c0, ws, bs)
    ref = call_ref(kind, m, x, h0, c0, lengths)
    for a, b in zip(ours, ref, strict=True):
        if b is not None:
            assert_close(a, b, 1e-10)
    wrt = [x, h0] + ([c0] if kind == "lstm" else []) + ws
    for a, b in zip(grads(loss_of(*ours), wrt), grads(loss_of(*ref), wrt), strict=False):
        assert_close(a, b, 1e-10, "grad")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", ["x", "w_hh", "w_ih", "b_hh"])
def test_only_some_inputs_require_grad(kind, which):
    """Each needs_input_grad branch of the custom backward, against torch.nn."""
    m = make_ref(kind, True, F64)
    for p in m.parameters():
        p.requires_grad_(False)
    x, h0, c0 = (a.detach() for a in inputs(F64))
    target = {"x": x, "w_hh": m.weight_hh_l0, "w_ih": m.weight_ih_l0, "b_hh": m.bias_hh_l0}[which]
    target.requires_grad_()
    (g_ours,) = grads(loss_of(*call_ours(kind, x, h0, c0, weights(m, True))), [target])
    (g_ref,) = grads(loss_of(*call_ref(kind, m, x, h0, c0)), [target])
    assert_close(g_ours, g_ref, 1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_non_contiguous_input(kind):
    """A batch-first tensor transposed to time-major, as a module would pass it."""
    m = make_ref(kind, True, F64)
    x, h0, c0 = inputs(F64)
    x_bf = x.detach().transpose(0, 1).contiguous().requires_grad_()
    ours = call_ours(kind, x_bf.transpose(0, 1), h0, c0, weights(m, True))
    ref = call_ref(kind, m, x_bf.transpose(0, 1), h0, c0)
    for a, b in zip(ours, ref, strict=True):
        if b is not None:
            assert_close(a, b, 1e-10)
    (g_ours,) = grads(loss_of(*ours), [x_bf])
    (g_ref,) = grads(loss_of(*ref), [x_bf])
    assert_close(g_ours, g_ref, 1e-10)


def test_packed_outputs_are_zero_past_each_length():
    m = make_ref("lstm", True, F64)
    x, h0, c0 = inputs(F64)
    bs = pack_padded_sequence(x, torch.tensor(LENGTHS)).batch_sizes
    out, _, _ = lstm_layer(x, h0, c0, *weights(m, True), batch_sizes=bs)
    for j, n in enumerate(LENGTHS):
        assert torch.all(out[n:, j] == 0)


# --------------------------------------------------------------------------- peephole


def naive_peephole(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep, lengths=None):
    """Gers & Schmidhuber (2000), one step and one sequence at a time, plain autograd."""
    p_i, p_f, p_o = w_peep
    W_i, W_f, W_g, W_o = w_ih.chunk(4)
    U_i, U_f, U_g, U_o = w_hh.chunk(4)
    b = (b_ih + b_hh).chunk(4) if b_ih is not None else [0.0] * 4
    outs, hs, cs = [], [], []
    for j in range(x.shape[1]):
        h, c = h0[j], c0[j]
        steps = x.shape[0] if lengths is None else lengths[j]
        seq = []
        for t in range(steps):
            xt = x[t, j]
            i = torch.sigmoid(W_i @ xt + U_i @ h + b[0] + p_i * c)
            f = torch.sigmoid(W_f @ xt + U_f @ h + b[1] + p_f * c)
            g = torch.tanh(W_g @ xt + U_g @ h + b[2])
            c = f * c + i * g
            o = torch.sigmoid(W_o @ xt + U_o @ h + b[3] + p_o * c)
            h = o * torch.tanh(c)
            seq.append(h)
        seq += [torch.zeros_like(h)] * (x.shape[0] - steps)
        outs.append(torch.stack(seq))
        hs.append(h)
        cs.append(c)
    return torch.stack(outs, dim=1), torch.stack(hs), torch.stack(cs)


@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_peephole_matches_naive_transcription(bias, packed):
    m = make_ref("lstm", bias, F64)
    ws = weights(m, bias)
    torch.manual_seed(3)
    w_peep = (0.5 * torch.randn(3, H, dtype=F64)).requires_grad_()
    x, h0, c0 = inputs(F64)
    lengths = LENGTHS if packed else None
    bs = pack_padded_sequence(x, torch.tensor(LENGTHS)).batch_sizes if packed else None
    ours = peephole_lstm_layer(x, h0, c0, *ws, w_peep, batch_sizes=bs)
    ref = naive_peephole(x, h0, c0, *ws, w_peep, lengths=lengths)
    for name, a, b in zip(("out", "h_n", "c_n"), ours, ref, strict=True):
        assert_close(a, b, 1e-12, name)
    wrt = [x, h0, c0, *ws, w_peep]
    for a, b in zip(grads(loss_of(*ours), wrt), grads(loss_of(*ref), wrt), strict=True):
        assert_close(a, b, 1e-12, "grad")


def test_peephole_with_zero_peepholes_is_torch_lstm():
    m = make_ref("lstm", True, F64)
    ws = weights(m, True)
    x, h0, c0 = inputs(F64)
    w_peep = torch.zeros(3, H, dtype=F64, requires_grad=True)
    ours = peephole_lstm_layer(x, h0, c0, *ws, w_peep)
    ref = call_ref("lstm", m, x, h0, c0)
    for a, b in zip(ours, ref, strict=True):
        assert_close(a, b, 1e-10)
    wrt = [x, h0, c0, *ws]
    for a, b in zip(grads(loss_of(*ours), wrt), grads(loss_of(*ref), wrt), strict=True):
        assert_close(a, b, 1e-10, "grad")


# --------------------------------------------------------------------------- gradcheck


def small_case(seed: int = 0):
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return (0.5 * torch.randn(*shape, generator=g, dtype=F64)).requires_grad_()

    t, n, d, h = 4, 3, 2, 3
    return r, t, n, d, h


@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru", "peephole"])
def test_gradcheck(kind, packed):
    r, t, n, d, h = small_case()
    bs = torch.tensor([3, 2, 2, 1]) if packed else None
    x, h0, c0 = r(t, n, d), r(n, h), r(n, h)
    G = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "peephole": 4}[kind]
    w_ih, w_hh, b_ih, b_hh = r(G * h, d), r(G * h, h), r(G * h), r(G * h)
    if kind.startswith("rnn"):
        def f(x, h0, w_ih, w_hh, b_ih, b_hh):
            return rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, kind[4:], batch_sizes=bs)
        args = (x, h0, w_ih, w_hh, b_ih, b_hh)
    elif kind == "lstm":
        def f(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
            return lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes=bs)
        args = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    elif kind == "gru":
        def f(x, h0, w_ih, w_hh, b_ih, b_hh):
            return gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes=bs)
        args = (x, h0, w_ih, w_hh, b_ih, b_hh)
    else:
        w_peep = r(3, h)

        def f(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep):
            return peephole_lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep,
                                       batch_sizes=bs)
        args = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_peep)
    assert torch.autograd.gradcheck(f, args, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradcheck_without_bias(kind):
    r, t, n, d, h = small_case(1)
    G = 4 if kind == "lstm" else 3
    x, h0, c0, w_ih, w_hh = r(t, n, d), r(n, h), r(n, h), r(G * h, d), r(G * h, h)
    if kind == "lstm":
        assert torch.autograd.gradcheck(
            lambda *a: lstm_layer(*a, None, None), (x, h0, c0, w_ih, w_hh))
    else:
        assert torch.autograd.gradcheck(lambda *a: gru_layer(*a, None, None), (x, h0, w_ih, w_hh))


def test_inputs_without_grad_get_none():
    m = make_ref("lstm", True, F64)
    x, h0, c0 = (t.detach() for t in inputs(F64))
    out, h, c = lstm_layer(x, h0, c0, *weights(m, True))
    loss_of(out, h, c).backward()
    assert x.grad is None and h0.grad is None
    assert m.weight_hh_l0.grad is not None and m.bias_ih_l0.grad is not None


def _layer_fn(kind: str, bs=None, P: int = 2):
    """``(f, args)``: one layer of ``kind`` as a function of all its float64 inputs."""
    r, t, n, d, h = small_case(5)
    x, h0, c0 = r(t, n, d), r(n, h), r(n, h)
    G = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "peephole": 4, "lstmp": 4}[kind]
    if kind == "lstmp":  # h is P wide: h0 (n, P), W_hh (4H, P), W_hr (P, H)
        h0, w_hh, w_hr = r(n, P), r(G * h, P), r(P, h)
        w_ih, b_ih, b_hh = r(G * h, d), r(G * h), r(G * h)
        return (lambda *a: lstm_layer(*a[:7], batch_sizes=bs, w_hr=a[7]),
                (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr))
    w_ih, w_hh, b_ih, b_hh = r(G * h, d), r(G * h, h), r(G * h), r(G * h)
    if kind.startswith("rnn"):
        return (lambda *a: rnn_layer(*a, kind[4:], batch_sizes=bs),
                (x, h0, w_ih, w_hh, b_ih, b_hh))
    if kind == "gru":
        return lambda *a: gru_layer(*a, batch_sizes=bs), (x, h0, w_ih, w_hh, b_ih, b_hh)
    if kind == "lstm":
        return lambda *a: lstm_layer(*a, batch_sizes=bs), (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    return (lambda *a: peephole_lstm_layer(*a, batch_sizes=bs),
            (x, h0, c0, w_ih, w_hh, b_ih, b_hh, r(3, h)))


ALL_KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "peephole", "lstmp"]


@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_gradgradcheck(kind, packed):
    """Double backward (create_graph=True) against finite differences of the gradient."""
    f, args = _layer_fn(kind, torch.tensor([3, 2, 2, 1]) if packed else None)
    assert torch.autograd.gradgradcheck(f, args, atol=1e-7, rtol=1e-5)


def test_gradcheck_with_projection():
    f, args = _layer_fn("lstmp", torch.tensor([3, 2, 2, 1]))
    assert torch.autograd.gradcheck(f, args, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
def test_projection_matches_torch_nn(packed, bias):
    """lstm_layer with w_hr against torch.nn.LSTM(proj_size=P), outputs and gradients."""
    torch.manual_seed(0)
    P = 2
    m = torch.nn.LSTM(D, H, proj_size=P, bias=bias).double()
    ws = weights(m, bias) + [m.weight_hr_l0]
    x, _, c0 = inputs(F64)
    h0 = torch.randn(N, P, dtype=F64, requires_grad=True)
    lengths = torch.tensor(LENGTHS)
    inp = pack_padded_sequence(x, lengths) if packed else x
    out_ref, (h_ref, c_ref) = m(inp, (h0[None], c0[None]))
    if packed:
        out_ref, _ = pad_packed_sequence(out_ref, total_length=T)
    bs = pack_padded_sequence(x, lengths).batch_sizes if packed else None
    out, h, c = lstm_layer(x, h0, c0, *ws[:4], batch_sizes=bs, w_hr=ws[4])
    ref = (out_ref, h_ref[0], c_ref[0])
    for name, a, b in zip(("out", "h_n", "c_n"), (out, h, c), ref, strict=True):
        assert_close(a, b, 1e-12, name)
    wrt = [x, h0, c0] + [w for w in ws if w is not None]
    for a, b in zip(grads(loss_of(out, h, c), wrt), grads(loss_of(*ref), wrt), strict=True):
        assert_close(a, b, 1e-11, "grad")


def _torch_nn_twin(kind: str, args: tuple) -> torch.nn.Module:
    """A torch.nn layer holding the weights of ``args`` (as built by :func:`_layer_fn`)."""
    t, n, d = args[0].shape
    h = args[1].shape[1]
    if kind.startswith("rnn"):
        m = torch.nn.RNN(d, h, nonlinearity=kind[4:])
        ws = args[2:]
    else:
        m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](d, h)
        ws = args[3:] if kind == "lstm" else args[2:]
    m = m.double()
    with torch.no_grad():
        for p, w in zip((m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0), ws,
                        strict=True):
            p.copy_(w)
    return m


@pytest.mark.parametrize("kind", KINDS)
def test_batched_gradients_match_torch_nn(kind):
    """vmap over the backward: jacobian(vectorize=True), torch.func.jacrev, and
    per-sample gradients (torch.func.vmap over torch.func.grad) against torch.nn."""
    from torch.func import functional_call, grad, jacrev, vmap

    f, args = _layer_fn(kind)
    x = args[0].detach()
    ref = _torch_nn_twin(kind, args)
    lstm = kind == "lstm"

    def ours(x):
        return f(x, *args[1:])[0]

    def theirs(x):
        state = (args[1][None], args[2][None]) if lstm else args[1][None]
        return ref(x, state)[0]

    J = torch.autograd.functional.jacobian(ours, x, vectorize=True)
    J_ref = torch.autograd.functional.jacobian(theirs, x)
    assert_close(J, J_ref, 1e-12, "jacobian")
    assert_close(jacrev(ours)(x), J_ref, 1e-12, "jacrev")

    # per-sample gradients of the weights, one sequence (a batch of 1) at a time
    params = {k: v.detach() for k, v in ref.named_parameters()}
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")

    def loss_ours(p, xi):
        h0 = torch.zeros(1, args[1].shape[1], dtype=F64)
        state = (h0, h0) if lstm else (h0,)
        return (f(xi[:, None], *state, *(p[k] for k in names))[0] ** 2).sum()

    def loss_ref(p, xi):
        return (functional_call(ref, p, (xi[:, None],))[0] ** 2).sum()

    per_sample = vmap(grad(loss_ours), in_dims=(None, 1))(params, x)
    for j in range(x.shape[1]):
        expected = grad(loss_ref)(params, x[:, j])
        for k in names:
            assert_close(per_sample[k][j], expected[k], 1e-12, k)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_zero_batch(kind):
    """A batch of 0 sequences gives empty results and zero weight gradients, as in torch.nn."""
    f, args = _layer_fn(kind)
    n_states = 2 if kind in ("lstm", "peephole", "lstmp") else 1
    x = args[0].detach()[:, :0].requires_grad_()
    states = [a.detach()[:0].requires_grad_() for a in args[1:1 + n_states]]
    weights_ = [a.detach().requires_grad_() for a in args[1 + n_states:]]
    res = f(x, *states, *weights_)
    assert res[0].shape == (x.shape[0], 0, args[1].shape[1])
    for r, s0 in zip(res[1:], states, strict=True):
        assert r.shape == s0.shape
    sum(r.sum() for r in res).backward()
    assert x.grad.shape == x.shape
    for w in weights_:
        assert w.grad is not None and w.grad.shape == w.shape and torch.all(w.grad == 0)


# --------------------------------------------------------------------------- errors


def test_bad_shapes_raise_clear_errors():
    m = make_ref("lstm", True, F64)
    ws = weights(m, True)
    x, h0, c0 = inputs(F64)
    with pytest.raises(ValueError, match="x must be"):
        lstm_layer(x[0], h0, c0, *ws)
    with pytest.raises(ValueError, match="c0 must be"):
        lstm_layer(x, h0, c0[:, :2], *ws)
    with pytest.raises(ValueError, match="w_ih must be"):
        gru_layer(x, h0, ws[0][: 3 * H, :2], ws[1][: 3 * H], None, None)
    with pytest.raises(ValueError, match="w_hh must be"):
        gru_layer(x, h0, ws[0][: 3 * H], ws[1], None, None)
    with pytest.raises(ValueError, match="b_hh must be"):
        lstm_layer(x, h0, c0, ws[0], ws[1], ws[2], ws[3][:H])
    with pytest.raises(ValueError, match="w_peep must be"):
        peephole_lstm_layer(x, h0, c0, *ws, torch.zeros(4, H, dtype=F64))
    with pytest.raises(ValueError, match="nonlinearity"):
        rnn_layer(x, h0, ws[0][:H], ws[1][:H, :H], None, None, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="batch_sizes"):
        lstm_layer(x, h0, c0, *ws, batch_sizes=torch.tensor([4, 3]))
    with pytest.raises(ValueError, match="batch_sizes"):
        lstm_layer(x, h0, c0, *ws, batch_sizes=torch.tensor([4, 3, 4, 1, 1]))


# --------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
@pytest.mark.parametrize("kind", KINDS + ["peephole"])
def test_cuda_matches_cpu(kind, packed):
    bs = pack_padded_sequence(torch.zeros(T, N, 1), torch.tensor(LENGTHS)).batch_sizes
    bs = bs if packed else None
    results = []
    for device in ("cpu", "cuda"):
        m = make_ref("lstm" if kind == "peephole" else kind, True, F64).to(device)
        ws = weights(m, True)
        x, h0, c0 = inputs(F64, device=device)
        wrt = [x, h0, c0, *ws]
        if kind == "peephole":
            torch.manual_seed(3)
            w_peep = torch.randn(3, H, dtype=F64).to(device).requires_grad_()
            res = peephole_lstm_layer(x, h0, c0, *ws, w_peep, batch_sizes=bs)
            wrt.append(w_peep)
        else:
            res = call_ours(kind, x, h0, c0, ws, bs)
            if kind != "lstm":
                wrt = [a for a in wrt if a is not c0]
        for a in res:
            assert a is None or a.device.type == device
        gs = grads(loss_of(*res), wrt)
        results.append([a.cpu() for a in res if a is not None] + [g.cpu() for g in gs])
    for a, b in zip(*results, strict=True):
        assert_close(a, b, 1e-10)


def test_functional_does_not_import_the_compiled_path():
    """The teaching code stands alone: ``functional.py`` imports nothing of ``compiled.py``
    (the compiled path depends on it, not the other way round). Read from its source, as
    importing ``rnncourse.torch`` loads both."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("rnncourse.torch.functional")
    assert spec is not None and spec.origin is not None
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            imported += [base] + [f"{base}.{a.name}" for a in node.names]
    assert imported, "no imports found: the test reads the wrong file"
    assert "torch" in imported
    offending = [name for name in imported if name.split(".")[-1] == "compiled"
                 or ".compiled." in name or name.endswith("compiled")]
    assert not offending, offending
    # and the layer functions run eagerly by default, with functional's own EAGER ops
    import inspect

    from rnncourse.torch import functional
    for fn in (rnn_layer, lstm_layer, gru_layer, peephole_lstm_layer):
        assert inspect.signature(fn).parameters["ops"].default is functional.EAGER


def test_weight_gradients_are_stored_as_they_are():
    """Weight gradients in the weights' own layout (contiguous), so that autograd keeps
    them as .grad without a copy; and equal to torch.nn's."""
    import rnncourse.torch as rt

    torch.manual_seed(0)
    for cls_name, kwargs in (("RNN", {}), ("LSTM", {}), ("LSTM", {"proj_size": 2}), ("GRU", {})):
        ref = getattr(torch.nn, cls_name)(5, 6, **kwargs)
        ours = getattr(rt, cls_name)(5, 6, **kwargs)
        ours.load_state_dict(ref.state_dict())
        x = torch.randn(4, 3, 5)
        # autograd.grad: the gradients as the backward returns them (.grad would be a copy)
        got, want = (torch.autograd.grad(m(x)[0].sum(), list(m.parameters()))
                     for m in (ours, ref))
        for name, g, g_ref in zip(dict(ours.named_parameters()), got, want, strict=True):
            assert g.is_contiguous(), (cls_name, name)
            torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-6)
