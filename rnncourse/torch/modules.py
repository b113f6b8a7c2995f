"""Multi-layer recurrent layers, drop-in replacements for ``torch.nn.RNN/LSTM/GRU``.

Same constructor arguments, same ``forward(input, hx)`` and return values, same
parameter names, shapes, gate order and ``state_dict`` order as ``torch.nn``,
so ``load_state_dict`` works both ways. What differs is inside: every step is
written out from the equations in :mod:`rnncourse.torch.functional` instead of
calling PyTorch's fused kernels. Two additions: ``forward`` takes an optional
``lengths`` argument (a padded batch with one length per sequence gives the
same results as packing it), and the constructors take ``init=`` (see
:mod:`rnncourse.torch.init`), for the LSTMs ``forget_bias=``, and ``compiled=``:
``True`` runs the recurrent loops through ``torch.compile`` (see
:mod:`rnncourse.torch.compiled`, optional reading), ``None`` (the default) follows the
environment variable ``RNNCOURSE_COMPILE``, ``False`` stays eager; ``_layer`` picks
the eager or the compiled ``ops`` and hands them to the layer function. The
constructor checks and the forward pass's shape, dtype and device checks raise
``torch.nn``'s exceptions with ``torch.nn``'s messages.

Shapes (``L`` layers, ``dirs = 2`` if bidirectional else ``1``, ``G`` gates,
``P = proj_size`` for an LSTM with projections, else ``H``)::

    input   (T, N, D)  or (N, T, D) if batch_first  or (T, D) unbatched
            or a PackedSequence; N may be 0
    hx      (L*dirs, N, P)   (a pair (h0 (L*dirs, N, P), c0 (L*dirs, N, H)) for the
            LSTMs), zeros if None
    output  (T, N, dirs*P)   (same layout as the input)
    h_n     (L*dirs, N, P)   row k*dirs + d: layer k, direction d

    weight_ih_l{k}[_reverse]  (G*H, D if k == 0 else dirs*P)
    weight_hh_l{k}[_reverse]  (G*H, P)
    bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse]  (G*H,)      if bias
    weight_hr_l{k}[_reverse]  (P, H)                             LSTM with proj_size only
    weight_peep_l{k}[_reverse]  (3, H)                           PeepholeLSTM only

How the pieces fit: a padded, time-major batch with the sequences sorted by
decreasing length (and ``batch_sizes``, the number of sequences still running at
each step, when the lengths differ) goes through the layers one by one; the
reverse direction runs the same function on each sequence reversed within its
own length; layer ``k > 0`` reads both directions of layer ``k - 1``,
concatenated, after dropout (training mode only, not after the last layer).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import compiled as _compiled
from . import functional as F
from .init import init_rnn_, set_forget_bias_

__all__ = ["RNN", "LSTM", "GRU", "PeepholeLSTM"]

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for the LSTMs


def _check_arguments(module: nn.Module, input_size, hidden_size, num_layers, bias, batch_first,
                     dropout, proj_size) -> None:
    """torch.nn's checks of the constructor arguments, in its order and with its messages."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
            or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so "
            f"non-zero dropout expects num_layers greater than 1, but got "
            f"dropout={dropout} and num_layers={num_layers}", stacklevel=4,
        )
    for arg, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{arg} should be of type bool, got: {type(value).__name__}")
    for arg, value in (("input_size", input_size), ("hidden_size", hidden_size),
                       ("num_layers", num_layers), ("proj_size", proj_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{arg} should be of type int, got: {type(value).__name__}")
        if arg != "proj_size" and value <= 0:
            raise ValueError(f"{arg} must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size and not module.has_cell:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


def _refuse_legacy_onnx_export(name: str) -> None:
    """``torch.onnx.export(dynamo=False)`` (TorchScript tracing) writes an invalid graph
    for the hand-written autograd functions (ONNX Runtime rejects it): refuse, and say
    what works instead. ``torch.jit.trace`` alone works (see the README)."""
    if torch.jit.is_tracing() and torch.onnx.is_in_onnx_export():
        raise RuntimeError(
            f"{name}: the legacy TorchScript-based ONNX export (torch.onnx.export(..., "
            "dynamo=False)) is not supported by rnncourse.torch: use "
            "torch.onnx.export(..., dynamo=True) or torch.export.export, or load the "
            "state_dict into the torch.nn class of the same name and export that")


class _RNNBase(nn.Module):
    """What the four layers share; a subclass sets ``mode``, ``num_gates``,
    ``has_cell`` and implements :meth:`_layer`, one layer in one direction."""

    mode: str = ""
    num_gates: int = 1
    has_cell: bool = False  # LSTMs carry a cell state c next to h

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        proj_size: int = 0, device: torch.device | str | None = None,
        dtype: torch.dtype | None = None, *, init: str = "pytorch",
        forget_bias: float | None = None, compiled: bool | None = None,
    ) -> None:
        super().__init__()
        _check_arguments(self, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, proj_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        self.compiled = compiled
        self.init = init
        self.forget_bias = forget_bias
        if forget_bias is not None and not self.has_cell:
            raise ValueError(f"{type(self).__name__}: forget_bias is for LSTMs only")

        # Register in torch.nn's order: layer by layer, forward then reverse,
        # each as w_ih, w_hh, b_ih, b_hh (and w_hr with a projection); state_dict()
        # follows this order.
        factory = {"device": device, "dtype": dtype}
        G, H, P, dirs = self.num_gates, hidden_size, self.output_size, self.num_directions
        self._all_weights: list[list[str]] = []
        for k in range(num_layers):
            layer_input = input_size if k == 0 else dirs * P
            for d in range(dirs):
                names = self._param_names(k, d)
                shapes = [(G * H, layer_input), (G * H, P)]
                shapes += [(G * H,), (G * H,)] if bias else []
                shapes += [(P, H)] if proj_size else []
                for pname, shape in zip(names, shapes, strict=True):
                    setattr(self, pname, nn.Parameter(torch.empty(shape, **factory)))
                self._all_weights.append(names)
        self._register_extra_parameters(factory)  # PeepholeLSTM: after the LSTM's
        # every weight's name, in torch.nn's order (then PeepholeLSTM's own), as torch.nn
        self._flat_weights_names: list[str] = [n for n, _ in self.named_parameters()]
        self.reset_parameters()

    # ------------------------------------------------------------------ parameters

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """The width of ``h_t``: ``proj_size`` if there is a projection, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

    def _param_names(self, layer: int, direction: int) -> list[str]:
        suffix = "_reverse" if direction == 1 else ""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        names += ["weight_hr"] if self.proj_size else []
        return [f"{n}_l{layer}{suffix}" for n in names]

    def _register_extra_parameters(self, factory: dict) -> None:
        """Hook for parameters that ``torch.nn`` does not have."""

    def _weights(self, layer: int, direction: int) -> tuple[Tensor | None, ...]:
        """``(w_ih, w_hh, b_ih, b_hh)`` of one layer and direction (biases None if absent)."""
        w = [getattr(self, n) for n in self._param_names(layer, direction)[:4]]
        return (w[0], w[1], w[2], w[3]) if self.bias else (w[0], w[1], None, None)

    @property
    def _flat_weights(self) -> list[Tensor | None]:
        """The weights named by ``_flat_weights_names``, as the module holds them now (a
        weight-norm or WeightDrop-style reparametrisation's tensor, too): torch.nn's
        attribute of that name, which such code reads."""
        return [getattr(self, n) if hasattr(self, n) else None for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters grouped per layer and direction, like ``torch.nn``."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Does nothing; here so that code written for ``torch.nn`` (cuDNN) runs unchanged."""

    def reset_parameters(self) -> None:
        """(Re-)initialise with the ``init`` scheme (and ``forget_bias``) given at construction."""
        init_rnn_(self, self.init)
        if self.forget_bias is not None:
            set_forget_bias_(self, self.forget_bias)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.init != "pytorch":
            s += f", init={self.init!r}"
        if self.forget_bias is not None:
            s += f", forget_bias={self.forget_bias}"
        return s

    # ------------------------------------------------------------------ one layer

    def _layer(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: Tensor | None,
    ) -> tuple[Tensor, State]:
        """Run one layer in one direction: ``x (T, N, D_k) -> out (T, N, H)``, final state."""
        raise NotImplementedError

    # ------------------------------------------------------------------ forward

    def forward(
        self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, Tensor] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
    ):
        """Run all layers over ``input``; see the module docstring for the shapes.

        Args:
            input: ``(T, N, D)`` (``(N, T, D)`` if ``batch_first``), unbatched
                ``(T, D)``, or a ``PackedSequence``.
            hx: initial state ``(L*dirs, N, H)`` (``(L*dirs, H)`` for an unbatched
                input), a pair ``(h0, c0)`` for the LSTMs; zeros if None.
                With a PackedSequence, in the caller's (unsorted) order.
            lengths: optional length of each sequence of a padded batched input
                (``N`` ints in ``1..T``, any order). The results equal those of
                the packed batch: ``output`` is zero beyond each length (it keeps
                the input's ``T``), ``h_n`` is each sequence's state at its own
                last step, and the reverse direction starts there.

        Returns:
            ``(output, h_n)``, or ``(output, (h_n, c_n))`` for the LSTMs;
            ``output`` is a PackedSequence if ``input`` is one.
        """
        name = type(self).__name__
        _refuse_legacy_onnx_export(name)
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError(f"{name}: give lengths or a PackedSequence, not both")
            return self._forward_packed(input, hx)
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, "
                            f"got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        self._check_input(input)
        states = self._states_tuple(hx, input)
        self._check_device(input)
        if input.dim() == 2:  # unbatched (T, D): a batch of one, whatever batch_first says
            if lengths is not None:
                raise ValueError(f"{name}: lengths needs a batched (3-D) input")
            for s in states or ():
                if s.dim() != 2:
                    raise RuntimeError("For unbatched 2-D input, hx should also be "
                                       f"2-D but got {s.dim()}-D tensor")
            states = None if states is None else tuple(s.unsqueeze(1) for s in states)
            out, final = self._forward_padded(input.unsqueeze(1), states, None)
            return self._result(out.squeeze(1), tuple(s.squeeze(1) for s in final))

        x = input.transpose(0, 1) if self.batch_first else input  # time-major (T, N, D)
        for s in states or ():
            if s.dim() != 3:
                raise RuntimeError("For batched 3-D input, hx should also be 3-D "
                                   f"but got {s.dim()}-D tensor")
        if lengths is None:
            out, final = self._forward_padded(x, states, None)
        else:
            out, final = self._forward_lengths(x, states, lengths)
        return self._result(out.transpose(0, 1) if self.batch_first else out, final)

    def _forward_lengths(
        self, x: Tensor, states: State | None, lengths: Tensor | Sequence[int],
    ) -> tuple[Tensor, State]:
        """A padded time-major batch with per-sequence lengths: sort, run, unsort."""
        T, N = x.shape[:2]
        lengths = self._check_lengths(lengths, T, N)
        sorted_lengths, sorted_idx = torch.sort(lengths, descending=True)
        unsorted_idx = torch.argsort(sorted_idx)
        max_len = int(sorted_lengths[0])
        # batch_sizes[t] = how many sequences are longer than t
        batch_sizes = (sorted_lengths.unsqueeze(0) > torch.arange(max_len).unsqueeze(1)).sum(1)
        to_dev = sorted_idx.to(x.device), unsorted_idx.to(x.device)
        x = x[:max_len].index_select(1, to_dev[0])
        if states is not None:
            self._check_states(states, N)
            states = tuple(s.index_select(1, to_dev[0]) for s in states)
        out, final = self._forward_padded(x, states, batch_sizes)
        out = out.index_select(1, to_dev[1])
        if max_len < T:  # give the output back the input's length T
            out = torch.cat([out, out.new_zeros(T - max_len, *out.shape[1:])], 0)
        return out, tuple(s.index_select(1, to_dev[1]) for s in final)

    def _forward_packed(self, packed: PackedSequence, hx) -> tuple:
        """PackedSequence in, PackedSequence out, h_n in the caller's order (like torch.nn)."""
        data, batch_sizes, sorted_idx, unsorted_idx = packed
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        self._check_input(data)
        states = self._states_tuple(hx, data)
        self._check_device(data)
        # Padded (T, N, D) in the packed (sorted, decreasing length) order.
        x, lengths = pad_packed_sequence(PackedSequence(data, batch_sizes))
        if states is not None:
            self._check_states(states, int(batch_sizes[0]))
            if sorted_idx is not None:
                states = tuple(s.index_select(1, sorted_idx.to(s.device)) for s in states)
        out, final = self._forward_padded(x, states, batch_sizes)
        out_data = pack_padded_sequence(out, lengths).data
        if unsorted_idx is not None:
            final = tuple(s.index_select(1, unsorted_idx.to(s.device)) for s in final)
        out_packed = PackedSequence(out_data, batch_sizes, sorted_idx, unsorted_idx)
        return self._result(out_packed, final)

    def _forward_padded(
        self, x: Tensor, states: State | None, batch_sizes: Tensor | None,
    ) -> tuple[Tensor, State]:
        """The layers proper. ``x: (T, N, D)`` time-major; if ``batch_sizes`` is
        given, the sequences are sorted by decreasing length and ``T`` is the
        longest. Returns ``out (T, N, dirs*H)`` and the final states, each
        ``(L*dirs, N, H)``."""
        T, N = x.shape[:2]
        dirs = self.num_directions
        if states is None:
            h0 = x.new_zeros(self.num_layers * dirs, N, self.output_size)
            states = (h0, x.new_zeros(self.num_layers * dirs, N, self.hidden_size)
                      ) if self.has_cell else (h0,)
        else:
            self._check_states(states, N)
        reverse_idx = None if dirs == 1 else _reverse_index(T, N, batch_sizes, x.device)

        finals: list[State] = []
        layer_input = x
        for k in range(self.num_layers):
            outs = []
            for d in range(dirs):
                i = k * dirs + d
                state = tuple(s[i] for s in states)
                if d == 0:
                    out, final = self._layer(layer_input, state, k, d, batch_sizes)
                else:  # the reverse direction: each sequence reversed within its length
                    xr = _reverse(layer_input, reverse_idx)
                    out, final = self._layer(xr, state, k, d, batch_sizes)
                    out = _reverse(out, reverse_idx)
                outs.append(out)
                finals.append(final)
            layer_input = torch.cat(outs, dim=2) if dirs == 2 else outs[0]
            if self.dropout > 0 and self.training and k < self.num_layers - 1:
                layer_input = nn.functional.dropout(layer_input, self.dropout, training=True)
        final_states = tuple(torch.stack(s, 0) for s in zip(*finals, strict=True))
        return layer_input, final_states

    # ------------------------------------------------------------------ checks and helpers

    def _states_tuple(self, hx, input: Tensor) -> State | None:
        """``hx`` as a tuple ``(h,)`` or ``(h, c)``, checked for type, device (the
        input's) and dtype (the parameters')."""
        if hx is None:
            return None
        name = type(self).__name__
        if self.has_cell:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"{name}: hx must be a pair (h_0, c_0), got {type(hx).__name__}")
            states = (hx[0], hx[1])
        else:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
            states = (hx,)
        w = self.weight_ih_l0
        for s in states:
            if s.device != input.device:  # torch.nn's message (it checks this first)
                raise RuntimeError("Input and hidden tensors are not at the same device, "
                                   f"found input tensor at {input.device} and hidden tensor "
                                   f"at {s.device}")
            if s.dtype != w.dtype:
                raise RuntimeError(f"{name}: hx is {s.dtype} but the parameters are {w.dtype}")
        return states

    def _check_input(self, input: Tensor) -> None:
        w = self.weight_ih_l0
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        if input.size(-1) != self.input_size:
            raise RuntimeError("input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {input.size(-1)}")

    def _check_device(self, input: Tensor) -> None:
        """torch.nn's device check, after the states' (``_states_tuple``), as in torch.nn."""
        w = self.weight_ih_l0
        if input.device != w.device:
            raise RuntimeError("Input and parameter tensors are not at the same device, "
                               f"found input tensor at {input.device} and parameter tensor "
                               f"at {w.device}")

    def _check_states(self, states: State, batch: int) -> None:
        """torch.nn's shape check of ``hx``, with its messages."""
        rows = self.num_layers * self.num_directions
        expected = [(rows, batch, self.output_size), (rows, batch, self.hidden_size)]
        for k, s in enumerate(states):
            if tuple(s.shape) != expected[k]:
                what = f"hidden[{k}]" if self.has_cell else "hidden"
                raise RuntimeError(f"Expected {what} size {expected[k]}, got {list(s.shape)}")

    def _check_lengths(self, lengths: Tensor | Sequence[int], T: int, N: int) -> Tensor:
        name = type(self).__name__
        lengths = torch.as_tensor(lengths)
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"{name}: lengths must be integers, got {lengths.dtype}")
        lengths = lengths.to("cpu", torch.int64)
        if lengths.shape != (N,):
            raise ValueError(f"{name}: lengths must have shape ({N},), one per sequence, "
                             f"got {tuple(lengths.shape)}")
        if N and (lengths.min() < 1 or lengths.max() > T):
            raise ValueError(f"{name}: lengths must be in 1..{T} (the input's time "
                             f"dimension), got {lengths.tolist()}")
        return lengths

    def _result(self, output, final: State):
        """``(output, h_n)`` or, for the LSTMs, ``(output, (h_n, c_n))``."""
        return (output, final) if self.has_cell else (output, final[0])


def _lstm_autocasts_wholly(x: Tensor, dtype: torch.dtype) -> bool:
    """Whether ``torch.nn.LSTM`` (parameters of ``dtype``) would run its oneDNN layers under
    CPU autocast here: CPU, float32 (or bfloat16), a non-empty input, oneDNN on (its
    ``use_mkldnn``); that kernel is on autocast's lower-precision list, so its inputs,
    weights and states are cast."""
    return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
            and dtype in (torch.float32, torch.bfloat16) and x.numel() > 0
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)


def _reverse_index(
    T: int, N: int, batch_sizes: Tensor | None, device: torch.device,
) -> Tensor | None:
    """Time indices ``(T, N)`` that reverse each sequence within its own length.

    Sequence ``n`` of length ``L_n`` maps step ``t < L_n`` to ``L_n - 1 - t`` and
    leaves the padding ``t >= L_n`` in place. None (a plain flip) if all lengths
    are ``T``. Applying the permutation twice gives the identity.
    """
    if batch_sizes is None:
        return None
    lengths = (batch_sizes.unsqueeze(1) > torch.arange(N).unsqueeze(0)).sum(0)  # (N,)
    t = torch.arange(T).unsqueeze(1)  # (T, 1)
    return torch.where(t < lengths, lengths - 1 - t, t).to(device)


def _reverse(x: Tensor, index: Tensor | None) -> Tensor:
    """Reverse ``x (T, N, F)`` in time, per sequence if ``index`` is given."""
    if index is None:
        return x.flip(0)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


# ---------------------------------------------------------------------- the four layers


class RNN(_RNNBase):
    """Multi-layer Elman RNN, a drop-in replacement for ``torch.nn.RNN``. Each step::

        h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)     phi = tanh or relu

    Args:
        input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
            dropout, bidirectional, device, dtype: as in ``torch.nn.RNN``.
        init: ``"pytorch"`` (default), ``"orthogonal"`` or ``"identity"``
            (IRNN: ``W_hh = I``, zero biases); see :mod:`rnncourse.torch.init`.
        proj_size: only 0 (``torch.nn`` rejects it for RNN too).

    ``forward(input, hx=None, lengths=None) -> (output, h_n)``; see
    :meth:`_RNNBase.forward`.
    """

    mode = "RNN"
    num_gates = 1

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1,
        nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False,
        device: torch.device | str | None = None, dtype: torch.dtype | None = None,
        *, init: str = "pytorch", proj_size: int = 0, compiled: bool | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, init=init, compiled=compiled)

    def _layer(self, x, state, layer, direction, batch_sizes):
        out, h = F.rnn_layer(x, state[0], *self._weights(layer, direction),
                             nonlinearity=self.nonlinearity, batch_sizes=batch_sizes,
                             ops=_compiled.ops(self.compiled, batch_sizes))
        return out, (h,)


class LSTM(_RNNBase):
    """Multi-layer LSTM, a drop-in replacement for ``torch.nn.LSTM``. Each step
    (gate order i, f, g, o along the rows of the weights)::

        [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        i_t = sigmoid(a_i)   f_t = sigmoid(a_f)   g_t = tanh(a_g)   o_t = sigmoid(a_o)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, device, dtype: as in ``torch.nn.LSTM``.
        proj_size: 0 (default), or ``P < hidden_size`` for an LSTM with projections
            (LSTMP, Sak et al., 2014): ``h_t = (o_t * tanh(c_t)) W_hr^T`` is ``P`` wide,
            with ``weight_hr_l{k}[_reverse]: (P, H)`` as in ``torch.nn.LSTM``.
        init: ``"pytorch"`` (default) or ``"orthogonal"``; see
            :mod:`rnncourse.torch.init`.
        forget_bias: if given, ``b_if`` is set to it and ``b_hf`` to 0 (after
            ``init``), so the forget gate starts with this bias; 1 is the usual
            choice. Needs ``bias=True``.

    ``forward(input, hx=None, lengths=None) -> (output, (h_n, c_n))``; see
    :meth:`_RNNBase.forward`.
    """

    mode = "LSTM"
    num_gates = 4
    has_cell = True

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        proj_size: int = 0, device: torch.device | str | None = None,
        dtype: torch.dtype | None = None, *, init: str = "pytorch",
        forget_bias: float | None = None, compiled: bool | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, init=init,
                         forget_bias=forget_bias, compiled=compiled)

    def _projection(self, layer: int, direction: int) -> Tensor | None:
        """``W_hr`` of one layer and direction, or None without a projection."""
        if not self.proj_size:
            return None
        return getattr(self, f"weight_hr_l{layer}{'_reverse' if direction else ''}")

    def _layer(self, x, state, layer, direction, batch_sizes):
        weights = self._weights(layer, direction)
        if batch_sizes is None and not self.proj_size and _lstm_autocasts_wholly(
                x, self.weight_ih_l0.dtype):
            # torch.nn.LSTM's CPU kernel (oneDNN's, which autocast casts) runs the whole layer
            # in autocast's dtype; the other layers cast only their matrix products
            dtype = torch.get_autocast_dtype("cpu")
            x, state = x.to(dtype), tuple(s.to(dtype) for s in state)
            weights = tuple(None if w is None else w.to(dtype) for w in weights)
        out, h, c = F.lstm_layer(x, state[0], state[1], *weights,
                                 batch_sizes=batch_sizes, w_hr=self._projection(layer, direction),
                                 ops=_compiled.ops(self.compiled, batch_sizes))
        return out, (h, c)


class GRU(_RNNBase):
    """Multi-layer GRU, a drop-in replacement for ``torch.nn.GRU``. Each step
    (gate order r, z, n; PyTorch's form, with ``r`` applied after ``W_hn``)::

        r_t = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
        z_t = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
        n_t = tanh(x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Args: as in :class:`RNN` without ``nonlinearity`` (``init="identity"`` is
    for the plain RNN only).

    ``forward(input, hx=None, lengths=None) -> (output, h_n)``; see
    :meth:`_RNNBase.forward`.
    """

    mode = "GRU"
    num_gates = 3

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        device: torch.device | str | None = None, dtype: torch.dtype | None = None,
        *, init: str = "pytorch", proj_size: int = 0, compiled: bool | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, init=init, compiled=compiled)

    def _layer(self, x, state, layer, direction, batch_sizes):
        out, h = F.gru_layer(x, state[0], *self._weights(layer, direction),
                             batch_sizes=batch_sizes, ops=_compiled.ops(self.compiled, batch_sizes))
        return out, (h,)


class PeepholeLSTM(LSTM):
    """Multi-layer LSTM with peephole connections (Gers & Schmidhuber, 2000).

    The input and forget gates also look at the previous cell state, the output
    gate at the new one, through diagonal (element-wise) weights ``p_i, p_f, p_o``::

        [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        i_t = sigmoid(a_i + p_i * c_{t-1})
        f_t = sigmoid(a_f + p_f * c_{t-1})
        g_t = tanh(a_g)
        c_t = f_t * c_{t-1} + i_t * g_t
        o_t = sigmoid(a_o + p_o * c_t)
        h_t = o_t * tanh(c_t)

    The parameters are those of :class:`LSTM` (same names, shapes and order, so
    an ``LSTM``'s ``state_dict`` loads with ``strict=False``) followed by
    ``weight_peep_l{k}[_reverse]`` of shape ``(3, H)``, rows ``p_i, p_f, p_o``,
    which have no ``torch.nn`` counterpart. With zero peephole weights it is
    exactly an LSTM. ``init="pytorch"`` draws them uniform in
    ``[-1/sqrt(H), 1/sqrt(H)]`` like every other parameter; ``"orthogonal"``
    sets them to zero.
    """

    mode = "PeepholeLSTM"

    def _register_extra_parameters(self, factory: dict) -> None:
        for k in range(self.num_layers):
            for d in range(self.num_directions):
                suffix = "_reverse" if d == 1 else ""
                weight = nn.Parameter(torch.empty(3, self.hidden_size, **factory))
                setattr(self, f"weight_peep_l{k}{suffix}", weight)

    def _layer(self, x, state, layer, direction, batch_sizes):
        suffix = "_reverse" if direction == 1 else ""
        w_peep = getattr(self, f"weight_peep_l{layer}{suffix}")
        out, h, c = F.peephole_lstm_layer(x, state[0], state[1],
                                          *self._weights(layer, direction), w_peep,
                                          batch_sizes=batch_sizes,
                                          w_hr=self._projection(layer, direction),
                                          ops=_compiled.ops(self.compiled, batch_sizes))
        return out, (h, c)

