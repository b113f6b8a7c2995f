"""NumPy reference implementation of the recurrent layers taught in the course.

Every layer comes as a pair of step functions (``*_step_forward`` returning
``(out, cache)`` and ``*_step_backward(dout, cache)`` returning gradients) and a
pair of sequence functions (``*_forward`` / ``*_backward``) over inputs of shape
``(N, T, D)``: batch, time, features.  Weight blocks are stored in PyTorch's
gate order, transposed to the row-vector form ``x Wx + h Wh + b``, so numbers
move unchanged between this package, ``torch.nn`` and the book.

float64 is the default; float32 inputs give float32 results.
"""

from .activations import relu, sigmoid, tanh
from .gradcheck import gradcheck, numerical_gradient, rel_error
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "sigmoid", "tanh", "relu",
    "gradcheck", "numerical_gradient", "rel_error",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
]
