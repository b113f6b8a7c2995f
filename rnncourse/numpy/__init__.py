"""NumPy reference implementation of the recurrent layers taught in the course.

Every layer comes as a pair of step functions (``*_step_forward`` returning
``(out, cache)`` and ``*_step_backward(dout, cache)`` returning gradients) and a
pair of sequence functions (``*_forward`` / ``*_backward``) over inputs of shape
``(N, T, D)``: batch, time, features.  Weight blocks are stored in PyTorch's
gate order, transposed to the row-vector form ``x Wx + h Wh + b``, so numbers
move unchanged between this package, ``torch.nn`` and the book.

float64 is the default; float32 inputs give float32 results.

Modules: :mod:`.rnn`, :mod:`.lstm`, :mod:`.peephole`, :mod:`.gru` (the cells);
:mod:`.layers` (embedding, output layer), :mod:`.losses` (softmax
cross-entropy), :mod:`.padding` (batches of sequences of different lengths:
``lengths=`` in the RNN and LSTM), :mod:`.lm` (language modelling as
probability: log-likelihood, bits per character, sampling with temperature,
top-k and nucleus truncation),
:mod:`.optim` (clipping, SGD, Adagrad, Adam), :mod:`.tbptt` (truncated
backpropagation through time), :mod:`.gradcheck`, :mod:`.scan` (linear recurrences by
the sequential loop and by parallel scans, and minGRU, chapter 11), :mod:`.regularise`
(layer normalisation and zoneout in the LSTM, chapter 10).
"""

from .activations import relu, sigmoid, tanh
from .gradcheck import gradcheck, numerical_gradient, rel_error
from .gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .layers import (
    embedding_backward,
    embedding_forward,
    temporal_affine_backward,
    temporal_affine_forward,
)
from .lm import (
    bits_per_char,
    sample,
    sample_next,
    sequence_log_likelihood,
    temperature_softmax,
    top_k_filter,
    top_p_filter,
    truncated_softmax,
)
from .losses import log_softmax, perplexity, softmax, temporal_softmax_cross_entropy
from .lstm import lstm_backward, lstm_forward, lstm_init, lstm_step_backward, lstm_step_forward
from .optim import SGD, Adagrad, Adam, clip_grad_norm, clip_grad_value
from .padding import last_states, lengths_mask
from .peephole import (
    peephole_lstm_backward,
    peephole_lstm_forward,
    peephole_lstm_step_backward,
    peephole_lstm_step_forward,
)
from .regularise import (
    layer_norm_backward,
    layer_norm_forward,
    ln_lstm_step_forward,
    zoneout,
    zoneout_lstm_step_forward,
)
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from .scan import linear_scan, linear_scan_backward, mingru_backward, mingru_forward
from .tbptt import Chunk, tbptt_chunks, truncated_bptt

__all__ = [
    # activations and gradient checking
    "sigmoid", "tanh", "relu",
    "gradcheck", "numerical_gradient", "rel_error",
    # cells
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "lstm_init",
    "peephole_lstm_step_forward", "peephole_lstm_step_backward",
    "peephole_lstm_forward", "peephole_lstm_backward",
    "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    # around them
    "embedding_forward", "embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward",
    "log_softmax", "softmax", "temporal_softmax_cross_entropy", "perplexity",
    "lengths_mask", "last_states",
    "sequence_log_likelihood", "bits_per_char", "temperature_softmax", "sample_next", "sample",
    "top_k_filter", "top_p_filter", "truncated_softmax",
    "clip_grad_value", "clip_grad_norm", "SGD", "Adagrad", "Adam",
    "Chunk", "tbptt_chunks", "truncated_bptt",
    "linear_scan", "linear_scan_backward", "mingru_forward", "mingru_backward",
    "layer_norm_forward", "layer_norm_backward", "zoneout", "ln_lstm_step_forward",
    "zoneout_lstm_step_forward",
]
