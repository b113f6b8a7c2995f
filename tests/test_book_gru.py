"""Tests for rnncourse.figures.gru (chapter 8): the two GRU forms, biases, counts, figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnncourse.analysis import gru as G  # noqa: E402
from rnncourse.figures import gru as FIG  # noqa: E402
from rnncourse.numpy import gru_step_forward  # noqa: E402


def _torch_step(x, h, w, form):
    """Independent reference: one GRU step written directly in torch."""
    x, h = torch.from_numpy(x), torch.from_numpy(h)
    Wx, Wh, bx, bh = (torch.from_numpy(w[k]) for k in ("Wx", "Wh", "bx", "bh"))
    H = h.shape[1]
    xa = x @ Wx + bx
    r = torch.sigmoid(xa[:, :H] + h @ Wh[:, :H] + bh[:H])
    z = torch.sigmoid(xa[:, H:2 * H] + h @ Wh[:, H:2 * H] + bh[H:2 * H])
    if form == "pytorch":
        n = torch.tanh(xa[:, 2 * H:] + r * (h @ Wh[:, 2 * H:] + bh[2 * H:]))
    else:
        n = torch.tanh(xa[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + bh[2 * H:])
    return ((1 - z) * n + z * h).numpy()


def test_random_weights_shapes_and_seed():
    w = G.random_gru_weights(3, 5, 0)
    assert w["Wx"].shape == (3, 15) and w["Wh"].shape == (5, 15)
    assert w["bx"].shape == (15,) and w["bh"].shape == (15,)
    assert np.abs(w["Wh"]).max() <= 1 / np.sqrt(5)
    np.testing.assert_array_equal(w["Wx"], G.random_gru_weights(3, 5, 0)["Wx"])
    with pytest.raises(TypeError):
        G.random_gru_weights(3, 5, "seed")


def test_form_gap_matches_torch_reference():
    rng = np.random.default_rng(1)
    w = G.random_gru_weights(3, 4, rng)
    x, h = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    ref = np.abs(_torch_step(x, h, w, "pytorch") - _torch_step(x, h, w, "cho")).max()
    assert G.form_gap(x, h, w) == pytest.approx(ref, abs=1e-12)
    assert ref > 1e-2


def test_torch_nn_gru_is_pytorch_form_not_cho():
    rng = np.random.default_rng(2)
    w = G.random_gru_weights(3, 4, rng)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    layer = torch.nn.GRU(3, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.from_numpy(w["Wx"].T))
        layer.weight_hh_l0.copy_(torch.from_numpy(w["Wh"].T))
        layer.bias_ih_l0.copy_(torch.from_numpy(w["bx"]))
        layer.bias_hh_l0.copy_(torch.from_numpy(w["bh"]))
        out, _ = layer(torch.from_numpy(x[:, None]), torch.from_numpy(h[None]))
    out = out[:, 0].numpy()
    args = (x, h, w["Wx"], w["Wh"], w["bx"], w["bh"])
    np.testing.assert_allclose(gru_step_forward(*args, form="pytorch")[0], out, atol=1e-12)
    assert np.abs(gru_step_forward(*args, form="cho")[0] - out).max() > 1e-3


def test_coincidence_cases_agree_exactly_where_theory_says():
    cases = dict(G.coincidence_cases(seed=0))
    assert len(cases) == 8
    for name, gap in cases.items():
        if name == "random weights" or "!= 0" in name:
            assert gap > 1e-2, name
        else:
            assert gap < 1e-12, name


def test_merge_biases():
    rng = np.random.default_rng(3)
    w = G.random_gru_weights(3, 4, rng)
    x, h = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    bx, bh = G.merge_biases(w["bx"], w["bh"], ("r", "z"))
    np.testing.assert_allclose(bx + bh, w["bx"] + w["bh"])
    assert np.all(bh[:8] == 0) and np.all(bh[8:] == w["bh"][8:])
    for form, changes in (("pytorch", True), ("cho", False)):
        ref = _torch_step(x, h, w, form)
        for blocks, expect in ((("r", "z"), False), (("r", "z", "n"), changes)):
            mx, mh = G.merge_biases(w["bx"], w["bh"], blocks)
            got = gru_step_forward(x, h, w["Wx"], w["Wh"], mx, mh, form=form)[0]
            assert (np.abs(got - ref).max() > 1e-3) == expect, (form, blocks)
    with pytest.raises(ValueError):
        G.merge_biases(np.zeros(6), np.zeros(9))
    with pytest.raises(ValueError):
        G.merge_biases(np.zeros(6), np.zeros(6), ("q",))


def test_reset_sweep_gap_vanishes_when_gate_open():
    mean_r, gap = G.reset_sweep([-6.0, 0.0, 40.0], seed=0)
    assert mean_r[0] < 0.05 and mean_r[-1] == pytest.approx(1.0)
    assert gap[1] > 1e-2 and gap[-1] < 1e-12


def test_param_counts_match_formula_and_torch_nn():
    n, d = 7, 5
    counts = G.param_counts(n, d)
    assert counts["gru"]["pytorch"] == 3 * (n * d + d * d + 2 * d)
    assert counts["gru"]["textbook"] == 3 * (n * d + d * d + d)
    assert counts["gru"]["textbook"] == 3 * counts["rnn"]["textbook"]
    for cell, module in (("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)):
        expected = sum(p.numel() for p in module(n, d).parameters())
        assert counts[cell]["torch.nn"] == counts[cell]["pytorch"] == expected


def test_figures_smoke():
    fig = FIG.gru_cell_figure()
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) > 10
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    fig = FIG.plot_reset_sweep([0, 1], [0.5, 0.7], [0.1, 0.05])
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 1
    fig = FIG.plot_adding_results({"RNN": {10: 0.1, 40: 0.16}, "GRU": {10: 0.01, 40: 0.01}},
                                baseline=0.167)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 3
    fig = FIG.plot_adding_results({"GRU": {10: [0.01, 0.03], 40: [0.02, 0.04]}})
    mean_line = fig.axes[0].lines[0]
    assert list(mean_line.get_ydata()) == pytest.approx([0.02, 0.03])    # the means
    assert len(fig.axes[0].collections) == 2                             # dots per seed
    matplotlib.pyplot.close("all")


# ---- the cell diagram: no label sits on a line, an arrow, a box or another label ----


def _free_label_clashes(fig) -> list[str]:
    """Labels of ``fig`` (texts that are not centred inside a box or circle) that overlap
    another text, a line, an arrow or the edge of a patch, in display coordinates."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    clashes = []
    for ax in fig.axes:
        texts = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.9, 0.8))
                 for t in ax.texts]
        shapes = []                                   # (name, display path, filled)
        for p in ax.patches:
            path = p.get_transform().transform_path(p.get_path())
            if isinstance(p, FancyArrowPatch):
                shapes.append(("arrow", path, False))
            else:
                shapes.append(("patch", path, p.get_facecolor()[3] > 0))
        for line in ax.lines:
            shapes.append(("line", line.get_transform().transform_path(line.get_path()), False))
        for i, (label, box) in enumerate(texts):
            c = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
            # a text centred in a filled box or circle is that shape's name: not a free label
            if any(filled and path.contains_point(c) for _, path, filled in shapes):
                continue
            for j, (other, obox) in enumerate(texts):
                if j != i and box.overlaps(obox):
                    clashes.append(f"{label!r} overlaps the text {other!r}")
            for name, path, filled in shapes:
                # polylines, curves flattened (a CLOSEPOLY vertex holds no real point)
                polys = path.to_polygons(closed_only=False)
                if any(Path(poly).intersects_bbox(box, filled=filled) for poly in polys):
                    clashes.append(f"{label!r} overlaps a {name}")
    return clashes


def test_gru_diagram_labels_do_not_overlap() -> None:
    fig = FIG.gru_cell_figure()
    try:
        assert _free_label_clashes(fig) == []
    finally:
        plt.close(fig)


def test_label_clash_checker_finds_a_planted_overlap() -> None:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xlim(0, 4)
    ax.set_ylim(0, 4)
    ax.plot([1, 1], [0, 4])
    ax.text(1, 2, "$r_t$", ha="center", fontsize=11)      # on the line
    ax.text(3, 3, "$z_t$", ha="center", fontsize=11)      # clear of everything
    try:
        assert _free_label_clashes(fig) == ["'$r_t$' overlaps a line"]
    finally:
        plt.close(fig)
