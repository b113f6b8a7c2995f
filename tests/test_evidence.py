"""rnncourse.evidence: the summaries behind the book's multi-seed claims, and claim() itself.

References: hand-computed means and standard deviations, and NumPy's (``ddof=1``). The last
tests take a claim cell out of a book notebook and run it on numbers that contradict the
text: it must fail, with the numbers in the message.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnncourse.evidence import ClaimError, claim, mean_std, paired, pm, success_rate

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_mean_std_by_hand_and_against_numpy():
    assert mean_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx((2.5, (5 / 3) ** 0.5))
    assert mean_std([7.0]) == (7.0, 0.0)
    v = np.random.default_rng(0).standard_normal(13)
    assert mean_std(v) == pytest.approx((v.mean(), v.std(ddof=1)))
    assert pm([0.1, 0.3]) == "0.200 ± 0.141"
    with pytest.raises(ValueError, match="empty"):
        mean_std([])
    with pytest.raises(ValueError, match="NaN"):
        mean_std([1.0, float("nan")])


def test_paired_differences():
    a, b = [0.1, 0.5, 0.3, 0.30], [0.2, 0.4, 0.3, 0.35]
    p = paired(a, b, tie=0.01)
    d = np.array(a) - np.array(b)
    assert (p.n, p.mean, p.std) == (4, pytest.approx(d.mean()), pytest.approx(d.std(ddof=1)))
    assert p.sem == pytest.approx(d.std(ddof=1) / 2)
    assert (p.a_better, p.b_better, p.ties) == (2, 1, 1)
    with pytest.raises(ValueError, match="as many values"):
        paired([1.0], [1.0, 2.0])


def test_success_rate():
    assert success_rate([0.01, 0.2, 0.02, 0.016], 0.0167) == (2, 4)


def test_claim_prints_the_statement_only(capsys):
    claim(True, "the LSTM beats the baseline", "LSTM 0.01, baseline 0.17")
    assert capsys.readouterr().out == "✓ the LSTM beats the baseline\n"


def test_claim_fails_with_the_numbers():
    with pytest.raises(ClaimError, match=r"the text claims: X wins -- but this run measured: "
                                         r"X 2, Y 1"):
        claim(False, "X wins", "X 2, Y 1")
    assert issubclass(ClaimError, AssertionError)   # a failed claim fails nbval's cell


def _cell(notebook: str, needle: str) -> str:
    nb = json.loads((BOOK / notebook).read_text())
    hits = [c for c in nb["cells"] if c["cell_type"] == "code" and needle in "".join(c["source"])]
    assert len(hits) == 1, f"{notebook}: expected one cell containing {needle!r}"
    return "".join(hits[0]["source"])


def test_a_book_claim_cell_fails_when_its_claim_is_false(capsys):
    # ch04 claims Adam ends lower than SGD. Run its claim cell on the true shape of a run,
    # then on a run where SGD ends lower: the second must raise, naming the claim.
    source = _cell("ch04_bptt.ipynb", 'claim(final[adam] < final[sgd]')
    good = {"SGD (lr 0.5)": [2.47, 3.9, 0.05], "Adagrad (lr 0.1)": [2.47, 2.4, 0.005],
            "Adam (lr 0.01)": [2.47, 2.46, 0.002]}
    exec(source, {"curves": good, "np": np, "Kc": 12})
    assert capsys.readouterr().out.count("✓") == 4
    bad = dict(good, **{"SGD (lr 0.5)": [2.47, 2.0, 0.001]})
    with pytest.raises(ClaimError, match="Adam ends lower than SGD"):
        exec(source, {"curves": bad, "np": np, "Kc": 12})


LIVE_RUN_MARKERS = ("fit(", "train(", "run_adding_experiment(", "train_forecaster(",
                    "train_line_classifier(", "train_pulse(", "sgd_run(", "sample(")


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.ipynb")), ids=lambda p: p.name)
def test_every_live_training_run_is_unchecked_only_with_a_claim_after_it(path):
    # The rule for printed numbers: a live training run's printout is excluded from nbval's
    # exact comparison only if a claim cell follows it (within three cells).
    cells = json.loads(path.read_text())["cells"]
    code = [(i, "".join(c["source"]), c.get("metadata", {}).get("tags", []))
            for i, c in enumerate(cells) if c["cell_type"] == "code"]
    for n, (i, src, tags) in enumerate(code):
        if "nbval-ignore-output" in tags and any(m in src for m in LIVE_RUN_MARKERS):
            after = [s for _, s, _ in code[n + 1:n + 4]]
            assert any("claim(" in s for s in after), (
                f"{path.name}, cell {i}: a live training run whose output nbval ignores, "
                "with no claim() checked in the three code cells after it")
