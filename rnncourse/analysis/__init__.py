"""Measuring networks and their outputs: gradient flow, the GRU's two forms, units, BLEU,
memory per sequence.

These functions compute what a chapter looks at (a Jacobian product, a correlation, a
score); they neither train nor draw.

- :mod:`~rnncourse.analysis.gradients` -- gradients through time: Jacobian products and
  their norms, the gradient on every state (chapters 4, 5 and 6);
- :mod:`~rnncourse.analysis.gru` -- PyTorch's and Cho's GRU compared on the same weights,
  and parameter counts against ``torch`` (chapter 8);
- :mod:`~rnncourse.analysis.bleu` -- corpus BLEU with its n-gram counts (chapter 9);
- :mod:`~rnncourse.analysis.units` -- which units of a language model track what
  (chapter 10);
- :mod:`~rnncourse.analysis.memory` -- bytes kept per sequence by a recurrent state and by
  attention's key-value cache (chapter 11);
- :mod:`~rnncourse.analysis.horizon` -- how the error of the best forecast of an AR(1)
  process grows with the horizon (chapter 12).
"""
