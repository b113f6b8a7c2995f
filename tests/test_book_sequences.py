"""Tests for rnncourse.figures.sequences, the helpers and figures of chapter 1."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnncourse.data.examples import sequence_examples  # noqa: E402
from rnncourse.data.text import bag_of_words, build_vocab, one_hot, tokenize, window_vector
from rnncourse.figures.sequences import (  # noqa: E402
    IO_PATTERNS,
    TASKS,
    draw_io_pattern,
    plot_io_patterns,
    plot_position_weights,
    plot_sequence_examples,
)
from rnncourse.models.position import position_transfer_demo
from rnncourse.params import growing_mlp_parameters


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_tokenize_and_vocab():
    assert tokenize("Every night, I take my DOG!") == ["every", "night", "i", "take", "my", "dog"]
    assert build_vocab(["b", "a"], ["a", "c"]) == ["a", "b", "c"]
    with pytest.raises(TypeError):
        tokenize(["not", "a", "string"])


def test_one_hot_by_hand():
    out = one_hot(["c", "a", "c"], ["a", "b", "c"])
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 0, 1]])
    assert out.dtype == np.float64
    with pytest.raises(ValueError, match="not in the vocabulary"):
        one_hot(["z"], ["a"])
    with pytest.raises(ValueError, match="repeated"):
        one_hot(["a"], ["a", "a"])


def test_window_vector_by_hand():
    vocab = ["a", "b", "c"]
    # the last two words of "a b c b" are (c, b)
    np.testing.assert_array_equal(window_vector(list("abcb"), vocab, 2), [0, 0, 1, 0, 1, 0])
    # shorter than the window: zero blocks on the left
    np.testing.assert_array_equal(window_vector(["a"], vocab, 3), [0, 0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(window_vector([], vocab, 1), [0, 0, 0])
    with pytest.raises(ValueError):
        window_vector(["a"], vocab, 0)


def test_window_cannot_see_past_k():
    a = tokenize("I grew up in France and now I am fluent in")
    b = tokenize("I grew up in Japan and now I am fluent in")
    vocab = build_vocab(a, b)
    gap = len(a) - a.index("france")
    for k in range(1, gap):
        np.testing.assert_array_equal(window_vector(a, vocab, k), window_vector(b, vocab, k))
    assert not np.array_equal(window_vector(a, vocab, gap), window_vector(b, vocab, gap))


def test_bag_of_words_counts_and_ignores_order():
    vocab = ["a", "b", "c"]
    out = bag_of_words(list("abacab"), vocab)
    np.testing.assert_array_equal(out, [3, 2, 1])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(bag_of_words([], vocab), [0, 0, 0])
    a = tokenize("the pink dress is showy and the blue one is adorable")
    b = tokenize("the pink dress is adorable and the blue one is showy")
    v = build_vocab(a, b)
    np.testing.assert_array_equal(bag_of_words(a, v), bag_of_words(b, v))
    # the bag is the sum of the one-hot rows
    np.testing.assert_array_equal(bag_of_words(a, v), one_hot(a, v).sum(axis=0))


def test_growing_mlp_parameters_by_hand():
    # f_t: t*D*H + H + H*K + K with D=2, H=3, K=4
    assert growing_mlp_parameters(2, 3, 4, 3) == [6 + 3 + 12 + 4, 12 + 19, 18 + 19]
    with pytest.raises(ValueError):
        growing_mlp_parameters(2, 3, 4, 0)


def test_position_transfer():
    r = position_transfer_demo(seed=0)
    assert r.n_params == {"big window": 81, "shared": 9}
    assert r.train_acc["big window"] == 1.0 and r.train_acc["shared"] == 1.0
    assert r.test_acc["shared"] == 1.0
    assert r.test_acc["big window"] <= 0.6
    # never-seen positions keep their zero initial weight on the pattern token
    np.testing.assert_array_equal(r.w_window[3:, 0], 0.0)
    assert np.all(r.w_window[:3, 0] > 1.0) and r.w_shared[0] > 1.0
    # another seed, the same conclusion
    r2 = position_transfer_demo(seed=3, n_train=200, n_test=200)
    assert r2.test_acc["shared"] > 0.95 > 0.6 >= r2.test_acc["big window"]
    with pytest.raises(ValueError):
        position_transfer_demo(train_positions=(10,))


def test_position_transfer_gradient_matches_finite_differences():
    # the update in _fit_logistic is the gradient of the mean cross-entropy
    from rnncourse.models.position import _fit_logistic

    rng = np.random.default_rng(0)
    x = np.eye(4)[rng.integers(0, 4, size=(6, 3))]        # (N, T, V)
    y = rng.integers(0, 2, size=6).astype(float)
    w1, b1 = _fit_logistic(x, y, shared=False, steps=1, lr=1.0)
    grad_w = -w1                                          # from zero weights, one step of lr 1

    def loss(w):
        z = x.reshape(6, 12) @ w
        return float(np.mean(np.logaddexp(0, z) - y * z))

    eps, num = 1e-6, np.zeros(12)
    for i in range(12):
        e = np.zeros(12)
        e[i] = eps
        num[i] = (loss(e) - loss(-e)) / (2 * eps)
    np.testing.assert_allclose(grad_w, num, atol=1e-8)
    assert b1 == pytest.approx(-np.mean(0.5 - y))


def test_tasks_table():
    assert len(TASKS) == 10
    assert all(len(row) == 4 for row in TASKS)


def test_sequence_examples_data():
    ex = sequence_examples(seed=0)
    assert ex["price"].shape == (120,) and ex["price"][0] == pytest.approx(100, rel=0.05)
    steps = np.diff(np.log(ex["price"]))
    assert 0.005 < steps.std() < 0.02                      # about 1 % a day
    time, ekg = ex["ekg"]
    assert time.shape == ekg.shape == (800,) and ekg.max() > 0.8   # six spikes of height ~1
    assert set(ex["dna"]) <= set("ACGT") and len(ex["dna"]) == 12
    assert ex["words"][-1] == "___"
    again = sequence_examples(seed=0)
    np.testing.assert_array_equal(ex["price"], again["price"])          # seeded
    assert not np.array_equal(ex["price"], sequence_examples(seed=1)["price"])


def test_sequence_examples_figure():
    ex = sequence_examples(seed=0)
    fig = plot_sequence_examples(ex)
    assert len(fig.axes) == 6
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), ex["price"])


@pytest.mark.parametrize("kind", list(IO_PATTERNS))
def test_io_pattern_figure(kind):
    spec = IO_PATTERNS[kind]
    fig = draw_io_pattern(kind)
    assert len(fig.axes) == 1
    boxes = len(spec["inputs"]) + spec["steps"] + len(spec["outputs"])
    arrows = len(spec["inputs"]) + len(spec["outputs"]) + (spec["steps"] - 1) * spec["recurrent"]
    assert len(fig.axes[0].patches) == boxes + arrows
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)


def test_io_pattern_counts_by_hand():
    # many-to-one, 4 steps: 4 x + 4 h + 1 y boxes, 4 + 1 + 3 arrows
    assert len(draw_io_pattern("many-to-one").axes[0].patches) == 17
    with pytest.raises(ValueError):
        draw_io_pattern("two-to-two")


def test_io_patterns_and_position_figures():
    assert len(plot_io_patterns().axes) == 5
    fig = plot_position_weights(position_transfer_demo(n_train=100, n_test=100, steps=50))
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert len(ax.containers) == 1 and len(ax.containers[0]) == 10   # one bar per position
