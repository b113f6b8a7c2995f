"""PyTorch versions of the course's recurrent layers, built from the equations.

Drop-in replacements for ``torch.nn.RNN``, ``LSTM``, ``GRU`` and their cells
(same arguments, parameter names, ``state_dict`` and return values), plus a
:class:`PeepholeLSTM`, a one-layer :class:`CIFGLSTM` (coupled input and
forget gates, chapter 8), a :class:`SteppedLSTM` with zoneout and layer
normalisation (chapter 10), a ``lengths`` argument for padded batches, and the
initialisations of :mod:`rnncourse.torch.init`. The per-layer sequence
functions are in :mod:`rnncourse.torch.functional`; :func:`to_torch_nn` and
:func:`from_torch_nn` (:mod:`rnncourse.torch.interop`) swap the layers for
``torch.nn``'s and back, e.g. before ``torch.ao.quantization.quantize_dynamic``.
"""

from __future__ import annotations

from .cells import GRUCell, LSTMCell, RNNCell
from .cifg import CIFGLSTM
from .init import INIT_SCHEMES, init_rnn_, set_forget_bias_
from .interop import from_torch_nn, to_torch_nn
from .modules import GRU, LSTM, RNN, PeepholeLSTM
from .regularised import SteppedLSTM

__all__ = [
    "RNN", "LSTM", "GRU", "PeepholeLSTM", "CIFGLSTM", "SteppedLSTM",
    "RNNCell", "LSTMCell", "GRUCell",
    "INIT_SCHEMES", "init_rnn_", "set_forget_bias_", "to_torch_nn", "from_torch_nn",
]
