"""torch.nn state_dicts <-> NumPy parameters, checked by running both networks."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
from conftest import torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.convert import from_torch, to_torch
from rnncourse.numpy.gru import gru_forward
from rnncourse.numpy.lstm import lstm_forward
from rnncourse.numpy.rnn import rnn_forward

torch = torch_or_skip()

# (kind for convert, torch.nn class, extra constructor arguments)
MODELS = {
    "rnn_tanh": ("rnn", torch.nn.RNN, dict(nonlinearity="tanh")),
    "rnn_relu": ("rnn", torch.nn.RNN, dict(nonlinearity="relu")),
    "lstm": ("lstm", torch.nn.LSTM, {}),
    "gru": ("gru", torch.nn.GRU, {}),
}


def make_module(model, D, H, num_layers, bias, bidirectional, seed=0):
    kind, cls, extra = MODELS[model]
    torch.manual_seed(seed)
    m = cls(D, H, num_layers=num_layers, bias=bias, bidirectional=bidirectional,
            batch_first=True, **extra).double()
    return kind, m, extra.get("nonlinearity", "tanh")


def numpy_network(params, kind, x, h0, c0=None, nonlinearity="tanh"):
    """The stacked, bidirectional network, built from the NumPy layers.

    ``h0``, ``c0``: ``(num_layers * dirs, N, H)`` as in torch.  The reverse
    direction reads the time-reversed input, and its outputs are reversed
    back; layer l + 1 reads the concatenation of both directions' outputs.
    Returns ``(output, h_n, c_n)`` shaped like torch's.
    """
    suffixes = ("", "_reverse") if "l0_reverse" in params else ("",)
    num_layers = len(params) // len(suffixes)
    h_n, c_n = [], []
    layer_in = x
    for layer in range(num_layers):
        outs = []
        for j, s in enumerate(suffixes):
            p = params[f"l{layer}{s}"]
            i = layer * len(suffixes) + j
            xs = layer_in[:, ::-1] if s else layer_in
            if kind == "rnn":
                h, _ = rnn_forward(xs, h0[i], p["Wx"], p["Wh"], p["b"], nonlinearity)
            elif kind == "lstm":
                h, c_T, _ = lstm_forward(xs, h0[i], c0[i], p["Wx"], p["Wh"], p["b"])
                c_n.append(c_T)
            else:
                h, _ = gru_forward(xs, h0[i], p["Wx"], p["Wh"], p["bx"], p["bh"])
            h_n.append(h[:, -1])
            outs.append(h[:, ::-1] if s else h)
        layer_in = np.concatenate(outs, axis=-1)
    return layer_in, np.stack(h_n), (np.stack(c_n) if c_n else None)


def torch_network(m, kind, x, h0, c0):
    with torch.no_grad():
        if kind == "lstm":
            out, (h_n, c_n) = m(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
            return out.numpy(), h_n.numpy(), c_n.numpy()
        out, h_n = m(torch.from_numpy(x), torch.from_numpy(h0))
        return out.numpy(), h_n.numpy(), None


def inputs(rng, N, T, D, H, num_layers, dirs):
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((num_layers * dirs, N, H))
    c0 = rng.standard_normal((num_layers * dirs, N, H))
    return x, h0, c0


def assert_same(a, b):
    for u, v in zip(a, b, strict=True):
        if u is None or v is None:
            assert u is None and v is None
        else:
            assert u.shape == v.shape
            assert np.max(np.abs(u - v)) <= 1e-10


# --------------------------------------------------------------------------- torch -> NumPy


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_from_torch_runs_like_the_torch_module(rng, model, bias, bidirectional):
    kind, m, nonlinearity = make_module(model, 4, 5, 2, bias, bidirectional)
    dirs = 2 if bidirectional else 1
    x, h0, c0 = inputs(rng, 3, 6, 4, 5, 2, dirs)
    params = from_torch(m, kind)
    names = ["l0", "l0_reverse", "l1", "l1_reverse"] if bidirectional else ["l0", "l1"]
    assert list(params) == names
    g = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    assert params["l1"]["Wx"].shape == (5 * dirs, g * 5)
    assert params["l0"]["Wh"].shape == (5, g * 5)
    assert all(a.dtype == np.float64 for p in params.values() for a in p.values())
    ours = numpy_network(params, kind, x, h0, c0, nonlinearity)
    assert_same(ours, torch_network(m, kind, x, h0, c0))


def test_from_torch_takes_the_module_or_its_state_dict_and_copies():
    _, m, _ = make_module("lstm", 3, 2, 2, True, True)
    a, b = from_torch(m, "lstm"), from_torch(m.state_dict(), "lstm")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == {"Wx", "Wh", "b"}
        for k in a[name]:
            assert np.array_equal(a[name][k], b[name][k])
    # The arrays are copies: changing the module afterwards does not change them.
    before = a["l0"]["Wx"].copy()
    with torch.no_grad():
        m.weight_ih_l0.add_(1.0)
    assert np.array_equal(a["l0"]["Wx"], before)
    # Wx is weight_ih.T, b the sum of the two biases (hand-checked entries).
    sd = m.state_dict()
    assert a["l0"]["Wx"][2, 7] == sd["weight_ih_l0"][7, 2].item() - 1.0
    assert a["l1_reverse"]["b"][5] == (sd["bias_ih_l1_reverse"][5]
                                       + sd["bias_hh_l1_reverse"][5]).item()


def test_gru_keeps_both_biases():
    _, m, _ = make_module("gru", 3, 2, 1, True, False)
    p = from_torch(m, "gru")["l0"]
    assert np.array_equal(p["bx"], m.bias_ih_l0.detach().numpy())
    assert np.array_equal(p["bh"], m.bias_hh_l0.detach().numpy())


def test_bias_false_gives_zero_biases():
    _, m, _ = make_module("gru", 3, 2, 2, False, True)
    for p in from_torch(m, "gru").values():
        assert not p["bx"].any() and not p["bh"].any() and p["bx"].shape == (6,)


def test_dtype_argument_and_float32_modules():
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 2)  # float32
    p64 = from_torch(m, "lstm")
    assert p64["l0"]["Wx"].dtype == np.float64
    assert np.array_equal(p64["l0"]["Wx"], m.weight_ih_l0.detach().numpy().T.astype(np.float64))
    p32 = from_torch(m, "lstm", dtype=np.float32)
    assert all(a.dtype == np.float32 for a in p32["l0"].values())
    sd = to_torch(p32, "lstm", dtype=torch.float32)
    assert all(t.dtype == torch.float32 for t in sd.values())
    m.load_state_dict(sd)


def test_prefix_selects_the_recurrent_part_of_a_larger_model():
    torch.manual_seed(0)
    model = torch.nn.ModuleDict(dict(encoder=torch.nn.GRU(3, 4), head=torch.nn.Linear(4, 2)))
    p = from_torch(model.state_dict(), "gru", prefix="encoder.")
    assert list(p) == ["l0"]
    assert np.array_equal(p["l0"]["Wh"], model["encoder"].weight_hh_l0.detach().numpy().T)


@given(
    model=st.sampled_from(list(MODELS)),
    N=st.integers(1, 3), T=st.integers(1, 4), D=st.integers(1, 4), H=st.integers(1, 4),
    num_layers=st.integers(1, 3), bias=st.booleans(), bidirectional=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_random_networks_match_torch(
    model, N, T, D, H, num_layers, bias, bidirectional, seed,
):
    rng = np.random.default_rng(seed)
    kind, m, nonlinearity = make_module(model, D, H, num_layers, bias, bidirectional,
                                        seed=seed % 2**31)
    x, h0, c0 = inputs(rng, N, T, D, H, num_layers, 2 if bidirectional else 1)
    ours = numpy_network(from_torch(m, kind), kind, x, h0, c0, nonlinearity)
    assert_same(ours, torch_network(m, kind, x, h0, c0))


# --------------------------------------------------------------------------- NumPy -> torch


def random_params(rng, kind, D, H, num_layers, bidirectional):
    """NumPy parameters written by hand, not by from_torch."""
    g = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    dirs = 2 if bidirectional else 1
    params = {}
    for layer in range(num_layers):
        for s in ("", "_reverse")[:dirs]:
            n_in = D if layer == 0 else dirs * H
            p = dict(Wx=rng.standard_normal((n_in, g * H)) / np.sqrt(n_in),
                     Wh=rng.standard_normal((H, g * H)) / np.sqrt(H))
            if kind == "gru":
                p["bx"], p["bh"] = rng.standard_normal(g * H), rng.standard_normal(g * H)
            else:
                p["b"] = rng.standard_normal(g * H)
            params[f"l{layer}{s}"] = p
    return params


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("bidirectional", [True, False])
def test_to_torch_loads_strictly_and_runs_like_numpy(rng, model, bidirectional):
    kind, m, nonlinearity = make_module(model, 4, 5, 2, True, bidirectional, seed=7)
    params = random_params(rng, kind, 4, 5, 2, bidirectional)
    sd = to_torch(params, kind)
    assert isinstance(sd, OrderedDict)
    assert list(sd) == list(m.state_dict())  # torch's own parameter order
    m.load_state_dict(sd, strict=True)
    x, h0, c0 = inputs(rng, 2, 5, 4, 5, 2, 2 if bidirectional else 1)
    ours = numpy_network(params, kind, x, h0, c0, nonlinearity)
    assert_same(ours, torch_network(m, kind, x, h0, c0))
    if kind != "gru":  # b went to bias_ih, zeros to bias_hh
        assert np.array_equal(m.bias_ih_l1.detach().numpy(), params["l1"]["b"])
        assert not m.bias_hh_l1.detach().numpy().any()


@pytest.mark.parametrize("model", ["rnn_tanh", "lstm", "gru"])
def test_to_torch_without_bias(rng, model):
    kind, m, nonlinearity = make_module(model, 3, 4, 2, False, True)
    params = random_params(rng, kind, 3, 4, 2, True)
    for p in params.values():
        for k in ("b", "bx", "bh"):
            if k in p:
                p[k] = np.zeros_like(p[k])
    m.load_state_dict(to_torch(params, kind, bias=False), strict=True)
    x, h0, c0 = inputs(rng, 2, 3, 3, 4, 2, 2)
    ours = numpy_network(params, kind, x, h0, c0, nonlinearity)
    assert_same(ours, torch_network(m, kind, x, h0, c0))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_round_trip(rng, kind, bidirectional):
    params = random_params(rng, kind, 3, 2, 3, bidirectional)
    back = from_torch(to_torch(params, kind), kind)
    assert back.keys() == params.keys()
    for name, p in params.items():
        assert back[name].keys() == p.keys()
        for k in p:  # RNN/LSTM: b comes back as bias_ih + 0, exactly
            assert np.array_equal(back[name][k], p[k]), (name, k)


def test_round_trip_from_torch_preserves_the_bias_sum():
    _, m, _ = make_module("rnn_tanh", 2, 3, 1, True, False)
    sd = to_torch(from_torch(m, "rnn"), "rnn")
    assert np.array_equal(sd["weight_hh_l0"].numpy(), m.weight_hh_l0.detach().numpy())
    total = (m.bias_ih_l0 + m.bias_hh_l0).detach().numpy()
    assert np.array_equal((sd["bias_ih_l0"] + sd["bias_hh_l0"]).numpy(), total)


# --------------------------------------------------------------------------- bad input


def test_from_torch_rejects_projected_lstm():
    m = torch.nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"'weight_hr_l0' belongs to an LSTM with proj_size"):
        from_torch(m, "lstm")


def test_unknown_kind():
    with pytest.raises(ValueError, match=r"from_torch: kind must be 'rnn', 'lstm' or 'gru', "
                                         r"got 'transformer'"):
        from_torch(torch.nn.RNN(2, 3), "transformer")
    with pytest.raises(ValueError, match=r"to_torch: kind must be"):
        to_torch({}, "elman")


def test_gate_count_mismatch():
    with pytest.raises(ValueError, match=r"weight_ih_l0 has 4H rows \(20 with H = 5\), "
                                         r"expected 3H = 15 for kind='gru'.*'lstm'"):
        from_torch(torch.nn.LSTM(3, 5), "gru")
    with pytest.raises(ValueError, match=r"weight_ih_l0 has 3H rows .*expected 4H"):
        from_torch(torch.nn.GRU(3, 5), "lstm")
    with pytest.raises(ValueError, match=r"weight_ih_l0 has 1H rows .*expected 3H"):
        from_torch(torch.nn.RNN(3, 5), "gru")
    params = from_torch(torch.nn.LSTM(3, 5), "lstm")
    with pytest.raises(ValueError, match=r"params\['l0'\]\['Wh'\] has 4H columns .*expected 3H"):
        to_torch({"l0": {"Wx": params["l0"]["Wx"], "Wh": params["l0"]["Wh"],
                         "bx": params["l0"]["b"], "bh": params["l0"]["b"]}}, "gru")


def test_inconsistent_state_dicts():
    sd = dict(torch.nn.GRU(3, 4, num_layers=2).state_dict())
    bad = dict(sd, weight_ih_l1=torch.zeros(12, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"weight_ih_l1 has shape \(12, 5\), expected \(12, 4\)"):
        from_torch(bad, "gru")
    bad = dict(sd, bias_hh_l0=torch.zeros(11))
    with pytest.raises(ValueError, match=r"bias_hh_l0 must have shape \(12,\).*got \(11,\)"):
        from_torch(bad, "gru")
    bad = dict(sd, weight_hh_l1=torch.zeros(15, 5))
    with pytest.raises(ValueError, match=r"weight_hh_l1 has shape \(15, 5\), but H = 4"):
        from_torch(bad, "gru")
    bad = {k: v for k, v in sd.items() if k != "weight_hh_l1"}
    with pytest.raises(ValueError, match=r"missing weight_hh_l1"):
        from_torch(bad, "gru")
    bad = {k: v for k, v in sd.items() if k != "bias_ih_l0"}
    with pytest.raises(ValueError, match=r"missing bias_ih_l0"):
        from_torch(bad, "gru")
    with pytest.raises(ValueError, match=r"unexpected key 'rnn.weight_ih_l0'.*prefix="):
        from_torch({"rnn." + k: v for k, v in sd.items()}, "gru")
    with pytest.raises(ValueError, match=r"weight_ih_l0 must be 2-D, got shape \(12,\)"):
        from_torch(dict(sd, weight_ih_l0=torch.zeros(12)), "gru")
    nan = sd["weight_hh_l0"].clone()
    nan[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"weight_hh_l0: contains 1 NaN"):
        from_torch(dict(sd, weight_hh_l0=nan), "gru")
    with pytest.raises(TypeError, match=r"expected a torch.nn.RNN/LSTM/GRU module or its "
                                        r"state_dict, got list"):
        from_torch([1, 2], "gru")
    with pytest.raises(ValueError, match=r"no recurrent weights found"):
        from_torch({}, "gru")
    with pytest.raises(TypeError, match=r"dtype must be float64 or float32, got float16"):
        from_torch(sd, "gru", dtype=np.float16)


def test_inconsistent_params(rng):
    params = random_params(rng, "lstm", 3, 2, 2, True)
    with pytest.raises(ValueError, match=r"must have the layers \['l0', 'l0_reverse', 'l1', "
                                         r"'l1_reverse'\]"):
        to_torch({k: v for k, v in params.items() if k != "l1_reverse"}, "lstm")
    with pytest.raises(ValueError, match=r"params\['l0'\] must have the keys \['Wh', 'Wx', 'b'\]"
                                         r" for kind='lstm', got \['Wh', 'Wx', 'bh', 'bx'\]"):
        to_torch(random_params(rng, "gru", 3, 2, 1, False), "lstm")
    bad = dict(params, l1=dict(params["l1"], Wx=np.zeros((3, 8))))
    with pytest.raises(ValueError, match=r"params\['l1'\]\['Wx'\] has shape \(3, 8\), "
                                         r"expected \(4, 8\)"):
        to_torch(bad, "lstm")
    bad = dict(params, l0=dict(params["l0"], b=np.zeros(7)))
    with pytest.raises(ValueError, match=r"params\['l0'\]\['b'\] must have shape \(8,\)"):
        to_torch(bad, "lstm")
    bad = dict(params, l0=dict(params["l0"], Wh=params["l0"]["Wh"].astype(bool)))
    with pytest.raises(TypeError, match=r"params\['l0'\]\['Wh'\]: expected a float64 or "
                                        r"float32 array, got booleans"):
        to_torch(bad, "lstm")
    bad = dict(params, l0=dict(params["l0"], Wx=np.full((3, 8), np.nan)))
    with pytest.raises(ValueError, match=r"params\['l0'\]\['Wx'\]: contains 24 NaN"):
        to_torch(bad, "lstm")
    with pytest.raises(ValueError, match=r"bias=False, but params\['l0'\]\['b'\] is not zero"):
        to_torch(params, "lstm", bias=False)
    with pytest.raises(TypeError, match=r"dtype must be a floating torch.dtype"):
        to_torch(params, "lstm", dtype=torch.int64)


def test_numpy_side_imports_without_torch():
    """The converter and the NumPy package import (and read arrays) without torch."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "import rnncourse.convert, rnncourse.params, rnncourse.cli, rnncourse.numpy\n"
        "sd = {'weight_ih_l0': np.ones((2, 3)), 'weight_hh_l0': np.ones((2, 2))}\n"
        "p = rnncourse.convert.from_torch(sd, 'rnn')\n"
        "assert p['l0']['Wx'].shape == (3, 2) and not p['l0']['b'].any()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
