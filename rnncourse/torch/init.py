"""Initialisations for recurrent layers and cells.

Every function here works on any module whose parameters follow ``torch.nn``'s
naming (``weight_ih*``, ``weight_hh*``, ``bias_ih*``, ``bias_hh*``) and that has
a ``hidden_size`` attribute: the classes of :mod:`rnncourse.torch` *and*
``torch.nn.RNN/LSTM/GRU`` and their cells. The gates are stacked along the rows
of each weight, ``G`` blocks of ``H`` rows (``G = 1`` for the RNN, ``4`` for the
LSTM in the order i, f, g, o, ``3`` for the GRU in the order r, z, n), so a
weight ``(G*H, D)`` is ``G`` matrices ``(H, D)`` one above the other. Peephole
weights (``weight_peep*``, shape ``(3, H)``) are handled too.

The schemes (``init=`` in the constructors, or :func:`init_rnn_` directly):

``"pytorch"``
    PyTorch's default: every parameter uniform in ``[-1/sqrt(H), 1/sqrt(H)]``,
    peephole weights included.
``"orthogonal"``
    The Keras default for recurrent layers: each ``(H, H)`` gate block of
    ``W_hh`` a random orthogonal matrix (so ``W^T W = I`` block by block),
    each ``(H, D)`` gate block of ``W_ih`` Glorot (Xavier) uniform, an LSTM's
    projection ``W_hr`` (``proj_size``) semi-orthogonal, biases and peephole
    weights zero.
``"identity"``
    The IRNN of Le, Jaitly & Hinton (2015), for the plain RNN only (``G = 1``;
    a gated layer raises ``ValueError``): ``W_hh = I``, biases zero, ``W_ih``
    normal with standard deviation 0.001. Meant for ``nonlinearity="relu"``.

:func:`set_forget_bias_` is separate because it combines with any scheme: the
LSTM's forget-gate block of ``bias_ih`` gets the value and that of ``bias_hh``
gets 0, so the bias the forget gate sees, ``b_if + b_hf``, is the value
(Jozefowicz et al., 2015, recommend 1).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["INIT_SCHEMES", "init_rnn_", "set_forget_bias_"]

INIT_SCHEMES = ("pytorch", "orthogonal", "identity")


def _gate_blocks(weight: torch.Tensor, hidden_size: int) -> list[torch.Tensor]:
    """Views of the ``G`` gate blocks ``(H, ...)`` of a stacked weight ``(G*H, ...)``."""
    return list(weight.split(hidden_size, dim=0))


def _num_gates(module: nn.Module) -> int:
    """``G``, read from the first ``weight_hh*`` parameter's rows."""
    for name, p in module.named_parameters():
        if name.startswith("weight_hh"):
            return p.shape[0] // module.hidden_size
    raise ValueError(f"{type(module).__name__} has no weight_hh parameter")


@torch.no_grad()
def init_rnn_(module: nn.Module, scheme: str = "pytorch") -> nn.Module:
    """Initialise ``module``'s parameters in place with ``scheme`` and return it.

    Args:
        module: a recurrent layer or cell with ``torch.nn``'s parameter names.
        scheme: one of :data:`INIT_SCHEMES` (see the module docstring).

    Raises:
        ValueError: unknown scheme, or ``"identity"`` on a gated layer.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init {scheme!r}; choose one of {INIT_SCHEMES}")
    H = module.hidden_size
    if H == 0:  # hidden_size 0 (allowed for the cells, as in torch.nn): nothing to draw
        return module
    if scheme == "pytorch":
        bound = 1.0 / math.sqrt(H)
        for p in module.parameters():
            nn.init.uniform_(p, -bound, bound)
        return module
    if scheme == "identity" and _num_gates(module) != 1:
        raise ValueError(
            "init='identity' (IRNN) is defined for the plain RNN only, "
            f"not for {type(module).__name__}; use 'orthogonal' for gated layers"
        )
    for name, p in module.named_parameters():
        if name.startswith("weight_hh"):
            for block in _gate_blocks(p, H):
                if scheme == "orthogonal":
                    nn.init.orthogonal_(block)
                else:
                    block.copy_(torch.eye(H, dtype=p.dtype, device=p.device))
        elif name.startswith("weight_hr"):  # an LSTM's projection (P, H): semi-orthogonal
            nn.init.orthogonal_(p)
        elif name.startswith("weight_ih"):
            for block in _gate_blocks(p, H):
                if scheme == "orthogonal":
                    nn.init.xavier_uniform_(block)
                else:
                    nn.init.normal_(block, mean=0.0, std=0.001)
        else:  # biases and peephole weights
            nn.init.zeros_(p)
    return module


@torch.no_grad()
def set_forget_bias_(module: nn.Module, value: float = 1.0) -> nn.Module:
    """Make the LSTM forget gate's total bias ``b_if + b_hf`` equal ``value``.

    The forget block (rows ``H:2H``, gate order i, f, g, o) of every
    ``bias_ih*`` is set to ``value`` and that of every ``bias_hh*`` to 0.

    Raises:
        ValueError: the module is not an LSTM (``G != 4``) or has no biases.
    """
    if _num_gates(module) != 4:
        raise ValueError(f"forget_bias applies to LSTMs only, not {type(module).__name__}")
    H = module.hidden_size
    biases = [(n, p) for n, p in module.named_parameters() if n.startswith("bias_")]
    if not biases:
        raise ValueError("forget_bias needs bias=True: this module has no biases")
    for name, p in biases:
        p[H:2 * H] = value if name.startswith("bias_ih") else 0.0
    return module
