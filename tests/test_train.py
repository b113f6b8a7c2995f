"""The training helper ``rnncourse.models.train.fit`` on a tiny seeded task.

References: clipping and the optimiser step are recomputed by hand from the
gradients that torch autograd gives a copy of the model.
"""

from __future__ import annotations

import copy
import functools
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tqdm")

from torch import nn  # noqa: E402

from rnncourse.models.train import History, fit, select_device  # noqa: E402

try:
    from rnncourse import torch as layers
except ImportError:  # the package's torch layers are not importable: torch.nn's will do
    layers = nn

CUDA = torch.cuda.is_available()


class SumOfSequence(nn.Module):
    """An LSTM and a linear read-out of its last state: learns ``y = sum_t x_t``."""

    def __init__(self, lstm: type = layers.LSTM, hidden: int = 12) -> None:
        super().__init__()
        self.rnn = lstm(1, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)
        return self.out(h[:, -1]).squeeze(-1)


def _data(n: int = 64, T: int = 5, batch: int = 16, dtype=torch.float32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, T, 1, generator=g, dtype=dtype)
    y = x.sum(dim=(1, 2))
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


def _model(seed: int = 0, dtype=torch.float32, **kw) -> nn.Module:
    torch.manual_seed(seed)
    return SumOfSequence(**kw).to(dtype)


def test_loss_decreases_and_history_has_one_entry_per_epoch():
    batches = _data()
    h = fit(_model(), nn.MSELoss(), batches, epochs=25, lr=2e-2, device="cpu",
            progress=False, seed=0)
    assert isinstance(h, History)
    assert len(h) == h.epochs == 25
    for name in ("loss", "grad_norm", "clipped_grad_norm", "epoch_time"):
        assert len(getattr(h, name)) == 25, name
    assert len(h.step_loss) == len(h.step_grad_norm) == 25 * len(batches)
    assert h.loss[-1] < h.loss[0] / 10, h.loss
    assert h.grad_norm == h.clipped_grad_norm  # no clipping asked for
    assert h.loss[0] == pytest.approx(sum(h.step_loss[:4]) / 4)
    assert all(math.isfinite(v) and v >= 0 for v in h.step_grad_norm)
    text = repr(h)
    assert text.startswith("History(epochs=25, loss ") and "device='cpu'" in text
    assert repr(History()) == "History(epochs=0, device='cpu')"


def _grads(model: nn.Module, batch) -> list[torch.Tensor]:
    """The gradients of one batch's loss, by torch autograd on a copy of the model."""
    model.zero_grad(set_to_none=True)
    x, y = batch
    nn.MSELoss()(model(x), y).backward()
    return [p.grad.clone() for p in model.parameters()]


def test_clip_norm_as_clip_grad_norm_defines_it():
    model = _model(dtype=torch.float64)
    reference = copy.deepcopy(model)
    batch = _data(dtype=torch.float64)[0]
    c, lr = 0.05, 0.1
    h = fit(model, nn.MSELoss(), [batch], epochs=1, clip_norm=c, device="cpu",
            optimizer=functools.partial(torch.optim.SGD, lr=lr), progress=False)
    # clip_grad_norm_: g <- g * min(1, c / (||g|| + 1e-6)), ||g|| over all parameters
    grads = _grads(reference, batch)
    total = math.sqrt(sum(float((g * g).sum()) for g in grads))
    assert total > c  # the clipping is active
    scale = min(1.0, c / (total + 1e-6))
    assert h.step_grad_norm == [pytest.approx(total, rel=1e-12)]
    assert h.step_clipped_grad_norm == [pytest.approx(total * scale, rel=1e-12)]
    assert h.clipped_grad_norm[0] <= c
    with torch.no_grad():
        for p, q, g in zip(model.parameters(), reference.parameters(), grads, strict=True):
            torch.testing.assert_close(p, q - lr * scale * g, rtol=1e-12, atol=1e-14)


def test_clip_norm_caps_every_recorded_step():
    c = 0.2
    h = fit(_model(), nn.MSELoss(), _data(), epochs=4, lr=1e-2, clip_norm=c, device="cpu",
            progress=False, seed=0)
    assert max(h.step_grad_norm) > c  # there was something to clip
    assert max(h.step_clipped_grad_norm) <= c
    for before, after in zip(h.step_grad_norm, h.step_clipped_grad_norm, strict=True):
        assert after == pytest.approx(min(before, c), rel=1e-5)
    assert "clip_norm=0.2" in repr(h)


def test_clip_value_clamps_each_entry():
    model = _model(dtype=torch.float64)
    reference = copy.deepcopy(model)
    batch = _data(dtype=torch.float64)[0]
    v, lr = 1e-3, 0.5
    fit(model, nn.MSELoss(), [batch], epochs=1, clip_value=v, device="cpu",
        optimizer=torch.optim.SGD(model.parameters(), lr=lr), progress=False)
    grads = _grads(reference, batch)
    assert max(float(g.abs().max()) for g in grads) > v
    with torch.no_grad():
        for p, q, g in zip(model.parameters(), reference.parameters(), grads, strict=True):
            torch.testing.assert_close(p, q - lr * g.clamp(-v, v), rtol=1e-12, atol=1e-14)


def test_seeded_runs_repeat():
    data = _data()
    x = torch.cat([b[0] for b in data])
    y = torch.cat([b[1] for b in data])

    def shuffled():  # a fresh random order every epoch, from torch's generator
        order = torch.randperm(len(x))
        return [(x[order[i:i + 16]], y[order[i:i + 16]]) for i in range(0, len(x), 16)]

    runs = [fit(_model(seed=1), nn.MSELoss(), shuffled, epochs=3, seed=7, device="cpu",
                progress=False) for _ in range(2)]
    assert runs[0].step_loss == runs[1].step_loss
    other = fit(_model(seed=1), nn.MSELoss(), shuffled, epochs=3, seed=8, device="cpu",
                progress=False)
    assert other.step_loss != runs[0].step_loss


def test_progress_false_prints_nothing(capfd):
    fit(_model(), nn.MSELoss(), _data(), epochs=2, device="cpu", progress=False)
    assert capfd.readouterr() == ("", "")


def test_progress_bar_goes_to_stderr(capfd):
    fit(_model(), nn.MSELoss(), _data(), epochs=2, device="cpu", progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "fit" in err and "2/2" in err and "loss=" in err


def test_any_module_and_mode_restored():
    model = _model(lstm=nn.LSTM)  # torch.nn's LSTM works as well
    model.eval()
    h = fit(model, nn.MSELoss(), _data(), epochs=2, device="cpu", progress=False)
    assert len(h) == 2 and not model.training


def test_on_epoch_end_can_stop():
    seen = []

    def stop_after_third(epoch: int, history: History) -> bool:
        seen.append((epoch, len(history)))
        return epoch == 2

    h = fit(_model(), nn.MSELoss(), _data(), epochs=10, device="cpu", progress=False,
            on_epoch_end=stop_after_third)
    assert len(h) == 3 and seen == [(0, 1), (1, 2), (2, 3)]


def test_tuple_inputs_are_spread_over_the_arguments():
    class TwoArgs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, a, b):
            return self.w * (a + b)

    a, b = torch.ones(4), torch.ones(4)
    h = fit(TwoArgs(), nn.MSELoss(), [((a, b), 2 * (a + b))], epochs=30, lr=0.1,
            device="cpu", progress=False)
    assert h.loss[-1] < h.loss[0] / 4


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto") == torch.device("cuda" if CUDA else "cpu")
    with pytest.raises(ValueError, match="device must be"):
        select_device("gpu please")


def test_default_device_is_the_cpu_unless_the_reader_opts_in(monkeypatch):
    # The book's printed runs are CPU runs, even where a GPU is usable.
    monkeypatch.delenv("RNNCOURSE_DEVICE", raising=False)
    assert select_device() == torch.device("cpu")
    assert select_device(None) == torch.device("cpu")
    h = fit(_model(), nn.MSELoss(), _data(), epochs=1, progress=False)
    assert h.device == "cpu"
    monkeypatch.setenv("RNNCOURSE_DEVICE", "auto")
    assert select_device() == torch.device("cuda" if CUDA else "cpu")
    monkeypatch.setenv("RNNCOURSE_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="device must be"):
        select_device()


@pytest.mark.skipif(CUDA, reason="tests the error without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available.*device='cpu'"):
        select_device("cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        fit(_model(), nn.MSELoss(), _data(), epochs=1, device="cuda", progress=False)


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_cuda():
    model = _model()
    h = fit(model, nn.MSELoss(), _data(), epochs=25, lr=2e-2, device="cuda", progress=False,
            seed=0)
    assert h.device.startswith("cuda")
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert h.loss[-1] < h.loss[0] / 10


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(epochs=0), ValueError, "epochs must be a positive int"),
    (dict(epochs=1.5), ValueError, "epochs must be a positive int"),
    (dict(epochs=1, clip_norm=-1.0), ValueError, "clip_norm must be a positive number"),
    (dict(epochs=1, clip_value=0), ValueError, "clip_value must be a positive number"),
    (dict(epochs=1, lr=float("nan")), ValueError, "lr must be a positive number"),
    (dict(epochs=1, optimizer="adam"), TypeError, "optimizer must be"),
    (dict(epochs=1, optimizer=lambda params: None), TypeError, "must return a torch.optim"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(_model(), nn.MSELoss(), _data(), device="cpu", progress=False, **kwargs)


def test_bad_batches_and_losses():
    model, data = _model(), _data()
    with pytest.raises(ValueError, match="lr sets the default optimizer"):
        fit(model, nn.MSELoss(), data, epochs=1, lr=0.1, progress=False, device="cpu",
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="runs out after one epoch"):
        fit(model, nn.MSELoss(), iter(data), epochs=2, progress=False, device="cpu")
    with pytest.raises(TypeError, match=r"a pair \(inputs, target\)"):
        fit(model, nn.MSELoss(), [data[0][0]], epochs=1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="scalar tensor"):
        fit(model, nn.MSELoss(reduction="none"), data, epochs=1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="gave no batch"):
        fit(model, nn.MSELoss(), [], epochs=1, progress=False, device="cpu")
    with pytest.raises(TypeError, match="must be iterable"):
        fit(model, nn.MSELoss(), lambda: 3, epochs=1, progress=False, device="cpu")


def test_plot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = fit(_model(), nn.MSELoss(), _data(), epochs=3, clip_norm=1.0, device="cpu",
            progress=False)
    ax = h.plot()
    try:
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "loss"]
        assert list(line.get_ydata()) == h.loss and list(line.get_xdata()) == [1, 2, 3]
        assert ax.get_xlabel() == "epoch"
    finally:
        plt.close(ax.figure)
