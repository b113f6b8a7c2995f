"""Smoke tests of the chapter 2 figures (rnncourse.figures.rnn), with the Agg backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

from rnncourse.figures import rnn as F  # noqa: E402


def _count(ax, kind) -> int:
    return sum(isinstance(p, kind) for p in ax.patches)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_figures_have_white_background() -> None:
    fig = F.unrolled_figure()
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("n_steps", [1, 3, 5])
def test_unrolled_neuron(n_steps: int) -> None:
    fig = F.unrolled_figure(n_steps)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    folded, unrolled = fig.axes
    assert _count(folded, FancyBboxPatch) == 1
    assert _count(unrolled, FancyBboxPatch) == n_steps  # one copy of the cell per step
    # per step: input, output and the arrow from the previous state
    assert _count(unrolled, FancyArrowPatch) == 3 * n_steps
    assert _count(unrolled, Circle) == 0


def test_unrolled_layer_draws_neurons() -> None:
    fig = F.unrolled_figure(4, layer=True)
    assert _count(fig.axes[1], Circle) == 4 * 3
    assert _count(fig.axes[0], Circle) == 3


def test_architectures() -> None:
    fig = F.architectures_figure()
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == [
        "sequence-to-sequence", "sequence-to-vector", "vector-to-sequence", "encoder–decoder"]
    assert all(_count(ax, FancyBboxPatch) in (4, 6) for ax in fig.axes)
    # the sequence-to-vector panel greys out 3 of its 4 outputs (dashed arrows)
    dashed = [p for p in fig.axes[1].patches
              if isinstance(p, FancyArrowPatch) and p.get_linestyle() == "--"]
    assert len(dashed) == 3


def test_deep_and_bidirectional() -> None:
    fig = F.deep_rnn_figure(n_layers=3, n_steps=4)
    assert len(fig.axes) == 1 and _count(fig.axes[0], FancyBboxPatch) == 12
    fig = F.bidirectional_figure(n_steps=5)
    assert len(fig.axes) == 1 and _count(fig.axes[0], FancyBboxPatch) == 10


def test_bad_step_counts() -> None:
    with pytest.raises(ValueError, match="n_steps"):
        F.unrolled_figure(0)
    with pytest.raises(ValueError, match="n_layers"):
        F.deep_rnn_figure(n_layers=True)


def test_series_figures() -> None:
    rng = np.random.default_rng(0)
    fig = F.series_figure(rng.standard_normal(50), rng.standard_normal((50, 3)))
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 3
    with pytest.raises(ValueError):
        F.series_figure(rng.standard_normal((2, 50)), rng.standard_normal((50, 3)))
    trend, season, noise = rng.standard_normal((3, 36))
    fig = F.trend_seasonality_figure(trend, season, noise)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 3
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), trend + season + noise)
    with pytest.raises(ValueError, match="one length"):
        F.trend_seasonality_figure(trend, season[:-1], noise)


def test_forecast_figure() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 20)), rng.standard_normal(5)
    fig = F.forecast_figure(x, y, {"a": y, "b": y + 1}, indices=[0, 3])
    assert len(fig.axes) == 2
    # the series, the true value, and one marker per forecaster
    assert all(len(ax.lines) == 4 for ax in fig.axes) and fig.axes[-1].get_legend() is not None
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), [y[3]])
    np.testing.assert_allclose(fig.axes[1].lines[3].get_ydata(), [y[3] + 1])
    with pytest.raises(ValueError):
        F.forecast_figure(x, y[:3], {})


def test_forecast_explorer_draws_one_frame_per_series() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 10)), rng.standard_normal(30)
    ex = F.forecast_explorer(x, y, {"naive": x[:, -1]}, n_series=4)
    assert ex.sliders == [("series", ["0", "1", "2", "3"])]
    assert [kind for kind, _, _ in ex.frames] == ["png"] * 4
    assert "first 4 of the 30 test series" in ex._repr_html_()
    assert len(F.forecast_explorer(x[:3], y[:3], {}).frames) == 3   # at most N series
