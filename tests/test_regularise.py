"""Zoneout and layer normalisation (chapter 10), against independent references:
``torch.nn.functional.layer_norm`` and autograd, ``torch.nn.LSTM`` / ``LSTMCell``, numbers
worked by hand, and the binomial distribution of the zoneout masks."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

import rnncourse.numpy as R
from rnncourse.models.charlm import CharLM, lstm_states
from rnncourse.torch import SteppedLSTM

ROOT = Path(__file__).resolve().parents[1]


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- NumPy


def test_layer_norm_forward_matches_torch_and_a_hand_example():
    rng = _rng()
    a, gamma, beta = rng.normal(size=(4, 7)) * 3 + 1, rng.normal(size=7), rng.normal(size=7)
    y, _ = R.layer_norm_forward(a, gamma, beta)
    ref = F.layer_norm(torch.tensor(a), (7,), torch.tensor(gamma), torch.tensor(beta),
                       eps=1e-5)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-12, atol=1e-12)
    # [1, 2, 3]: mean 2, variance 2/3, so (a - mu) / sigma = [-1, 0, 1] * sqrt(3/2)
    y, _ = R.layer_norm_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3),
                                eps=1e-12)
    np.testing.assert_allclose(y, [[-np.sqrt(1.5), 0, np.sqrt(1.5)]], rtol=1e-9)


def test_layer_norm_backward_matches_autograd():
    rng = _rng(1)
    a, gamma, beta, dy = (rng.normal(size=s) for s in ((5, 6), 6, 6, (5, 6)))
    _, cache = R.layer_norm_forward(a, gamma, beta)
    da, dgamma, dbeta = R.layer_norm_backward(dy, cache)
    ta, tg, tb = (torch.tensor(v, requires_grad=True) for v in (a, gamma, beta))
    F.layer_norm(ta, (6,), tg, tb, eps=1e-5).backward(torch.tensor(dy))
    for mine, ref in ((da, ta), (dgamma, tg), (dbeta, tb)):
        np.testing.assert_allclose(mine, ref.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_layer_norm_rejects_bad_input():
    with pytest.raises(ValueError, match="gamma"):
        R.layer_norm_forward(np.ones((2, 3)), np.ones(4), np.zeros(3))
    with pytest.raises(ValueError, match="eps"):
        R.layer_norm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=0)
    _, cache = R.layer_norm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="dy"):
        R.layer_norm_backward(np.ones((3, 2)), cache)


def test_zoneout_by_hand():
    prev, new = np.array([[1.0, 2.0, 3.0]]), np.array([[5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(R.zoneout(prev, new, 0.5, np.array([[1, 0, 1]])),
                                  [[1.0, 6.0, 3.0]])
    np.testing.assert_allclose(R.zoneout(prev, new, 0.25), [[4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(R.zoneout(prev, new, 0.0), new)
    with pytest.raises(ValueError, match="p must be"):
        R.zoneout(prev, new, 1.5)
    with pytest.raises(ValueError, match="zeros and ones"):
        R.zoneout(prev, new, 0.5, np.array([[0.5, 0, 1]]))
    with pytest.raises(ValueError, match="mask must be"):
        R.zoneout(prev, new, 0.5, np.ones((2, 3)))


def _torch_cell(Wx, Wh, b) -> torch.nn.LSTMCell:
    cell = torch.nn.LSTMCell(Wx.shape[0], Wh.shape[0]).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(Wx.T))
        cell.weight_hh.copy_(torch.tensor(Wh.T))
        cell.bias_ih.copy_(torch.tensor(b))
        cell.bias_hh.zero_()
    return cell


def test_zoneout_lstm_step_mixes_torch_lstm_cell_states_with_the_previous_ones():
    rng = _rng(2)
    N, D, H = 3, 4, 5
    x, h, c = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    h_new, c_new = (s.detach().numpy() for s in _torch_cell(Wx, Wh, b)(
        torch.tensor(x), (torch.tensor(h), torch.tensor(c))))
    mask_c, mask_h = rng.integers(0, 2, size=(N, H)), rng.integers(0, 2, size=(N, H))
    h1, c1 = R.zoneout_lstm_step_forward(x, h, c, Wx, Wh, b, 0.5, 0.05, mask_c, mask_h)
    np.testing.assert_allclose(c1, np.where(mask_c == 1, c, c_new), rtol=1e-12)
    np.testing.assert_allclose(h1, np.where(mask_h == 1, h, h_new), rtol=1e-12)
    # evaluation: the expectation; and with p = 0 the plain LSTM step
    h1, c1 = R.zoneout_lstm_step_forward(x, h, c, Wx, Wh, b, 0.5, 0.05)
    np.testing.assert_allclose(c1, 0.5 * c + 0.5 * c_new, rtol=1e-12)
    np.testing.assert_allclose(h1, 0.05 * h + 0.95 * h_new, rtol=1e-12)
    h1, c1 = R.zoneout_lstm_step_forward(x, h, c, Wx, Wh, b, 0.0, 0.0)
    np.testing.assert_allclose(h1, h_new, rtol=1e-12)


def _ln_lstm_step_torch(x, h, c, Wx, Wh, b, gx, gh, gc, bc):
    """Ba et al.'s equations written with torch's layer_norm, for comparison."""
    t = torch.tensor
    a = (F.layer_norm(t(x) @ t(Wx), (Wx.shape[1],), t(gx))
         + F.layer_norm(t(h) @ t(Wh), (Wh.shape[1],), t(gh)) + t(b))
    i, f, g, o = a.chunk(4, dim=1)
    c = torch.sigmoid(f) * t(c) + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(F.layer_norm(c, (c.shape[1],), t(gc), t(bc)))
    return h.numpy(), c.numpy()


def test_ln_lstm_step_matches_torch_layer_norm_composition():
    rng = _rng(3)
    N, D, H = 3, 4, 5
    args = [rng.normal(size=s) for s in ((N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H),
                                         4 * H, 4 * H, 4 * H, H, H)]
    mine = R.ln_lstm_step_forward(*args)
    for m, r in zip(mine, _ln_lstm_step_torch(*args), strict=True):
        np.testing.assert_allclose(m, r, rtol=1e-10, atol=1e-12)
    # normalising makes the gates blind to the scale of the products: doubling both
    # weight matrices (and keeping the bias) leaves the step unchanged, which the plain
    # LSTM is not
    doubled = R.ln_lstm_step_forward(*args[:3], 2 * args[3], 2 * args[4], *args[5:])
    np.testing.assert_allclose(doubled[0], mine[0], atol=1e-5)   # eps: not exact
    plain = R.lstm_step_forward(*args[:6])[0], R.lstm_step_forward(
        *args[:3], 2 * args[3], 2 * args[4], args[5])[0]
    assert np.abs(plain[0] - plain[1]).max() > 1e-2


# --------------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("batch_first", [True, False])
def test_stepped_lstm_without_regularisers_is_torch_nn_lstm(batch_first):
    torch.manual_seed(0)
    N, T, D, H = 3, 6, 4, 5
    mine = SteppedLSTM(D, H, batch_first=batch_first).double()
    ref = torch.nn.LSTM(D, H, batch_first=batch_first).double()
    ref.load_state_dict(mine.state_dict())           # the same names and shapes
    x = torch.randn((N, T, D) if batch_first else (T, N, D), dtype=torch.double,
                    requires_grad=True)
    state = (torch.randn(1, N, H, dtype=torch.double), torch.randn(1, N, H, dtype=torch.double))
    (out, (h, c)), (ref_out, (ref_h, ref_c)) = mine(x, state), ref(x, state)
    for a, b in ((out, ref_out), (h, ref_h), (c, ref_c)):
        torch.testing.assert_close(a, b)
    grads = torch.autograd.grad((out ** 2).sum() + c.sum(), [x, *mine.parameters()])
    ref_grads = torch.autograd.grad((ref_out ** 2).sum() + ref_c.sum(), [x, *ref.parameters()])
    for a, b in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b)


def _numpy_weights(m: SteppedLSTM) -> tuple[np.ndarray, ...]:
    return (m.weight_ih_l0.detach().numpy().T, m.weight_hh_l0.detach().numpy().T,
            (m.bias_ih_l0 + m.bias_hh_l0).detach().numpy())


def test_stepped_lstm_layer_norm_and_zoneout_evaluation_follow_the_numpy_equations():
    torch.manual_seed(1)
    N, T, D, H = 2, 5, 3, 4
    x = torch.randn(N, T, D, dtype=torch.double)
    h0, c0 = torch.randn(1, N, H, dtype=torch.double), torch.randn(1, N, H, dtype=torch.double)
    ln = SteppedLSTM(D, H, batch_first=True, layer_norm=True).double().eval()
    zo = SteppedLSTM(D, H, batch_first=True, zoneout_c=0.5, zoneout_h=0.05).double().eval()
    with torch.no_grad():                                    # gains and shifts not 1 and 0
        for p in (ln.ln_ih.weight, ln.ln_hh.weight, ln.ln_c.weight, ln.ln_c.bias):
            p.uniform_(0.5, 1.5)
    gains = [p.detach().numpy() for p in (ln.ln_ih.weight, ln.ln_hh.weight, ln.ln_c.weight,
                                          ln.ln_c.bias)]
    for model, step in ((ln, lambda *a: R.ln_lstm_step_forward(*a, *gains)),
                        (zo, lambda *a: R.zoneout_lstm_step_forward(*a, 0.5, 0.05))):
        out, (h_n, c_n) = model(x, (h0, c0))
        h, c = h0[0].numpy(), c0[0].numpy()
        for t in range(T):
            h, c = step(x[:, t].numpy(), h, c, *_numpy_weights(model))
            np.testing.assert_allclose(out[:, t].detach().numpy(), h, rtol=1e-10)
        np.testing.assert_allclose(c_n[0].detach().numpy(), c, rtol=1e-10)
        np.testing.assert_allclose(h_n[0].detach().numpy(), h, rtol=1e-10)


def test_stepped_lstm_zoneout_in_training_keeps_units_at_the_rate_asked():
    torch.manual_seed(2)
    N, D, H, pc, ph = 200, 3, 50, 0.5, 0.2
    model = SteppedLSTM(D, H, batch_first=True, zoneout_c=pc, zoneout_h=ph).double().train()
    ref = torch.nn.LSTMCell(D, H).double()
    ref.load_state_dict({k[:-3]: v for k, v in model.state_dict().items()})
    x = torch.randn(N, 1, D, dtype=torch.double)
    h0, c0 = (torch.randn(1, N, H, dtype=torch.double, requires_grad=True) for _ in "hc")
    _, (h1, c1) = model(x, (h0, c0))
    h_new, c_new = ref(x[:, 0], (h0[0], c0[0]))
    for got, prev, new, p in ((c1[0], c0[0], c_new, pc), (h1[0], h0[0], h_new, ph)):
        # every unit is the old value (exactly: copied) or the new one (up to rounding,
        # since the reference cell adds in another order)
        kept, fresh = got == prev, torch.isclose(got, new, rtol=1e-12, atol=1e-12)
        assert bool((kept | fresh).all())
        n_kept = int((kept & ~fresh).sum())
        assert stats.binomtest(n_kept, N * H, p).pvalue > 1e-3
    # the kept units pass their gradient straight back, as the identity
    g = torch.autograd.grad(c1.sum(), c0, retain_graph=True)[0]
    kept = (c1 == c0)[0] & ~torch.isclose(c1[0], c_new.detach(), rtol=1e-12, atol=1e-12)
    assert torch.equal(g[0][kept], torch.ones_like(g[0][kept]))


def test_stepped_lstm_starts_as_torch_nn_lstm_and_layer_norm_as_the_identity_scale():
    H = 9
    m = SteppedLSTM(4, H, layer_norm=True)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        w = getattr(m, name)
        assert w.abs().max() <= H ** -0.5 and w.std() > 0.5 * H ** -0.5 / 3 ** 0.5
    for ln in (m.ln_ih, m.ln_hh, m.ln_c):                # gains 1; only the cell's has a shift
        assert torch.equal(ln.weight, torch.ones_like(ln.weight))
    assert m.ln_ih.bias is None and m.ln_hh.bias is None
    assert torch.equal(m.ln_c.bias, torch.zeros(H))


def test_stepped_lstm_rejects_bad_arguments():
    with pytest.raises(ValueError, match="zoneout_c must be"):
        SteppedLSTM(3, 4, zoneout_c=1.0)
    with pytest.raises(ValueError, match="expected input"):
        SteppedLSTM(3, 4)(torch.ones(2, 5, 2))
    with pytest.raises(ValueError, match="h_0 and c_0"):
        SteppedLSTM(3, 4, batch_first=True)(torch.ones(2, 5, 3), (torch.ones(2, 4),) * 2)


def test_charlm_uses_the_stepped_lstm_for_zoneout_and_layer_norm():
    assert isinstance(CharLM(10, zoneout=(0.5, 0.05)).rnn, SteppedLSTM)
    assert isinstance(CharLM(10, layer_norm=True, fused=True).rnn, SteppedLSTM)
    assert isinstance(CharLM(10, fused=True).rnn, torch.nn.LSTM)
    with pytest.raises(ValueError, match="LSTM only"):
        CharLM(10, cell="gru", layer_norm=True)
    with pytest.raises(ValueError, match="zoneout or layer normalisation"):
        lstm_states(CharLM(10, layer_norm=True), np.arange(5))
    # a plain CharLM's weights load into the zoneout model (no new parameters)
    plain, zoned = CharLM(10, 8, 8), CharLM(10, 8, 8, zoneout=(0.5, 0.05))
    zoned.load_state_dict(plain.state_dict())


# --------------------------------------------------------------------------- the sweep


def _script(name: str):
    """``scripts/<name>.py`` as a module. Importing it imports ``_sweep``, which pins every
    thread pool to one thread; the test process gets its threads and environment back."""
    threads, env = torch.get_num_threads(), dict(os.environ)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
        torch.set_num_threads(threads)
        os.environ.clear()
        os.environ.update(env)


def test_tune_script_arms_and_resume_from_shipped_results(tmp_path):
    S = _script("tune_ch10_charlm")
    shipped = json.loads((ROOT / "book/data/ch10/charlm_tuned.json").read_text())
    arms = S.ablation_arms(shipped["chosen"])
    assert arms["zoneout"] == dict(shipped["chosen"], zoneout=[0.5, 0.05])
    assert arms["layer norm"] == dict(shipped["chosen"], layer_norm=True)
    model = S.build(arms["zoneout"])
    assert (model.rnn.zoneout_c, model.rnn.zoneout_h) == (0.5, 0.05)
    assert S.build(arms["layer norm"]).rnn.layer_norm
    # every shipped run is one entry of the resume file, and the evaluations of the final
    # models are split back out of their rows
    runs = S.shipped_runs(shipped)
    n_rows = (len(shipped["search"]) + len(shipped["sizes"]) + len(shipped["final"])
              + sum(len(v) for v in shipped["ablation"].values()))
    n_evals = len(shipped["final"])
    chosen_in_search = sum(r["config"] == shipped["chosen"] and r["seed"] == 0
                           for r in shipped["search"] + shipped["sizes"])
    assert len(runs) == n_rows - chosen_in_search + n_evals
    row = shipped["final"][1]
    key = f"{S.config_name(shipped['chosen'])} | seed 1"
    assert "test" not in runs[key] and runs[key]["val_bpc_best"] == row["val_bpc_best"]
    assert runs["evaluate | seed 1"]["test"] == row["test"]


def test_partial_file_shared_by_two_processes_keeps_both_runs(tmp_path):
    _sweep = _script("_sweep")
    a, b = _sweep.Partial(tmp_path / "r.json"), _sweep.Partial(tmp_path / "r.json")
    a.put("one", 1)
    b.put("two", 2)                  # b never read "one", but must not drop it
    a.put("three", 3)
    assert json.loads((tmp_path / "r.partial.json").read_text()) == dict(one=1, two=2,
                                                                         three=3)
    a.done()
    assert list(tmp_path.iterdir()) == []
    # a rerun starts from finished results only when their settings are the same
    (tmp_path / "done.json").write_text(json.dumps(dict(lr=0.01, runs=[["k1", 1], ["k2", 2]])))
    for settings, expected in ((dict(lr=0.01), dict(k1=1, k2=2)), (dict(lr=0.03), {})):
        fresh = _sweep.Partial(tmp_path / f"new{settings['lr']}.json")
        fresh.start_from(tmp_path / "done.json", settings, lambda old: old["runs"])
        assert fresh.runs == expected


def test_step_functions_name_the_wrong_argument():
    x, h, c = np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 4))
    Wx, Wh, b = np.ones((3, 16)), np.ones((4, 12)), np.ones(16)
    with pytest.raises(ValueError, match="zoneout_lstm_step_forward: .*Wh"):
        R.zoneout_lstm_step_forward(x, h, c, Wx, Wh, b, 0.5, 0.05)
    with pytest.raises(ValueError, match="ln_lstm_step_forward: .*Wh"):
        R.ln_lstm_step_forward(x, h, c, Wx, Wh, b, np.ones(16), np.ones(16), np.ones(4),
                               np.zeros(4))
    with pytest.raises(ValueError, match="gamma"):            # a gain of the wrong size
        R.ln_lstm_step_forward(x, h, c, Wx, np.ones((4, 16)), b, np.ones(15), np.ones(16),
                               np.ones(4), np.zeros(4))


@pytest.mark.parametrize(("argv", "message"), [
    (["--arms", "zoneout", "--seeds", "7"], "--seeds: the seeds are [0, 1, 2, 3, 4], got [7]"),
    (["--seeds", "1"], "--seeds goes with --arms"),
])
def test_tune_script_rejects_bad_seeds_before_any_work(argv, message):
    done = subprocess.run([sys.executable, "scripts/tune_ch10_charlm.py", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
