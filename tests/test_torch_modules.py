"""rnncourse.torch's layers and cells against torch.nn, with weights copied by load_state_dict.

Every comparison is with ``torch.nn`` (outputs, final states and the gradients
of all parameters and inputs, through torch autograd), with
``torch.autograd.gradcheck``, or with a few lines of reference written here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn.utils.rnn import (  # noqa: E402
    PackedSequence,
    pack_padded_sequence,
    pad_packed_sequence,
)

import rnncourse.torch as rt  # noqa: E402

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-10, F32: 1e-5}

# name -> (ours, torch.nn's, extra constructor arguments, has a cell state)
MODES = {
    "rnn_tanh": (rt.RNN, nn.RNN, {"nonlinearity": "tanh"}, False),
    "rnn_relu": (rt.RNN, nn.RNN, {"nonlinearity": "relu"}, False),
    "lstm": (rt.LSTM, nn.LSTM, {}, True),
    "gru": (rt.GRU, nn.GRU, {}, False),
}
KINDS = ("padded", "unbatched", "packed", "lengths")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tensors here are tiny: one thread is faster, and much faster on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@dataclass
class Config:
    num_layers: int
    bidirectional: bool
    batch_first: bool
    bias: bool
    with_hx: bool
    T: int
    N: int
    D: int
    H: int
    to_torch: bool  # copy ours -> torch.nn (else torch.nn -> ours)
    seed: int


configs = st.builds(
    Config, num_layers=st.sampled_from([1, 2]), bidirectional=st.booleans(),
    batch_first=st.booleans(), bias=st.booleans(), with_hx=st.booleans(),
    T=st.integers(1, 5), N=st.integers(1, 4), D=st.integers(1, 4), H=st.integers(1, 4),
    to_torch=st.booleans(), seed=st.integers(0, 2**16),
)


def make_pair(mode: str, cfg: Config, dtype: torch.dtype, **extra):
    """Our module and torch.nn's with the same weights, copied one way or the other (strict)."""
    ours_cls, ref_cls, kw, _ = MODES[mode]
    args = dict(num_layers=cfg.num_layers, bidirectional=cfg.bidirectional,
                batch_first=cfg.batch_first, bias=cfg.bias, dtype=dtype, **kw, **extra)
    ours, ref = ours_cls(cfg.D, cfg.H, **args), ref_cls(cfg.D, cfg.H, **args)
    if cfg.to_torch:
        ref.load_state_dict(ours.state_dict(), strict=True)
    else:
        ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


def make_inputs(cfg: Config, kind: str, dtype: torch.dtype, has_cell: bool, proj: int = 0):
    """Leaf tensors ``x``, the initial states (or None) and the lengths (or None).

    With a projection (``proj > 0``) the hidden state is ``proj`` wide, the cell ``H``."""
    g = torch.Generator().manual_seed(cfg.seed)
    T, N, D, H = cfg.T, cfg.N, cfg.D, cfg.H
    if kind == "unbatched":
        shape = (T, D)
    else:
        shape = (N, T, D) if cfg.batch_first else (T, N, D)
    x = torch.randn(shape, generator=g, dtype=dtype).requires_grad_()
    states = None
    if cfg.with_hx:
        L = cfg.num_layers * (2 if cfg.bidirectional else 1)
        widths = [proj or H, H][:2 if has_cell else 1]
        states = [torch.randn((L, w) if kind == "unbatched" else (L, N, w), generator=g,
                              dtype=dtype).requires_grad_() for w in widths]
    lengths = None
    if kind in ("packed", "lengths"):
        lengths = torch.randint(1, T + 1, (N,), generator=g)
    return x, states, lengths


def run(module, kind: str, cfg: Config, x, states, lengths, ours: bool, has_cell: bool):
    """Forward; returns the output as a tensor, the final states as a tuple, and the raw output."""
    hx = None if states is None else (tuple(states) if has_cell else states[0])
    if kind == "packed" or (kind == "lengths" and not ours):
        packed = pack_padded_sequence(x, lengths, batch_first=cfg.batch_first,
                                      enforce_sorted=False)
        raw, hn = module(packed, hx)
        if kind == "packed":
            out = raw.data
        else:
            out, _ = pad_packed_sequence(raw, batch_first=cfg.batch_first, total_length=cfg.T)
    elif kind == "lengths":
        raw, hn = module(x, hx, lengths=lengths)
        out = raw
    else:
        raw, hn = module(x, hx)
        out = raw
    return out, (tuple(hn) if has_cell else (hn,)), raw


def loss_of(out, finals, seed: int):
    """A scalar that weighs every output and final-state entry differently."""
    g = torch.Generator().manual_seed(seed + 1)
    total = 0
    for t in (out, *finals):
        total = total + (t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum()
    return total


def assert_close(a, b, tol, what=""):
    torch.testing.assert_close(a, b, atol=tol, rtol=0, msg=lambda m: f"{what}: {m}")


def compare(mode: str, kind: str, cfg: Config, dtype: torch.dtype, **extra):
    """Outputs, final states and all gradients of ours and torch.nn's agree to TOL[dtype]."""
    has_cell = MODES[mode][3]
    ours, ref = make_pair(mode, cfg, dtype, **extra)
    x, states, lengths = make_inputs(cfg, kind, dtype, has_cell, extra.get("proj_size", 0))
    leaves = [x, *(states or [])]
    results = {}
    for name, module in (("ours", ours), ("ref", ref)):
        out, finals, raw = run(module, kind, cfg, x, states, lengths, name == "ours", has_cell)
        params = dict(module.named_parameters())
        grads = torch.autograd.grad(loss_of(out, finals, cfg.seed),
                                    leaves + list(params.values()), allow_unused=True)
        param_grads = dict(zip(params, grads[len(leaves):], strict=True))
        results[name] = out, finals, raw, grads[:len(leaves)], param_grads
    (o1, f1, r1, gl1, gp1), (o2, f2, r2, gl2, gp2) = results["ours"], results["ref"]
    tol = TOL[dtype]
    assert o1.dtype == dtype and all(f.dtype == dtype for f in f1)
    assert_close(o1, o2, tol, "output")
    for a, b in zip(f1, f2, strict=True):
        assert_close(a, b, tol, "final state")
    if kind == "packed":
        assert isinstance(r1, PackedSequence)
        assert torch.equal(r1.batch_sizes, r2.batch_sizes)
        assert torch.equal(r1.sorted_indices, r2.sorted_indices)
        assert torch.equal(r1.unsorted_indices, r2.unsorted_indices)
    for a, b in zip(gl1, gl2, strict=True):
        assert_close(a, b, tol, "input gradient")
    assert list(gp1) == list(gp2)
    for name in gp1:
        assert_close(gp1[name], gp2[name], tol, f"grad of {name}")


# ------------------------------------------------------------------ layers vs torch.nn


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
@given(cfg=configs)
def test_layers_match_torch_nn_float64(mode, kind, cfg):
    compare(mode, kind, cfg, F64)


@pytest.mark.parametrize("kind", KINDS)
@given(cfg=configs, data=st.data())
def test_lstm_projection_matches_torch_nn(kind, cfg, data):
    """proj_size (LSTMP): h_t = (o_t * tanh(c_t)) W_hr^T, against torch.nn.LSTM(proj_size=P)."""
    cfg.H = max(cfg.H, 2)
    proj = data.draw(st.integers(1, cfg.H - 1), label="proj_size")
    compare("lstm", kind, cfg, F64, proj_size=proj)


@pytest.mark.parametrize("init", ["pytorch", "orthogonal"])
def test_projection_parameters(init):
    """weight_hr_l{k}[_reverse]: torch.nn's names, shapes and order; initialised too."""
    ours = rt.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, init=init)
    ref = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, v.shape) for k, v in ref.state_dict().items()]
    assert "proj_size=2" in repr(ours)
    for name, p in ours.named_parameters():
        if name.startswith("weight_hr"):
            assert p.abs().sum() > 0
            if init == "orthogonal":  # (P, H) with orthonormal rows
                torch.testing.assert_close(p @ p.t(), torch.eye(2), atol=1e-6, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_zero_batch_matches_torch_nn(mode):
    """A batch of 0 sequences (also bidirectional, two layers): the shapes torch.nn gives."""
    ours_cls, ref_cls, kw, has_cell = MODES[mode]
    ours = ours_cls(3, 4, num_layers=2, bidirectional=True, **kw)
    ref = ref_cls(3, 4, num_layers=2, bidirectional=True, **kw)
    x = torch.randn(5, 0, 3, requires_grad=True)
    out, hn = ours(x)
    out_ref, hn_ref = ref(x)
    assert out.shape == out_ref.shape
    for a, b in zip(hn if has_cell else (hn,), hn_ref if has_cell else (hn_ref,), strict=True):
        assert a.shape == b.shape
    out.sum().backward()
    assert x.grad.shape == x.shape and all(p.grad is not None for p in ours.parameters())


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_zero_hidden_and_zero_batch_match_torch_nn(cls):
    """hidden_size=0 and a batch of 0 rows are allowed for the cells, as in torch.nn."""
    for size, batch in ((0, 2), (4, 0)):
        ours, ref = getattr(rt, cls)(3, size), getattr(nn, cls)(3, size)
        x = torch.randn(batch, 3)
        a, b = ours(x), ref(x)
        for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,),
                        strict=True):
            assert u.shape == v.shape == (batch, size)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_layers_match_torch_nn_float32(mode, kind):
    cfg = Config(num_layers=2, bidirectional=True, batch_first=True, bias=True, with_hx=True,
                 T=6, N=4, D=5, H=7, to_torch=False, seed=3)
    compare(mode, kind, cfg, F32)


@pytest.mark.parametrize("mode", MODES)
def test_dropout_eval_equals_torch_nn_and_train_differs(mode):
    cfg = Config(num_layers=3, bidirectional=True, batch_first=False, bias=True, with_hx=False,
                 T=5, N=3, D=4, H=6, to_torch=True, seed=0)
    ours, ref = make_pair(mode, cfg, F64, dropout=0.5)
    ours.eval()
    ref.eval()
    for kind in ("padded", "lengths"):
        x, _, lengths = make_inputs(cfg, kind, F64, MODES[mode][3])
        out1, _, _ = run(ours, kind, cfg, x, None, lengths, True, MODES[mode][3])
        out2, _, _ = run(ref, kind, cfg, x, None, lengths, False, MODES[mode][3])
        assert_close(out1, out2, TOL[F64], "eval output")
    x = make_inputs(cfg, "padded", F64, False)[0]
    with torch.no_grad():
        evaluated = ours(x)[0]
        ours.train()
        torch.manual_seed(0)
        trained = ours(x)[0]
    assert not torch.allclose(evaluated, trained)


def test_dropout_not_after_last_layer():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        m = rt.LSTM(3, 4, dropout=0.9, dtype=F64)
    x = torch.randn(5, 2, 3, dtype=F64)
    m.eval()
    out_eval = m(x)[0]
    m.train()
    assert_close(m(x)[0], out_eval, 0.0, "train == eval with one layer")


def test_lengths_accepts_a_list_and_keeps_the_input_length():
    m = rt.GRU(3, 4, bidirectional=True, batch_first=True, dtype=F64)
    x = torch.randn(3, 6, 3, dtype=F64)
    out, h = m(x, lengths=[2, 4, 1])
    assert out.shape == (3, 6, 8) and h.shape == (2, 3, 4)
    assert torch.all(out[0, 2:] == 0) and torch.all(out[1, 4:] == 0) and torch.all(out[2, 1:] == 0)
    out_t, h_t = m(x, lengths=torch.tensor([2, 4, 1]))
    assert torch.equal(out, out_t) and torch.equal(h, h_t)


@pytest.mark.parametrize("mode", MODES)
def test_packed_sorted_without_indices_matches_torch_nn(mode):
    """enforce_sorted=True gives a PackedSequence without sorted_indices; hx is used as is."""
    cfg = Config(num_layers=2, bidirectional=True, batch_first=False, bias=True, with_hx=True,
                 T=5, N=3, D=3, H=4, to_torch=True, seed=9)
    has_cell = MODES[mode][3]
    ours, ref = make_pair(mode, cfg, F64)
    x, states, _ = make_inputs(cfg, "padded", F64, has_cell)
    hx = tuple(states) if has_cell else states[0]
    packed = pack_padded_sequence(x, [5, 3, 1])
    (o1, h1), (o2, h2) = ours(packed, hx), ref(packed, hx)
    assert o1.sorted_indices is None and o1.unsorted_indices is None
    assert_close(o1.data, o2.data, TOL[F64], "output")
    for a, b in zip(h1 if has_cell else (h1,), h2 if has_cell else (h2,), strict=True):
        assert_close(a, b, TOL[F64], "final state")


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_through_lengths_and_reverse(mode):
    cfg = Config(num_layers=2, bidirectional=True, batch_first=True, bias=True, with_hx=True,
                 T=3, N=3, D=2, H=2, to_torch=True, seed=5)
    ours_cls, _, kw, has_cell = MODES[mode]
    m = ours_cls(2, 2, num_layers=2, bidirectional=True, batch_first=True, dtype=F64, **kw)
    x, states, _ = make_inputs(cfg, "padded", F64, has_cell)
    lengths = [2, 3, 1]

    def f(x, *states):
        hx = tuple(states) if has_cell else states[0]
        out, hn = m(x, hx, lengths=lengths)
        return (out, *hn) if has_cell else (out, hn)

    assert torch.autograd.gradcheck(f, (x, *states))


# ------------------------------------------------------------------ state_dict


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_state_dict_keys_shapes_and_order_equal_torch_nn(mode, bidirectional, bias):
    ours_cls, ref_cls, kw, _ = MODES[mode]
    args = dict(num_layers=3, bidirectional=bidirectional, bias=bias, **kw)
    ours, ref = ours_cls(5, 4, **args), ref_cls(5, 4, **args)
    sd1, sd2 = ours.state_dict(), ref.state_dict()
    assert list(sd1) == list(sd2)
    assert [v.shape for v in sd1.values()] == [v.shape for v in sd2.values()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    ours.load_state_dict(sd2, strict=True)
    ref.load_state_dict(sd1, strict=True)


# ------------------------------------------------------------------ cells


CELLS = {
    "rnn_tanh": (rt.RNNCell, nn.RNNCell, {"nonlinearity": "tanh"}, False),
    "rnn_relu": (rt.RNNCell, nn.RNNCell, {"nonlinearity": "relu"}, False),
    "lstm": (rt.LSTMCell, nn.LSTMCell, {}, True),
    "gru": (rt.GRUCell, nn.GRUCell, {}, False),
}


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mode", CELLS)
def test_cells_match_torch_nn(mode, bias, batched, with_hx, dtype):
    ours_cls, ref_cls, kw, has_cell = CELLS[mode]
    ours = ours_cls(3, 5, bias=bias, dtype=dtype, **kw)
    ref = ref_cls(3, 5, bias=bias, dtype=dtype, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    if batched:  # copy one way or the other
        ref.load_state_dict(ours.state_dict(), strict=True)
    else:
        ours.load_state_dict(ref.state_dict(), strict=True)
    g = torch.Generator().manual_seed(7)
    lead = (4,) if batched else ()
    x = torch.randn(*lead, 3, generator=g, dtype=dtype).requires_grad_()
    states = [torch.randn(*lead, 5, generator=g, dtype=dtype).requires_grad_()
              for _ in range(2 if has_cell else 1)] if with_hx else []
    hx = (tuple(states) if has_cell else states[0]) if with_hx else None
    res = []
    for m in (ours, ref):
        out = m(x, hx)
        out = tuple(out) if has_cell else (out,)
        params = list(m.parameters())
        grads = torch.autograd.grad(loss_of(out[0], out[1:], 0), [x, *states, *params])
        res.append((out, grads))
    for a, b in zip(res[0][0], res[1][0], strict=True):
        assert a.dtype == dtype and a.shape == b.shape
        assert_close(a, b, TOL[dtype], "cell output")
    for a, b in zip(res[0][1], res[1][1], strict=True):
        assert_close(a, b, TOL[dtype], "cell gradient")


# ------------------------------------------------------------------ PeepholeLSTM


@pytest.mark.parametrize("kind", KINDS)
def test_peephole_with_zero_peepholes_is_torch_lstm(kind):
    cfg = Config(num_layers=2, bidirectional=True, batch_first=False, bias=True, with_hx=True,
                 T=5, N=3, D=3, H=4, to_torch=False, seed=11)
    ours = rt.PeepholeLSTM(3, 4, num_layers=2, bidirectional=True, dtype=F64)
    ref = nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=F64)
    peep = {n: torch.zeros_like(p) for n, p in ours.named_parameters() if "peep" in n}
    assert list(ours.state_dict()) == list(ref.state_dict()) + list(peep)
    ours.load_state_dict({**ref.state_dict(), **peep}, strict=True)
    x, states, lengths = make_inputs(cfg, kind, F64, True)
    o1, f1, _ = run(ours, kind, cfg, x, states, lengths, True, True)
    o2, f2, _ = run(ref, kind, cfg, x, states, lengths, False, True)
    assert_close(o1, o2, TOL[F64], "output")
    for a, b in zip(f1, f2, strict=True):
        assert_close(a, b, TOL[F64], "final state")
    shared = [p for n, p in ours.named_parameters() if "peep" not in n]
    g1 = torch.autograd.grad(loss_of(o1, f1, 0), [x, *states, *shared])
    g2 = torch.autograd.grad(loss_of(o2, f2, 0), [x, *states, *ref.parameters()])
    for a, b in zip(g1, g2, strict=True):
        assert_close(a, b, TOL[F64], "gradient")


def test_peephole_matches_a_reference_written_here():
    """One layer, one direction, non-zero peepholes, against the equations in a plain loop."""
    torch.manual_seed(2)
    m = rt.PeepholeLSTM(3, 4, dtype=F64)
    x = torch.randn(5, 2, 3, dtype=F64)
    h, c = torch.randn(2, 4, dtype=F64), torch.randn(2, 4, dtype=F64)
    out, (hn, cn) = m(x, (h[None], c[None]))
    p_i, p_f, p_o = m.weight_peep_l0
    outs = []
    for t in range(5):
        a = x[t] @ m.weight_ih_l0.T + m.bias_ih_l0 + h @ m.weight_hh_l0.T + m.bias_hh_l0
        ai, af, ag, ao = a.chunk(4, dim=1)
        i, f = torch.sigmoid(ai + p_i * c), torch.sigmoid(af + p_f * c)
        c = f * c + i * torch.tanh(ag)
        h = torch.sigmoid(ao + p_o * c) * torch.tanh(c)
        outs.append(h)
    assert_close(out, torch.stack(outs), TOL[F64], "output")
    assert_close(hn[0], h, TOL[F64], "h_n")
    assert_close(cn[0], c, TOL[F64], "c_n")


# ------------------------------------------------------------------ initialisation


def _blocks(w, H):
    return w.split(H, dim=0)


@pytest.mark.parametrize("cls", [rt.RNN, rt.LSTM, rt.GRU, rt.PeepholeLSTM])
def test_init_pytorch_default_bounds(cls):
    H = 9
    m = cls(4, H, num_layers=2, bidirectional=True)
    bound = H ** -0.5
    for name, p in m.named_parameters():
        assert p.abs().max() <= bound, name
        assert p.std() > bound / 4, name  # drawn, not constant


@pytest.mark.parametrize("cls", [rt.RNN, rt.LSTM, rt.GRU, rt.PeepholeLSTM, rt.GRUCell])
def test_init_orthogonal(cls):
    H, D = 6, 4
    m = cls(D, H, init="orthogonal", dtype=F64)
    eye = torch.eye(H, dtype=F64)
    for name, p in m.named_parameters():
        if name.startswith("weight_hh"):
            for block in _blocks(p, H):
                assert_close(block.T @ block, eye, 1e-12, name)
        elif name.startswith("weight_ih"):
            limit = (6 / (D + H)) ** 0.5  # Glorot uniform
            assert p.abs().max() <= limit and p.std() > 0, name
        else:
            assert torch.all(p == 0), name


def test_init_orthogonal_works_on_torch_nn_modules():
    m = rt.init_rnn_(nn.LSTM(3, 5, dtype=F64), "orthogonal")
    for block in _blocks(m.weight_hh_l0, 5):
        assert_close(block.T @ block, torch.eye(5, dtype=F64), 1e-12, "block")


@pytest.mark.parametrize("cls", [rt.RNN, rt.RNNCell])
def test_init_identity_irnn(cls):
    m = cls(3, 5, nonlinearity="relu", init="identity")
    for name, p in m.named_parameters():
        if name.startswith("weight_hh"):
            assert torch.equal(p, torch.eye(5)), name
        elif name.startswith("bias"):
            assert torch.all(p == 0), name
        else:
            assert 0 < p.std() < 0.01, name


@pytest.mark.parametrize("cls", [rt.LSTM, rt.GRU, rt.LSTMCell])
def test_init_identity_rejected_for_gated_layers(cls):
    with pytest.raises(ValueError, match="plain RNN only"):
        cls(3, 5, init="identity")


@pytest.mark.parametrize("init", ["pytorch", "orthogonal"])
@pytest.mark.parametrize("cls", [rt.LSTM, rt.PeepholeLSTM, rt.LSTMCell])
def test_forget_bias(cls, init):
    H = 5
    kw = {} if cls is rt.LSTMCell else {"num_layers": 2, "bidirectional": True}
    m = cls(3, H, init=init, forget_bias=1.0, **kw)
    biases = dict(m.named_parameters())
    for name in biases:
        if name.startswith("bias_ih"):
            total = biases[name] + biases[name.replace("bias_ih", "bias_hh")]
            assert torch.all(total[H:2 * H] == 1.0), name
            assert torch.all(biases[name.replace("bias_ih", "bias_hh")][H:2 * H] == 0.0)
    m.reset_parameters()  # re-initialising keeps the forget bias
    assert torch.all(m.state_dict()[next(n for n in biases if n.startswith("bias_ih"))][H:2 * H]
                     == 1.0)


def test_forget_bias_errors_and_torch_nn():
    with pytest.raises(ValueError, match="bias=True"):
        rt.LSTM(3, 4, bias=False, forget_bias=1.0)
    m = rt.set_forget_bias_(nn.LSTM(3, 4), 2.0)
    assert torch.all((m.bias_ih_l0 + m.bias_hh_l0)[4:8] == 2.0)
    with pytest.raises(ValueError, match="LSTMs only"):
        rt.set_forget_bias_(nn.GRU(3, 4), 1.0)


# ------------------------------------------------------------------ errors


def test_constructor_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        rt.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        rt.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        rt.LSTM(3, 4, proj_size=-1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        rt.RNN(3, 4, foo=1)
    with pytest.raises(ValueError, match="nonlinearity"):
        rt.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        rt.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="unknown init"):
        rt.LSTM(3, 4, init="glorot")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        rt.LSTM(3, 0)
    with pytest.raises(TypeError, match="num_layers should be of type int, got: float"):
        rt.LSTM(3, 4, num_layers=1.5)
    with pytest.raises(TypeError, match="forget_bias"):
        rt.GRU(3, 4, forget_bias=1.0)


def test_forward_errors():
    m = rt.LSTM(3, 4, num_layers=2)
    x = torch.randn(5, 2, 3)
    with pytest.raises(RuntimeError, match="Expected 3, got 5"):
        m(torch.randn(5, 2, 5))
    with pytest.raises(ValueError, match="2D or 3D, got 4D"):
        m(torch.randn(5, 2, 3, 1))
    with pytest.raises(RuntimeError,
                       match=r"Expected hidden\[0\] size \(2, 2, 4\), got \[1, 2, 4\]"):
        m(x, (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError,
                       match=r"Expected hidden\[1\] size \(2, 2, 4\), got \[2, 2, 3\]"):
        m(x, (torch.zeros(2, 2, 4), torch.zeros(2, 2, 3)))
    with pytest.raises(RuntimeError, match="batched 3-D input"):
        m(x, (torch.zeros(2, 4), torch.zeros(2, 4)))
    with pytest.raises(RuntimeError, match="unbatched 2-D input"):
        m(x[:, 0], (torch.zeros(2, 1, 4), torch.zeros(2, 1, 4)))
    with pytest.raises(TypeError, match="pair"):
        m(x, torch.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="dtype"):
        m(x.double())
    with pytest.raises(ValueError, match=r"lengths must be in 1..5"):
        m(x, lengths=[0, 3])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        m(x, lengths=[1, 2, 3])
    with pytest.raises(ValueError, match="not both"):
        m(pack_padded_sequence(x, [5, 3]), lengths=[5, 3])
    g = rt.GRU(3, 4)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        g(x, torch.zeros(1, 3, 4))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\)"):
        g(pack_padded_sequence(x, [5, 3]), torch.zeros(1, 3, 4))


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_device_errors_like_torch_nn(mode):
    """Input, states and parameters on different devices raise torch.nn's errors, word
    for word, and in its order: the states are checked against the input before the
    parameters are (PyTorch's test_rnn_check_device relies on both). ``meta`` stands
    for a second device."""
    def state(t):
        return (t, t) if mode == "LSTM" else t

    x, h = torch.randn(6, 4, 3), torch.randn(2, 4, 5)
    cases = [(x.to("meta"), None),                  # input away from the parameters
             (x, state(h.to("meta"))),              # states away from the input
             (x.to("meta"), state(h))]              # both: the states are reported
    ref, ours = getattr(nn, mode)(3, 5, 2), getattr(rt, mode)(3, 5, 2)
    for inp, hx in cases:
        errors = []
        for m in (ref, ours):
            with pytest.raises(RuntimeError) as info:
                m(inp) if hx is None else m(inp, hx)
            errors.append(str(info.value))
        assert errors[1] == errors[0]
        assert "not at the same device" in errors[0]
    # a packed input: the same message (torch.nn fails inside its reordering of hx here)
    with pytest.raises(RuntimeError, match="Input and hidden tensors are not at the same "
                       "device, found input tensor at cpu and hidden tensor at meta"):
        ours(pack_padded_sequence(x, [6, 6, 3, 1]), state(h.to("meta")))


def test_cell_errors():
    c = rt.LSTMCell(3, 4)
    with pytest.raises(ValueError, match="1D or 2D, got 3D"):
        c(torch.randn(1, 2, 3))
    with pytest.raises(RuntimeError, match="got 5 expected 3"):
        c(torch.randn(2, 5))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden1 batch size 3"):
        c(torch.randn(2, 3), (torch.zeros(2, 4), torch.zeros(3, 4)))


# ------------------------------------------------------------------ dtype, device, purity


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("cls", [rt.RNN, rt.LSTM, rt.GRU, rt.PeepholeLSTM])
def test_outputs_follow_the_input_dtype(cls, dtype):
    m = cls(3, 4, num_layers=2, bidirectional=True).to(dtype)
    x = torch.randn(5, 2, 3, dtype=dtype)
    for kwargs in ({}, {"lengths": [5, 2]}):
        out, hn = m(x, **kwargs)
        for t in (out, *(hn if isinstance(hn, tuple) else (hn,))):
            assert t.dtype == dtype


def test_no_fused_rnn_kernels_are_called(monkeypatch):
    """Make every torch.nn / _VF recurrent kernel raise, then run everything once."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a fused torch RNN kernel was called")

    for name in ("lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell",
                 "rnn_tanh_cell", "rnn_relu_cell"):
        monkeypatch.setattr(torch._VF, name, forbidden, raising=False)
        monkeypatch.setattr(torch, name, forbidden, raising=False)
    for cls in (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        monkeypatch.setattr(cls, "forward", forbidden)
    x = torch.randn(4, 2, 3)
    for cls in (rt.RNN, rt.LSTM, rt.GRU, rt.PeepholeLSTM):
        m = cls(3, 4, num_layers=2, bidirectional=True)
        m(x)[0].sum().backward()
        m(pack_padded_sequence(x, [4, 2]))
    for cls in (rt.RNNCell, rt.LSTMCell, rt.GRUCell):
        cls(3, 4)(x[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", MODES)
def test_cuda_matches_torch_nn(mode):
    ours_cls, ref_cls, kw, has_cell = MODES[mode]
    dev = torch.device("cuda")
    args = dict(num_layers=2, bidirectional=True, device=dev, dtype=F64, **kw)
    ours, ref = ours_cls(3, 4, **args), ref_cls(3, 4, **args)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(5, 3, 3, device=dev, dtype=F64)
    lengths = torch.tensor([2, 5, 3])
    out1, h1 = ours(x, lengths=lengths.to(dev))
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out2, h2 = ref(packed)
    out2 = pad_packed_sequence(out2, total_length=5)[0]
    assert out1.device.type == "cuda"
    assert_close(out1, out2, 1e-10, "output")
    for a, b in zip(h1 if has_cell else (h1,), h2 if has_cell else (h2,), strict=True):
        assert_close(a, b, 1e-10, "final state")
    out3, _ = ours(packed)
    assert_close(out3.data, ref(packed)[0].data, 1e-10, "packed output")
    cell = rt.LSTMCell(3, 4, device=dev)
    h, c = cell(x[0].float())
    assert h.device.type == "cuda" and c.device.type == "cuda"


@pytest.mark.parametrize("mode", MODES)
def test_large_float32_layers_match_torch_nn(mode):
    """Hidden sizes where torch.nn's CPU kernels (oneDNN for the LSTM) take other paths."""
    H = {"rnn_tanh": 384, "rnn_relu": 384, "lstm": 192, "gru": 224}[mode]
    cfg = Config(num_layers=1, bidirectional=True, batch_first=False, bias=True, with_hx=True,
                 T=4, N=3, D=5, H=H, to_torch=False, seed=1)
    compare(mode, "padded", cfg, F32)
    compare(mode, "packed", cfg, F32)
