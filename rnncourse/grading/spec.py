"""What the autograder checks: one :class:`Notebook` spec per exercise notebook.

A spec lives in ``rnncourse/grading/checks/<notebook stem>.py`` as the module
attribute ``NOTEBOOK`` (an instructor may point ``rnncourse grade --tests DIR``
at a folder of such modules instead). Specs are trusted code: they run in the
grader's own process. Student code never does.

How one exercise is graded:

1. In a fresh sandboxed process, the grader executes the *source* of the
   student's solution cells named by ``requires`` and ``grade_id`` (found by
   their nbgrader ``grade_id``), after the spec's trusted ``helpers`` source.
2. For every case produced by ``cases(rng)`` -- a dict of plain data -- the
   sandbox binds the dict's entries as variables and evaluates ``call``, e.g.
   ``"rnn_step_backward(dout, rnn_step_forward(x, prev_h, Wx, Wh, b)[1])"``.
   The results go back to the grader as plain arrays (``.npz``, no pickles).
3. The grader evaluates the same ``call`` on the same case with the names bound
   to ``reference`` (plus ``helpers``) in its own process, and compares the two,
   output by output, with ``rtol``/``atol``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Exercise", "Notebook"]

Case = dict[str, Any]


@dataclass(frozen=True)
class Exercise:
    """One graded function of a notebook.

    Attributes:
        grade_id: the nbgrader ``grade_id`` of the solution cell that defines it.
        function: the name the student defines (used in messages and to find
            the cell when its metadata is lost).
        points: what the exercise is worth.
        call: a Python expression over the case's variables, the student's
            functions and the helpers; its value is an array, a number, or a
            tuple of them.
        cases: ``cases(rng) -> list[dict]`` of inputs (ndarrays, numbers,
            strings, bools, and lists/tuples of those); ``rng`` is seeded.
        outputs: names of the call's results, for messages (``("dx", "dW")``);
            one name when the call returns a single value.
        requires: other ``grade_id``\\ s whose cells must run first (e.g. the step
            function that a sequence function calls).
        rtol, atol: tolerances of the comparison with the reference.
        description: one line shown in the report.
        returns: the values ``function`` is documented to return, when it returns a
            tuple of which ``call`` grades only a part (``("next_h", "next_c",
            "cache")``); the grader and the check cells then fail a function that
            returns fewer, naming the missing one (see :mod:`.returns`).
    """

    grade_id: str
    function: str
    points: float
    call: str
    cases: Callable[[np.random.Generator], list[Case]]
    outputs: tuple[str, ...]
    requires: tuple[str, ...] = ()
    rtol: float = 1e-6
    atol: float = 1e-8
    description: str = ""
    returns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notebook:
    """The checks of one exercise notebook.

    Attributes:
        name: the notebook's stem, e.g. ``"ch02_rnn"`` for ``ch02_rnn.ipynb``.
        exercises: the graded functions, in notebook order.
        reference: name -> implementation used to evaluate ``call`` in the
            grader (usually functions of :mod:`rnncourse.numpy`).
        helpers: trusted Python source run before ``call`` in both the sandbox
            and the grader (e.g. ``import numpy as np`` or a toy model that a
            decoding exercise drives).
        seed: seed of the generator passed to every ``cases``.
    """

    name: str
    exercises: tuple[Exercise, ...]
    reference: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    helpers: str = "import numpy as np\n"
    seed: int = 0

    def requirements(self, ex: Exercise, *, include_self: bool = False) -> list[Exercise]:
        """The exercises whose cells ``ex`` needs, transitively through ``requires``, in
        notebook order; with ``include_self``, ``ex`` itself too. The grader, the check
        cells and the mutation tool all run a cell after exactly these."""
        by_id = {e.grade_id: e for e in self.exercises}
        want: set[str] = set()
        todo = [ex.grade_id] if include_self else list(ex.requires)
        while todo:
            gid = todo.pop()
            if gid not in want:
                want.add(gid)
                todo.extend(by_id[gid].requires)
        return [e for e in self.exercises if e.grade_id in want]
