"""PyTorch's own recurrent-layer tests from ``test/test_nn.py``, run on the course's modules.

``rnncourse.torch`` claims to be a drop-in replacement for ``torch.nn.RNN/LSTM/GRU`` and
their cells. PyTorch's ``test/test_nn.py`` (not shipped in the wheel; read at commit
``74f2fa66feec00335f72813782f4802e80bff4cb``, classes ``TestNN`` and ``TestNNDeviceType``)
holds the tests PyTorch runs on those classes. Every one of them that builds a recurrent
layer or cell is ported below, rewritten for pytest with the course's class in place of
``torch.nn``'s and the same checks. Where the upstream test compares two implementations
(cuDNN against the CPU kernel, oneDNN on against off, the GPU's fused kernel against the
CPU's), the port compares the course's module, on each device under test, with
``torch.nn``'s module on the CPU holding the same weights -- so those tests run (and mean
something) without a GPU, too. Sizes are PyTorch's unless said otherwise.

Devices: the CPU, plus CUDA when ``RNNCOURSE_TEST_CUDA=1`` and a GPU is present (``make
test-gpu``), as in ``tests/test_torch_module_db.py``. A test that needs a device this
machine lacks is skipped with the reason.

Upstream test (``TestNN`` unless marked ``[D]`` for ``TestNNDeviceType``) -> port here:

========================================  ==============================================
test_RNN_nonlinearity                     test_RNN_nonlinearity
test_RNN_nonlinearity_passed_as_arg       test_RNN_nonlinearity_passed_as_arg
test_rnn_weight_norm                      tests/test_torch_workflows.py::
                                          test_rnn_weight_norm (ported there, with the
                                          weight-normed forward against torch.nn's)
test_RNN_cell                             test_RNN_cell
test_RNN_cell_forward_zero_hidden_size    test_RNN_cell_forward_zero_hidden_size
test_RNN_cell_no_broadcasting             test_RNN_cell_no_broadcasting
test_LSTM_cell                            test_LSTM_cell
test_LSTM_cell_forward_input_size         test_LSTM_cell_forward_input_size
test_LSTM_cell_forward_hidden_size        test_LSTM_cell_forward_hidden_size
test_pack_sequence_batch_sizes_throw      test_pack_sequence_batch_sizes_throw (CUDA only:
                                          ``batch_sizes`` on the GPU; skipped without one)
test_cudnn_rnn_dropout_states_device      test_cudnn_rnn_dropout_states_device (needs two
                                          CUDA devices; skipped otherwise)
test_cudnn_forward_exception              test_cudnn_forward_exception
test_cudnn_weight_format                  test_cudnn_weight_format (every device; the
                                          cuDNN "not a single contiguous chunk" warning
                                          is asserted absent: no flat weight buffer here)
test_cudnn_weight_tying                   test_cudnn_weight_tying (every device, against
                                          torch.nn on the CPU)
test_rnn_args_check                       test_rnn_args_check
test_projections_lstm_args_check          test_projections_lstm_args_check
test_rnn_check_device                     test_rnn_check_device (the "other device" is
                                          ``meta`` without a GPU, ``cuda`` with one) and
                                          test_rnn_check_device_second_gpu (needs two
                                          CUDA devices; skipped otherwise)
test_projections_lstm_check_device        test_projections_lstm_check_device (as above) and
                                          test_projections_lstm_check_device_second_gpu
test_rnn_initial_hidden_state             test_rnn_initial_hidden_state
test_projections_lstm_initial_hidden_...  test_projections_lstm_initial_hidden_state
test_projections_errors_on_gru_and_rnn    test_projections_errors_on_gru_and_rnn
test_RNN_cpu_vs_cudnn_no_dropout          test_RNN_cpu_vs_cudnn[...-dropout0] (with
                                          ``_test_RNN_cpu_vs_cudnn``: against torch.nn)
test_RNN_cpu_vs_cudnn_with_dropout        test_RNN_cpu_vs_cudnn[...-dropout1]
test_RNN_cudnn_weight_norm                test_RNN_cudnn_weight_norm (every device)
test_partial_flat_weights                 test_partial_flat_weights (every device)
test_RNN_dropout                          test_RNN_dropout (every device)
test_error_RNN_seq_len_zero               test_error_RNN_seq_len_zero
test_RNN_input_size_zero                  test_RNN_input_size_zero
test_RNN_dropout_state                    test_RNN_dropout_state
test_RNN_change_dropout                   test_RNN_change_dropout
[D] test_rnn_fused                        test_rnn_fused (every device, against torch.nn)
[D] test_save_lstm_compatibility          test_save_lstm_compatibility
[D] test_rnn_retain_variables             test_rnn_retain_variables
[D] test_lstmcell_backward_only_one_...   test_lstmcell_backward_only_one_output_grad
[D] test_LSTM_grad_and_gradgrad           test_grad_and_gradgrad[LSTM-...] (with
                                          ``_test_rnn_mod``; on CUDA the upstream check
                                          that cuDNN refuses double backward becomes a
                                          check that double backward works: no cuDNN here)
[D] test_GRU_grad_and_gradgrad            test_grad_and_gradgrad[GRU-...] (likewise)
[D] test_LSTM_differentiable_backward_... test_LSTM_differentiable_backward_using_oneDNN
                                          (oneDNN on and off, and against torch.nn)
[D] test_variable_sequence                test_variable_sequence
========================================  ==============================================

Out of scope (they build no recurrent layer): ``[D] test_device_mask`` (packing utilities
on CUDA only). The ``module_db`` samples and error inputs are run by
``tests/test_torch_module_db.py``. The tests are PyTorch's (BSD-3-Clause licence); this
file re-expresses their checks, it does not copy them.
"""

from __future__ import annotations

import copy
import io
import itertools
import os
import re
import warnings

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.autograd import gradcheck, gradgradcheck  # noqa: E402
from torch.nn.utils import rnn as rnn_utils  # noqa: E402

import rnncourse.torch as rt  # noqa: E402

pytestmark = [
    # torch.nn's own notes: oneDNN cannot take a projection; weight_norm is deprecated
    pytest.mark.filterwarnings("ignore:LSTM with projections is not supported"),
    pytest.mark.filterwarnings("ignore:.*torch.nn.utils.weight_norm.*deprecated"),
]

LAYERS = ("RNN", "LSTM", "GRU")


def _devices() -> list[str]:
    devices = ["cpu"]
    if os.environ.get("RNNCOURSE_TEST_CUDA") == "1" and torch.cuda.is_available():
        devices.append("cuda")
    return devices


# Tests that need a GPU take ``device`` from these, so that their ids say ``cuda`` (which
# ``make test-gpu`` selects) and they skip, saying why, where there is none.
ONE_GPU = [pytest.param("cuda", marks=pytest.mark.skipif(
    "cuda" not in _devices(), reason="needs a CUDA device (`make test-gpu` on a machine "
    "with one)"))]
TWO_GPUS = [pytest.param("cuda", marks=pytest.mark.skipif(
    "cuda" not in _devices() or torch.cuda.device_count() < 2,
    reason="needs two CUDA devices"))]
# The device the parameters are not on in the device checks: a GPU if there is one, else
# ``meta`` (the check only reads where the tensors are).
OTHER_DEVICE = ["cuda:0" if "cuda" in _devices() else "meta"]


def _close(a, b, **tol) -> None:
    torch.testing.assert_close(a, b, **tol)


def _differ(a, b) -> bool:
    """upstream ``assertNotEqual``: not equal within the default tolerances."""
    try:
        torch.testing.assert_close(a, b)
    except AssertionError:
        return True
    return False


def _leaf(t: torch.Tensor, device: str) -> torch.Tensor:
    """A fresh leaf copy of ``t`` on ``device`` that requires grad."""
    return t.detach().clone().to(device).requires_grad_(True)


def _copy_weights(dst: nn.Module, src: nn.Module) -> None:
    """Copy ``src.all_weights`` into ``dst.all_weights`` (upstream ``copy_rnn``)."""
    with torch.no_grad():
        for dst_layer, src_layer in zip(dst.all_weights, src.all_weights, strict=True):
            for d, s in zip(dst_layer, src_layer, strict=True):
                d.copy_(s)


# ---------------------------------------------------------------------- constructors


def test_RNN_nonlinearity() -> None:
    """Upstream ``test_RNN_nonlinearity``."""
    assert rt.RNN(1, 10).nonlinearity == "tanh"
    assert rt.RNN(1, 10, nonlinearity="relu").nonlinearity == "relu"
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        rt.RNN(1, 10, nonlinearity="garbage")


def test_RNN_nonlinearity_passed_as_arg() -> None:
    """Upstream ``test_RNN_nonlinearity_passed_as_arg``: the fourth positional argument."""
    assert rt.RNN(2, 3, 1, "relu").nonlinearity == "relu"


def test_projections_errors_on_gru_and_rnn() -> None:
    """Upstream ``test_projections_errors_on_gru_and_rnn``."""
    for mode in ("RNN", "GRU"):
        with pytest.raises(ValueError,
                           match="proj_size argument is only supported for LSTM, not RNN or GRU"):
            getattr(rt, mode)(30, 20, 2, proj_size=10)


# ---------------------------------------------------------------------- cells


def test_RNN_cell() -> None:
    """Upstream ``test_RNN_cell`` (a smoke test): six steps and a backward pass."""
    for cls in (rt.RNNCell, rt.GRUCell):
        for bias in (True, False):
            x, hx = torch.randn(3, 10), torch.randn(3, 20)
            cell = cls(10, 20, bias=bias)
            for _ in range(6):
                hx = cell(x, hx)
            hx.sum().backward()
            assert all(p.grad is not None for p in cell.parameters())


def test_LSTM_cell() -> None:
    """Upstream ``test_LSTM_cell`` (a smoke test)."""
    for bias in (True, False):
        x, hx, cx = torch.randn(3, 10), torch.randn(3, 20), torch.randn(3, 20)
        lstm = rt.LSTMCell(10, 20, bias=bias)
        for _ in range(6):
            hx, cx = lstm(x, (hx, cx))
        (hx + cx).sum().backward()
        assert all(p.grad is not None for p in lstm.parameters())


def test_RNN_cell_forward_zero_hidden_size() -> None:
    """Upstream ``test_RNN_cell_forward_zero_hidden_size``: ``hidden_size=0`` works."""
    x, hx = torch.randn(3, 10), torch.randn(3, 0)
    for cell in (rt.RNNCell(10, 0, nonlinearity="relu"), rt.RNNCell(10, 0, nonlinearity="tanh"),
                 rt.GRUCell(10, 0)):
        assert cell(x, hx).shape == (3, 0)


def test_RNN_cell_no_broadcasting() -> None:
    """Upstream ``test_RNN_cell_no_broadcasting``: a state or input that would broadcast
    (batch 1, width 1) is rejected, never silently broadcast."""
    def check(cls, x, hx):
        with pytest.raises(RuntimeError):
            cls(10, 20)(x, hx)

    def check_all(bad_hx, good_hx, x):
        check(rt.RNNCell, x, bad_hx)
        check(rt.GRUCell, x, bad_hx)
        check(rt.LSTMCell, x, (bad_hx, good_hx))
        check(rt.LSTMCell, x, (good_hx, bad_hx))

    x, good_hx = torch.randn(3, 10), torch.randn(3, 20)
    check_all(torch.randn(1, 20), good_hx, x)              # batch sizes
    check_all(torch.randn(3, 1), good_hx, x)               # hidden_size
    check_all(good_hx, good_hx, torch.randn(3, 1))         # input_size


def test_LSTM_cell_forward_input_size() -> None:
    """Upstream ``test_LSTM_cell_forward_input_size``."""
    with pytest.raises(Exception):  # noqa: B017 -- upstream asserts any exception
        rt.LSTMCell(10, 20)(torch.randn(3, 11), (torch.randn(3, 20), torch.randn(3, 20)))


def test_LSTM_cell_forward_hidden_size() -> None:
    """Upstream ``test_LSTM_cell_forward_hidden_size``."""
    x, hx, cx = torch.randn(3, 10), torch.randn(3, 21), torch.randn(3, 20)
    lstm = rt.LSTMCell(10, 20)
    for state in ((hx, cx), (cx, hx)):
        with pytest.raises(Exception):  # noqa: B017 -- upstream asserts any exception
            lstm(x, state)


@pytest.mark.parametrize("device", _devices())
def test_lstmcell_backward_only_one_output_grad(device: str) -> None:
    """Upstream ``test_lstmcell_backward_only_one_output_grad`` (CUDA-only upstream; nothing
    in it needs CUDA): a backward from ``h'`` alone, or ``c'`` alone, reaches the input."""
    cell = rt.LSTMCell(2, 3).to(device, torch.double)
    x = torch.randn(1, 2, device=device, dtype=torch.double, requires_grad=True)
    for i in range(2):
        cell(x)[i].sum().backward()
        assert x.grad is not None and x.grad.abs().sum().item() != 0


# ---------------------------------------------------------------------- argument checks


def test_cudnn_forward_exception() -> None:
    """Upstream ``test_cudnn_forward_exception`` (runs on the CPU upstream too): the wrong
    hidden size and the wrong input size raise torch.nn's messages."""
    bad_h = torch.zeros(1, 2, 19)
    rnns = [(rt.LSTM(10, 20, batch_first=True), (bad_h, bad_h)),
            (rt.LSTM(10, 20, batch_first=True, proj_size=10), (bad_h, bad_h)),
            (rt.GRU(10, 20, batch_first=True), bad_h),
            (rt.RNN(10, 20, batch_first=True), bad_h)]
    x_wrong, x_right = torch.randn(2, 3, 3), torch.randn(2, 3, 10)
    for rnn, hidden in rnns:
        with pytest.raises(RuntimeError, match="Expected hidden.*size.*got"):
            rnn(x_right, hidden)
        with pytest.raises(RuntimeError,
                           match=re.escape("input.size(-1) must be equal to input_size")):
            rnn(x_wrong)


def _with_size(shape: tuple, dim: int, size: int) -> tuple:
    shape = list(shape)
    shape[dim] = size
    return tuple(shape)


@pytest.mark.parametrize("mode", LAYERS)
def test_rnn_args_check(mode: str) -> None:
    """Upstream ``test_rnn_args_check``: a wrong batch, input or hidden size, or number of
    state rows, in the input or in either state of an LSTM, raises RuntimeError."""
    input_size, hidden_size, num_layers, batch, seq_len, bad = 3, 5, 2, 4, 6, 7
    good_x = (seq_len, batch, input_size)
    good_h = (num_layers, batch, hidden_size)

    def check(x_shape, h_shape):
        x, h = torch.randn(x_shape), torch.randn(h_shape)
        if mode != "LSTM":
            cases = [h]
        elif h_shape == good_h:
            cases = [(h, h)]
        else:
            good = torch.randn(good_h)
            cases = [(h, good), (good, h)]
        for hidden in cases:
            with pytest.raises(RuntimeError):
                getattr(rt, mode)(input_size, hidden_size, num_layers)(x, hidden)

    check(_with_size(good_x, 1, bad), good_h)      # input batch size
    check(good_x, _with_size(good_h, 1, bad))      # hidden batch size
    check(_with_size(good_x, 2, bad), good_h)      # input size
    check(good_x, _with_size(good_h, 2, bad))      # hidden size
    check(good_x, _with_size(good_h, 0, bad))      # hidden rows


def test_projections_lstm_args_check() -> None:
    """Upstream ``test_projections_lstm_args_check``: the same with ``proj_size``, where
    ``h`` is ``P`` wide and ``c`` is ``H`` wide."""
    input_size, hidden_size, proj_size, num_layers, batch, seq_len, bad = 3, 5, 2, 2, 4, 6, 7
    good_x = (seq_len, batch, input_size)
    good_h = (num_layers, batch, proj_size)
    good_c = (num_layers, batch, hidden_size)

    def check(x_shape, h_shape, c_shape):
        model = rt.LSTM(input_size, hidden_size, num_layers, proj_size=proj_size)
        with pytest.raises(RuntimeError):
            model(torch.randn(x_shape), (torch.randn(h_shape), torch.randn(c_shape)))

    check(_with_size(good_x, 1, bad), good_h, good_c)
    check(good_x, _with_size(good_h, 1, bad), _with_size(good_c, 1, bad))
    check(_with_size(good_x, 2, bad), good_h, good_c)
    check(good_x, _with_size(good_h, 2, bad), _with_size(good_c, 2, bad))
    check(good_x, _with_size(good_h, 0, bad), _with_size(good_c, 0, bad))
    check(good_x, _with_size(good_h, 0, hidden_size), good_c)
    check(good_x, _with_size(good_h, 0, bad), good_c)
    check(good_x, good_h, _with_size(good_c, 0, bad))


@pytest.mark.parametrize("other", OTHER_DEVICE)
@pytest.mark.parametrize("mode", LAYERS)
def test_rnn_check_device(mode: str, other: str) -> None:
    """Upstream ``test_rnn_check_device`` (two GPUs upstream): input, parameters and states
    on different devices raise torch.nn's messages. The other device is ``meta`` without a
    GPU: the check reads only where the tensors are."""
    model = getattr(rt, mode)(3, 5, 2)
    model_other = copy.deepcopy(model).to(other)
    x, h = torch.randn(6, 4, 3), torch.randn(2, 4, 5)

    def state(t):
        return (t, t) if mode == "LSTM" else t

    param_msg = "Input and parameter tensors are not at the same device"
    hidden_msg = "Input and hidden tensors are not at the same device"
    with pytest.raises(RuntimeError, match=param_msg):
        model(x.to(other))
    with pytest.raises(RuntimeError, match=param_msg):
        model_other(x)
    with pytest.raises(RuntimeError, match=hidden_msg):
        model(x, state(h.to(other)))
    with pytest.raises(RuntimeError, match=hidden_msg):
        model_other(x.to(other), state(h))


@pytest.mark.parametrize("device", TWO_GPUS)
def test_rnn_check_device_second_gpu(device: str) -> None:
    """The part of upstream ``test_rnn_check_device`` that needs a second GPU: an LSTM's
    ``h`` and ``c`` on two different GPUs."""
    model = rt.LSTM(3, 5, 2)
    x, h = torch.randn(6, 4, 3), torch.randn(2, 4, 5)
    with pytest.raises(RuntimeError, match="Input and hidden tensors are not at the same device"):
        model(x.to("cuda:0"), (h.to("cuda:0"), h.to("cuda:1")))


@pytest.mark.parametrize("other", OTHER_DEVICE)
def test_projections_lstm_check_device(other: str) -> None:
    """Upstream ``test_projections_lstm_check_device`` (two GPUs upstream), as above."""
    model = rt.LSTM(3, 5, 2, proj_size=2)
    x, h, c = torch.randn(6, 4, 3), torch.randn(2, 4, 2), torch.randn(2, 4, 5)
    with pytest.raises(RuntimeError, match="Input and parameter tensors are not at the same"):
        model(x.to(other))
    with pytest.raises(RuntimeError, match="Input and hidden tensors are not at the same device"):
        model(x, (h.to(other), c.to(other)))


@pytest.mark.parametrize("device", TWO_GPUS)
def test_projections_lstm_check_device_second_gpu(device: str) -> None:
    """The second-GPU part of upstream ``test_projections_lstm_check_device``. As upstream,
    the parameters stay on the CPU: the states are checked first, as in torch.nn."""
    model = rt.LSTM(3, 5, 2, proj_size=2)
    x, h, c = torch.randn(6, 4, 3), torch.randn(2, 4, 2), torch.randn(2, 4, 5)
    with pytest.raises(RuntimeError, match="Input and hidden tensors are not at the same device"):
        model(x.to("cuda:0"), (h.to("cuda:0"), c.to("cuda:1")))


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("mode", LAYERS)
def test_error_RNN_seq_len_zero(mode: str, device: str) -> None:
    """Upstream ``test_error_RNN_seq_len_zero`` (cuDNN upstream; it loops over the CPU
    too): an empty sequence raises torch.nn's message."""
    for bidirectional in (True, False):
        rnn = getattr(rt, mode)(5, 6, bidirectional=bidirectional).to(device)
        with pytest.raises(RuntimeError,
                           match="Expected sequence length to be larger than 0 in RNN"):
            rnn(torch.ones(0, 10, 5, device=device))


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("mode", LAYERS)
def test_RNN_input_size_zero(mode: str, device: str) -> None:
    """Upstream ``test_RNN_input_size_zero``: a batch of zero sequences, forward and back."""
    rnn = getattr(rt, mode)(input_size=3, hidden_size=4).to(device)
    outs = rnn(torch.zeros(5, 0, 3, device=device))
    assert outs[0].shape == (5, 0, 4)
    outs[0].sum().backward()


# ---------------------------------------------------------------------- states and weights


@pytest.mark.parametrize("mode", LAYERS)
def test_rnn_initial_hidden_state(mode: str) -> None:
    """Upstream ``test_rnn_initial_hidden_state``: a zero ``hx`` equals no ``hx``."""
    rnn = getattr(rt, mode)(30, 20, 2)
    x, hidden = torch.randn(10, 32, 30), torch.zeros(2, 32, 20)
    out1, h1 = rnn(x, (hidden, hidden) if mode == "LSTM" else hidden)
    out2, h2 = rnn(x)
    _close(out1, out2)
    _close(h1, h2)


def test_projections_lstm_initial_hidden_state() -> None:
    """Upstream ``test_projections_lstm_initial_hidden_state``."""
    for bidirectional in (False, True):
        dirs = 2 if bidirectional else 1
        rnn = rt.LSTM(30, 20, 2, bidirectional=bidirectional, proj_size=10)
        x = torch.randn(10, 32, 30)
        out1, h1 = rnn(x, (torch.zeros(2 * dirs, 32, 10), torch.zeros(2 * dirs, 32, 20)))
        out2, h2 = rnn(x)
        _close(out1, out2)
        _close(h1, h2)


@pytest.mark.parametrize("device", _devices())
def test_cudnn_weight_format(device: str) -> None:
    """Upstream ``test_cudnn_weight_format`` (cuDNN only upstream): a weight moved to its
    own storage (``set_``) changes neither the outputs nor the gradients, and keeps
    sharing that storage. cuDNN warns there because its flat weight buffer is broken;
    the course's modules have none, so they must not warn."""
    rnns = [rt.LSTM(10, 20, batch_first=True), rt.LSTM(10, 20, batch_first=True, proj_size=10),
            rt.GRU(10, 20, batch_first=True), rt.RNN(10, 20, batch_first=True)]
    for rnn in rnns:
        rnn.to(device)
        x = torch.randn(5, 4, 10, requires_grad=True, device=device)
        hx = torch.randn(1, 5, 20, requires_grad=True, device=device)
        all_vars = [x, hx, *rnn.parameters()]
        if isinstance(rnn, rt.LSTM):
            if rnn.proj_size > 0:
                hx = torch.randn(1, 5, 10, requires_grad=True, device=device)
                all_vars[1] = hx
            cx = torch.randn(1, 5, 20, requires_grad=True, device=device)
            all_vars[2:2] = [cx]
            hx = (hx, cx)
        output = rnn(x, hx)
        output[0].sum().backward()
        grads = [v.grad.clone() for v in all_vars]
        for v in all_vars:
            v.grad.zero_()

        weight = all_vars[4]
        weight_data = weight.data.clone()
        with torch.no_grad():
            weight.set_(weight_data)
        for _ in range(2):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                output_noncontig = rnn(x, hx)
            assert not [w for w in caught if "contiguous chunk" in str(w.message)]
            output_noncontig[0].sum().backward()
            grads_noncontig = [v.grad.clone() for v in all_vars]
            for v in all_vars:
                v.grad.zero_()
            _close(output, output_noncontig)
            _close(grads_noncontig, grads)
        weight_data[:] = 4  # still the parameter's storage
        _close(weight_data, all_vars[4].data)


@pytest.mark.parametrize("device", _devices())
def test_cudnn_weight_tying(device: str) -> None:
    """Upstream ``test_cudnn_weight_tying`` (cuDNN only upstream, GPU against CPU): a bias
    tied between the two directions, one SGD step, then the outputs -- here against
    torch.nn's module on the CPU, tied the same way, from the same weights."""
    configs = [("LSTM", {}), ("LSTM", {"proj_size": 10}), ("GRU", {}), ("RNN", {})]
    for mode, extra in configs:
        ref = getattr(nn, mode)(10, 20, batch_first=True, bidirectional=True, **extra)
        ours = getattr(rt, mode)(10, 20, batch_first=True, bidirectional=True, **extra)
        ours.load_state_dict(ref.state_dict())
        ref.bias_ih_l0_reverse = ref.bias_ih_l0
        ours.bias_ih_l0_reverse = ours.bias_ih_l0
        ours.to(device)
        x = torch.randn(5, 4, 10)
        h = torch.randn(2, 5, 10 if extra else 20)
        c = torch.randn(2, 5, 20)
        results = []
        for rnn, dev in ((ref, "cpu"), (ours, device)):
            opt = torch.optim.SGD(rnn.parameters(), lr=0.1)
            opt.zero_grad()
            hx = (h.to(dev), c.to(dev)) if mode == "LSTM" else h.to(dev)
            rnn(x.to(dev), hx)[0].sum().backward()
            opt.step()
            out, hy = rnn(x.to(dev), hx)
            results.append([out, *(hy if mode == "LSTM" else (hy,))])
        _close([t.cpu() for t in results[1]], results[0], rtol=1e-5, atol=1e-5)
        assert len(list(ours.parameters())) == len(list(ref.parameters()))


@pytest.mark.parametrize("device", _devices())
def test_RNN_cudnn_weight_norm(device: str) -> None:
    """Upstream ``test_RNN_cudnn_weight_norm`` (cuDNN upstream): weight norm on
    ``weight_hh_l0`` or ``weight_hr_l0`` leaves the output unchanged, moved to the device,
    and after it is removed."""
    def check(m, name):
        x = torch.randn(7, 6, 10)
        expected = m(x)
        m = nn.utils.weight_norm(m, name=name).to(device)
        _close(m(x.to(device))[0].cpu(), expected[0])
        m = nn.utils.remove_weight_norm(m, name=name)
        _close(m(x.to(device))[0].cpu(), expected[0])

    check(rt.LSTM(10, 6, 2), "weight_hh_l0")
    check(rt.LSTM(10, 6, 2, proj_size=3), "weight_hr_l0")


@pytest.mark.parametrize("device", _devices())
def test_partial_flat_weights(device: str) -> None:
    """Upstream ``test_partial_flat_weights`` (CUDA upstream): a module moved while one of
    its weights is deleted works again once the weight is put back."""
    m = rt.LSTM(10, 6, 2)
    x = torch.randn(3, 2, 10)
    expected = m(x)
    weight_orig = m.weight_hh_l0
    del m.weight_hh_l0
    assert not hasattr(m, "weight_hh_l0")
    m.to(device)
    m.weight_hh_l0 = weight_orig.to(device)
    _close(m(x.to(device))[0].cpu(), expected[0])


@pytest.mark.parametrize("device", _devices())
def test_save_lstm_compatibility(device: str) -> None:
    """Upstream ``test_save_lstm_compatibility``: state saved without ``proj_size`` (PyTorch
    1.7 and older) loads through ``__setstate__`` and gives the same output."""
    model = rt.LSTM(2, 3).to(device)
    x = torch.randn(32, 5, 2, device=device)
    expected = model(x)
    assert model.proj_size == 0
    state = model.__dict__
    del state["proj_size"]
    loaded = rt.LSTM(2, 3).to(device)
    loaded.__setstate__(state)
    _close(loaded(x), expected)


# ---------------------------------------------------------------------- against torch.nn


def _make_noncontig(t: torch.Tensor) -> torch.Tensor:
    return torch.stack([t.clone().zero_(), t], t.dim()).select(t.dim(), 1)


def _forward_backward(rnn, device, x_val, grad_output, hx_val, grad_hy, cx_val=None,
                      grad_cy=None) -> dict:
    """Upstream ``forward_backward`` of ``_test_RNN_cpu_vs_cudnn``: one forward and one
    backward through output, ``h_n`` (and ``c_n``), from copies of the given values."""
    is_lstm = isinstance(rnn, (nn.LSTM, rt.LSTM))
    rnn.to(device)
    if isinstance(x_val, rnn_utils.PackedSequence):
        x_leaf = _leaf(x_val.data, device)
        x = rnn_utils.PackedSequence(x_leaf, x_val.batch_sizes)
    else:
        x = x_leaf = _leaf(x_val, device)
    h = _leaf(hx_val, device)
    if is_lstm:
        c = _leaf((hx_val if cx_val is None else cx_val).add(1), device)
        hx = (h, c)
    else:
        hx = h
    output, hy = rnn(x, hx)
    if isinstance(output, rnn_utils.PackedSequence):
        output = output.data
    grad_output, grad_hy = grad_output.to(device), grad_hy.to(device)
    if is_lstm:
        gc = (grad_hy if grad_cy is None else grad_cy.to(device)) + 1
        torch.autograd.backward([output, hy[0], hy[1]], [grad_output, grad_hy, gc])
    else:
        torch.autograd.backward([output, hy], [grad_output, grad_hy])
    result = {"output": output, "hy": hy[0] if is_lstm else hy, "grad_input": x_leaf.grad,
              "grad_hx": h.grad, "weights": [w.grad for layer in rnn.all_weights for w in layer]}
    if is_lstm:
        result.update(cy=hy[1], grad_cx=c.grad)
    return {k: [t.cpu() for t in v] if isinstance(v, list) else v.cpu()
            for k, v in result.items()}


def _cpu_vs_ours(mode, device, dropout, bias, bidirectional, batch_first, contig, variable_len,
                 lens_as_tensor, proj_size=0, nonlinearity="tanh", num_layers=2) -> None:
    input_size, hidden_size, seq_length, batch = 10, 6, 7, 6
    dtype = torch.double
    dirs = 2 if bidirectional else 1
    out_size = proj_size or hidden_size
    xs = (batch, seq_length) if batch_first else (seq_length, batch)
    x_val = torch.randn(*xs, input_size, dtype=dtype)
    grad_output = torch.randn(*xs, out_size * dirs, dtype=dtype)
    hx_val = torch.randn(num_layers * dirs, batch, out_size, dtype=dtype)
    grad_hy = torch.randn(num_layers * dirs, batch, out_size, dtype=dtype)
    cx_val = grad_cy = None
    if proj_size:
        cx_val = torch.randn(num_layers * dirs, batch, hidden_size, dtype=dtype)
        grad_cy = torch.randn(num_layers * dirs, batch, hidden_size, dtype=dtype)
    if not contig:  # upstream means the input too, but assigns it to an unused name
        x_val, grad_output, hx_val, grad_hy = map(
            _make_noncontig, (x_val, grad_output, hx_val, grad_hy))
        if proj_size:
            cx_val, grad_cy = _make_noncontig(cx_val), _make_noncontig(grad_cy)
    if variable_len:
        lengths = [7, 5, 5, 2, 1, 1]
        if lens_as_tensor:
            lengths = torch.tensor(lengths, dtype=torch.long)
        x_val = rnn_utils.pack_padded_sequence(x_val, lengths, batch_first=batch_first)
        grad_output = rnn_utils.pack_padded_sequence(grad_output, lengths,
                                                     batch_first=batch_first).data
    kwargs = {"bias": bias, "dropout": dropout, "bidirectional": bidirectional,
              "batch_first": batch_first, "dtype": dtype}
    if proj_size:
        kwargs["proj_size"] = proj_size
    if mode == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    ref = getattr(nn, mode)(input_size, hidden_size, num_layers, **kwargs)
    ours = getattr(rt, mode)(input_size, hidden_size, num_layers, **kwargs)
    _copy_weights(ours, ref)
    expected = _forward_backward(ref, "cpu", x_val, grad_output, hx_val, grad_hy, cx_val,
                                 grad_cy)
    got = _forward_backward(ours, device, x_val, grad_output, hx_val, grad_hy, cx_val, grad_cy)
    assert list(got) == list(expected)
    for key in expected:  # upstream's tolerance
        _close(got[key], expected[key], atol=5e-5, rtol=0, msg=key)


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("dropout", [0, 1], ids=["dropout0", "dropout1"])
@pytest.mark.parametrize("mode", [*LAYERS, "LSTM-proj"])
def test_RNN_cpu_vs_cudnn(mode: str, dropout: int, device: str) -> None:
    """Upstream ``test_RNN_cpu_vs_cudnn_no_dropout`` / ``_with_dropout`` (``dropout`` 0 and
    1, the two values whose result is not random) through ``_test_RNN_cpu_vs_cudnn``: every
    combination of bias, bidirectional, batch_first, contiguous, packed, lengths as a
    tensor; outputs, final states and all gradients, here against torch.nn's CPU module
    with the same weights. The RNN case adds both nonlinearities; ``LSTM-proj`` is the
    upstream loop with ``proj_size=3``."""
    proj = mode == "LSTM-proj"
    for flags in itertools.product((True, False), repeat=6):
        _cpu_vs_ours("LSTM" if proj else mode, device, dropout, *flags,
                     proj_size=3 if proj else 0)
    if mode == "RNN":
        for nonlinearity in ("tanh", "relu"):  # upstream: no dropout, its loop's last flags
            _cpu_vs_ours("RNN", device, 0, False, False, False, True, False, False,
                         nonlinearity=nonlinearity)


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("dtype", [torch.float, torch.double], ids=["float32", "float64"])
def test_rnn_fused(dtype: torch.dtype, device: str) -> None:
    """Upstream ``test_rnn_fused`` (CUDA's fused kernels against the CPU upstream): GRU and
    LSTM, with and without bias, outputs, states and every gradient, against torch.nn's
    CPU module with the same weights."""
    input_size, hidden_size, num_layers, seq_length, batch = 10, 6, 2, 7, 6
    x_val = torch.randn(seq_length, batch, input_size, dtype=dtype)
    grad_output = torch.randn(seq_length, batch, hidden_size, dtype=dtype)
    hx_val = torch.randn(num_layers, batch, hidden_size, dtype=dtype)
    grad_hy = torch.randn(num_layers, batch, hidden_size, dtype=dtype)
    tol = {"atol": 5e-5, "rtol": 0} if dtype == torch.float else {}
    with torch.backends.cudnn.flags(enabled=False):
        for mode in ("GRU", "LSTM"):
            for bias in (True, False):
                ref = getattr(nn, mode)(input_size, hidden_size, num_layers, bias=bias).to(dtype)
                ours = getattr(rt, mode)(input_size, hidden_size, num_layers, bias=bias)
                ours.to(device, dtype)
                _copy_weights(ours, ref)
                runs = []
                for rnn, dev in ((ref, "cpu"), (ours, device)):
                    x, h = _leaf(x_val, dev), _leaf(hx_val, dev)
                    hx = (h, _leaf(hx_val.add(1), dev)) if mode == "LSTM" else h
                    out, hy = rnn(x, hx)
                    go, gh = grad_output.to(dev), grad_hy.to(dev)
                    if mode == "LSTM":
                        torch.autograd.backward([out, hy[0], hy[1]], [go, gh, gh + 1])
                        grads = [x.grad, hx[0].grad, hx[1].grad]
                    else:
                        torch.autograd.backward([out, hy], [go, gh])
                        grads = [x.grad, h.grad]
                    grads += [w.grad for layer in rnn.all_weights for w in layer]
                    runs.append([t.cpu() for t in (out, *(hy if mode == "LSTM" else (hy,)),
                                                   *grads)])
                _close(runs[1], runs[0], **tol)


# ---------------------------------------------------------------------- dropout


@pytest.mark.parametrize("device", _devices())
def test_RNN_dropout(device: str) -> None:
    """Upstream ``test_RNN_dropout`` (cuDNN upstream; it loops over the CPU too): dropout
    sits between the layers only, and scales the kept units by ``1 / (1 - p)``. With all
    weights 1 and a ReLU, layer 0 gives 10 per unit and layer 1 sums 1000 of them."""
    for p in (0, 0.276, 0.731, 1):
        for train in (True, False):
            rnn = rt.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu",
                         dtype=torch.double).to(device)
            rnn.train(train)
            with torch.no_grad():
                for w in rnn.parameters():
                    w.fill_(1)
            x = torch.ones(1, 1, 10, dtype=torch.double, device=device)
            hx = torch.zeros(2, 1, 1000, dtype=torch.double, device=device)
            output, hy = rnn(x, hx)
            assert output.min() == output.max()
            value = output[0][0][0].item()
            if p == 0 or not train:
                assert value == 10000
            elif p == 1:
                assert value == 0
            else:
                assert 8000 < value < 12000
                denorm_mod = (value * (1 - p)) % 10
                assert min(denorm_mod, 10 - denorm_mod) < 1e-2
            assert hy[0].min() == hy[0].max() and hy[1].min() == hy[1].max()
            assert hy[0][0][0].item() == 10
            assert hy[1][0][0].item() == value


@pytest.mark.parametrize("device", _devices())
def test_RNN_dropout_state(device: str) -> None:
    """Upstream ``test_RNN_dropout_state`` (cuDNN upstream; it loops over the CPU too):
    two calls, and a pickled copy, agree without dropout (or in eval mode) and differ
    with it."""
    for p in (0, 0.1234):
        for train in (True, False):
            rnn = rt.RNN(100, 100, 2, bias=False, dropout=p, nonlinearity="relu").to(device)
            rnn.train(train)
            x = torch.rand(1, 1, 100, device=device)
            hx = torch.rand(2, 1, 100, device=device)
            out1, hy1 = rnn(x, hx)
            out2, hy2 = rnn(x, hx)
            buf = io.BytesIO()
            torch.save(rnn, buf)
            buf.seek(0)
            rnn2 = torch.load(buf, weights_only=False)
            rnn2.flatten_parameters()
            out3, hy3 = rnn2(x, hx)
            if p == 0 or not train:
                _close(out1, out2)
                _close(out1, out3)
                _close(hy1, hy2)
                _close(hy1, hy3)
            else:
                assert _differ(out1, out2) and _differ(out1, out3)
                assert _differ(hy1, hy2) and _differ(hy1, hy3)


@pytest.mark.parametrize("device", _devices())
def test_RNN_change_dropout(device: str) -> None:
    """Upstream ``test_RNN_change_dropout`` (cuDNN upstream; it loops over the CPU too):
    ``rnn.dropout`` set between calls takes effect at once."""
    for train in (True, False):
        rnn = rt.RNN(100, 100, 2, dropout=0, nonlinearity="relu", dtype=torch.double)
        rnn.to(device).train(train)
        x = torch.rand(3, 2, 100, dtype=torch.double, device=device)
        prev = None
        for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
            rnn.dropout = p
            out1, hy1 = rnn(x)
            out2, hy2 = rnn(x)
            if p in (0, 1) or not train:
                _close(out1, out2)
                _close(hy1, hy2)
            else:
                assert _differ(out1, out2) and _differ(hy1, hy2)
            if prev is not None:
                if not train:
                    _close(out1, prev)
                    _close(out2, prev)
                else:
                    assert _differ(out1, prev) and _differ(out2, prev)
            prev = out1.detach()


@pytest.mark.parametrize("device", TWO_GPUS)
def test_cudnn_rnn_dropout_states_device(device: str) -> None:
    """Upstream ``test_cudnn_rnn_dropout_states_device``: a two-layer RNN with dropout on
    the second GPU runs."""
    rnn = rt.RNN(10, 20, num_layers=2, dropout=0.5).cuda(1)
    output, _ = rnn(torch.randn(5, 4, 10).cuda(1), torch.randn(2, 4, 20).cuda(1))
    assert output.device == torch.device("cuda", 1)


@pytest.mark.parametrize("device", ONE_GPU)
def test_pack_sequence_batch_sizes_throw(device: str) -> None:
    """Upstream ``test_pack_sequence_batch_sizes_throw``: a PackedSequence whose
    ``batch_sizes`` are on the GPU is refused (for the course's LSTM on the GPU, too)."""
    with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
        m = rt.LSTM(3, 4, bidirectional=True, num_layers=2).to(device)
        data = torch.rand(5, 3, device=device)
        m(rnn_utils.PackedSequence(data, torch.tensor([1, 1, 1, 1, 1], device=device)))


# ---------------------------------------------------------------------- gradients


@pytest.mark.parametrize("device", _devices())
def test_rnn_retain_variables(device: str) -> None:
    """Upstream ``test_rnn_retain_variables``: repeated backward passes through one graph
    (``retain_graph=True``) give the same gradients each time."""
    dtypes = [torch.double] + ([torch.float, torch.half] if device == "cuda" else [])
    for dtype in dtypes:
        for mode in ("LSTM", "GRU", "RNN"):
            rnn = getattr(rt, mode)(10, 20, num_layers=2).to(device, dtype)
            x = torch.randn(5, 6, 10, device=device, dtype=dtype, requires_grad=True)
            output = rnn(x)
            output[0].sum().backward(retain_graph=True)
            grads = [x.grad.clone()] + [p.grad.clone() for p in rnn.parameters()]
            for _ in range(4):
                rnn.zero_grad()
                x.grad.zero_()
                output[0].sum().backward(retain_graph=True)
                _close([x.grad] + [p.grad for p in rnn.parameters()], grads)


def _check_rnn_mod(mod: nn.Module, x: torch.Tensor) -> None:
    """Upstream ``_test_rnn_mod``: gradcheck and gradgradcheck of every output."""
    def flat(inp):
        out = mod(inp)
        return tuple(t if isinstance(t, torch.Tensor) else tt for t in out for tt in t)

    assert gradcheck(flat, (x,), check_batched_grad=False)
    assert gradgradcheck(flat, (x,), check_batched_grad=False)
    if x.is_cuda:  # upstream: cuDNN refuses double backward; no cuDNN here, so it works
        with torch.backends.cudnn.flags(enabled=True):
            flat(x)[0].sum().backward(create_graph=True)
            grad0 = next(mod.parameters()).grad
            grad0.sum().backward()
        for p in mod.parameters():
            p.grad = None
        x.grad = None


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_grad_and_gradgrad(mode: str, device: str) -> None:
    """Upstream ``test_LSTM_grad_and_gradgrad`` and ``test_GRU_grad_and_gradgrad``:
    float64, with and without bias."""
    x = torch.rand(1, 3, 4, device=device, dtype=torch.double, requires_grad=True)
    for bias in (True, False):
        _check_rnn_mod(getattr(rt, mode)(4, 4, bias=bias).to(device, torch.double), x)


def test_LSTM_differentiable_backward_using_oneDNN() -> None:
    """Upstream ``test_LSTM_differentiable_backward_using_oneDNN`` (CPU): the gradient of
    a 20-layer LSTM's output with respect to its input, and the gradient of that gradient,
    are the same with oneDNN off and on -- and, here, the same as torch.nn's. (Upstream
    is parametrised over float32 and bfloat16 but builds everything in float32 either
    way; it runs once here.)"""
    batch, seq_len, size = 10, 12, 3
    ref = nn.LSTM(size, 3, 20, batch_first=True)
    net = rt.LSTM(size, 3, 20, batch_first=True)
    net.load_state_dict(ref.state_dict())
    x = torch.rand(batch, seq_len, size)

    def grads(model, mkldnn: bool):
        x1 = x.clone().requires_grad_(True)
        enabled = torch._C._get_mkldnn_enabled()
        torch._C._set_mkldnn_enabled(mkldnn)
        try:
            out, _ = model(x1)
            der = torch.autograd.grad(out, x1, grad_outputs=torch.ones_like(out),
                                      retain_graph=True, create_graph=True)[0]
            der.sum().backward(retain_graph=True)
        finally:
            torch._C._set_mkldnn_enabled(enabled)
        return der, x1.grad

    off, on, expected = grads(net, False), grads(net, True), grads(ref, False)
    assert torch.allclose(off[0], on[0]) and torch.allclose(off[1], on[1])
    assert torch.allclose(on[0], expected[0]) and torch.allclose(on[1], expected[1])


# upstream: float32 on the CPU; float16, float32 and float64 on CUDA
VARIABLE_SEQUENCE = [("cpu", torch.float)] + [
    ("cuda", dtype) for dtype in (torch.half, torch.float, torch.double) if "cuda" in _devices()]
# upstream's tolerances: dtype2prec_DONTUSE, and its own for the parameters' gradients
PREC = {torch.half: (1e-2, 4e-2), torch.float: (1e-5, 2e-4), torch.double: (1e-5, 1e-5)}


@pytest.mark.parametrize(("device", "dtype"), VARIABLE_SEQUENCE,
                         ids=[f"{d}-{str(t)[6:]}" for d, t in VARIABLE_SEQUENCE])
def test_variable_sequence(device: str, dtype: torch.dtype) -> None:
    """Upstream ``test_variable_sequence``: a packed batch (sorted or not, default or given
    states, with and without projections) gives each sequence's own output, final state
    and gradients, as when it runs alone."""
    prec, param_prec = PREC[dtype]

    def pad(var, length):
        if var.size(0) == length:
            return var
        return torch.cat([var, var.new_zeros(length - var.size(0), *var.size()[1:])])

    def check_lengths(lengths, enforce_sorted, use_default_hiddens, proj_size):
        input_size, hidden_size, num_layers, dirs = 3, 4, 2, 2
        max_length = max(lengths)
        x_leaf = torch.randn(max_length, len(lengths), input_size, device=device, dtype=dtype,
                             requires_grad=True)
        lstm = rt.LSTM(input_size, hidden_size, bidirectional=True, num_layers=num_layers,
                       proj_size=proj_size).to(device, dtype)
        lstm2 = copy.deepcopy(lstm)
        hidden0 = None
        if not use_default_hiddens:
            real_hidden = proj_size or hidden_size
            hidden0 = (torch.randn(dirs * num_layers, len(lengths), real_hidden, device=device,
                                   dtype=dtype),
                       torch.randn(dirs * num_layers, len(lengths), hidden_size, device=device,
                                   dtype=dtype))
        seq_outs, seq_hiddens = [], []
        for i, n in enumerate(lengths):
            hidden_i = None if hidden0 is None else tuple(
                s[:, i:i + 1, :].contiguous() for s in hidden0)
            out, hid = lstm2(x_leaf[:n, i:i + 1], hidden_i)
            seq_outs.append(pad(out, max_length))
            seq_hiddens.append(hid)
        seq_out = torch.cat(seq_outs, 1)
        seq_hidden = tuple(torch.cat(hids, 1) for hids in zip(*seq_hiddens, strict=True))

        packed = rnn_utils.pack_padded_sequence(x_leaf, lengths, enforce_sorted=enforce_sorted)
        packed_out, packed_hidden = lstm(packed, hidden0)
        unpacked, unpacked_len = rnn_utils.pad_packed_sequence(packed_out)

        _close(packed_hidden, seq_hidden, atol=prec, rtol=0)
        _close(unpacked, seq_out, atol=prec, rtol=0)
        assert unpacked_len.tolist() == list(lengths)

        seq_out.sum().backward()
        grad_x = x_leaf.grad.clone()
        x_leaf.grad.zero_()
        unpacked.sum().backward()
        _close(x_leaf.grad, grad_x, atol=prec, rtol=0)
        for p1, p2 in zip(lstm.parameters(), lstm2.parameters(), strict=True):
            _close(p1.grad, p2.grad, atol=param_prec, rtol=0)

    tests = [(True, [5]), (False, [5]), (True, [10, 10, 6, 2, 2, 1, 1]),
             (False, [10, 10, 6, 2, 2, 1, 1]), (False, [2, 1, 3, 2, 10, 5, 3])]
    for enforce_sorted, lengths in tests:
        for use_default_hiddens in (True, False):
            for proj_size in (0, 2):
                check_lengths(lengths, enforce_sorted, use_default_hiddens, proj_size)
