"""The autograder: exercises generated from solutions, graded in a sandbox.

* :mod:`.spec` -- what is checked: one :class:`~.spec.Notebook` per exercise notebook,
  in :mod:`.checks`;
* :mod:`.generate` -- ``solutions/`` -> ``exercises/`` (``rnncourse exercises``);
* :mod:`.notebook` -- reading a submitted notebook as data;
* :mod:`.sandbox` -- the program that runs student code, one process per exercise;
* :mod:`.runner` -- starting it with limits and reading back plain data;
* :mod:`.compare` -- comparing with the reference, in the grader;
* :mod:`.engine` -- the whole run, in parallel, and the scores (``rnncourse grade``);
* :mod:`.report` -- text, Gradescope / GitHub Classroom JSON, Markdown and CSV reports;
* :mod:`.roster` -- a class graded from its git repositories at a deadline
  (``rnncourse grade-class``), the gradebook and the feedback files;
* :mod:`.gradescope` -- the Gradescope autograder bundle and its run;
* :mod:`.classroom50` / :mod:`.github` -- Classroom 50's ``result.json``, GitHub annotations.

The security model in one paragraph: the grader never imports, executes,
evaluates or unpickles anything from a submission. It reads the notebook as
JSON, gives the source text of the graded cells to a separate process per
exercise (forked from a server that imported NumPy and nothing else), which the
kernel confines before any student code runs: Landlock (read the standard
library and NumPy, read/write a private folder, nothing else), seccomp (no new
processes, signals, ptrace or sockets) and resource limits; an audit hook adds
clear messages on top. Only numbers come back, over a pipe, and the grader
compares them with the reference that it computes itself, on hidden cases
drawn from a fresh seed per run. Nothing the submission does decides its score
or the grader's exit status.
"""

from .engine import (
    ExerciseResult,
    GradeError,
    NotebookResult,
    Options,
    Submission,
    SubmissionResult,
    find_submissions,
    grade,
    grade_paths,
)
from .generate import GenerateError, generate_exercises
from .runner import Limits
from .spec import Exercise, Notebook

__all__ = [
    "Exercise", "Notebook",
    "Limits", "Options", "Submission", "find_submissions", "grade", "grade_paths",
    "ExerciseResult", "NotebookResult", "SubmissionResult", "GradeError",
    "GenerateError", "generate_exercises",
]
