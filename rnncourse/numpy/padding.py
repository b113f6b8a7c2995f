"""Batches of sequences of different lengths: lengths, masks and last states.

Sequences in a mini-batch rarely have the same length. They are padded at the
end to the longest one, ``T`` steps, and a vector ``lengths: (N,)`` says how
many steps of each are real.  The recurrent layers of this package take it as
``lengths=``, with the semantics of PyTorch's packed sequences
(``torch.nn.utils.rnn.pack_padded_sequence`` followed by
``pad_packed_sequence``)::

    step t < lengths[n]:   the cell runs as usual, and its output is h_t
    step t >= lengths[n]:  the state is carried unchanged, and the output is 0

so the final state of sequence ``n`` is its state after its last real step,
and padding changes nothing in the real steps.  The 0/1 mask of the real steps
is ``m[n, t] = t < lengths[n]``, the same mask that
:func:`rnncourse.numpy.temporal_softmax_cross_entropy` takes to leave padded
positions out of the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_lengths", "lengths_mask", "last_states"]


def check_lengths(where: str, lengths: Any, N: int, T: int) -> np.ndarray:
    """``lengths`` as an integer array ``(N,)`` with ``1 <= lengths[n] <= T``, or a clear error.

    Like ``pack_padded_sequence``, a sequence must have at least one step.
    """
    arr = np.asarray(lengths)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(
            arr == np.round(arr)
        ):
            raise TypeError(f"{where}: lengths must be integers, got floats (dtype {arr.dtype}); "
                            f"convert them with .astype(int)")
        raise TypeError(f"{where}: lengths must be integers, got dtype {arr.dtype}")
    if arr.shape != (N,):
        raise ValueError(f"{where}: lengths must have shape (N,) = ({N},), one length per "
                         f"sequence of the batch, got {arr.shape}")
    if N and arr.min() < 1:
        raise ValueError(f"{where}: every length must be >= 1 (a sequence needs at least "
                         f"one step), found {arr.min()}")
    if N and arr.max() > T:
        raise ValueError(f"{where}: every length must be <= T = {T}, the number of steps of "
                         f"the padded batch, found {arr.max()}")
    return arr.astype(np.intp, copy=False)


def real_steps(where: str, lengths: Any, N: int, T: int) -> np.ndarray:
    """``m[n, t] = t < lengths[n]``, booleans ``(N, T)``, after :func:`check_lengths`."""
    return np.arange(T) < check_lengths(where, lengths, N, T)[:, None]


def lengths_mask(lengths: Any, T: int | None = None) -> np.ndarray:
    """The mask of the real steps: ``m[n, t] = t < lengths[n]``, booleans ``(N, T)``.

    Args:
        lengths: ``(N,)`` integers, each in ``[1, T]``.
        T: the padded length (default: the longest sequence).

    >>> lengths_mask([3, 1], 4).astype(int)
    array([[1, 1, 1, 0],
           [1, 0, 0, 0]])
    """
    arr = np.asarray(lengths)
    if arr.ndim != 1:
        raise ValueError(f"lengths_mask: lengths must be 1-D, one length per sequence, "
                         f"got shape {arr.shape}")
    if T is None:
        if arr.size == 0:
            raise ValueError("lengths_mask: lengths is empty; pass T to say how many steps")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"lengths_mask: lengths must be integers, got dtype {arr.dtype}")
        T = int(arr.max())
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)):
        raise TypeError(f"lengths_mask: T must be an int, got {type(T).__name__}")
    return real_steps("lengths_mask", arr, arr.shape[0], int(T))


def last_states(h: Any, lengths: Any) -> np.ndarray:
    """The state of every sequence after its last real step: ``h[n, lengths[n] - 1]``.

    With ``lengths=`` the outputs at padded steps are zeros, so ``h[:, -1]`` is
    not the final state of a shorter sequence; this is (PyTorch's ``h_n`` of a
    packed batch).

    Args:
        h: ``(N, T, H)`` outputs of :func:`rnncourse.numpy.rnn_forward` or
            :func:`rnncourse.numpy.lstm_forward`.
        lengths: ``(N,)`` integers in ``[1, T]``.

    Returns:
        ``(N, H)``.
    """
    h = np.asarray(h)
    if h.ndim != 3:
        raise ValueError(f"last_states: h must be 3-D with shape (N, T, H), got shape {h.shape}")
    N, T, _ = h.shape
    lengths = check_lengths("last_states", lengths, N, T)
    return h[np.arange(N), lengths - 1]
