"""rnncourse.torch in the workflows a torch.nn user relies on, with torch.nn as the reference.

Mixed precision (``torch.autocast``), tracing and legacy ONNX export, dynamic
quantisation, and the ``_flat_weights`` attributes that weight-norm and WeightDrop-style
code read.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

import rnncourse.torch as rt  # noqa: E402

CELLS = ["RNNCell", "LSTMCell", "GRUCell"]
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.* is deprecated:DeprecationWarning")


def _pair(name: str, seed: int = 0, **kwargs) -> tuple[nn.Module, nn.Module]:
    """torch.nn's module and ours with the same weights."""
    torch.manual_seed(seed)
    ref = getattr(nn, name)(3, 5, **kwargs)
    ours = getattr(rt, name)(3, 5, **kwargs)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _tensors(out) -> list:
    """The tensors of a module's result, in order (a PackedSequence by its data)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if hasattr(out, "batch_sizes"):
        return [out.data]
    return [t for part in out for t in _tensors(part)]


# ---------------------------------------------------------------------- autocast

AUTOCAST_CASES = [
    ("RNN", {}, "padded"), ("RNN", {"nonlinearity": "relu", "num_layers": 2}, "padded"),
    ("RNN", {}, "packed"), ("RNN", {}, "unbatched"),
    ("LSTM", {}, "padded"), ("LSTM", {"num_layers": 2, "bidirectional": True}, "padded"),
    ("LSTM", {"batch_first": True}, "padded"), ("LSTM", {}, "packed"),
    ("LSTM", {"proj_size": 2}, "padded"), ("LSTM", {}, "unbatched"),
    ("GRU", {}, "padded"), ("GRU", {"num_layers": 2, "bidirectional": True}, "padded"),
    ("GRU", {}, "packed"), ("GRU", {}, "unbatched"),
    ("RNNCell", {}, "batched"), ("RNNCell", {"nonlinearity": "relu"}, "unbatched"),
    ("LSTMCell", {}, "batched"), ("LSTMCell", {}, "unbatched"),
    ("GRUCell", {}, "batched"), ("GRUCell", {}, "unbatched"),
]


@pytest.mark.parametrize(("name", "kwargs", "form"), AUTOCAST_CASES)
@pytest.mark.parametrize("with_state", [False, True])
def test_cpu_bfloat16_autocast_matches_torch_nn(name, kwargs, form, with_state):
    """Under ``torch.autocast('cpu', dtype=torch.bfloat16)``: the same output dtypes as
    torch.nn (bfloat16 where its kernels run in it, float32 where its float32 state
    promotes the result), values within bfloat16's precision, and a backward called
    outside the autocast region (as one should) giving float32 gradients that agree."""
    ref, ours = _pair(name, **kwargs)
    g = torch.Generator().manual_seed(1)
    cell = name.endswith("Cell")
    x = torch.randn(2, 3, generator=g) if cell else torch.randn(6, 3, 3, generator=g)
    if form == "unbatched":
        x = x[0] if cell else x[:, 0]
    hx = None
    if with_state:
        rows = () if cell else (ref.num_layers * (2 if ref.bidirectional else 1),)
        batch = () if form == "unbatched" else (x.shape[0] if cell else x.shape[1],)
        out_size = getattr(ref, "proj_size", 0) or 5
        h = torch.randn(*rows, *batch, out_size, generator=g)
        hx = (h, torch.randn(*rows, *batch, 5, generator=g)) if "LSTM" in name else h
    results = []
    for m in (ref, ours):
        xi = x.clone().requires_grad_()
        inp = pack_padded_sequence(xi, [6, 4, 1]) if form == "packed" else xi
        if kwargs.get("batch_first"):
            inp = inp.transpose(0, 1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m(inp) if hx is None else m(inp, hx)
        outs = _tensors(out)
        sum(t.float().pow(2).sum() for t in outs).backward()  # outside autocast
        results.append((outs, [xi.grad] + [p.grad for p in m.parameters()]))
    (ref_outs, ref_grads), (our_outs, our_grads) = results
    assert [t.dtype for t in our_outs] == [t.dtype for t in ref_outs]
    assert {t.dtype for t in ref_outs} <= {torch.bfloat16, torch.float32}
    for a, b in zip(our_outs, ref_outs, strict=True):
        torch.testing.assert_close(a.float(), b.float(), rtol=2e-2, atol=2e-2)
    for a, b in zip(our_grads, ref_grads, strict=True):
        assert a.dtype == b.dtype == torch.float32
        scale = b.abs().max().item() + 1
        assert (a - b).abs().max().item() < 2e-2 * scale


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_backward_follows_the_forward_autocast_not_the_callers(name):
    """A float32 forward whose ``.backward()`` is called inside an autocast region runs its
    backward in float32, as ``torch.amp.custom_bwd`` does: torch.nn's float32 gradients."""
    ref, ours = _pair(name)
    x = torch.randn(5, 2, 3)
    grads = []
    for m, region in ((ref, False), (ours, True)):
        xi = x.clone().requires_grad_()
        out = m(xi)[0]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=region):
            out.pow(2).sum().backward()
        grads.append([xi.grad] + [p.grad for p in m.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


def test_autocast_dtypes_differ_as_in_torch_nn():
    """The emulated dtypes are not all the same: a guard that the test above compares
    something (torch.nn's LSTM runs wholly in bfloat16, its GRU keeps a float32 state)."""
    x = torch.randn(4, 2, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert rt.LSTM(3, 5)(x)[0].dtype == nn.LSTM(3, 5)(x)[0].dtype == torch.bfloat16
        assert rt.GRU(3, 5)(x)[0].dtype == nn.GRU(3, 5)(x)[0].dtype == torch.float32
        assert rt.LSTMCell(3, 5)(x[0])[1].dtype == nn.LSTMCell(3, 5)(x[0])[1].dtype \
            == torch.float32


# ---------------------------------------------------------------------- tracing and ONNX

TRACE_CASES = [("RNN", {}), ("GRU", {"batch_first": True}),
               ("LSTM", {"num_layers": 2, "bidirectional": True}), ("LSTM", {"proj_size": 2})]


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize(("name", "kwargs"), TRACE_CASES)
def test_jit_trace_matches_torch_nn_at_other_shapes(name, kwargs):
    """``torch.jit.trace`` (what TensorBoard's ``add_graph`` uses) records our layers and
    the trace replays them on inputs of another length and batch size, with torch.nn's
    outputs and gradients (it crashed with ``unordered_map::at``)."""
    ref, ours = _pair(name, **kwargs)
    traced = torch.jit.trace(ours, (torch.randn(5, 2, 3),))
    for shape in [(5, 2, 3), (8, 3, 3), (1, 1, 3)]:
        x = torch.randn(*shape, requires_grad=True)
        got, expected = _tensors(traced(x)), _tensors(ref(x))
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, b)
        g, = torch.autograd.grad(got[0].pow(2).sum(), x)
        g_ref, = torch.autograd.grad(expected[0].pow(2).sum(), x)
        torch.testing.assert_close(g, g_ref)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize("name", CELLS)
def test_jit_trace_of_a_cell(name):
    ref, ours = _pair(name)
    traced = torch.jit.trace(ours, (torch.randn(2, 3),))
    x = torch.randn(4, 3)
    for a, b in zip(_tensors(traced(x)), _tensors(ref(x)), strict=True):
        torch.testing.assert_close(a, b)


def _legacy_onnx_message(name: str) -> str:
    return (rf"{name}: the legacy TorchScript-based ONNX export \(torch.onnx.export\(\.\.\., "
            r"dynamo=False\)\) is not supported by rnncourse.torch: use "
            r"torch.onnx.export\(\.\.\., dynamo=True\) or torch.export.export")


@pytest.mark.parametrize(("name", "shape"), [("LSTM", (5, 2, 3)), ("GRUCell", (2, 3))])
def test_legacy_onnx_export_is_refused_with_the_supported_paths(name, shape, monkeypatch):
    """Its graph of our autograd functions is invalid (ONNX Runtime rejects it), so it is
    refused by name. The legacy exporter traces with ``torch.onnx.is_in_onnx_export()``
    true; that is simulated here so that the test needs no ``onnx`` package."""
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    with pytest.raises(RuntimeError, match=_legacy_onnx_message(name)):
        torch.jit.trace(getattr(rt, name)(3, 5), (torch.randn(*shape),))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_legacy_onnx_export_really_is_refused():
    pytest.importorskip("onnx")
    import io

    with pytest.raises(RuntimeError, match=_legacy_onnx_message("GRU")):
        torch.onnx.export(rt.GRU(3, 5), (torch.randn(4, 2, 3),), io.BytesIO(), dynamo=False)


def test_torch_export_matches_torch_nn():
    """The supported path for a graph: ``torch.export`` (which ONNX's dynamo exporter uses)."""
    ref, ours = _pair("LSTM", num_layers=2)
    x = torch.randn(6, 2, 3)
    program = torch.export.export(ours, (x,))
    for a, b in zip(_tensors(program.module()(x)), _tensors(ref(x)), strict=True):
        torch.testing.assert_close(a, b)


def test_torchscript_is_not_supported():
    """Documented in the README: ``torch.jit.script`` cannot compile the modules, and a
    trace cannot be saved (it calls Python autograd functions)."""
    import io

    with pytest.raises(RuntimeError):
        torch.jit.script(rt.GRU(3, 5))
    with pytest.warns(torch.jit.TracerWarning):
        traced = torch.jit.trace(rt.GRU(3, 5), (torch.randn(4, 2, 3),))
    with pytest.raises(RuntimeError, match="Could not export Python function call"):
        torch.jit.save(traced, io.BytesIO())


# ------------------------------------------------------- torch.nn interop, quantisation


class _Net(nn.Module):
    """A model with course layers inside: an LSTM, a GRU cell and a linear head."""

    def __init__(self, lib) -> None:
        super().__init__()
        self.rnn = lib.LSTM(3, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.cell = lib.GRUCell(3, 16)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1]) + self.head(self.cell(x[:, 0]))


@pytest.mark.parametrize(("name", "kwargs"), [
    ("RNN", {"nonlinearity": "relu", "num_layers": 2, "dropout": 0.25}), ("GRU", {"bias": False}),
    ("LSTM", {"proj_size": 2, "bidirectional": True, "batch_first": True}),
    ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {"bias": False}),
])
def test_to_torch_nn_and_back(name, kwargs):
    ref, ours = _pair(name, **kwargs)
    ours.eval()
    twin = rt.to_torch_nn(ours)
    assert type(twin) is getattr(nn, name) and type(ours) is getattr(rt, name)
    assert not twin.training
    assert repr(twin) == repr(ref.eval())  # the same constructor arguments
    x = torch.randn(2, 3) if name.endswith("Cell") else torch.randn(4, 2, 3)
    for a, b in zip(_tensors(twin(x)), _tensors(ref(x)), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    back = rt.from_torch_nn(ref)
    assert type(back) is getattr(rt, name) and type(ref) is getattr(nn, name)
    for a, b in zip(_tensors(back(x)), _tensors(ref(x)), strict=True):
        torch.testing.assert_close(a, b)


def test_to_torch_nn_replaces_submodules_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = _Net(rt).eval()
    twin = rt.to_torch_nn(model)
    assert type(twin.rnn) is nn.LSTM and type(twin.cell) is nn.GRUCell
    assert type(model.rnn) is rt.LSTM and twin.head is not model.head  # a copy
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(twin(x), model(x))
    for cls in (rt.PeepholeLSTM, rt.CIFGLSTM):
        with pytest.warns(UserWarning, match=f"{cls.__name__} has no torch.nn counterpart"):
            assert type(rt.to_torch_nn(cls(3, 4))) is cls


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*quantize_per_tensor")
def test_dynamic_quantisation_goes_through_to_torch_nn():
    """``quantize_dynamic`` recognises torch.nn's exact types only: on the course's model it
    quantises the Linear and leaves the LSTM and GRU cell in float (as the README says);
    after :func:`to_torch_nn` it gives torch's dynamic-quantised LSTM and GRU cell, whose
    output stays within int8 precision of the float model."""
    from torch.ao.quantization import quantize_dynamic

    torch.manual_seed(0)
    model = _Net(rt).eval()
    spec = {nn.LSTM, nn.GRUCell, nn.Linear}
    direct = quantize_dynamic(model, spec)
    assert type(direct.rnn) is rt.LSTM and type(direct.cell) is rt.GRUCell
    quantized = quantize_dynamic(rt.to_torch_nn(model), spec)
    for m in (quantized.rnn, quantized.cell, quantized.head):
        assert type(m).__module__.startswith("torch.ao.nn.quantized.dynamic"), type(m)
    x = torch.randn(4, 6, 3)
    expected = model(x)
    err = (quantized(x) - expected).abs().max().item()
    assert 0 < err < 0.05 * expected.abs().max().item()


# ---------------------------------------------------------------------- _flat_weights

FLAT_CASES = [("RNN", {"num_layers": 2, "bidirectional": True}), ("GRU", {"bias": False}),
              ("LSTM", {}), ("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True})]


@pytest.mark.parametrize(("name", "kwargs"), FLAT_CASES)
def test_flat_weights_like_torch_nn(name, kwargs):
    ref, ours = _pair(name, **kwargs)
    assert ours._flat_weights_names == ref._flat_weights_names
    other = getattr(nn, name)(3, 5, **kwargs)
    ours.load_state_dict(other.state_dict())  # in place: still the module's own tensors
    for m in (ours, ours.double()):
        ref = other.double() if m is not ours else other
        assert len(m._flat_weights) == len(ref._flat_weights)
        for n, w, w_ref in zip(m._flat_weights_names, m._flat_weights, ref._flat_weights,
                               strict=True):
            assert w is getattr(m, n) and isinstance(w, nn.Parameter)
            assert torch.equal(w, w_ref)


def test_peephole_flat_weights_end_with_the_peepholes():
    m = rt.PeepholeLSTM(3, 4, num_layers=2)
    assert m._flat_weights_names == nn.LSTM(3, 4, num_layers=2)._flat_weights_names + [
        "weight_peep_l0", "weight_peep_l1"]


@pytest.mark.filterwarnings("ignore:.*weight_norm. is deprecated")
@pytest.mark.parametrize(("kwargs", "name", "num_params"), [
    ({}, "weight_ih_l0", 4), ({"proj_size": 3}, "weight_hr_l0", 5)])
def test_rnn_weight_norm(kwargs, name, num_params):
    """PyTorch's own ``test_rnn_weight_norm`` (test_nn.py) on the course's LSTM, and the
    weight-normed forward against torch.nn's with the same reparametrisation."""
    torch.manual_seed(0)
    ref, ours = nn.LSTM(8, 8, **kwargs), rt.LSTM(8, 8, **kwargs)
    ours.load_state_dict(ref.state_dict())
    for m in (ref, ours):
        m = torch.nn.utils.weight_norm(m, name=name)
        assert sum(isinstance(p, nn.Parameter) for p in m._flat_weights) == num_params - 1
    x = torch.randn(4, 2, 8)
    with torch.no_grad():
        for m in (ref, ours):
            getattr(m, name + "_g").mul_(0.5)  # the norm now matters
    for a, b in zip(_tensors(ours(x)), _tensors(ref(x)), strict=True):
        torch.testing.assert_close(a, b)
    m = torch.nn.utils.remove_weight_norm(ours, name=name)
    assert sum(isinstance(p, nn.Parameter) for p in m._flat_weights) == num_params
    assert name in m._parameters and m._parameters[name] is not None
    assert name + "_v" not in m._parameters and name + "_g" not in m._parameters
    assert name in dict(m.named_parameters())
    assert name + "_v" not in dict(m.named_parameters())


def test_weight_drop_style_reparametrisation():
    """AWD-LSTM's WeightDrop: the raw weight becomes ``<name>_raw`` and a dropped copy is
    set as a plain tensor before each forward; ``_flat_weights`` shows it, the forward
    uses it, and the gradient reaches the raw weight, as with torch.nn."""
    ref, ours = _pair("LSTM")
    grads = []
    for m in (ref, ours):
        raw = m.weight_hh_l0
        del m._parameters["weight_hh_l0"]
        m.register_parameter("weight_hh_l0_raw", nn.Parameter(raw.detach().clone()))
        mask = (torch.arange(raw.numel()).reshape(raw.shape) % 3 != 0).float()
        m.weight_hh_l0 = m.weight_hh_l0_raw * mask / (2 / 3)  # as WeightDrop's setattr
        assert m._flat_weights[1] is m.weight_hh_l0
        assert not isinstance(m._flat_weights[1], nn.Parameter)
        x = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(3))
        m(x)[0].pow(2).sum().backward()
        grads.append((m(x)[0], m.weight_hh_l0_raw.grad))
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


def test_parametrized_weight_norm_like_torch_nn():
    """The current API (``torch.nn.utils.parametrizations.weight_norm``): same forward and
    same ``_flat_weights`` kinds as torch.nn."""
    from torch.nn.utils.parametrizations import weight_norm

    ref, ours = _pair("LSTM")
    for m in (ref, ours):
        weight_norm(m, "weight_hh_l0")
        with torch.no_grad():
            m.parametrizations.weight_hh_l0.original0.mul_(0.5)
    x = torch.randn(4, 2, 3)
    for a, b in zip(_tensors(ours(x)), _tensors(ref(x)), strict=True):
        torch.testing.assert_close(a, b)
    # torch.nn refreshes its list in forward; the course's is read when asked for
    assert [type(w) for w in ours._flat_weights] == [type(w) for w in ref._flat_weights] == [
        nn.Parameter, torch.Tensor, nn.Parameter, nn.Parameter]


# ---------------------------------------------------------------------- torch.compile(model)


def test_torch_compile_recompiles_per_packed_length_pattern():
    """What the README says of ``torch.compile(model)``: the loop over time is unrolled, so
    a packed batch with a new pattern of lengths (and an input of a new length) compiles a
    new graph, a repeated one does not; the results are torch.nn's. (Dynamo only: a
    counting backend, no code generation.)"""
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    ref, ours = _pair("GRU")
    counter = CompileCounter()
    compiled_model = torch.compile(ours, backend=counter)
    x = torch.randn(6, 3, 3)
    counts = []
    for lengths in ([6, 4, 2], [6, 4, 2], [6, 5, 2], [6, 4, 2]):
        packed = pack_padded_sequence(x, lengths)
        out, h = compiled_model(packed)
        ref_out, ref_h = ref(packed)
        torch.testing.assert_close(out.data, ref_out.data)
        torch.testing.assert_close(h, ref_h)
        counts.append(counter.frame_count)
    assert counts == [1, 1, 2, 2]
    torch._dynamo.reset()
