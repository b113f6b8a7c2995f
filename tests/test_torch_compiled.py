"""The compiled path of rnncourse.torch (``compiled=True`` / ``RNNCOURSE_COMPILE=1``).

References: ``torch.nn`` with the same weights, and the eager path (itself tested
against torch.nn). Compiling is slow on a small machine, so the default run
compiles one small LSTM (forward and backward, one chunk shape); set
``RNNCOURSE_TEST_COMPILE_ALL=1`` to compile every layer, the GRU and the RNN too,
with chunks that do not divide the sequence, and a projection.
"""

from __future__ import annotations

import os
import warnings

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import rnncourse.torch as rt  # noqa: E402
from rnncourse.torch import compiled  # noqa: E402

needs_compiler = pytest.mark.skipif(not compiled.available()[0],
                                    reason=f"torch.compile unusable: {compiled.available()[1]}")
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script_method. is deprecated")

all_layers = pytest.mark.skipif(os.environ.get("RNNCOURSE_TEST_COMPILE_ALL") != "1",
                                reason="compiles several graphs; set RNNCOURSE_TEST_COMPILE_ALL=1")


def _compare(cls_name: str, T: int, N: int, D: int, H: int, dtype=torch.float32, tol=2e-5,
             device: str = "cpu", **kwargs) -> None:
    """Ours compiled (on ``device``) against torch.nn on the CPU: outputs and gradients."""
    torch.manual_seed(0)
    ref = getattr(nn, cls_name)(D, H, **kwargs).to(dtype)
    ours = getattr(rt, cls_name)(D, H, compiled=True, **kwargs).to(device=device, dtype=dtype)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(T, N, D, dtype=dtype)
    with torch.no_grad():
        dy = torch.randn(ref(x)[0].shape, dtype=dtype)
    results = []
    for m, dev in ((ours, device), (ref, "cpu")):
        xi = x.to(dev).requires_grad_()
        out, _ = m(xi)
        (out * dy.to(dev)).sum().backward()
        results.append([t.cpu() for t in [out, xi.grad] + [p.grad for p in m.parameters()]])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@needs_compiler
def test_compiled_lstm_matches_torch_nn():
    """H = 192, 3 rows: the per-step products with W_hh stored transposed (see
    compiled.prepare), the gates compiled."""
    _compare("LSTM", T=4, N=3, D=5, H=192)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_compiled_cuda_matches_torch_nn(cls_name):
    _compare(cls_name, T=6, N=3, D=5, H=16, dtype=torch.float64, tol=1e-9, device="cuda")


def test_no_compiler_falls_back_to_eager_with_a_warning(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: (False, "no C++ compiler found (test)"))
    monkeypatch.setattr(compiled, "_broken", [])
    m = rt.GRU(3, 4, compiled=True)
    x = torch.randn(5, 2, 3)
    with pytest.warns(RuntimeWarning,
                      match=r"no C\+\+ compiler found \(test\)\); running the eager"):
        out, _ = m(x)
    m.compiled = False
    torch.testing.assert_close(out, m(x)[0], rtol=0, atol=0)


def test_env_variable_and_where_the_compiled_path_is_not_used(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: (True, ""))
    monkeypatch.setenv("RNNCOURSE_COMPILE", "1")
    assert compiled.wanted(None, (3, 3, 3))
    assert not compiled.wanted(False, (3, 3, 3))  # the argument wins
    assert not compiled.wanted(None, (3, 2, 1))  # packed, lengths differ: eager
    assert not compiled.wanted(None, torch.tensor([3, 2, 1]))  # a PackedSequence's
    assert compiled.wanted(None, torch.tensor([3, 3]))
    monkeypatch.setenv("RNNCOURSE_COMPILE", "0")
    assert not compiled.wanted(None, (3, 3, 3)) and compiled.wanted(True, (3, 3, 3))
    # what the modules hand to the layer functions
    from rnncourse.torch import functional

    assert compiled.ops(None) is functional.EAGER and compiled.ops(True) is compiled.COMPILED
    assert compiled.ops(True, torch.tensor([2, 1])) is functional.EAGER


def test_chunk_size(monkeypatch):
    monkeypatch.delenv("RNNCOURSE_COMPILE_CHUNK", raising=False)
    assert [compiled.chunk_size(T) for T in (1, 4, 35, 50, 100, 13)] == [1, 4, 7, 5, 5, 1]
    monkeypatch.setenv("RNNCOURSE_COMPILE_CHUNK", "3")
    assert compiled.chunk_size(35) == 3 and compiled.chunk_size(2) == 2


@pytest.mark.parametrize(("rows", "transposed"), [(4, True), (63, True), (64, False)])
def test_prepare_stores_the_transpose_for_few_rows(rows, transposed):
    """The same values; for products with few rows, stored so that w.t() is contiguous
    (in blocks of rows: 1100 rows is two whole blocks and a part)."""
    w = torch.randn(1100, 7, generator=torch.Generator().manual_seed(0))
    got = compiled.prepare(w, rows)
    assert torch.equal(got, w) and got.shape == w.shape
    assert got.t().is_contiguous() is transposed and (got is w) is not transposed
    assert compiled.prepare(got, rows) is got  # already so: no second copy


@needs_compiler
@all_layers
@pytest.mark.parametrize(("cls_name", "kwargs"), [
    ("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}), ("LSTM", {"proj_size": 3}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
])
def test_compiled_layers_match_torch_nn(cls_name, kwargs, monkeypatch):
    monkeypatch.setenv("RNNCOURSE_COMPILE_CHUNK", "3")  # 7 steps: chunks of 3, 3 and 1
    _compare(cls_name, T=7, N=3, D=5, H=8, dtype=torch.float64, tol=1e-10, **kwargs)


@needs_compiler
@all_layers
def test_compiled_double_backward_uses_the_eager_code():
    torch.manual_seed(0)
    m = rt.LSTM(3, 4, compiled=True).double()
    ref = nn.LSTM(3, 4).double()
    ref.load_state_dict(m.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g, = torch.autograd.grad(m(x)[0].pow(2).sum(), x, create_graph=True)
    g_ref, = torch.autograd.grad(ref(x)[0].pow(2).sum(), x, create_graph=True)
    gg, = torch.autograd.grad(g.sum(), x)
    gg_ref, = torch.autograd.grad(g_ref.sum(), x)
    torch.testing.assert_close(gg, gg_ref)
