"""Chapter 1, sequence learning: the naive fixed-size encodings, and the chapter's figures.

Text helpers (no model, just encodings)::

    tokenize("Every night, I take my dog for a")  ->  ['every', 'night', 'i', ...]
    one_hot(tokens, vocab)          (T, V)     row t is e_{id(token t)}
    window_vector(tokens, vocab, k) (k V,)     the last k one-hot rows, side by side
    bag_of_words(tokens, vocab)     (V,)       sum over t of e_{id(token t)}: counts

The position-transfer experiment (:func:`position_transfer_demo`) trains two
logistic regressions on one-hot sequences ``x: (N, T, V)``::

    big window, one weight vector per position:  p = sigmoid(sum_t x_t w_t + b),  w: (T, V)
    one weight vector shared by all positions:   p = sigmoid(sum_t x_t w   + b),  w: (V,)

Figures: :func:`plot_sequence_examples` (sequences from six domains),
:func:`draw_io_pattern` / :func:`plot_io_patterns` (one-to-one ... many-to-many),
:func:`plot_position_weights`.  Every figure has a white background, so it reads
the same in light and dark page themes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rnncourse.figures import white_subplots
from rnncourse.numpy import sigmoid

__all__ = [
    "TASKS", "IO_PATTERNS",
    "tokenize", "build_vocab", "one_hot", "window_vector", "bag_of_words",
    "growing_mlp_parameters",
    "PositionTransfer", "position_transfer_demo",
    "plot_sequence_examples", "draw_io_pattern", "plot_io_patterns", "plot_position_weights",
]

# (task, what goes in, what comes out, input/output pattern)
TASKS: list[tuple[str, str, str, str]] = [
    ("language modelling", "the words so far", "the next word, at every step",
     "many-to-many (aligned)"),
    ("part-of-speech tagging", "a sentence", "one tag per word", "many-to-many (aligned)"),
    ("sentiment of a review", "a review", "one score at the end", "many-to-one"),
    ("image captioning", "one image", "a sentence", "one-to-many"),
    ("video activity recognition", "a sequence of frames", "one label (or one per frame)",
     "many-to-one"),
    ("machine translation", "a sentence", "a sentence of another length",
     "many-to-many (unaligned)"),
    ("speech-to-text", "audio frames", "characters or words", "many-to-many (unaligned)"),
    ("stock prices", "prices of the last days", "tomorrow's price", "many-to-one"),
    ("car trajectories", "past positions", "future positions", "many-to-many (unaligned)"),
    ("EKG / audio / DNA", "samples or bases", "a label, or one per sample",
     "many-to-one / many-to-many"),
]

_WORD = re.compile(r"[a-z0-9_']+")


# --------------------------------------------------------------------------- encodings


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text``; punctuation is dropped (``"Every night, I"`` -> 3 words)."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize: expected a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


def build_vocab(*texts: Sequence[str]) -> list[str]:
    """The sorted distinct tokens of one or more token lists: the vocabulary, id = index."""
    return sorted({token for tokens in texts for token in tokens})


def _ids(where: str, tokens: Sequence[str], vocab: Sequence[str]) -> list[int]:
    index = {word: i for i, word in enumerate(vocab)}
    if len(index) != len(vocab):
        raise ValueError(f"{where}: the vocabulary has repeated words")
    missing = [t for t in tokens if t not in index]
    if missing:
        raise ValueError(f"{where}: tokens not in the vocabulary: {missing[:5]}")
    return [index[t] for t in tokens]


def one_hot(tokens: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    """One-hot rows ``e_{id(token)}``: ``(T, V)`` float64, one 1 per row.

    Args:
        tokens: ``T`` words, each in ``vocab``.
        vocab: ``V`` distinct words; word ``vocab[i]`` has id ``i``.
    """
    ids = _ids("one_hot", tokens, vocab)
    out = np.zeros((len(ids), len(vocab)))
    out[np.arange(len(ids)), ids] = 1.0
    return out


def window_vector(tokens: Sequence[str], vocab: Sequence[str], k: int) -> np.ndarray:
    """The input of a fixed-window model: the last ``k`` one-hot rows, concatenated.

    ``[e_{w_{T-k+1}}, ..., e_{w_T}]``, shape ``(k V,)``. A text shorter than ``k``
    is padded on the left with zero blocks (the words "before the start").
    Everything older than the last ``k`` words is cut off.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"window_vector: k must be a positive integer, got {k!r}")
    rows = one_hot(list(tokens)[-k:] if len(tokens) else [], vocab)   # (min(T, k), V)
    pad = np.zeros((k - rows.shape[0], len(vocab)))
    return np.concatenate([pad, rows]).reshape(-1)


def bag_of_words(tokens: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    """Word counts ``sum_t e_{id(token t)}``: ``(V,)`` int64, whatever the length ``T``."""
    counts = np.zeros(len(vocab), dtype=np.int64)
    np.add.at(counts, np.asarray(_ids("bag_of_words", tokens, vocab), dtype=np.int64), 1)
    return counts


def growing_mlp_parameters(input_size: int, hidden_size: int, output_size: int,
                           steps: int) -> list[int]:
    """Parameters of ``f_t``, the one-hidden-layer MLP that reads ``x_1 ... x_t`` at step ``t``.

    ``f_t`` takes the ``t D`` numbers ``[x_1, ..., x_t]``, so it has
    ``t D H + H`` (first layer) ``+ H K + K`` (output layer) parameters, and
    none of them is shared with ``f_{t-1}``. Returns the counts for
    ``t = 1 ... steps``.
    """
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size), ("steps", steps)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"growing_mlp_parameters: {name} must be a positive integer, "
                             f"got {value!r}")
    D, H, K = input_size, hidden_size, output_size
    return [t * D * H + H + H * K + K for t in range(1, steps + 1)]


# --------------------------------------------------------------------------- position transfer


@dataclass
class PositionTransfer:
    """What :func:`position_transfer_demo` measured.

    Attributes:
        train_acc, test_acc: ``{"big window": a, "shared": a}`` accuracies on the
            training set (pattern at the training positions) and the test set
            (pattern only at the other positions).
        n_params: parameters of each model, ``T V + 1`` and ``V + 1``.
        w_window: ``(T, V)`` learned weights of the big-window model.
        w_shared: ``(V,)`` learned weights of the shared model.
        train_positions, test_positions: where the pattern was put.
    """

    train_acc: dict[str, float]
    test_acc: dict[str, float]
    n_params: dict[str, int]
    w_window: np.ndarray
    w_shared: np.ndarray
    train_positions: tuple[int, ...]
    test_positions: tuple[int, ...]


def _make_set(n: int, T: int, V: int, positions: Sequence[int],
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` one-hot sequences ``(n, T, V)``; half contain token 0 at one of ``positions``."""
    ids = rng.integers(1, V, size=(n, T))           # fillers 1 .. V-1
    y = np.zeros(n)
    y[: n // 2] = 1.0
    where = rng.choice(np.asarray(positions), size=n // 2)
    ids[np.arange(n // 2), where] = 0               # the pattern token
    return np.eye(V)[ids], y


def _fit_logistic(x: np.ndarray, y: np.ndarray, shared: bool, steps: int,
                  lr: float) -> tuple[np.ndarray, float]:
    """Full-batch gradient descent on the mean cross-entropy, from zero weights."""
    N, T, V = x.shape
    feats = x.sum(axis=1) if shared else x.reshape(N, T * V)   # shared: counts (N, V)
    w, b = np.zeros(feats.shape[1]), 0.0
    for _ in range(steps):
        p = sigmoid(feats @ w + b)
        g = (p - y) / N                    # d(mean cross-entropy)/d(logit)
        w -= lr * (feats.T @ g)
        b -= lr * g.sum()
    return w, b


def _accuracy(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, shared: bool) -> float:
    N, T, V = x.shape
    feats = x.sum(axis=1) if shared else x.reshape(N, T * V)
    return float(np.mean((sigmoid(feats @ w + b) > 0.5) == (y > 0.5)))


def position_transfer_demo(
    length: int = 10, vocab_size: int = 8,
    train_positions: Iterable[int] = (0, 1, 2), test_positions: Iterable[int] = (7, 8, 9),
    n_train: int = 400, n_test: int = 400, steps: int = 300, lr: float = 1.0,
    seed: int = 0,
) -> PositionTransfer:
    """Does a pattern learned at some positions transfer to others?

    Task: is token 0 (think "dog") anywhere in a sequence of ``length`` tokens?
    In training it only ever appears at ``train_positions``; in the test set only
    at ``test_positions``. Two logistic regressions on the one-hot inputs
    ``x: (N, T, V)`` are trained the same way (zero init, ``steps`` of full-batch
    gradient descent):

    * big window: ``p = sigmoid(sum_t x_t w_t + b)``, a separate ``w_t`` per position;
    * shared:     ``p = sigmoid(sum_t x_t w + b)``, the same ``w`` at every position.
    """
    train_positions, test_positions = tuple(train_positions), tuple(test_positions)
    for pos in train_positions + test_positions:
        if not 0 <= pos < length:
            raise ValueError(f"position_transfer_demo: position {pos} is outside 0..{length - 1}")
    rng = np.random.default_rng(seed)
    x_tr, y_tr = _make_set(n_train, length, vocab_size, train_positions, rng)
    x_te, y_te = _make_set(n_test, length, vocab_size, test_positions, rng)
    train_acc, test_acc, weights = {}, {}, {}
    for name, shared in (("big window", False), ("shared", True)):
        w, b = _fit_logistic(x_tr, y_tr, shared, steps, lr)
        weights[name] = w
        train_acc[name] = _accuracy(x_tr, y_tr, w, b, shared)
        test_acc[name] = _accuracy(x_te, y_te, w, b, shared)
    return PositionTransfer(
        train_acc=train_acc, test_acc=test_acc,
        n_params={"big window": length * vocab_size + 1, "shared": vocab_size + 1},
        w_window=weights["big window"].reshape(length, vocab_size),
        w_shared=weights["shared"],
        train_positions=train_positions, test_positions=test_positions,
    )


# --------------------------------------------------------------------------- figures


def _figure(nrows: int, ncols: int, figsize: tuple[float, float]):
    return white_subplots(nrows, ncols, figsize=figsize)


def _token_row(ax, tokens: Sequence[str], colors: Sequence[str], title: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    for i, (tok, col) in enumerate(zip(tokens, colors, strict=True)):
        ax.add_patch(FancyBboxPatch((i + 0.08, 0.2), 0.84, 0.6, boxstyle="round,pad=0.02",
                                    facecolor=col, edgecolor="black", linewidth=0.8))
        ax.text(i + 0.5, 0.5, tok, ha="center", va="center", fontsize=9, color="black")
    ax.set_xlim(0, len(tokens))
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=10, color="black")


def plot_sequence_examples(seed: int = 0):
    """Six kinds of sequence, each drawn from a seeded synthetic example.

    Stock price (a random walk), a car trajectory (x, y over time), an EKG-like
    trace (a spike per beat), an audio waveform, a DNA string and a sentence.
    Returns a Figure with 6 axes.
    """
    rng = np.random.default_rng(seed)
    fig, grid = _figure(3, 2, (6.4, 7.4))  # three rows of two: readable on a phone
    axes = grid.reshape(2, 3)  # axes[i, j]: the panels in reading order
    ax = axes[0, 0]
    price = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(120)))
    ax.plot(price, color="tab:blue")
    ax.set(title="stock price (one value per day)", xlabel="day")

    ax = axes[0, 1]
    t = np.linspace(0, 1, 60)
    xs = 40 * t + rng.normal(0, 0.3, 60).cumsum() * 0.2
    ys = 8 * np.sin(3 * t) + rng.normal(0, 0.3, 60).cumsum() * 0.2
    ax.plot(xs[:40], ys[:40], "o-", ms=3, color="tab:blue", label="seen")
    ax.plot(xs[39:], ys[39:], "o--", ms=3, color="tab:orange", label="to predict")
    ax.legend(fontsize=9, loc="lower right")
    ax.set(title="car trajectory (x, y per frame)", xlabel="x (m)", ylabel="y (m)")

    ax = axes[0, 2]
    time = np.linspace(0, 4, 800)
    beats = np.cumsum(0.8 + 0.05 * rng.standard_normal(6))
    ekg = sum(np.exp(-((time - b) / 0.015) ** 2) - 0.15 * np.exp(-((time - b - 0.2) / 0.05) ** 2)
              for b in beats)
    ax.plot(time, ekg + 0.02 * rng.standard_normal(time.size), color="tab:red", lw=1)
    ax.set(title="EKG (samples at 200 Hz)", xlabel="time (s)")

    ax = axes[1, 0]
    time = np.linspace(0, 0.05, 800)
    wave = np.sin(2 * np.pi * 220 * time) + 0.5 * np.sin(2 * np.pi * 660 * time)
    ax.plot(time * 1000, wave * np.exp(-40 * time), color="tab:green", lw=1)
    ax.set(title="audio (16 000 samples per second)", xlabel="time (ms)")

    palette = {"A": "#cfe2f3", "C": "#d9ead3", "G": "#fff2cc", "T": "#f4cccc"}
    dna = list(rng.choice(list("ACGT"), size=12))
    _token_row(axes[1, 1], dna, [palette[b] for b in dna], "DNA (one base per step)")
    words = ["I", "take", "my", "dog", "for", "a", "___"]
    _token_row(axes[1, 2], words, ["#eeeeee"] * 6 + ["#fff2cc"],
               "text (one word per step)")
    for ax in axes.flat:
        ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


IO_PATTERNS: dict[str, dict] = {
    "one-to-one": dict(steps=1, inputs=[0], outputs=[0], recurrent=False,
                       example="image classification"),
    "one-to-many": dict(steps=4, inputs=[0], outputs=[0, 1, 2, 3], recurrent=True,
                        example="image captioning"),
    "many-to-one": dict(steps=4, inputs=[0, 1, 2, 3], outputs=[3], recurrent=True,
                        example="sentiment of a review"),
    "many-to-many (aligned)": dict(steps=4, inputs=[0, 1, 2, 3], outputs=[0, 1, 2, 3],
                                   recurrent=True, example="part-of-speech tagging"),
    "many-to-many (unaligned)": dict(steps=6, inputs=[0, 1, 2], outputs=[3, 4, 5],
                                     recurrent=True, example="translation (encoder-decoder)"),
}

_COLORS = {"x": "#cfe2f3", "h": "#d9ead3", "y": "#f4cccc"}


def draw_io_pattern(kind: str, ax=None):
    """Draw one input/output pattern, unrolled over time; returns the Figure.

    Inputs ``x_t`` (blue) at the bottom, hidden states ``h_t`` (green) in the
    middle, outputs ``y_t`` (red) on top; arrows for ``x_t -> h_t``,
    ``h_t -> y_t`` and the recurrence ``h_{t-1} -> h_t``. Every box and arrow is
    a patch: ``len(inputs) + steps + len(outputs)`` boxes and
    ``len(inputs) + len(outputs) + (steps - 1)`` arrows.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if kind not in IO_PATTERNS:
        raise ValueError(f"draw_io_pattern: kind must be one of {list(IO_PATTERNS)}, "
                         f"got {kind!r}")
    spec = IO_PATTERNS[kind]
    if ax is None:
        fig, axes = _figure(1, 1, (1.3 + 1.1 * spec["steps"], 3.0))
        ax = axes[0, 0]
    else:
        fig = ax.figure
        ax.set_facecolor("white")
    size = 0.5

    def box(t: int, row: int, letter: str) -> None:
        ax.add_patch(FancyBboxPatch((t - size / 2, row - size / 2), size, size,
                                    boxstyle="round,pad=0.04", facecolor=_COLORS[letter],
                                    edgecolor="black", linewidth=1.0))
        sub = str(t + 1) if spec["steps"] > 1 else ""
        ax.text(t, row, f"${letter}_{{{sub}}}$" if sub else f"${letter}$",
                ha="center", va="center", fontsize=11, color="black")

    def arrow(a: tuple[float, float], b: tuple[float, float]) -> None:
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12,
                                     color="black", linewidth=1.0))

    gap = size / 2 + 0.06
    for t in range(spec["steps"]):
        box(t, 1, "h")
        if t in spec["inputs"]:
            box(t, 0, "x")
            arrow((t, gap), (t, 1 - gap))
        if t in spec["outputs"]:
            box(t, 2, "y")
            arrow((t, 1 + gap), (t, 2 - gap))
        if spec["recurrent"] and t > 0:
            arrow((t - 1 + gap, 1), (t - gap, 1))
    ax.set_xlim(-0.7, spec["steps"] - 0.3)
    ax.set_ylim(-0.5, 2.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{kind}\ne.g. {spec['example']}", fontsize=10, color="black")
    return fig


def plot_io_patterns():
    """All five patterns of :data:`IO_PATTERNS` side by side; a Figure with 5 axes."""
    widths = [max(IO_PATTERNS[k]["steps"], 2) + 0.6 for k in IO_PATTERNS]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(15, 3.2), gridspec_kw=dict(width_ratios=widths))
    fig.patch.set_facecolor("white")
    for ax, kind in zip(axes, IO_PATTERNS, strict=True):
        draw_io_pattern(kind, ax=ax)
        ax.title.set_fontsize(9)
    fig.tight_layout()
    return fig


def plot_position_weights(result: PositionTransfer, token: int = 0):
    """The weight each model puts on ``token`` at every position; a Figure with 1 axes.

    Bars: the big-window model's ``w_t[token]``, one per position ``t``; the line:
    the shared model's single ``w[token]``. Training and test positions are shaded.
    """
    fig, axes = _figure(1, 1, (6.4, 3.6))
    ax = axes[0, 0]
    T = result.w_window.shape[0]
    for pos in result.train_positions:
        ax.axvspan(pos - 0.5, pos + 0.5, color="#d9ead3", zorder=0)
    for pos in result.test_positions:
        ax.axvspan(pos - 0.5, pos + 0.5, color="#f4cccc", zorder=0)
    ax.bar(np.arange(T), result.w_window[:, token], color="tab:blue", width=0.6,
           label="big window: $w_t$[dog] (one weight per position)", zorder=2)
    ax.axhline(result.w_shared[token], color="tab:orange", lw=2,
               label="shared: $w$[dog] (one weight for all positions)", zorder=3)
    ax.axhline(0, color="black", lw=0.8, zorder=1)
    ax.set_xticks(range(T))
    ax.set(xlabel="position t\n(green: 'dog' seen in training; red: 'dog' only in test)",
           ylabel="weight on 'dog'")
    top = max(float(result.w_window[:, token].max()), float(result.w_shared[token]), 1.0)
    ax.set_ylim(top=1.5 * top)
    ax.legend(fontsize=9, loc="upper center", ncol=1)
    fig.tight_layout()
    return fig
