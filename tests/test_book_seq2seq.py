"""rnncourse.figures.seq2seq (chapter 9): toy data and smoke tests of the figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnncourse.data import reversal as D  # noqa: E402
from rnncourse.figures import seq2seq as FIG  # noqa: E402
from rnncourse.models import seq2seq as S  # noqa: E402


def test_reversal_data_layout():
    data = D.reversal_data(50, 2, 6, rng=0)
    assert data.src.shape == (50, 6) and data.tgt_in.shape == data.tgt_out.shape == (50, 7)
    for src, L, tin, tout in zip(*data, strict=True):
        L = int(L)
        x = src[:L].tolist()
        assert all(t >= D.DIGITS for t in x) and (src[L:] == S.PAD).all()
        assert tout[:L].tolist() == x[::-1] and tout[L] == S.EOS and (tout[L + 1:] == 0).all()
        assert tin[0] == S.BOS and tin[1:L + 1].tolist() == x[::-1]
    assert data.lengths.min() >= 2 and data.lengths.max() <= 6
    again = D.reversal_data(50, 2, 6, rng=0)
    assert all(torch.equal(a, b) for a, b in zip(data, again, strict=True))
    with pytest.raises(ValueError):
        D.reversal_data(5, 3, 2, rng=0)


def test_batches_cover_data():
    data = D.reversal_data(130, 1, 4, rng=1)
    bs = D.batches(data, 64)
    assert [len(t) for (_, _, t), _ in bs] == [64, 64, 2]
    assert torch.equal(torch.cat([y for _, y in bs]), data.tgt_out)


def test_decode_digits():
    assert D.decode_digits([D.DIGITS + 3, D.DIGITS, S.EOS, D.DIGITS + 1]) == "30 <eos>"
    assert D.decode_digits(torch.tensor([S.BOS, D.DIGITS + 9, S.PAD])) == "<bos> 9"


def test_dates():
    assert D.spell_date(1987, 3, 12) == ("twelfth of march 1987", "1987-03-12")
    assert D.spell_date(2000, 2, 29)[1] == "2000-02-29"
    with pytest.raises(ValueError):
        D.spell_date(1900, 2, 29)
    pairs = D.random_dates(20, rng=3)
    assert len(pairs) == 20 and all(iso[:4] == words[-4:] for words, iso in pairs)


def test_accuracy_by_length_with_oracle():
    def oracle(src, lengths):
        out = torch.zeros(src.shape[0], src.shape[1] + 1, dtype=torch.long)
        for i, L in enumerate(lengths.tolist()):
            out[i, :L] = src[i, :L].flip(0)
            out[i, L] = S.EOS
        return out
    acc = S.accuracy_by_length(oracle, [1, 3, 5], 20, rng=0)
    np.testing.assert_array_equal(acc, [1.0, 1.0, 1.0])
    wrong = S.accuracy_by_length(lambda s, L: s, [3], 20, rng=0)
    assert wrong[0] < 0.1


def test_figures():
    fig = FIG.plot_encoder_decoder()
    assert isinstance(fig, Figure) and len(fig.axes) == 1 and len(fig.axes[0].patches) > 10
    ax = FIG.plot_accuracy_by_length([1, 2, 3], {"a": [1, 0.5, 0], "b": [1, 1, 1]}, (1, 2))
    assert len(ax.get_lines()) == 2
    ax = FIG.plot_attention(np.eye(3), ["1", "2", "3"], ["3", "2", "1"])
    assert len(ax.figure.axes) == 2 and len(ax.images) == 1
    ax = FIG.plot_position_accuracy([0.1, 0.2, 1.0])
    assert len(ax.patches) == 3
    plt.close("all")


def test_accuracy_bands_plot_mean_and_range():
    runs = {"a": np.array([[1.0, 0.5, 0.0], [0.8, 0.7, 0.2]]), "b": np.ones((5, 3))}
    ax = FIG.plot_accuracy_bands([1, 2, 3], runs, (1, 2))
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [0.9, 0.6, 0.1])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 0.0 and band.max() == 1.0          # min of seed 1 .. max of seed 1
    assert "5 seeds" in ax.get_legend().get_texts()[1].get_text()
    with pytest.raises(ValueError, match="must be"):
        FIG.plot_accuracy_bands([1, 2], runs)
    plt.close("all")


def test_attention_heatmap_puts_outputs_on_rows_and_sources_on_columns():
    # a 2 x 3 map that is not symmetric: a transposed or flipped plot cannot pass
    w = np.array([[0.7, 0.2, 0.1], [0.0, 0.25, 0.75]])
    ax = FIG.plot_attention(torch.tensor(w), ["a", "b", "c"], ["X", "Y"])
    image = ax.images[0]
    np.testing.assert_array_equal(image.get_array(), w)
    assert image.origin == "upper"                  # row 0, the first output, at the top
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["X", "Y"]
    assert image.get_clim() == (0, 1)               # weights on a fixed scale, not rescaled
    # the top-left cell is drawn darker than the bottom-left (0.7 against 0.0)
    rgba = image.to_rgba(image.get_array())
    assert rgba[0, 0, :3].sum() < rgba[1, 0, :3].sum()
    plt.close("all")
