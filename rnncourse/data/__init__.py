"""What goes into a model: generated tasks and series, tokens and vocabularies, shipped text.

Nothing here trains or defines a model; nothing downloads. Every generator takes a seed
(an int or a ``numpy.random.Generator``).

- :mod:`~rnncourse.data.series` -- sums of sines with trend and noise (chapters 2 and 10);
- :mod:`~rnncourse.data.tasks` -- the adding problem and the copy task (chapters 5-8);
- :mod:`~rnncourse.data.pulse` -- the timing task "fire k steps later" (chapter 7);
- :mod:`~rnncourse.data.reversal` -- digit reversal and dates in words (chapter 9);
- :mod:`~rnncourse.data.translation` -- the course's English -> German sentence pairs, written
  by a small grammar (chapter 9); :mod:`~rnncourse.data.subwords` -- byte-pair encoding of
  them (BPE, trained by HuggingFace ``tokenizers``);
- :mod:`~rnncourse.data.recall` -- delayed recall of white noise (chapter 11);
- :mod:`~rnncourse.data.text` -- tokens, vocabularies, one-hot codes, character batches,
  the special ids ``PAD``, ``BOS``, ``EOS`` (chapters 1, 4, 9 and 10);
- :mod:`~rnncourse.data.corpus` -- the book's own prose and the classifier's lines, frozen
  in ``book/data/ch10/`` and checked (chapter 10);
- :mod:`~rnncourse.data.bookdata` -- where the shipped files of ``book/data/`` are.
"""
