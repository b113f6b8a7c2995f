"""What learns: the book's models, each with the training and the scores of its experiment.

A script in ``scripts/`` and the chapter that shows its results import the same function
from here, so that both run exactly the same experiment.

- :mod:`~rnncourse.models.train` -- :func:`~rnncourse.models.train.fit`, the training loop
  the PyTorch models share;
- :mod:`~rnncourse.models.position` -- logistic regressions with and without shared
  weights (chapter 1);
- :mod:`~rnncourse.models.forecast` -- the sequence-to-vector forecaster (chapters 2, 10);
- :mod:`~rnncourse.models.classifier` -- chapter 4's NumPy RNN with an output per step;
- :mod:`~rnncourse.models.sequence` -- a recurrent layer with a linear head, trained on
  the adding problem (chapters 5, 6 and 8);
- :mod:`~rnncourse.models.pulse` -- LSTM and peephole LSTM on the timing task (chapter 7);
- :mod:`~rnncourse.models.seq2seq` -- encoder-decoders, attention, greedy and beam search
  (chapter 9);
- :mod:`~rnncourse.models.charlm` -- the character language model, sampling, bits per
  character (chapter 10), and :mod:`~rnncourse.models.ngram`, its Kneser-Ney baseline;
- :mod:`~rnncourse.models.lines` -- the code-or-prose line classifier (chapter 10);
- :mod:`~rnncourse.models.esn` -- an echo-state network: a fixed random reservoir and a
  read-out fitted by least squares, on delayed recall (chapter 11).
"""
