"""Write chapter 9's English → German corpus and its BPE tokenizers to book/data/ch09_translation/.

    python scripts/make_translation_data.py        (a few seconds)

The pairs come from the course's own grammar (``rnncourse.data.translation``): 2400 distinct
pairs drawn with ``rng=0``, shuffled and split with ``rng=1`` into 1600 training, 400
validation and 400 test pairs (the sentences with a held-out compound go to validation and
test only). One BPE tokenizer per language (``rnncourse.data.subwords.train_bpe``) is
trained on the *training* pairs only: ``bpe_en.json`` (vocabulary 200) and ``bpe_de.json``
(vocabulary 350). ``tests/test_translation.py`` checks the files' SHA-256 against
:data:`CHECKSUMS` and that this script writes them again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rnncourse.data import subwords as W
from rnncourse.data import translation as T

OUT = Path(__file__).resolve().parents[1] / "book" / "data" / "ch09_translation"
N_PAIRS, N_VALID, N_TEST = 2400, 400, 400
VOCAB = {"en": 200, "de": 350}


def make(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pairs = T.generate_pairs(N_PAIRS, rng=0)
    splits = T.split_pairs(pairs, N_VALID, N_TEST, rng=1)
    for name, part in splits.items():
        T.write_pairs(out / f"{name}.tsv", part)
    for i, lang in enumerate(("en", "de")):
        tok = W.train_bpe([p[i] for p in splits["train"]], VOCAB[lang])
        tok.save(str(out / f"bpe_{lang}.json"))
    print({name: len(part) for name, part in splits.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    make(parser.parse_args().out)


if __name__ == "__main__":
    main()
