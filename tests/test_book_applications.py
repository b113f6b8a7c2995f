"""Tests of chapter 10's helpers (rnncourse.figures.applications), with the Agg backend."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnncourse.analysis import units as U  # noqa: E402
from rnncourse.data import corpus as C  # noqa: E402
from rnncourse.data import text as T  # noqa: E402
from rnncourse.figures import applications as FIG  # noqa: E402
from rnncourse.models import charlm as LM  # noqa: E402
from rnncourse.models import lines as L  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_corpus_and_vocab_round_trip() -> None:
    text = "def insort_right(a, x):\n    \"\"\"Insert item x in list a.\"\"\"\n"
    vocab = T.CharVocab.from_text(text)
    assert list(vocab.chars) == sorted(set(text))
    assert vocab.decode(vocab.encode(text)) == text
    with pytest.raises(KeyError):
        T.CharVocab("ab").encode("c")


def test_code_and_prose_lines() -> None:
    code, prose = C.code_and_prose_lines(("bisect",))
    assert "def insort_right(a, x, lo=0, hi=None, *, key=None):" in code
    assert all(len(line) >= 20 and not line.startswith("#") for line in code + prose)
    assert not set(code) & set(prose)
    assert any("insert it to the right" in line for line in prose)


def test_char_batches_shift_and_seed() -> None:
    ids = np.arange(1000) % 50
    epoch = T.char_batches(ids, seq_len=10, batch_size=8, seed=3)
    batches = epoch()
    for x, y in batches:
        assert x.shape == y.shape == (8, 10)
        assert torch.equal((x + 1) % 50, y)          # the target is the next id
    again = T.char_batches(ids, seq_len=10, batch_size=8, seed=3)()
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))
    with pytest.raises(ValueError):
        T.char_batches(ids[:15], 10, 2)


def _model(vocab_size: int = 7) -> LM.CharLM:
    torch.manual_seed(0)
    return LM.CharLM(vocab_size, embed_size=4, hidden_size=8)


def test_perplexity_matches_hand_computation_and_chunking() -> None:
    model = _model().eval()
    ids = np.array([0, 3, 1, 4, 1, 5, 2, 6, 5, 3, 5])
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor(ids[None, :-1]))[0].double(), -1)
    nll = -logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].mean()
    assert LM.perplexity(model, ids) == pytest.approx(math.exp(float(nll)), rel=1e-6)
    # carrying the state across chunks gives the same value as one long chunk
    assert LM.perplexity(model, ids, seq_len=3) == pytest.approx(LM.perplexity(model, ids),
                                                                rel=1e-5)


def test_uniform_model_has_perplexity_v() -> None:
    model = _model(11)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    assert LM.perplexity(model, np.arange(30) % 11) == pytest.approx(11.0, rel=1e-9)


def test_sample_is_seeded_and_greedy_at_low_temperature() -> None:
    vocab = T.CharVocab("abcdefg")
    model = _model(len(vocab))
    s1 = LM.sample(model, vocab, "ab", 20, temperature=1.0, seed=1)
    assert len(s1) == 20 and set(s1) <= set(vocab.chars)
    assert s1 == LM.sample(model, vocab, "ab", 20, temperature=1.0, seed=1)
    # very low temperature: the argmax at every step, whatever the seed
    greedy, state = [], None
    x = torch.tensor(vocab.encode("ab"))[None]
    with torch.no_grad():
        for _ in range(10):
            logits, state = model.step(x, state)
            greedy.append(int(logits[0, -1].argmax()))
            x = torch.tensor([[greedy[-1]]])
    assert LM.sample(model, vocab, "ab", 10, temperature=1e-4, seed=5) == vocab.decode(greedy)


def test_encode_lines_left_pads() -> None:
    x = C.encode_lines(["ab", "x" * 60, "é"], length=5)
    assert x.shape == (3, 5)
    assert x[0].tolist() == [0, 0, 0, ord("a") - 31, ord("b") - 31]
    assert (x[1] == ord("x") - 31).all()
    assert x[2].tolist() == [0, 0, 0, 0, 96]


def test_line_classifier_shapes_and_grad() -> None:
    model = L.LineClassifier(n_classes=3)
    out = model(C.encode_lines(["hello world", "x = 1"], length=12))
    assert out.shape == (2, 3)
    out.sum().backward()
    assert model.rnn.weight_hh_l0.grad is not None


def test_charlm_gru_and_bad_cell() -> None:
    model = LM.CharLM(5, embed_size=3, hidden_size=4, cell="gru")
    assert model(torch.zeros(2, 6, dtype=torch.int64)).shape == (2, 6, 5)
    with pytest.raises(ValueError):
        LM.CharLM(5, cell="rnn")


def test_figures() -> None:
    vocab = T.CharVocab("abcdefghijkl")
    fig = FIG.temperature_figure(torch.linspace(-2, 2, len(vocab)), vocab, (0.5, 1.0, 2.0), top=5)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert all(len(ax.patches) == 5 for ax in fig.axes)
    assert [ax.get_title().split()[:3] for ax in fig.axes] == [
        ["τ", "=", "0.5"], ["τ", "=", "1"], ["τ", "=", "2"]]        # the text's symbol
    fig = FIG.bpc_figure([4.0, 3.0, 2.5], [3.9, 3.1, 2.8], {"uniform": 6.6, "4-gram": 2.2})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 4
    fig = FIG.horizon_figure({"a": np.ones(10), "b": np.arange(10.0)})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2


def test_classifier_scores_and_p_prose_by_hand():
    class Fixed(torch.nn.Module):         # predicts "prose" (1) for ids whose last entry is odd
        def forward(self, x):
            odd = (x[:, -1] % 2).double()
            return torch.stack([1 - odd, odd], dim=1) * 4.0

    x = torch.tensor([[0, 1], [0, 2], [0, 3], [0, 4], [0, 5]])
    y = torch.tensor([1, 0, 0, 0, 1])      # right, right, wrong, right, right
    scores = L.classifier_scores(Fixed(), x, y)
    assert scores == pytest.approx({"accuracy": 4 / 5, "code": 2 / 3, "prose": 1.0})
    p = L.p_prose(Fixed(), ["a", "b"])     # 'a' -> id 66 (even), 'b' -> 67 (odd)
    assert p == pytest.approx([1 / (1 + np.exp(4.0)), 1 / (1 + np.exp(-4.0))])


def test_train_line_classifier_is_seeded_and_beats_chance():
    x = C.encode_lines(["def f(x): return x + 1"] * 20 + ["The sum of the numbers."] * 20)
    y = torch.tensor([0] * 20 + [1] * 20)
    a = L.train_line_classifier(x, y, seed=1, epochs=3, device="cpu")
    b = L.train_line_classifier(x, y, seed=1, epochs=3, device="cpu")
    assert not a.training
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    assert L.classifier_scores(a, x, y)["accuracy"] == 1.0


def test_book_corpus_matches_its_recorded_hash_and_split() -> None:
    import hashlib
    import json

    from rnncourse.data import bookdata

    raw = bookdata.path("ch10/corpus.txt").read_bytes()
    info = json.loads(bookdata.path("ch10/corpus.json").read_text(encoding="utf-8"))
    assert hashlib.sha256(raw).hexdigest() == info["sha256"]
    text = raw.decode("utf-8")
    assert len(text) == info["chars"]
    corpus = C.book_corpus()
    assert corpus.text == text
    # the blocks tile the text: every character in exactly one part
    blocks = sorted(b for part in info["split"].values() for b in part)
    assert blocks[0][0] == 0 and blocks[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
    assert (len(corpus.train), len(corpus.validation), len(corpus.test)) == (
        info["split_chars"]["train"], info["split_chars"]["validation"],
        info["split_chars"]["test"])
    assert corpus.vocab.chars == "".join(sorted(set(text)))
    assert "recurrent" in corpus.train and "{cite:" not in text and "**" not in text


def test_book_corpus_refuses_a_changed_text(tmp_path, monkeypatch) -> None:
    from rnncourse.data import bookdata

    (tmp_path / "ch10").mkdir()
    for name in ("corpus.txt", "corpus.json"):
        (tmp_path / "ch10" / name).write_bytes(bookdata.path(f"ch10/{name}").read_bytes())
    (tmp_path / "ch10" / "corpus.txt").write_text("tampered", encoding="utf-8")
    monkeypatch.setattr(bookdata, "locations", lambda: [tmp_path])
    with pytest.raises(ValueError, match="SHA-256"):
        C.book_corpus()


def test_bits_per_char_is_log2_of_perplexity() -> None:
    model = _model(11)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    assert LM.bits_per_char(model, np.arange(30) % 11) == pytest.approx(math.log2(11), rel=1e-9)


def test_lstm_states_match_torch_lstmcell_step_by_step() -> None:
    model = _model(7).eval()
    ids = np.array([0, 3, 1, 4, 1, 5, 2, 6, 5, 3])
    h, c = LM.lstm_states(model, ids)
    cell = torch.nn.LSTMCell(4, 8).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(model.rnn, name + "_l0").double())
        emb = model.embed(torch.tensor(ids)).double()
        state = (torch.zeros(1, 8, dtype=torch.float64), torch.zeros(1, 8, dtype=torch.float64))
        for t in range(len(ids)):
            state = cell(emb[t:t + 1], state)
            np.testing.assert_allclose(h[t], state[0][0].numpy(), atol=1e-6)
            np.testing.assert_allclose(c[t], state[1][0].numpy(), atol=1e-6)


def test_text_features_by_hand() -> None:
    text = "a `b` $c$ (d)\n\n`e"
    f = U.text_features(text)
    inside = {name: "".join(ch for ch, v in zip(text, f[name], strict=True) if v)
              for name in ("inside `code`", "inside $math$", "inside (brackets)")}
    assert inside == {"inside `code`": "`b`e", "inside $math$": "$c", "inside (brackets)": "(d"}
    assert f["position in the line"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                  0, 0, 1, 2]
    # a backtick left open does not leak past a blank line
    assert U.text_features("`a\n\nb")["inside `code`"].tolist() == [1, 1, 1, 0, 0]


def test_unit_correlations_against_numpy() -> None:
    rng = np.random.default_rng(0)
    feature = rng.integers(0, 2, 200).astype(float)
    states = np.c_[rng.standard_normal((200, 3)), feature * 2 - 1, np.ones(200)]
    r = U.unit_correlations(states, feature)
    for j in range(4):
        assert r[j] == pytest.approx(np.corrcoef(states[:, j], feature)[0, 1], abs=1e-12)
    assert r[3] == pytest.approx(1.0) and r[4] == 0.0          # exact copy; constant unit


def test_unit_search_finds_a_planted_unit() -> None:
    # A hand-set LSTM whose cell unit 2 toggles between 0 and 1 at every backtick: off a
    # backtick it keeps its value (f = 1, i = 0); on one it forgets (f = 0) and writes
    # g = tanh(10 - 13.2 h_2), which is 1 when the cell was 0 and about 0 when it was 1
    # (h_2 = tanh(1) = 0.76 with the output gate open).
    vocab = T.CharVocab("`ab")
    model = _model(len(vocab)).eval()
    H = 8
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.zero_()
        model.embed.weight.zero_()
        model.embed.weight[0, 0] = 1.0                 # '`' -> e = (1, 0, 0, 0)
        w, b, u = model.rnn.weight_ih_l0, model.rnn.bias_ih_l0, model.rnn.weight_hh_l0
        w[2, 0], b[2] = 20.0, -10.0                    # input gate: open on '`' only
        w[H + 2, 0], b[H + 2] = -20.0, 10.0            # forget gate: closed on '`' only
        b[2 * H + 2], u[2 * H + 2, 2] = 10.0, -13.2    # candidate: 1 - (the cell, about)
        b[3 * H:] = 10.0                               # output gates open
    text = "ab`ab`aa`bbb`a" * 5
    found = U.unit_search(model, vocab, text)
    best = found["inside `code`"][0]
    assert (best["state"], best["unit"]) in {("c", 2), ("h", 2)}
    assert abs(best["r"]) > 0.9


def test_unit_text_figure() -> None:
    fig = FIG.unit_text_figure("ab\ncd", [0.0, 1.0, 0.0, -1.0, 0.5], width=10, title="unit")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c", "d"]
    assert len(ax.patches) == 4 and ax.get_title() == "unit"
    with pytest.raises(ValueError, match="one activation per character"):
        FIG.unit_text_figure("abc", [1.0])
    fig = FIG.unit_text_figure("abcde", [0.0] * 5, width=2)       # a long line wraps
    assert [t.get_position()[1] for t in fig.axes[0].texts] == [-0.5, -0.5, -1.5, -1.5, -2.5]
    assert fig.get_size_inches()[0] <= 6.4
    with pytest.raises(ValueError, match="too wide"):
        FIG.unit_text_figure("abc", [0.0] * 3, width=200)


def test_temperature_explorer_shows_the_stored_samples() -> None:
    grid = {"prompt": "The ", "temperatures": [0.5, 1.0], "seeds": [0, 1],
            "samples": {"0.5": ["a", "b"], "1.0": ["c", "d"]}}
    ex = FIG.temperature_explorer(grid)
    assert ex.sliders == [("temperature τ", ["0.5", "1.0"]), ("seed", ["0", "1"])]
    assert ex.start == [1, 0]                                   # τ = 1, seed 0
    assert [text for _, text, _ in ex.frames] == ["The a", "The b", "The c", "The d"]


def test_stored_temperature_samples_are_what_sample_gives() -> None:
    """The explorer's samples (scripts/sample_ch10_temperatures.py) re-sampled here."""
    import json

    from rnncourse.data import bookdata
    from rnncourse.models.charlm import CharLM, sample

    data = bookdata.path("ch10")
    grid = json.loads((data / "temperature_samples.json").read_text(encoding="utf-8"))
    assert grid["temperatures"] == [round(0.1 * k, 1) for k in range(1, 21)]
    assert grid["seeds"] == list(range(10)) and grid["prompt"] == "The "
    assert all(len(texts) == 10 and all(len(t) == 200 for t in texts)
               for texts in grid["samples"].values())
    vocab = C.book_corpus().vocab
    model = CharLM(len(vocab))
    model.load_state_dict(torch.load(data / "charlm.pt", weights_only=True))
    for tau, seed in ((0.1, 0), (1.0, 3), (2.0, 9)):
        assert sample(model, vocab, "The ", 200, temperature=tau, seed=seed) == \
            grid["samples"][f"{tau:.1f}"][seed], (tau, seed)


def test_frozen_lines_match_their_hash_and_a_changed_line_is_refused(monkeypatch, tmp_path):
    import json

    from rnncourse.data import bookdata

    info = C.frozen_lines()
    assert info["counts"] == {k: len(v) for k, v in info["lines"].items()}
    assert set(info["lines"]) == {"train_code", "train_prose", "test_code", "test_prose"}
    x_train, y_train, x_test, y_test = C.line_data()
    counts = info["counts"]
    assert len(x_train) == len(y_train) == counts["train_code"] + counts["train_prose"]
    assert int(y_test.sum()) == info["counts"]["test_prose"]
    info["lines"]["test_prose"][0] += "!"
    (tmp_path / "ch10").mkdir()
    (tmp_path / "ch10" / "lines.json").write_text(json.dumps(info), encoding="utf-8")
    monkeypatch.setattr(bookdata, "path", lambda name: tmp_path / name)
    with pytest.raises(ValueError, match="the frozen lines were changed"):
        C.frozen_lines()


def test_frozen_lines_are_what_the_extractor_cuts_on_their_python() -> None:
    import platform

    info = C.frozen_lines()
    if platform.python_version() != info["python"]:
        pytest.skip(f"the lines were cut from Python {info['python']}'s standard library")
    train_code, train_prose = C.code_and_prose_lines(C.CORPUS_MODULES)
    test_code, test_prose = C.code_and_prose_lines(C.TEST_MODULES)
    assert info["lines"] == dict(train_code=train_code, train_prose=train_prose,
                                 test_code=test_code, test_prose=test_prose)
