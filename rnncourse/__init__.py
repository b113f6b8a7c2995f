"""rnncourse: the companion package of an open course on recurrent neural networks.

* :mod:`rnncourse.numpy` -- the NumPy reference implementation (RNN, LSTM,
  peephole LSTM, GRU, losses, optimisers, gradient checking);
* :mod:`rnncourse.params` -- parameter counting;
* :mod:`rnncourse.convert` -- moving weights between ``torch.nn`` and NumPy.
"""

__version__ = "0.1.0"
