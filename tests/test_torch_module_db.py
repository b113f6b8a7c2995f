"""rnncourse.torch against PyTorch's own test database of its recurrent modules.

``torch.testing._internal.common_modules.module_db`` ships with PyTorch and holds,
for ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` and the three cells, the sample inputs
(constructor and forward arguments) and the error inputs (with the exception type
and message) that PyTorch's own ``test_modules.py`` runs. This driver is ours: it
runs every sample through ``rnncourse.torch`` and through ``torch.nn`` (the
reference, on the CPU) and compares

* the ``state_dict``: the same keys in the same order and the same shapes (our
  module loads torch's with ``strict=True``, and torch's loads ours back);
* the outputs (``PackedSequence`` data included) and final states;
* the gradients of a random projection of the outputs with respect to every
  parameter and every input, and the gradients of a random projection of those
  gradients (double backward), both computed by torch.nn through autograd;

and runs every error input through ``rnncourse.torch``, expecting the exception
type and message that ``torch.nn`` raises (checked on torch.nn too, so that the
test follows what the installed PyTorch really does).

Devices: the CPU, plus CUDA when ``RNNCOURSE_TEST_CUDA=1`` and a GPU is present
(``make test-gpu``); the reference always runs on the CPU. dtypes: float32 and
float64. Also: packed samples for RNN and GRU (the database's
``with_packed_sequence`` variant).
"""

from __future__ import annotations

import functools
import io
import os
import re

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # torch.testing._internal imports it

from torch import Tensor, nn  # noqa: E402
from torch.nn.utils.rnn import PackedSequence  # noqa: E402
from torch.testing._internal.common_modules import (  # noqa: E402
    ModuleErrorEnum,
    module_db,
)

import rnncourse.torch as rt  # noqa: E402

# torch.nn's own note when its oneDNN kernel cannot take a projection (proj_size)
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

OURS = {nn.RNN: rt.RNN, nn.LSTM: rt.LSTM, nn.GRU: rt.GRU,
        nn.RNNCell: rt.RNNCell, nn.LSTMCell: rt.LSTMCell, nn.GRUCell: rt.GRUCell}
INFOS = {info.module_cls.__name__: info for info in module_db if info.module_cls in OURS}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# (rtol, atol) for outputs and first gradients, and for the second gradients
TOL = {torch.float64: ((1e-9, 1e-11), (1e-8, 1e-10)),
       torch.float32: ((2e-5, 2e-6), (1e-4, 1e-5))}


def _devices() -> list[str]:
    devices = ["cpu"]
    if os.environ.get("RNNCOURSE_TEST_CUDA") == "1" and torch.cuda.is_available():
        devices.append("cuda")
    return devices


@functools.cache
def _samples(name: str, dtype: torch.dtype) -> list:
    info = INFOS[name]
    torch.manual_seed(0)  # the database draws its inputs with make_tensor
    return tuple(info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=True,
                                        training=True, with_packed_sequence=True))


@functools.cache
def _error_samples(name: str, dtype: torch.dtype) -> list:
    info = INFOS[name]
    torch.manual_seed(0)
    return tuple(info.module_error_inputs_func(info, device="cpu", dtype=dtype,
                                              requires_grad=False, training=True))


def _cases(make) -> list:
    return [pytest.param(name, dtype, k, id=f"{name}-{dtype}-{k}")
            for name in INFOS for dtype in DTYPES for k in range(len(make(name, DTYPES[dtype])))]


# --------------------------------------------------------------------------- helpers


def _copy(obj, device: str):
    """A copy of a (nested) forward argument on ``device``, a fresh leaf for autograd."""
    if isinstance(obj, PackedSequence):
        return PackedSequence(_copy(obj.data, device), obj.batch_sizes,
                              obj.sorted_indices, obj.unsorted_indices)
    if isinstance(obj, Tensor):
        return obj.detach().to(device).clone().requires_grad_(obj.requires_grad)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_copy(o, device) for o in obj)
    return obj


def _tensors(obj) -> list[Tensor]:
    """The tensors in a (nested) output or argument, in order (a PackedSequence's data)."""
    if isinstance(obj, PackedSequence):
        return [obj.data]
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    return []


def _grads(outputs: list[Tensor], wrt: list[Tensor], weights: list[Tensor],
           create_graph: bool) -> list[Tensor]:
    loss = sum((o * w.to(o.device)).sum() for o, w in zip(outputs, weights, strict=True))
    grads = torch.autograd.grad(loss, wrt, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for g, x in zip(grads, wrt, strict=True)]


def _assert_close(ours: list[Tensor], ref: list[Tensor], tol: tuple[float, float],
                  what: str) -> None:
    assert len(ours) == len(ref), what
    for k, (a, b) in enumerate(zip(ours, ref, strict=True)):
        assert a.shape == b.shape and a.dtype == b.dtype, f"{what}[{k}]: {a.shape} {b.shape}"
        torch.testing.assert_close(a.detach().cpu(), b.detach(), rtol=tol[0], atol=tol[1],
                                   msg=lambda m, k=k: f"{what}[{k}]: {m}")


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize(("name", "dtype", "index"), _cases(_samples))
def test_sample_matches_torch_nn(name: str, dtype: str, index: int, device: str) -> None:
    sample = _samples(name, DTYPES[dtype])[index]
    tdtype = DTYPES[dtype]
    (tol1, tol2) = TOL[tdtype]
    if device != "cpu":  # another BLAS (cuBLAS), other summation orders
        tol1, tol2 = ((10 * r, 10 * a) for r, a in (tol1, tol2))
    args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    torch.manual_seed(1)
    ref = INFOS[name].module_cls(*args, **kwargs).to(dtype=tdtype)
    ours = OURS[INFOS[name].module_cls](*args, **kwargs).to(device=device, dtype=tdtype)

    # state_dict: the same keys in the same order, loaded strictly both ways
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict(), strict=True)
    back = INFOS[name].module_cls(*args, **kwargs).to(dtype=tdtype)
    back.load_state_dict({k: v.cpu() for k, v in ours.state_dict().items()}, strict=True)
    for (k, a), b in zip(back.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    buffer = io.BytesIO()  # and through torch.save / torch.load
    torch.save(ours.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    assert all(torch.equal(loaded[k], v) for k, v in ours.state_dict().items())

    fwd = sample.forward_input
    ref_in = (_copy(fwd.args, "cpu"), _copy(fwd.kwargs, "cpu"))
    our_in = (_copy(fwd.args, device), _copy(fwd.kwargs, device))
    ref_out = _tensors(ref(*ref_in[0], **ref_in[1]))
    our_out = _tensors(ours(*our_in[0], **our_in[1]))
    _assert_close(our_out, ref_out, tol1, "outputs")

    # gradients of sum(out * v) with respect to every parameter and input
    ref_wrt = list(ref.parameters()) + [t for t in _tensors(ref_in) if t.requires_grad]
    our_wrt = list(ours.parameters()) + [t for t in _tensors(our_in) if t.requires_grad]
    gen = torch.Generator().manual_seed(2)
    v = [torch.randn(o.shape, dtype=tdtype, generator=gen) for o in ref_out]
    ref_g = _grads(ref_out, ref_wrt, v, create_graph=True)
    our_g = _grads(our_out, our_wrt, v, create_graph=True)
    _assert_close(our_g, ref_g, tol1, "gradients")

    # double backward: the gradients of sum(grad * u)
    u = [torch.randn(g.shape, dtype=tdtype, generator=gen) for g in ref_g]
    ref_gg = _grads(ref_g, ref_wrt, u, create_graph=False)
    our_gg = _grads(our_g, our_wrt, u, create_graph=False)
    _assert_close(our_gg, ref_gg, tol2, "second gradients")


# --------------------------------------------------------------------------- errors


def _raise(name: str, classes: dict, error, device: str) -> BaseException:
    """Build (and run) the error sample with ``classes[name]``; return what it raised."""
    sample = error.module_error_input
    cls = classes[INFOS[name].module_cls]
    args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    kwargs = {k: (device if k == "device" else v) for k, v in kwargs.items()}
    try:
        module = cls(*args, **kwargs)
        if error.error_on == ModuleErrorEnum.FORWARD_ERROR:
            fwd = sample.forward_input
            module(*_copy(fwd.args, device), **_copy(fwd.kwargs, device))
    except Exception as exc:  # what we compare
        return exc
    raise AssertionError(f"{cls.__module__}.{cls.__name__} raised nothing for "
                         f"{error.error_regex!r}")


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize(("name", "dtype", "index"), _cases(_error_samples))
def test_error_input_matches_torch_nn(name: str, dtype: str, index: int, device: str) -> None:
    error = _error_samples(name, DTYPES[dtype])[index]
    theirs = _raise(name, {k: k for k in OURS}, error, "cpu")
    ours = _raise(name, OURS, error, device)
    # the database's expectation holds for torch.nn, and ours raises the same
    assert isinstance(theirs, error.error_type) and re.search(error.error_regex, str(theirs))
    assert type(ours) is type(theirs), f"{type(ours).__name__}: {ours}"
    assert str(ours) == str(theirs)


def test_the_database_has_the_six_classes() -> None:
    assert set(INFOS) == {"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"}
    for name in INFOS:
        assert _samples(name, torch.float64), name
        assert _error_samples(name, torch.float64), name
