"""The references behind chapter 9's new graded exercises, against independent ones:
brute-force search (normalised beam search), torch's scaled_dot_product_attention
(dot-product attention) and sacreBLEU (corpus BLEU); and the hidden cases are worth having."""

from __future__ import annotations

import numpy as np
import pytest
import sacrebleu
import torch
from test_solutions import _complete_outputs as complete_outputs  # the toy decoder by hand
from test_solutions import _log_probability as log_probability
from test_solutions import _toy_decoder as toy_decoder

from rnncourse.grading.checks.ch09_seq2seq import (
    NOTEBOOK,
    beam_search,
    corpus_bleu,
    dot_attention,
    normalised_beam_search,
)


def cases(grade_id):
    ex = next(e for e in NOTEBOOK.exercises if e.grade_id == grade_id)
    return ex.cases(np.random.default_rng(NOTEBOOK.seed))


@pytest.mark.parametrize("seed,alpha", [(s, a) for s in range(6) for a in (0.0, 0.5, 1.0, 2.0)])
def test_normalised_beam_search_wide_beam_is_exhaustive(seed, alpha):
    K, H, max_len, bos, eos = 3, 2, 3, 0, 1
    model = toy_decoder(np.random.default_rng(seed), K, H)
    complete = complete_outputs(K, max_len, eos)
    scores = [log_probability(seq, **model, bos=bos) / len(seq) ** alpha for seq in complete]
    best = int(np.argmax(scores))
    tokens, score = normalised_beam_search(**model, bos=bos, eos=eos, max_len=max_len,
                                           beam_width=K ** max_len, alpha=alpha)
    assert tokens.tolist() == complete[best]
    assert score == pytest.approx(scores[best], rel=1e-12, abs=1e-12)


def test_normalised_hidden_cases_differ_from_plain_beam_search():
    differ = same_at_zero = 0
    for case in cases("normalised_beam_search"):
        model = {k: case[k] for k in ("h0", "E", "Wx", "Wh", "V", "bos", "eos", "max_len",
                                      "beam_width")}
        plain, plain_score = beam_search(**model)
        norm, norm_score = normalised_beam_search(**model, alpha=case["alpha"])
        differ += plain.tolist() != norm.tolist()
        if case["alpha"] == 0:
            same_at_zero += 1
            assert norm.tolist() == plain.tolist() and norm_score == plain_score
    assert differ >= 2 and same_at_zero >= 2, (differ, same_at_zero)


def test_dot_attention_against_torch_sdpa():
    for case in cases("dot_attention"):
        q, k, v = (torch.from_numpy(case[n]) for n in ("query", "keys", "values"))
        ref = torch.nn.functional.scaled_dot_product_attention(q[None], k, v, scale=1.0)[0]
        context, weights = dot_attention(case["query"], case["keys"], case["values"])
        np.testing.assert_allclose(context, ref.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(weights, torch.softmax(k @ q, 0).numpy(), rtol=1e-12,
                                   atol=1e-300)
        assert np.isfinite(weights).all() and weights.sum() == pytest.approx(1.0, rel=1e-14)


def test_corpus_bleu_against_sacrebleu():
    scores = []
    for case in cases("corpus_bleu"):
        join = lambda seqs: [" ".join(map(str, s.tolist())) for s in seqs]  # noqa: E731
        ref = sacrebleu.corpus_bleu(join(case["hypotheses"]), [join(case["references"])],
                                    tokenize="none", smooth_method="none", force=True)
        got = corpus_bleu(case["hypotheses"], case["references"])
        assert 100 * got == pytest.approx(ref.score, abs=1e-9)
        scores.append(got)
    # the cases cover a perfect corpus, zero, and scores in between
    assert 1.0 in scores and 0.0 in scores and sum(0 < s < 1 for s in scores) >= 3
