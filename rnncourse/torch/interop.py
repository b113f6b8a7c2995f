"""Swap the course's layers for ``torch.nn``'s and back, weights included.

The course's layers have ``torch.nn``'s constructor arguments and ``state_dict``, so a
layer converts by building its twin and loading the weights. What needs it: tools that
recognise ``torch.nn``'s classes by their exact type, above all dynamic quantisation::

    from torch.ao.quantization import quantize_dynamic
    quantized = quantize_dynamic(to_torch_nn(model), {torch.nn.LSTM, torch.nn.GRU})

(``quantize_dynamic(model)`` on the course's layers leaves them in float without a word:
they are not ``torch.nn.LSTM``.) :func:`from_torch_nn` goes the other way, e.g. to run a
trained ``torch.nn`` model through the hand-written equations.
"""

from __future__ import annotations

import copy
import warnings

from torch import nn

from .cells import GRUCell, LSTMCell, RNNCell
from .cifg import CIFGLSTM
from .modules import GRU, LSTM, RNN, PeepholeLSTM

__all__ = ["to_torch_nn", "from_torch_nn"]

# exact types: PeepholeLSTM is an LSTM subclass with weights torch.nn has not
_OURS_TO_NN: dict[type, type[nn.Module]] = {
    RNN: nn.RNN, LSTM: nn.LSTM, GRU: nn.GRU,
    RNNCell: nn.RNNCell, LSTMCell: nn.LSTMCell, GRUCell: nn.GRUCell,
}
_NN_TO_OURS: dict[type[nn.Module], type] = {v: k for k, v in _OURS_TO_NN.items()}
_NO_TWIN = (PeepholeLSTM, CIFGLSTM)


def _arguments(m: nn.Module) -> dict:
    """The constructor arguments that ``torch.nn`` and the course share, read from ``m``."""
    if hasattr(m, "num_layers"):  # a multi-layer RNN, LSTM or GRU
        args = {k: getattr(m, k) for k in ("input_size", "hidden_size", "num_layers", "bias",
                                           "batch_first", "dropout", "bidirectional")}
        if getattr(m, "proj_size", 0):
            args["proj_size"] = m.proj_size
        weight = m.weight_ih_l0
    else:
        args = {k: getattr(m, k) for k in ("input_size", "hidden_size", "bias")}
        weight = m.weight_ih
    if isinstance(m, (RNN, RNNCell, nn.RNN, nn.RNNCell)):
        args["nonlinearity"] = m.nonlinearity
    return args | {"device": weight.device, "dtype": weight.dtype}


def _convert(m: nn.Module, table: dict) -> nn.Module:
    twin = table[type(m)](**_arguments(m))
    twin.load_state_dict(m.state_dict())
    return twin.train(m.training)


def _swap(model: nn.Module, table: dict, warn_about: tuple[type, ...]) -> nn.Module:
    if type(model) in table:
        return _convert(model, table)
    if isinstance(model, warn_about):
        warnings.warn(f"{type(model).__name__} has no torch.nn counterpart; left as it is",
                      stacklevel=3)
        return model
    for name, child in model.named_children():
        new = _swap(child, table, warn_about)
        if new is not child:
            setattr(model, name, new)
    return model


def to_torch_nn(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in which every course layer and cell (``RNN``, ``LSTM``, ``GRU``,
    ``RNNCell``, ``LSTMCell``, ``GRUCell``; ``model`` itself or any submodule) is replaced
    by its ``torch.nn`` class with the same arguments, weights and training mode.

    ``PeepholeLSTM`` and ``CIFGLSTM`` have no ``torch.nn`` counterpart: they stay, with a
    warning. ``model`` is not changed.
    """
    return _swap(copy.deepcopy(model), _OURS_TO_NN, _NO_TWIN)


def from_torch_nn(model: nn.Module) -> nn.Module:
    """The inverse of :func:`to_torch_nn`: a copy of ``model`` with every ``torch.nn.RNN``,
    ``LSTM``, ``GRU`` and their cells replaced by the course's class, same weights."""
    return _swap(copy.deepcopy(model), _NN_TO_OURS, ())
