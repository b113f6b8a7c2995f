"""Helpers and figures of chapter 10, *Applications*.

Everything the chapter needs beyond the layers of :mod:`rnncourse.torch` and the loop
:func:`rnncourse.train.fit`:

Text (no downloads). The language model's corpus is the book's own prose, frozen into
``book/data/ch10/corpus.txt`` by ``scripts/extract_corpus.py``, the same on every machine;
the classifier's lines were cut once from the source of a few standard-library modules
(which differs between Python versions) and frozen into ``book/data/ch10/lines.json`` by
``scripts/extract_lines.py``:

- :func:`book_corpus` -- the frozen corpus, checked against its SHA-256, and its split;
- :func:`code_and_prose_lines` -- lines of code and lines of docstring prose of some
  modules; :func:`frozen_lines`, :func:`line_data` -- the frozen ones, checked, for the
  classification task.
- :class:`CharVocab` -- characters <-> integer ids.
- :func:`char_batches` -- ``(inputs, targets)`` windows for next-character prediction.
- :class:`CharLM` -- embedding, recurrent layer, linear read-out.
- :func:`temperature_softmax`, :func:`sample` -- sampling with a temperature.
- :func:`perplexity`, :func:`bits_per_char` -- the model on a text (its baseline, the
  smoothed n-gram model, is :class:`rnncourse.ngram.KneserNey`).
- :func:`lstm_states`, :func:`text_features`, :func:`unit_correlations`,
  :func:`unit_search` -- looking for a unit of the trained cell that tracks something.
- :func:`encode_lines`, :class:`LineClassifier` -- many-to-one classification of lines.

Figures (white background, for the light and dark themes; each returns the Figure):
:func:`temperature_figure`, :func:`bpc_figure`, :func:`unit_text_figure`,
:func:`horizon_figure`, and the widget :func:`temperature_explorer`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from rnncourse.figures import white_subplots
from rnncourse.numpy.lm import temperature_softmax as _temperature_softmax
from rnncourse.torch import GRU, LSTM

__all__ = [
    "BookCorpus", "book_corpus", "bits_per_char", "lstm_states", "text_features",
    "unit_correlations", "unit_search", "bpc_figure", "unit_text_figure",
    "CORPUS_MODULES", "code_and_prose_lines", "frozen_lines", "lines_digest",
    "CharVocab", "char_batches",
    "CharLM", "temperature_softmax", "sample", "perplexity",
    "encode_lines", "LineClassifier", "TEST_MODULES", "HAND_WRITTEN", "line_data",
    "train_line_classifier", "classifier_scores", "p_prose",
    "temperature_figure",
    "horizon_figure", "temperature_explorer", "temperature_sliders",
]

#: The modules whose source gives the classifier its training lines.
CORPUS_MODULES: tuple[str, ...] = (
    "textwrap", "shlex", "heapq", "string", "glob", "fnmatch", "colorsys", "bisect",
)


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class BookCorpus:
    """The frozen corpus: ``text``, its ``train``/``validation``/``test`` parts, ``vocab``."""

    text: str
    train: str
    validation: str
    test: str
    vocab: CharVocab
    info: dict


def book_corpus() -> BookCorpus:
    """The book's prose as frozen in ``book/data/ch10/corpus.txt``, checked and split.

    ``corpus.json`` (written with it by ``scripts/extract_corpus.py``) records the text's
    SHA-256, which is checked here, and its split: blocks of characters dealt out eight to
    training, one to validation, one to test. Each part is its blocks joined in order. The
    vocabulary is every character of the whole text.

    Raises:
        ValueError: if the text does not match its recorded hash.
    """
    from rnncourse import bookdata

    info = json.loads(bookdata.path("ch10/corpus.json").read_text(encoding="utf-8"))
    raw = bookdata.path("ch10/corpus.txt").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != info["sha256"]:
        raise ValueError(f"ch10/corpus.txt has SHA-256 {digest}, but corpus.json records "
                         f"{info['sha256']}: the frozen corpus was changed (rerun "
                         "scripts/extract_corpus.py and retrain, or restore the file)")
    text = raw.decode("utf-8")
    parts = {name: "".join(text[a:b] for a, b in blocks)
             for name, blocks in info["split"].items()}
    return BookCorpus(text, parts["train"], parts["validation"], parts["test"],
                      CharVocab.from_text(text), info)


def _docstring_lines(tree: ast.AST) -> set[int]:
    """1-based line numbers covered by docstrings (module, class, function)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_and_prose_lines(modules: Sequence[str], *, min_chars: int = 20
                         ) -> tuple[list[str], list[str]]:
    """Lines of Python code and lines of English docstring prose from ``modules``.

    Each line is stripped of its indentation. Prose lines are docstring lines that do not
    start with ``>>>`` or ``...`` (doctest examples are code) and contain no quote
    delimiters; code lines are the other non-blank lines that are not comments. Lines
    shorter than ``min_chars`` are dropped (too short to tell apart).

    Returns:
        ``(code, prose)``: two lists of strings, in the order they appear.
    """
    code: list[str] = []
    prose: list[str] = []
    for name in modules:
        source = inspect.getsource(importlib.import_module(name))
        doc = _docstring_lines(ast.parse(source))
        for number, raw in enumerate(source.splitlines(), start=1):
            line = raw.strip()
            if len(line) < min_chars:
                continue
            if number in doc:
                if not line.startswith((">>>", "...")) and '"""' not in line \
                        and "'''" not in line:
                    prose.append(line)
            elif not line.startswith("#"):
                code.append(line)
    return code, prose


@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: ``chars[i]`` is the character with id ``i``.

    Build it with :meth:`from_text` (the sorted set of characters of a text).
    """

    chars: str

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``text`` as ids, ``(len(text),)`` int64; an unknown character is a ``KeyError``."""
        index = {c: i for i, c in enumerate(self.chars)}
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray | Tensor) -> str:
        """The characters of ``ids`` (any 1-D integer sequence)."""
        return "".join(self.chars[int(i)] for i in ids)


def char_batches(ids: np.ndarray, seq_len: int, batch_size: int, *,
                 seed: int = 0) -> Callable[[], list[tuple[Tensor, Tensor]]]:
    """A function that returns one epoch of next-character batches, for :func:`fit`.

    Each epoch cuts ``ids`` into non-overlapping windows of ``seq_len + 1`` ids, starting
    at a random offset in ``[0, seq_len)`` (so that the cuts move between epochs), shuffles
    the windows and groups them into batches. In a window ``w``, the input is ``w[:-1]``
    and the target is ``w[1:]``: at every step, the next character.

    Returns:
        ``epoch()`` -> list of ``(x, y)``, both ``(batch_size, seq_len)`` int64 tensors
        (the last, smaller batch is dropped). Seeded: the sequence of epochs repeats.
    """
    if len(ids) < 2 * (seq_len + 1):
        raise ValueError(f"need at least {2 * (seq_len + 1)} ids, got {len(ids)}")
    data = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    rng = torch.Generator().manual_seed(seed)

    def epoch() -> list[tuple[Tensor, Tensor]]:
        start = int(torch.randint(seq_len, (1,), generator=rng))
        n = (len(data) - start) // (seq_len + 1)
        windows = data[start:start + n * (seq_len + 1)].view(n, seq_len + 1)
        windows = windows[torch.randperm(n, generator=rng)]
        return [(w[:, :-1], w[:, 1:]) for w in windows.split(batch_size)
                if len(w) == batch_size]

    return epoch


class CharLM(nn.Module):
    """A character-level language model: ids ``(N, T)`` -> next-character logits ``(N, T, V)``.

    ``e_t = E[x_t]``, ``h_t = LSTM(e_t, h_{t-1})`` (or a GRU), ``logits_t = h_t W_y + b_y``;
    ``softmax(logits_t)`` is the model's distribution of character ``t + 1``.
    """

    def __init__(self, vocab_size: int, embed_size: int = 32, hidden_size: int = 128,
                 cell: str = "lstm") -> None:
        super().__init__()
        layers = {"lstm": LSTM, "gru": GRU}
        if cell not in layers:
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = layers[cell](embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: Tensor, state=None) -> Tensor:
        return self.step(x, state)[0]

    def step(self, x: Tensor, state=None) -> tuple[Tensor, object]:
        """Logits ``(N, T, V)`` and the final state, starting from ``state`` (zeros if None)."""
        out, state = self.rnn(self.embed(x), state)
        return self.head(out), state


def sequence_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Mean cross-entropy over every step: ``logits (N, T, V)``, ``target (N, T)``."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def temperature_softmax(logits: Tensor | np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / temperature)`` along the last axis, as a float64 array: the
    NumPy :func:`rnncourse.numpy.temperature_softmax`, for a tensor or an array.

    ``temperature`` 1 is the model's own distribution; below 1 it is sharper (in the
    limit 0, all the mass on the most likely character), above 1 flatter (in the limit,
    uniform).
    """
    return _temperature_softmax(np.asarray(torch.as_tensor(logits).detach().double()),
                                temperature)


@torch.no_grad()
def sample(model: CharLM, vocab: CharVocab, prompt: str, n_chars: int, *,
           temperature: float = 1.0, seed: int = 0) -> str:
    """Generate ``n_chars`` characters after ``prompt``, one at a time.

    The prompt is read first (its final state primes the model); then each new character
    is drawn from ``temperature_softmax(logits, temperature)`` with a seeded
    ``numpy.random.Generator`` and fed back in as the next input.

    Returns:
        The generated characters (without the prompt).
    """
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        x = torch.as_tensor(vocab.encode(prompt))[None]           # (1, len(prompt))
        logits, state = model.step(x)
        out = []
        for _ in range(n_chars):
            p = temperature_softmax(logits[0, -1], temperature)
            i = int(rng.choice(len(p), p=p))
            out.append(i)
            logits, state = model.step(torch.tensor([[i]]), state)
    finally:
        model.train(was_training)
    return vocab.decode(out)


@torch.no_grad()
def perplexity(model: CharLM, ids: np.ndarray, seq_len: int = 256) -> float:
    """``exp(mean_t -log p(x_{t+1} | x_1..x_t))`` over ``ids``, carrying the state along.

    The text is read in chunks of ``seq_len`` steps, and each chunk starts from the
    previous chunk's final state, so every character but the first is predicted from
    everything before it.
    """
    was_training = model.training
    model.eval()
    data = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    total, count, state = 0.0, 0, None
    try:
        for start in range(0, len(data) - 1, seq_len):
            x = data[start:start + seq_len][None]
            y = data[start + 1:start + seq_len + 1][None]
            x = x[:, :y.shape[1]]
            logits, state = model.step(x, state)
            total += float(nn.functional.cross_entropy(logits[0].double(), y[0],
                                                       reduction="sum"))
            count += y.shape[1]
    finally:
        model.train(was_training)
    return math.exp(total / count)


def bits_per_char(model: CharLM, ids: np.ndarray, seq_len: int = 256) -> float:
    """The cross-entropy in bits per character: ``log2(perplexity(model, ids))``.

    Perplexity is ``2 ** bits_per_char``: 2.0 bits per character is a perplexity of 4.
    """
    return math.log2(perplexity(model, ids, seq_len))


# --------------------------------------------------------------------------- inside the cells


@torch.no_grad()
def lstm_states(model: CharLM, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden states ``h_t`` and cell states ``c_t`` of ``model``'s LSTM over ``ids``.

    ``h_t`` comes from the layer itself, from a zero state; ``c_t`` is recomputed from the
    gates, ``c_t = f_t * c_{t-1} + i_t * g_t``, with the pre-activations
    ``e_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` (gate order i, f, g, o).

    Returns:
        ``(h, c)``, each ``(len(ids), H)`` float64: the states after reading each character.
    """
    rnn = model.rnn
    x = model.embed(torch.as_tensor(np.asarray(ids), dtype=torch.int64)[None])
    h = rnn(x)[0][0].double()                                    # (T, H)
    h_prev = torch.cat([torch.zeros_like(h[:1]), h[:-1]])
    a = (x[0].double() @ rnn.weight_ih_l0.double().T + rnn.bias_ih_l0.double()
         + h_prev @ rnn.weight_hh_l0.double().T + rnn.bias_hh_l0.double())
    i, f, g, _ = a.chunk(4, dim=1)
    i, f, g = torch.sigmoid(i).numpy(), torch.sigmoid(f).numpy(), torch.tanh(g).numpy()
    c = np.empty_like(i)
    prev = np.zeros(i.shape[1])
    for t in range(len(c)):
        prev = c[t] = f[t] * prev + i[t] * g[t]
    return h.numpy(), c


def text_features(text: str) -> dict[str, np.ndarray]:
    """Things a reader can check at each character, after reading it: ``(len(text),)`` each.

    - ``"inside `code`"``: 1 between an opening backtick and its closing one (the opening
      backtick counts as inside, the closing one does not);
    - ``"inside $math$"``: the same for dollar signs;
    - ``"inside (brackets)"``: 1 while more ``(`` than ``)`` have been read;
    - ``"position in the line"``: the number of characters since the last line break.

    Backtick and dollar pairs, and bracket depth, restart at every blank line (a paragraph).
    """
    feats = {name: np.zeros(len(text)) for name in
             ("inside `code`", "inside $math$", "inside (brackets)", "position in the line")}
    code = math_ = False
    depth = column = 0
    for t, ch in enumerate(text):
        if ch == "\n":
            column = 0
            if t > 0 and text[t - 1] == "\n":          # a blank line: a new paragraph
                code = math_ = False
                depth = 0
        else:
            column += 1
        if ch == "`":
            code = not code
        elif ch == "$" and not code:
            math_ = not math_
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        feats["inside `code`"][t] = code
        feats["inside $math$"][t] = math_
        feats["inside (brackets)"][t] = depth > 0
        feats["position in the line"][t] = column
    return feats


def unit_correlations(states: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson's correlation of each column of ``states (T, H)`` with ``feature (T,)``.

    A constant column (or feature) has no correlation: its entry is 0.
    """
    s = states - states.mean(axis=0)
    f = np.asarray(feature, dtype=np.float64) - np.mean(feature)
    denom = np.sqrt((s ** 2).sum(axis=0) * (f ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (s * f[:, None]).sum(axis=0) / denom
    return np.where(denom > 0, r, 0.0)


def unit_search(model: CharLM, vocab: CharVocab, text: str) -> dict[str, list[dict]]:
    """For each feature of :func:`text_features`, the units that track it best.

    Every unit of ``h`` and of ``c`` (2H in all) is ranked by ``|r|``, its correlation with
    the feature over ``text``. Returns ``{feature: [best, runner-up]}``, each a dict
    ``{"state": "h" or "c", "unit": j, "r": r}``.
    """
    h, c = lstm_states(model, vocab.encode(text))
    found = {}
    for name, feature in text_features(text).items():
        rows = [{"state": which, "unit": j, "r": float(r)}
                for which, states in (("h", h), ("c", c))
                for j, r in enumerate(unit_correlations(states, feature))]
        rows.sort(key=lambda row: -abs(row["r"]))
        found[name] = rows[:2]
    return found


# --------------------------------------------------------------------------- classification


def encode_lines(lines: Sequence[str], length: int = 48) -> Tensor:
    """Lines as ``(N, length)`` int64 ids, left-padded with 0, truncated to ``length``.

    Printable ASCII ``' '..'~'`` maps to 1..95, any other character to 96. Padding on the
    *left* puts the real characters last, so the final state of a recurrent layer has
    just read them.
    """
    out = torch.zeros(len(lines), length, dtype=torch.int64)
    for row, line in enumerate(lines):
        ids = [ord(c) - 31 if " " <= c <= "~" else 96 for c in line[:length]]
        if ids:
            out[row, length - len(ids):] = torch.tensor(ids)
    return out


class LineClassifier(nn.Module):
    """Many-to-one: ids ``(N, T)`` -> class logits ``(N, K)`` from the last GRU state."""

    def __init__(self, n_classes: int = 2, embed_size: int = 16, hidden_size: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(97, embed_size)
        self.rnn = GRU(embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        _, h_n = self.rnn(self.embed(x))          # h_n: (1, N, H)
        return self.head(h_n[-1])


#: The four modules whose lines are the classifier's test set (never seen in training).
TEST_MODULES: tuple[str, ...] = ("calendar", "queue", "csv", "random")

#: Example lines written for the chapter (not from any module): code, prose, code, prose.
HAND_WRITTEN = (
    "for line in lines: print(line.upper())",
    "Return the sum of the two numbers, rounded.",
    "if not self.items: raise ValueError('empty')",
    "This function is called once for every row.",
)


_LINE_KEYS = ("train_code", "train_prose", "test_code", "test_prose")


def lines_digest(lines: Mapping[str, Sequence[str]]) -> str:
    """SHA-256 of the classifier's four lists of lines (``train_code``, ``train_prose``,
    ``test_code``, ``test_prose``), as recorded in ``book/data/ch10/lines.json``."""
    blob = json.dumps([list(lines[k]) for k in _LINE_KEYS], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def frozen_lines() -> dict:
    """The classifier's lines as frozen by ``scripts/extract_lines.py``, checked.

    Returns the whole record: ``lines`` (a dict of the four lists ``train_code``,
    ``train_prose``, ``test_code``, ``test_prose``), ``python`` (the version whose standard
    library they were cut from), the module names, ``counts`` and ``sha256``.

    Raises:
        ValueError: if the lines do not match their recorded hash.
    """
    from rnncourse import bookdata

    info = json.loads(bookdata.path("ch10/lines.json").read_text(encoding="utf-8"))
    digest = lines_digest(info["lines"])
    if digest != info["sha256"]:
        raise ValueError(f"ch10/lines.json: its lines have SHA-256 {digest}, but the file "
                         f"records {info['sha256']}: the frozen lines were changed (rerun "
                         "scripts/extract_lines.py and the sweep, or restore the file)")
    return info


def line_data() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``x_train, y_train, x_test, y_test`` of the classifier (label 0 code, 1 prose),
    from the frozen lines (:func:`frozen_lines`)."""
    lines = frozen_lines()["lines"]
    train_code, train_prose = lines["train_code"], lines["train_prose"]
    test_code, test_prose = lines["test_code"], lines["test_prose"]
    return (encode_lines(train_code + train_prose),
            torch.tensor([0] * len(train_code) + [1] * len(train_prose)),
            encode_lines(test_code + test_prose),
            torch.tensor([0] * len(test_code) + [1] * len(test_prose)))


def train_line_classifier(x: Tensor, y: Tensor, *, seed: int = 0, epochs: int = 8,
                          lr: float = 0.01, batch_size: int = 32,
                          device: str | torch.device | None = None) -> LineClassifier:
    """Train a :class:`LineClassifier` as chapter 10 does (Adam, cross-entropy, a seeded
    shuffle of mini-batches every epoch); returned on the CPU in evaluation mode."""
    from rnncourse.train import fit

    shuffle = torch.Generator().manual_seed(seed)

    def batches() -> list[tuple[Tensor, Tensor]]:
        order = torch.randperm(len(y), generator=shuffle)
        return [(x[i], y[i]) for i in order.split(batch_size)]

    torch.manual_seed(seed)
    model = LineClassifier()
    fit(model, nn.CrossEntropyLoss(), batches, epochs=epochs, lr=lr, device=device,
        progress=False, seed=seed)
    return model.cpu().eval()


def classifier_scores(model: LineClassifier, x: Tensor, y: Tensor) -> dict[str, float]:
    """Accuracy overall and on each class (``code``: label 0, ``prose``: label 1)."""
    with torch.no_grad():
        predicted = model.eval()(x).argmax(dim=1)
    return {"accuracy": (predicted == y).double().mean().item(),
            "code": (predicted[y == 0] == 0).double().mean().item(),
            "prose": (predicted[y == 1] == 1).double().mean().item()}


def p_prose(model: LineClassifier, lines: Sequence[str]) -> list[float]:
    """The model's probability that each line is prose."""
    with torch.no_grad():
        return torch.softmax(model.eval()(encode_lines(lines)), dim=1)[:, 1].tolist()


# --------------------------------------------------------------------------- figures


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list]:
    fig, axes = white_subplots(1, ncols, figsize=(width, height))
    return fig, list(axes.flat)


def _show_char(c: str) -> str:
    return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(c, c)


def temperature_figure(logits: Tensor | np.ndarray, vocab: CharVocab,
                       temperatures: Sequence[float] = (0.5, 1.0, 1.5), top: int = 10
                       ) -> Figure:
    """The next-character distribution at each temperature: one bar chart per axis.

    Shows the ``top`` most likely characters (under temperature 1), in the same order in
    every panel, and the probability left for all the others in the title.
    """
    base = temperature_softmax(logits, 1.0)
    order = np.argsort(-base, kind="stable")[:top]
    # one panel per row: readable on a phone
    fig, grid = white_subplots(len(temperatures), 1, figsize=(6.2, 2.3 * len(temperatures)),
                               sharex=True)
    axes = list(grid.flat)
    for ax, temp in zip(axes, temperatures, strict=True):
        p = temperature_softmax(logits, temp)
        ax.bar(range(top), p[order], color="#4a7ab5")
        ax.set_xticks(range(top), [_show_char(vocab.chars[i]) for i in order])
        ax.set_ylim(0, 1)
        ax.set_title(f"τ = {temp:g}   (others: {1 - p[order].sum():.2f})", fontsize=10)
        ax.set_ylabel("probability")
    axes[-1].set_xlabel("next character")
    fig.tight_layout()
    return fig


def bpc_figure(train_bpc: Sequence[float], val_bpc: Sequence[float],
               baselines: Mapping[str, float]) -> Figure:
    """Training and validation bits per character per epoch, with baseline lines."""
    fig, (ax,) = _figure(6.0, 3.5)
    epochs = np.arange(1, len(train_bpc) + 1)
    ax.plot(epochs, train_bpc, color="C0", label="training (epoch mean)")
    ax.plot(epochs, val_bpc, color="C1", marker="o", markersize=3, label="validation")
    for k, (name, value) in enumerate(baselines.items()):
        ax.axhline(value, color=f"C{k + 2}", linestyle="--", linewidth=1,
                   label=f"{name} ({value:.2f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("bits per character")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def unit_text_figure(text: str, activation: Sequence[float], *, width: int = 72,
                     title: str = "") -> Figure:
    """``text`` in a fixed-width grid, each character on a background coloured by
    ``activation`` (one value per character) relative to its mean: red above, blue below,
    white at the mean, in pale shades so that the characters stay readable.

    Line breaks start a new row, and so does a line longer than ``width`` characters (it
    goes on in the next row). The figure is at most ``MAX_WIDTH_IN`` wide, in 9-point type.
    """
    from matplotlib import colormaps

    from rnncourse.figures import MAX_WIDTH_IN, MIN_FONT_PT

    values = np.asarray(activation, dtype=np.float64)
    if values.shape != (len(text),):
        raise ValueError(f"need one activation per character ({len(text)}), "
                         f"got shape {values.shape}")
    cell = 0.082                                 # inches per character at 9 points
    if cell * width + 0.3 > MAX_WIDTH_IN:
        raise ValueError(f"width {width} is too wide for {MAX_WIDTH_IN} inches")
    deviation = values - values.mean()
    scale = float(np.abs(deviation).max()) or 1.0
    rows: list[list[tuple[str, float]]] = [[]]
    for ch, v in zip(text, deviation / scale, strict=True):
        if ch == "\n":
            rows.append([])
            continue
        if len(rows[-1]) == width:
            rows.append([])
        rows[-1].append((ch, v))
    cmap = colormaps["RdBu_r"]
    fig, (ax,) = _figure(cell * width + 0.3, 0.19 * len(rows) + 0.5)
    for y, row in enumerate(rows):
        for x, (ch, v) in enumerate(row):
            ax.add_patch(_rectangle((x, -y - 1), 1, 1, color=cmap(0.5 + 0.4 * v)))
            ax.text(x + 0.5, -y - 0.5, ch, ha="center", va="center", family="monospace",
                    fontsize=MIN_FONT_PT)
    ax.set_xlim(0, width)
    ax.set_ylim(-len(rows), 0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _rectangle(*args, **kwargs):
    from matplotlib.patches import Rectangle

    return Rectangle(*args, linewidth=0, **kwargs)


def horizon_figure(errors: Mapping[str, np.ndarray]) -> Figure:
    """Mean squared error against the forecast horizon, one line per forecaster."""
    fig, (ax,) = _figure(6.0, 3.5)
    for name, err in errors.items():
        ax.plot(np.arange(1, len(err) + 1), err, marker="o", markersize=3, label=name)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("test MSE")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def temperature_explorer(model: CharLM, vocab: CharVocab, prompt: str,
                         n_chars: int = 200) -> None:
    """An ipywidgets slider over the temperature: a fresh seeded sample at each value.

    Widgets are live only with a running kernel; the book prints static samples beside.
    """
    from ipywidgets import interact

    def show(temperature: float, seed: int) -> None:
        print(prompt + sample(model, vocab, prompt, n_chars, temperature=temperature,
                              seed=seed))

    interact(show, **temperature_sliders())


def temperature_sliders() -> dict:
    """The explorer's two sliders, labelled in full (``temperature τ``, ``seed``)."""
    from ipywidgets import FloatSlider, IntSlider

    wide = {"description_width": "initial"}      # the whole label, not "temperat…"
    return {"temperature": FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1,
                                       description="temperature τ", style=wide),
            "seed": IntSlider(value=0, min=0, max=20, description="seed", style=wide)}
