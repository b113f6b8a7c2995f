"""rnncourse.figures.gradients (chapter 5) against torch autograd and hand-derived numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import torch_or_skip  # noqa: E402

from rnncourse.analysis import gradients as G  # noqa: E402
from rnncourse.figures import gradients as FIG  # noqa: E402
from rnncourse.numpy import lstm_init, rnn_backward, rnn_forward  # noqa: E402

torch = torch_or_skip()

PHI = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}


def torch_steps(run, Wh, nonlinearity, start, h_start):
    """h_T from h_start = h_{start}, running steps start+1..T in torch."""
    x, Wx, b = (torch.from_numpy(a) for a in (run.x, run.Wx, run.b))
    Wh = torch.from_numpy(Wh)
    h = h_start
    for t in range(start, len(run.x)):
        h = PHI[nonlinearity](x[t] @ Wx + h @ Wh + b)
    return h


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "linear"])
def test_one_step_jacobian_matches_autograd(rng, nonlinearity):
    H = 5
    Wh = rng.standard_normal((H, H))  # not symmetric: a missing transpose shows
    run = G.run_rnn(Wh, 3, nonlinearity, rng)
    h1 = torch.from_numpy(run.h[0])
    ref = torch.autograd.functional.jacobian(
        lambda h: torch_steps(run._replace(x=run.x[:2]), Wh, nonlinearity, 1, h), h1).numpy()
    J = G.step_jacobians(Wh, run.dphi)  # J[1] = J_2 = dh_2/dh_1
    np.testing.assert_allclose(J[1], ref, rtol=1e-12, atol=1e-14)
    if nonlinearity == "tanh":
        assert not np.allclose(J[1], run.dphi[1][:, None] * Wh)  # the transpose matters


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "linear"])
def test_jacobian_products_match_autograd(rng, nonlinearity):
    H, T = 6, 9
    Wh = G.matrix_with_spectral_radius(H, 1.1, rng, kind="gaussian")
    run = G.run_rnn(Wh, T, nonlinearity, rng)
    P = G.jacobian_products(Wh, run.dphi)
    np.testing.assert_array_equal(P[T], np.eye(H))
    for t in (0, 3, T - 1):
        h_t = torch.zeros(H, dtype=torch.float64) if t == 0 else torch.from_numpy(run.h[t - 1])
        ref = torch.autograd.functional.jacobian(
            lambda h, t=t: torch_steps(run, Wh, nonlinearity, t, h), h_t).numpy()
        np.testing.assert_allclose(P[t], ref, rtol=1e-10, atol=1e-13)


def test_run_rnn_states_match_the_recurrence(rng):
    Wh = G.matrix_with_spectral_radius(4, 0.9, rng)
    run = G.run_rnn(Wh, 5, "tanh", rng)
    h = np.zeros(4)
    for t in range(5):
        h = np.tanh(run.x[t] @ run.Wx + h @ Wh + run.b)
        np.testing.assert_allclose(run.h[t], h, rtol=1e-12)
    np.testing.assert_allclose(run.dphi, 1 - run.h**2)


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.3])
def test_linear_orthogonal_norms_are_powers_of_the_radius(radius):
    # By hand: ||(r Q^T)^k||_2 = r^k for orthogonal Q.
    Wh = G.matrix_with_spectral_radius(8, radius, 3)
    T = 20
    norms = G.jacobian_norms(Wh, T, "linear", 4)
    np.testing.assert_allclose(norms, radius ** (T - np.arange(T + 1)), rtol=1e-10)


def test_hand_derived_two_by_two():
    # Wh = diag(0.5, 2), phi' rows (1, 0.25) then (0.5, 0.4):
    # J_1 = diag(0.5, 0.5), J_2 = diag(0.25, 0.8), J_2 J_1 = diag(0.125, 0.4).
    P = G.jacobian_products(np.diag([0.5, 2.0]), np.array([[1.0, 0.25], [0.5, 0.4]]))
    np.testing.assert_allclose(P[0], np.diag([0.125, 0.4]))
    np.testing.assert_allclose(P[1], np.diag([0.25, 0.8]))


@pytest.mark.parametrize("kind", ["orthogonal", "gaussian"])
def test_matrix_with_spectral_radius(kind):
    W = G.matrix_with_spectral_radius(10, 0.7, 0, kind=kind)
    assert W.shape == (10, 10)
    assert abs(G.spectral_radius(W) - 0.7) < 1e-10
    if kind == "orthogonal":
        np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), 0.7, rtol=1e-10)
    with pytest.raises(ValueError, match="kind"):
        G.matrix_with_spectral_radius(3, 1.0, 0, kind="other")
    with pytest.raises(ValueError, match="radius"):
        G.matrix_with_spectral_radius(3, -1.0, 0)


def test_identity_relu_passes_gradient_unchanged():
    # W = I, relu, zero bias: every J_t is a 0/1 diagonal; a unit active throughout gives 1.
    norms = G.jacobian_norms(np.eye(16), 30, "relu", 1)
    assert set(np.round(norms, 12)) <= {0.0, 1.0}
    assert norms[-10:].min() == 1.0


def lstm_reference(T, H, forget_bias, seed, D=4):
    """||dc_T/dc_t|| by torch autograd, restarting from (h_t, c_t) as leaves."""
    g = np.random.default_rng(seed)
    p = lstm_init(D, H, g, forget_bias=forget_bias)
    x = torch.from_numpy(g.standard_normal((1, T, D))[0])
    cell = torch.nn.LSTMCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(p["Wx"].T))
        cell.weight_hh.copy_(torch.from_numpy(p["Wh"].T))
        cell.bias_ih.copy_(torch.from_numpy(p["b"]))
        cell.bias_hh.zero_()
    states = [(torch.zeros(1, H, dtype=torch.float64),) * 2]
    with torch.no_grad():
        for t in range(T):
            states.append(cell(x[t:t + 1], states[-1]))
    out = []
    for t in range(T + 1):
        h_t = states[t][0]

        def c_T(c, t=t, h_t=h_t):
            h, c = h_t, c
            for k in range(t, T):
                h, c = cell(x[k:k + 1], (h, c))
            return c[0]

        J = torch.autograd.functional.jacobian(c_T, states[t][1]).numpy()[:, 0, :]
        out.append(np.linalg.norm(J, 2))
    return np.array(out)


@pytest.mark.parametrize("forget_bias", [0.0, 3.0])
def test_lstm_cell_jacobian_norms_match_autograd(forget_bias):
    T, H = 7, 5
    ours = G.lstm_cell_jacobian_norms(T, H, forget_bias, 11)
    np.testing.assert_allclose(ours, lstm_reference(T, H, forget_bias, 11), rtol=1e-9)


def test_lstm_cell_path_is_the_product_of_forget_gates():
    T, H, D = 6, 3, 4
    g = np.random.default_rng(5)
    p = lstm_init(D, H, g, forget_bias=2.0)
    x = g.standard_normal((T, D))
    h, c, fs = np.zeros(H), np.zeros(H), []
    for t in range(T):
        a = x[t] @ p["Wx"] + h @ p["Wh"] + p["b"]
        i, f = 1 / (1 + np.exp(-a[:H])), 1 / (1 + np.exp(-a[H:2 * H]))
        gg, o = np.tanh(a[2 * H:3 * H]), 1 / (1 + np.exp(-a[3 * H:]))
        c = f * c + i * gg
        h = o * np.tanh(c)
        fs.append(f)
    fs = np.array(fs)
    expected = [np.prod(fs[t:], axis=0).max() for t in range(T)] + [1.0]
    np.testing.assert_allclose(G.lstm_cell_jacobian_norms(T, H, 2.0, 5, path="cell"),
                               expected, rtol=1e-12)
    with pytest.raises(ValueError, match="path"):
        G.lstm_cell_jacobian_norms(T, H, 2.0, 5, path="other")


def test_wh_gradient_by_step_sums_to_rnn_backward(rng):
    H, T = 5, 8
    Wh = G.matrix_with_spectral_radius(H, 0.9, rng)
    run = G.run_rnn(Wh, T, "tanh", rng)
    dh_T = rng.standard_normal(H)
    parts = G.wh_gradient_by_step(run, Wh, dh_T)
    _, cache = rnn_forward(run.x[None], np.zeros((1, H)), run.Wx, Wh, run.b)
    dh = np.zeros((1, T, H))
    dh[0, -1] = dh_T
    dWh = rnn_backward(dh, cache)[3]
    assert parts.shape == (T, H, H)
    np.testing.assert_allclose(parts.sum(axis=0), dWh, rtol=1e-12, atol=1e-14)
    # The first step starts from h_0 = 0, so it adds nothing to dWh.
    np.testing.assert_array_equal(parts[0], 0.0)


def test_run_rnn_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="nonlinearity"):
        G.run_rnn(np.eye(2), 3, "sigmoid")


# --------------------------------------------------------------------------- figures


def test_plot_radius_sweep_smoke():
    fig = FIG.plot_radius_sweep(radii=(0.9, 1.0, 1.1), T=10, H=4)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2
    assert all(len(ax.get_lines()) == 3 for ax in fig.axes)
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    plt.close(fig)


def test_plot_jacobian_norms_and_clipping_smoke():
    ax = FIG.plot_jacobian_norms({"a": np.array([0.1, 1.0]), "b": np.array([0.0, 1.0])})
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log"
    plt.close(ax.figure)
    fig = FIG.plot_clipping(np.array([3.0, 0.5]), 1.0, 1.0)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].texts) == 3  # three arrows (annotations)
    assert len(fig.axes[0].patches) == 2  # the square and the circle
    plt.close(fig)


def test_radius_slider_draws_every_radius():
    ex = FIG.radius_slider(T=5, H=3)
    name, labels = ex.sliders[0]
    assert name == "spectral radius"
    assert labels == [f"{0.5 + 0.05 * k:.2f}" for k in range(21)]   # 0.50, 0.55, ..., 1.50
    assert labels[ex.start[0]] == "1.00" and len(ex.frames) == 21
    assert "spectral radius 1.00." in ex._repr_html_()     # the alt text of the first frame
    assert not plt.get_fignums()


# ------------------------------------------------------------------ the singular-value bound


@pytest.mark.parametrize("kind", ["orthogonal", "gaussian"])
@pytest.mark.parametrize("nonlinearity", ["linear", "tanh", "relu"])
def test_jacobian_norms_obey_the_singular_value_bound(kind, nonlinearity):
    # Pascanu et al. (2013): ||prod_k diag(phi'_k) Wh^T|| <= (gamma sigma_max(Wh))^(T-t), with
    # gamma = sup |phi'| = 1 for these three. Each factor's norm is at most gamma sigma_max.
    T = 40
    for radius in (0.8, 1.0, 1.3):
        W = G.matrix_with_spectral_radius(6, radius, 3, kind=kind)
        sigma = np.linalg.svd(W, compute_uv=False)[0]
        norms = G.jacobian_norms(W, T, nonlinearity, rng=4)[::-1]  # index: the distance
        assert np.all(norms <= sigma ** np.arange(T + 1) * (1 + 1e-9))
        if kind == "orthogonal" and nonlinearity == "linear":  # sigma = rho: equality
            np.testing.assert_allclose(norms, radius ** np.arange(T + 1), rtol=1e-9)


# --------------------------------------------------------------------------- the remedies trained


REMEDY_RUNS = [
    dict(config="a", T=10, seed=0, test_mse=0.01, baseline_mse=0.2, solved=True),
    dict(config="a", T=10, seed=1, test_mse=0.03, baseline_mse=0.2, solved=False),
    dict(config="a", T=20, seed=0, test_mse=0.16, baseline_mse=0.16, solved=False),
    dict(config="b", T=10, seed=0, test_mse=0.002, baseline_mse=0.1, solved=True),
    dict(config="b", T=10, seed=1, test_mse=0.004, baseline_mse=0.1, solved=True),
    dict(config="b", T=20, seed=0, test_mse=0.001, baseline_mse=0.1, solved=True),
]


def test_summarise_remedies_by_hand():
    s = G.summarise_remedies(REMEDY_RUNS)
    assert list(s) == [("a", 10), ("a", 20), ("b", 10), ("b", 20)]
    a10 = s["a", 10]
    assert (a10["n"], a10["solved"]) == (2, 1)
    assert a10["mean"] == pytest.approx(0.02)
    assert a10["sd"] == pytest.approx(np.sqrt(2) * 0.01)       # sample sd of 0.01, 0.03
    assert (a10["min"], a10["max"]) == (0.01, 0.03)
    assert a10["ratio"] == pytest.approx([0.05, 0.15])
    assert s["a", 20]["sd"] == 0.0 and s["b", 10]["solved"] == 2


def test_plot_remedies_bars_are_the_shares_solved():
    fig = FIG.plot_remedies(REMEDY_RUNS)
    top, bottom = fig.axes
    heights = [p.get_height() for p in top.patches]
    assert heights == pytest.approx([0.5, 0.0, 1.0, 1.0])   # a: T=10, T=20; b: T=10, T=20
    dots = np.concatenate([line.get_ydata() for line in bottom.get_lines()
                           if line.get_marker() == "o"])
    assert sorted(dots) == pytest.approx(sorted(r["test_mse"] / r["baseline_mse"]
                                                for r in REMEDY_RUNS))
    assert bottom.get_yscale() == "log"
    plt.close(fig)
