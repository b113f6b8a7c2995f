"""Chapter 10's character-level language model: the model, sampling, its score.

- :class:`CharLM` -- embedding, one recurrent layer (LSTM or GRU), linear read-out:
  ids ``(N, T)`` -> next-character logits ``(N, T, V)``.
- :func:`sequence_cross_entropy` -- the training loss, the mean over every step.
- :func:`sample` -- generation with a temperature (and top-k or nucleus truncation), one
  character at a time.
- :func:`mean_nll`, :func:`perplexity`, :func:`bits_per_char` -- the model on a text,
  the state carried across chunks. The conversions from the mean negative
  log-likelihood are the NumPy reference's (:func:`rnncourse.numpy.perplexity`,
  :func:`rnncourse.numpy.bits_per_char`), and so is the temperature softmax: one
  implementation of each metric.
- :func:`lstm_states` -- the hidden and cell states over a text, for looking inside
  (:mod:`rnncourse.analysis.units`).
- :class:`LockedDropout` -- variational dropout: one mask per sequence, shared by every
  time step; ``CharLM(dropout=..., variational=..., tie_weights=...)`` uses it (or standard
  dropout) on the layer's inputs and outputs, and may tie the read-out to the embedding.

Its baseline, the smoothed n-gram model, is :class:`rnncourse.models.ngram.KneserNey`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from rnncourse.data.text import CharVocab
from rnncourse.numpy.lm import bits_per_char as numpy_bits_per_char
from rnncourse.numpy.lm import truncated_softmax
from rnncourse.numpy.losses import perplexity as numpy_perplexity
from rnncourse.torch import GRU, LSTM, SteppedLSTM

__all__ = [
    "CharLM", "sequence_cross_entropy", "sample", "mean_nll", "log2_probs", "perplexity",
    "bits_per_char", "lstm_states", "LockedDropout", "CHAR_CLASSES", "char_classes",
]

#: The classes of characters that chapter 10 scores separately, in the order of
#: :func:`char_classes`' labels. "maths and markup" is the characters of inline maths and
#: code that are not letters or digits: ``$ \\ ` _ ^ { } =``.
CHAR_CLASSES = ("letters", "digits", "space", "line break", "maths and markup",
                "other punctuation")
_MARKUP = set("$\\`_^{}=")


def char_classes(text: str) -> np.ndarray:
    """The class of each character of ``text`` as an index into :data:`CHAR_CLASSES`,
    ``(len(text),)`` int: letters (``str.isalpha``, any script), digits (``str.isdigit``),
    the space, the line break, maths and markup, and everything else (punctuation)."""
    def one(ch: str) -> int:
        if ch.isalpha():
            return 0
        if ch.isdigit():
            return 1
        if ch == " ":
            return 2
        if ch == "\n":
            return 3
        return 4 if ch in _MARKUP else 5
    return np.array([one(ch) for ch in text], dtype=np.int64)


class LockedDropout(nn.Module):
    """Variational ("locked") dropout on sequences ``(N, T, D)`` (Gal and Ghahramani 2016).

    In training, each sequence ``n`` draws one mask ``m_n in {0, 1/(1-p)}^D`` (each entry
    kept with probability ``1 - p``) and multiplies *every* time step by it:
    ``y[n, t] = m_n * x[n, t]``. Standard dropout (``torch.nn.Dropout``) draws a new mask at
    every step instead. Both keep the expectation, ``E[y] = x``. In evaluation mode (and for
    ``p = 0``) the input is returned unchanged.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"p must be in [0, 1), got {p!r}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"expected (N, T, D), got shape {tuple(x.shape)}")
        if not self.training or self.p == 0:
            return x
        mask = torch.empty(x.shape[0], 1, x.shape[2], dtype=x.dtype, device=x.device)
        return x * mask.bernoulli_(1 - self.p).div_(1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class CharLM(nn.Module):
    """A character-level language model: ids ``(N, T)`` -> next-character logits ``(N, T, V)``.

    ``e_t = E[x_t]``, ``h_t = LSTM(e_t, h_{t-1})`` (or a GRU), ``logits_t = h_t W_y + b_y``;
    ``softmax(logits_t)`` is the model's distribution of character ``t + 1``.

    Regularisers (all off by default):

    - ``dropout = p > 0``: dropout on the layer's input ``e_t`` and on its output ``h_t``
      before the read-out, as between the layers of Zaremba et al. (2014); with
      ``variational=True`` the mask is drawn once per sequence and shared by every step
      (:class:`LockedDropout`, Gal and Ghahramani 2016), else anew at every step
      (``torch.nn.Dropout``). The recurrent connection ``h_{t-1} -> h_t`` is not dropped.
    - ``tie_weights=True``: the read-out uses the embedding matrix, ``W_y = E^T`` (Press and
      Wolf 2017; Inan et al. 2017): one ``(V, H)`` parameter, so ``embed_size`` must equal
      ``hidden_size``.

    - ``zoneout=(pc, ph)``: zoneout on the LSTM's cell and hidden states (Krueger et al.
      2017); ``layer_norm=True``: layer normalisation in the recurrence (Ba et al. 2016).
      Either runs the layer as :class:`rnncourse.torch.SteppedLSTM`, one step at a time.

    ``fused=True`` runs the layer as ``torch.nn.LSTM`` (or ``GRU``), PyTorch's fused CPU
    kernel, about 1.5 times faster to train here; it has the same parameters, names and
    equations as the package's layer, so the weights load into either.
    """

    def __init__(self, vocab_size: int, embed_size: int = 32, hidden_size: int = 128,
                 cell: str = "lstm", *, dropout: float = 0.0, variational: bool = True,
                 tie_weights: bool = False, fused: bool = False,
                 zoneout: tuple[float, float] = (0.0, 0.0), layer_norm: bool = False) -> None:
        super().__init__()
        layers = {"lstm": nn.LSTM, "gru": nn.GRU} if fused else {"lstm": LSTM, "gru": GRU}
        if cell not in layers:
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        stepped = any(zoneout) or layer_norm
        if stepped and cell != "lstm":
            raise ValueError("zoneout and layer_norm are implemented for the LSTM only")
        if tie_weights and embed_size != hidden_size:
            raise ValueError(f"tie_weights needs embed_size == hidden_size, got {embed_size} "
                             f"and {hidden_size}")
        self.embed = nn.Embedding(vocab_size, embed_size)
        if stepped:
            self.rnn = SteppedLSTM(embed_size, hidden_size, batch_first=True,
                                   zoneout_c=zoneout[0], zoneout_h=zoneout[1],
                                   layer_norm=layer_norm)
        else:
            self.rnn = layers[cell](embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embed.weight         # one Parameter, (V, H)
        self.drop = LockedDropout(dropout) if variational else nn.Dropout(dropout)

    def forward(self, x: Tensor, state=None) -> Tensor:
        return self.step(x, state)[0]

    def step(self, x: Tensor, state=None) -> tuple[Tensor, object]:
        """Logits ``(N, T, V)`` and the final state, starting from ``state`` (zeros if None)."""
        out, state = self.rnn(self.drop(self.embed(x)), state)
        return self.head(self.drop(out)), state


def sequence_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Mean cross-entropy over every step: ``logits (N, T, V)``, ``target (N, T)``."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


@torch.no_grad()
def sample(model: CharLM, vocab: CharVocab, prompt: str, n_chars: int, *,
           temperature: float = 1.0, seed: int = 0, top_k: int | None = None,
           top_p: float | None = None) -> str:
    """Generate ``n_chars`` characters after ``prompt``, one at a time.

    The prompt is read first (its final state primes the model); then each new character
    is drawn from ``truncated_softmax(logits, temperature, top_k, top_p)`` (the NumPy
    reference's: the temperature, then top-k, then nucleus truncation; with neither, the
    plain ``temperature_softmax``) with a seeded ``numpy.random.Generator`` and fed back
    in as the next input.

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
            p = truncated_softmax(logits[0, -1].double().numpy(), temperature,
                                  top_k, top_p)
            i = int(rng.choice(len(p), p=p))
            out.append(i)
            logits, state = model.step(torch.tensor([[i]]), state)
    finally:
        model.train(was_training)
    return vocab.decode(out)


@torch.no_grad()
def mean_nll(model: CharLM, ids: np.ndarray, seq_len: int = 256) -> float:
    """``mean_t -log p(x_{t+1} | x_1..x_t)`` over ``ids``, in nats, carrying the state along.

    The text is read in chunks of ``seq_len`` steps, and each chunk starts from the
    previous chunk's final state, so every character but the first is predicted from
    everything before it. The log-probabilities are taken in float64.
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
    return total / count


@torch.no_grad()
def log2_probs(model: CharLM, ids: np.ndarray, seq_len: int = 256) -> np.ndarray:
    """``log2 p(x_{t+1} | x_1..x_t)`` for ``t = 1 .. len(ids) - 1``, ``(len(ids) - 1,)``
    float64: the per-character terms whose negated mean is :func:`bits_per_char` (read in
    chunks of ``seq_len`` with the state carried along, as :func:`mean_nll`)."""
    was_training = model.training
    model.eval()
    data = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    out, state = [], None
    try:
        for start in range(0, len(data) - 1, seq_len):
            y = data[start + 1:start + seq_len + 1]
            logits, state = model.step(data[start:start + len(y)][None], state)
            logp = torch.log_softmax(logits[0].double(), dim=-1)
            out.append(logp[torch.arange(len(y)), y] / np.log(2))
    finally:
        model.train(was_training)
    return torch.cat(out).numpy()


def perplexity(model: CharLM, ids: np.ndarray, seq_len: int = 256) -> float:
    """``exp(mean_nll(model, ids))``, through :func:`rnncourse.numpy.perplexity`."""
    return numpy_perplexity(mean_nll(model, ids, seq_len))


def bits_per_char(model: CharLM, ids: np.ndarray, seq_len: int = 256) -> float:
    """The cross-entropy in bits per character, ``mean_nll / ln 2``, through
    :func:`rnncourse.numpy.bits_per_char`.

    Perplexity is ``2 ** bits_per_char``: 2.0 bits per character is a perplexity of 4.
    """
    return numpy_bits_per_char(mean_nll(model, ids, seq_len))


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
    if isinstance(rnn, SteppedLSTM):
        raise ValueError("lstm_states recomputes a plain LSTM's cell; this model has "
                         "zoneout or layer normalisation")
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
