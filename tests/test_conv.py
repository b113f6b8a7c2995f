"""Causal dilated convolution (rnncourse.numpy.conv) and chapter 12's convolutional forecasters.

References: a brute-force loop over every output, input and tap written from the equation;
``torch.nn.functional.conv1d`` with explicit left padding; the receptive field measured as the
support of an impulse response through stacks of random convolutions (NumPy and torch); a
brute-force search over layer counts.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnncourse.numpy.conv import causal_conv1d, layers_for_receptive_field, receptive_field


def brute_force_conv(x, w, b, dilation):
    """y[n, t, o] = b[o] + sum_{j, c} w[o, c, j] x[n, t - (K-1-j) d, c], x = 0 before t = 0."""
    n_batch, steps, c_in = x.shape
    c_out, _, k = w.shape
    y = np.zeros((n_batch, steps, c_out))
    for n in range(n_batch):
        for t in range(steps):
            for o in range(c_out):
                total = 0.0 if b is None else b[o]
                for j in range(k):
                    s = t - (k - 1 - j) * dilation
                    if s < 0:
                        continue
                    for c in range(c_in):
                        total += w[o, c, j] * x[n, s, c]
                y[n, t, o] = total
    return y


@pytest.mark.parametrize(("k", "d", "c_in", "c_out", "steps"),
                         [(1, 1, 2, 3, 5), (2, 1, 1, 1, 7), (2, 4, 3, 2, 9), (3, 2, 2, 4, 11),
                          (5, 3, 1, 2, 6)])       # the last: the padding is longer than T
def test_causal_conv1d_against_a_brute_force_loop(k, d, c_in, c_out, steps):
    rng = np.random.default_rng(k * 100 + d)
    x = rng.standard_normal((2, steps, c_in))
    w, b = rng.standard_normal((c_out, c_in, k)), rng.standard_normal(c_out)
    np.testing.assert_allclose(causal_conv1d(x, w, b, dilation=d),
                               brute_force_conv(x, w, b, d), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(causal_conv1d(x, w, dilation=d),
                               brute_force_conv(x, w, None, d), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("k", "d"), [(2, 1), (2, 8), (3, 1), (3, 4), (4, 2)])
def test_causal_conv1d_against_torch_conv1d_with_left_padding(k, d):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 20, 4))
    w, b = rng.standard_normal((5, 4, k)), rng.standard_normal(5)
    xt = torch.nn.functional.pad(torch.from_numpy(x).transpose(1, 2), ((k - 1) * d, 0))
    ref = torch.nn.functional.conv1d(xt, torch.from_numpy(w), torch.from_numpy(b), dilation=d)
    np.testing.assert_allclose(causal_conv1d(x, w, b, dilation=d),
                               ref.transpose(1, 2).numpy(), rtol=1e-12, atol=1e-12)


def test_causal_conv1d_float32_and_causality():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 12, 2)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3)).astype(np.float32)
    y = causal_conv1d(x, w, dilation=2)
    assert y.dtype == np.float32 and y.shape == (1, 12, 3)
    changed = x.copy()
    changed[:, 7:] += 1.0                                 # change the future of step 6
    np.testing.assert_array_equal(causal_conv1d(changed, w, dilation=2)[:, :7], y[:, :7])


def test_causal_conv1d_rejects_bad_arguments():
    x, w = np.zeros((1, 5, 2)), np.zeros((3, 2, 2))
    with pytest.raises(ValueError, match="dilation"):
        causal_conv1d(x, w, dilation=0)
    with pytest.raises(ValueError, match="w"):
        causal_conv1d(x, np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match="b"):
        causal_conv1d(x, w, np.zeros(2))


def impulse_support(kernel_sizes, dilations, steps=200, seed=0):
    """The input steps that reach the last output, found by pushing an impulse through a stack
    of causal convolutions with random positive weights (no cancellation) at every delay."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(0.5, 1.5, (2, 1 if i == 0 else 2, k))
               for i, k in enumerate(kernel_sizes)]
    seen = []
    for delay in range(steps):
        x = np.zeros((1, steps, 1))
        x[0, steps - 1 - delay] = 1.0
        for w, d in zip(weights, dilations, strict=True):
            x = np.maximum(causal_conv1d(x, w, dilation=d), 0.0)   # ReLU, as in a TCN
        if x[0, -1].any():
            seen.append(delay)
    return seen


@pytest.mark.parametrize(("kernel_sizes", "dilations"),
                         [([2], [1]), ([2] * 4, [1, 2, 4, 8]), ([3] * 8, [1, 1, 2, 2, 4, 4, 8, 8]),
                          ([2, 3, 5], [3, 1, 2]), ([2] * 10, [2 ** i for i in range(10)])])
def test_receptive_field_against_the_impulse_response(kernel_sizes, dilations):
    seen = impulse_support(kernel_sizes, dilations, steps=1100 if len(dilations) == 10 else 200)
    r = receptive_field(kernel_sizes, dilations)
    assert seen == list(range(r))                  # every delay < R reaches it, none beyond


def test_receptive_field_is_a_span_and_can_have_holes():
    # Dilation 5 before dilation 1 with K = 4: the delays are {0, 5, 10, 15} + {0, 1, 2, 3}
    # (by hand): 0..18 without 4, 9 and 14. R counts the span, 19 steps; a too-large
    # dilation leaves holes in it.
    seen = impulse_support([4, 4], [5, 1])
    assert receptive_field([4, 4], [5, 1]) == 19 == max(seen) + 1
    assert sorted(set(range(19)) - set(seen)) == [4, 9, 14]


def test_receptive_field_of_the_tcn_module_by_autograd():
    torch = pytest.importorskip("torch")
    from rnncourse.models.tcn import TCNForecaster
    torch.manual_seed(0)
    model = TCNForecaster(channels=4, kernel_size=3, dilations=(1, 2, 4, 8)).double()
    x = torch.randn(1, 100, 1, dtype=torch.float64, requires_grad=True)
    model(x).sum().backward()
    reached = (x.grad[0, :, 0] != 0).nonzero().flatten()
    # 1 + 2 (K - 1) sum(d) = 1 + 2 * 2 * 15 = 61 steps, ending at the present one
    assert receptive_field([3] * 8, [1, 1, 2, 2, 4, 4, 8, 8]) == 61
    # with these weights no ReLU silences a path: exactly the last 61 steps reach the output
    assert reached.tolist() == list(range(100 - 61, 100))


def test_receptive_field_exact_numbers_and_errors():
    assert receptive_field(2, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]) == 1024   # WaveNet
    assert receptive_field([3, 3], [1, 2]) == 7
    with pytest.raises(ValueError, match="one kernel size per layer"):
        receptive_field([2, 2], [1])
    with pytest.raises(ValueError, match="dilation"):
        receptive_field(2, [1, 0])


@pytest.mark.parametrize(("steps", "k", "c"), [(1, 2, 1), (2, 2, 1), (50, 2, 1), (64, 2, 1),
                                               (65, 2, 1), (50, 3, 2), (1000, 3, 2)])
def test_layers_for_receptive_field_by_brute_force(steps, k, c):
    fields = [receptive_field([k] * (c * n), [2 ** i for i in range(n) for _ in range(c)])
              for n in range(20)]
    expected = next(n for n, r in enumerate(fields) if r >= steps)
    assert layers_for_receptive_field(steps, k, c) == expected


def test_causal_conv1d_module_matches_numpy():
    torch = pytest.importorskip("torch")
    from rnncourse.models.tcn import CausalConv1d
    torch.manual_seed(1)
    conv = CausalConv1d(2, 3, kernel_size=3, dilation=4).double()
    x = np.random.default_rng(2).standard_normal((2, 15, 2))
    out = conv(torch.from_numpy(x).transpose(1, 2)).transpose(1, 2).detach().numpy()
    ref = causal_conv1d(x, conv.weight.detach().numpy(), conv.bias.detach().numpy(), dilation=4)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_forecasters_shapes_and_causality():
    torch = pytest.importorskip("torch")
    from rnncourse.models.tcn import ConvRNNForecaster, TCNForecaster
    from rnncourse.torch import LSTM
    x = torch.randn(4, 30, 1)
    for horizon, shape in ((1, (4,)), (5, (4, 5))):
        assert TCNForecaster(horizon=horizon)(x).shape == shape
        assert ConvRNNForecaster(LSTM, horizon=horizon)(x).shape == shape
    # the front-end is causal: the convolution's output at step t ignores later steps
    model = ConvRNNForecaster(LSTM)
    a = model.conv(x.transpose(1, 2))
    y = x.clone()
    y[:, 20:] = 0.0
    b = model.conv(y.transpose(1, 2))
    assert torch.equal(a[:, :, :20], b[:, :, :20])


@pytest.mark.parametrize(("k", "dilations", "steps"), [(2, (1, 2, 4, 8), 20), (3, (1, 2), 12),
                                                       (2, (1, 2, 4, 8), 10)])
def test_dilated_stack_figure_highlights_the_receptive_field(k, dilations, steps):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnncourse.figures.conv import dilated_stack_figure
    fig = dilated_stack_figure(k, dilations, steps)
    expected = min(receptive_field(k, list(dilations)), steps)   # clipped at the first step
    assert fig.axes[0].get_title() == f"kernel {k}: the last output sees {expected} inputs"
    plt.close(fig)


def test_horizon_bands_figure_draws_the_seed_means():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnncourse.figures.conv import horizon_bands_figure
    per_seed = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    fig = horizon_bands_figure({"a": per_seed, "b": np.array([0.5, 0.5, 0.5])})
    lines = fig.axes[0].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), [2.0, 3.0, 4.0])   # mean of 2 seeds
    np.testing.assert_array_equal(lines[1].get_ydata(), [0.5, 0.5, 0.5])
    assert len(fig.axes[0].collections) == 1          # a band only where there are seeds
    plt.close(fig)
