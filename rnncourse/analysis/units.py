"""Looking inside a trained language model: which units track what (chapter 10).

:func:`text_features` marks, at every character, things a reader can check (inside a
code span, inside maths, inside brackets, the position in the line);
:func:`unit_correlations` correlates every unit's activation with one feature, and
:func:`unit_search` ranks the units of a :class:`~rnncourse.models.charlm.CharLM`
(Karpathy et al. 2015 looked for such units in the same way).
"""

from __future__ import annotations

import numpy as np

from rnncourse.data.text import CharVocab
from rnncourse.models.charlm import CharLM, lstm_states

__all__ = [
    "text_features", "unit_correlations", "unit_search",
]


def text_features(text: str) -> dict[str, np.ndarray]:
    """Things a reader can check at each character, after reading it: ``(len(text),)`` each.

    - ``"inside `code`"``: 1 between an opening backtick and its closing one (the opening
      backtick counts as inside, the closing one does not);
    - ``"inside $math$"``: the same for dollar signs;
    - ``"inside (brackets)"``: 1 while more ``(`` than ``)`` have been read;
    - ``"position in the line"``: the number of characters since the last line break.

    Backtick and dollar pairs, and bracket depth, restart at every blank line (a paragraph).
    """
    feats = {name: np.zeros(len(text)) for name in
             ("inside `code`", "inside $math$", "inside (brackets)", "position in the line")}
    code = math_ = False
    depth = column = 0
    for t, ch in enumerate(text):
        if ch == "\n":
            column = 0
            if t > 0 and text[t - 1] == "\n":          # a blank line: a new paragraph
                code = math_ = False
                depth = 0
        else:
            column += 1
        if ch == "`":
            code = not code
        elif ch == "$" and not code:
            math_ = not math_
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        feats["inside `code`"][t] = code
        feats["inside $math$"][t] = math_
        feats["inside (brackets)"][t] = depth > 0
        feats["position in the line"][t] = column
    return feats


def unit_correlations(states: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson's correlation of each column of ``states (T, H)`` with ``feature (T,)``.

    A constant column (or feature) has no correlation: its entry is 0.
    """
    s = states - states.mean(axis=0)
    f = np.asarray(feature, dtype=np.float64) - np.mean(feature)
    denom = np.sqrt((s ** 2).sum(axis=0) * (f ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (s * f[:, None]).sum(axis=0) / denom
    return np.where(denom > 0, r, 0.0)


def unit_search(model: CharLM, vocab: CharVocab, text: str) -> dict[str, list[dict]]:
    """For each feature of :func:`text_features`, the units that track it best.

    Every unit of ``h`` and of ``c`` (2H in all) is ranked by ``|r|``, its correlation with
    the feature over ``text``. Returns ``{feature: [best, runner-up]}``, each a dict
    ``{"state": "h" or "c", "unit": j, "r": r}``.
    """
    h, c = lstm_states(model, vocab.encode(text))
    found = {}
    for name, feature in text_features(text).items():
        rows = [{"state": which, "unit": j, "r": float(r)}
                for which, states in (("h", h), ("c", c))
                for j, r in enumerate(unit_correlations(states, feature))]
        rows.sort(key=lambda row: -abs(row["r"]))
        found[name] = rows[:2]
    return found
