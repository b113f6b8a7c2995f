"""Chapter 10's temperature explorer: seeded samples of the shipped language model.

    .venv/bin/python scripts/sample_ch10_temperatures.py      (about four minutes, one core)

Samples :func:`rnncourse.models.charlm.sample` from the weights ``book/data/ch10/charlm.pt``
(written by ``scripts/train_charlm.py``) after the prompt ``"The "``, 200 characters, at
every temperature of the explorer's slider (0.1 to 2.0 in steps of 0.1) and every seed of
its second slider (0 to 9), and writes them to ``book/data/ch10/temperature_samples.json``.
The explorer shows these stored samples, so that its slider works on the website with no
kernel; tests/test_book_applications.py re-samples some of them and compares.
"""

from __future__ import annotations

import json
from pathlib import Path

import _sweep  # noqa: F401  (first: one thread)
import torch

from rnncourse.data.corpus import book_corpus
from rnncourse.models.charlm import CharLM, sample

OUT = Path(__file__).resolve().parents[1] / "book" / "data" / "ch10"
PROMPT, LENGTH = "The ", 200
TEMPERATURES = [round(0.1 * k, 1) for k in range(1, 21)]
SEEDS = list(range(10))


def main() -> None:
    torch.set_num_threads(1)
    vocab = book_corpus().vocab
    model = CharLM(len(vocab))
    model.load_state_dict(torch.load(OUT / "charlm.pt", weights_only=True))
    model.eval()
    samples = {f"{tau:.1f}": [sample(model, vocab, PROMPT, LENGTH, temperature=tau, seed=s)
                              for s in SEEDS] for tau in TEMPERATURES}
    result = {"prompt": PROMPT, "length": LENGTH, "weights": "charlm.pt",
              "temperatures": TEMPERATURES, "seeds": SEEDS, "samples": samples}
    (OUT / "temperature_samples.json").write_text(
        json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
