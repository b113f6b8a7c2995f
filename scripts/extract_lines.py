"""Freeze the lines of chapter 10's code-or-prose classifier into ``book/data/ch10/lines.json``.

    .venv/bin/python scripts/extract_lines.py

The lines are cut from the source of some standard-library modules by
:func:`rnncourse.data.corpus.code_and_prose_lines` (training: ``CORPUS_MODULES``;
test: ``TEST_MODULES``). That source differs between Python versions, so the lines are
read once and frozen here, with the Python version they came from and a SHA-256 of the
four lists: chapter 10 and ``scripts/sweep_ch10_applications.py`` read the frozen file
(:func:`~rnncourse.data.corpus.frozen_lines`), and every machine and every
Python version trains and tests on the same lines. Rerun only to make new data on purpose,
then rerun the sweep.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

from rnncourse.data import corpus as C

OUT = Path(__file__).resolve().parents[1] / "book" / "data" / "ch10" / "lines.json"


def main() -> None:
    train_code, train_prose = C.code_and_prose_lines(C.CORPUS_MODULES)
    test_code, test_prose = C.code_and_prose_lines(C.TEST_MODULES)
    lines = dict(train_code=train_code, train_prose=train_prose,
                 test_code=test_code, test_prose=test_prose)
    info = dict(python=platform.python_version(), train_modules=list(C.CORPUS_MODULES),
                test_modules=list(C.TEST_MODULES), sha256=C.lines_digest(lines),
                counts={k: len(v) for k, v in lines.items()}, lines=lines)
    OUT.write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({info['counts']}, from Python {info['python']})")


if __name__ == "__main__":
    main()
