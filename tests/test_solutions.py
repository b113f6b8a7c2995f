"""The solution notebooks against their grading specs, without the grader.

For every notebook ``solutions/<stem>.ipynb`` and its spec
``rnncourse.grading.checks.<stem>``:

* structure: every exercise of the spec has a solution cell with nbgrader
  metadata (``grade_id``, ``points``), solution markers and a public check cell
  right after it; the setup cell starts with the spec's ``helpers``; no answer
  relies on :mod:`rnncourse`;
* correctness and consistency: each solution cell, run the way the grader runs it
  (the spec's helpers, then the cells named by ``requires``, then the cell itself,
  in a fresh namespace), gives on every hidden case the outputs of the spec's
  ``reference``, within the spec's tolerances, with the same shapes and kinds of
  numbers;
* the public check cells pass after the solutions and fail when a solution is
  replaced by the stub that generating ``exercises/`` writes.

The references that the spec modules write themselves (nothing in the package
computes them) are checked at the end against independent references:
hand-derived numbers, torch autograd and exhaustive search.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import itertools
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.grading.mutants import run_source
from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.grading.student import NotImplementedYet
from rnncourse.params import count_parameters

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHECKS = ROOT / "rnncourse" / "grading" / "checks"
STEMS = sorted(p.stem for p in SOLUTIONS.glob("ch*.ipynb"))

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

# --------------------------------------------------------------------------- loading


def load_notebook(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / f"{stem}.ipynb", as_version=4)


def load_spec(stem: str) -> Notebook:
    return importlib.import_module(f"rnncourse.grading.checks.{stem}").NOTEBOOK


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(nb) -> dict[str, int]:
    """grade_id -> index of its solution cell."""
    return {nbgrader(c)["grade_id"]: i for i, c in enumerate(nb.cells)
            if nbgrader(c).get("solution")}


def exercise_ids() -> list[tuple[str, str]]:
    return [(stem, ex.grade_id) for stem in STEMS for ex in load_spec(stem).exercises]


def by_id(spec: Notebook, grade_id: str) -> Exercise:
    return next(ex for ex in spec.exercises if ex.grade_id == grade_id)


def stub(source: str, begin: str = BEGIN, end: str = END, keep: bool = True) -> str:
    """Replace each begin/end region by the exercise stub (``keep``) or by nothing."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        if line.strip() == begin:
            indent = line[: len(line) - len(line.lstrip())]
            if keep:
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            inside = True
        elif line.strip() == end:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def run_cell(cell, namespace: dict, label: str) -> str:
    """Execute a code cell's source in ``namespace`` as IPython does; return what it printed.

    Like IPython, the source is kept in ``linecache`` under the cell's file name: that is
    where :func:`~rnncourse.grading.student.check_call` finds a function's cell to run it
    again on its own, as the grader does.
    """
    return run_source(cell.source, namespace, f"<{label}:{cell.get('id')}>")


# --------------------------------------------------------------------------- (a) structure


def test_every_notebook_has_a_spec_and_every_spec_a_notebook():
    assert len(STEMS) >= 8, f"the course needs at least 8 solution notebooks, found {STEMS}"
    assert all(re.fullmatch(r"ch\d\d_[a-z0-9_]+", s) for s in STEMS), STEMS
    specs = sorted(p.stem for p in CHECKS.glob("ch*.py"))
    assert specs == STEMS
    for stem in STEMS:
        assert load_spec(stem).name == stem


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_structure(stem):
    nb = load_notebook(stem)
    spec = load_spec(stem)
    nbformat.validate(nb)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "a title first"
    assert "By the end you will be able to" in first.source
    assert nb.metadata["kernelspec"]["name"] == "python3"

    # The setup cell (the first code cell) shows the helpers the grader runs.
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert not nbgrader(setup)
    assert setup.source.startswith(spec.helpers.strip()), "setup cell must start with helpers"
    assert "default_rng(" in setup.source, "the setup cell seeds a generator"

    # Solution cells: exactly the spec's exercises, in order, at least 3.
    sols = solution_cells(nb)
    assert list(sols) == [ex.grade_id for ex in spec.exercises]
    assert len(sols) >= 3
    ids = [nbgrader(c)["grade_id"] for c in nb.cells if nbgrader(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert len({c.id for c in nb.cells}) == len(nb.cells), "cell ids must be unique"

    for ex in spec.exercises:
        i = sols[ex.grade_id]
        cell = nb.cells[i]
        assert cell.cell_type == "code"
        assert nbgrader(cell) == {"grade_id": ex.grade_id, "points": ex.points, "solution": True,
                                  "grade": False, "locked": False, "schema_version": 3}
        assert ex.points > 0
        lines = [line.strip() for line in cell.source.splitlines()]
        assert lines.count(BEGIN) == 1 and lines.count(END) == 1, ex.grade_id
        b, e = lines.index(BEGIN), lines.index(END)
        assert b < e - 1, f"{ex.grade_id}: an empty solution region"
        raw = cell.source.splitlines()
        assert raw[b].index("#") == raw[e].index("#"), f"{ex.grade_id}: markers not aligned"
        assert re.findall(r"^def (\w+)\(", cell.source, re.M) == [ex.function], (
            f"{ex.grade_id}: the cell must define {ex.function} and no other function")
        assert "rnncourse" not in cell.source, f"{ex.grade_id}: answers must not use rnncourse"
        assert not re.search(r"^\s*[%!]", cell.source, re.M), "no IPython magics in answers"
        for req in ex.requires:
            assert sols[req] < i, f"{ex.grade_id} requires {req}, which must come first"
        # The statement before, the public check right after.
        assert nb.cells[i - 1].cell_type == "markdown" and ex.function in nb.cells[i - 1].source
        check = nb.cells[i + 1]
        assert check.cell_type == "code"
        assert nbgrader(check) == {"grade_id": f"check_{ex.grade_id}", "points": 0,
                                   "grade": True, "solution": False, "locked": True,
                                   "schema_version": 3}
        assert f'print("✓ {ex.function} looks right")' in check.source
        hidden = [line.strip() for line in check.source.splitlines()]
        assert hidden.count(BEGIN_HIDDEN) == hidden.count(END_HIDDEN) <= 1


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_is_stored_executed(stem):
    """nbval compares against stored outputs: every code cell ran, in order, quietly."""
    nb = load_notebook(stem)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        for out in cell.outputs:
            assert out.output_type == "stream" and out.name == "stdout", (cell.id, out)
            assert not re.search(r"0x[0-9a-fA-F]{6,}", out.text), "no memory addresses"
        if nbgrader(cell).get("grade"):
            function = by_id(load_spec(stem), nbgrader(cell)["grade_id"][len("check_"):]).function
            assert "".join(o.text for o in cell.outputs) == f"✓ {function} looks right\n"


# --------------------------------------------------------------------------- (b) against the spec


def is_plain(value) -> bool:
    """What a case may hold: arrays of numbers or booleans, numbers, strings, lists of those,
    and dicts of those with string keys (keyword arguments, e.g. ``**kw``)."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return isinstance(value, (bool, int, float, str))


def same_value(a, b) -> bool:
    """Equal values, lists of arrays of different lengths included."""
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(
            same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(np.array_equal(a, b))


def outputs(value, names: tuple[str, ...]) -> list[np.ndarray]:
    if len(names) == 1:
        return [np.asarray(value)]
    assert isinstance(value, tuple) and len(value) == len(names), (type(value), names)
    return [np.asarray(v) for v in value]


def assert_same(got: np.ndarray, want: np.ndarray, ex: Exercise, name: str, k: int) -> None:
    where = f"{ex.grade_id}, case {k}, {name}"
    assert got.shape == want.shape, f"{where}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype or {got.dtype.kind, want.dtype.kind} <= set("iu"), (
        f"{where}: dtype {got.dtype} != {want.dtype}")
    assert np.all(np.isfinite(want)), f"{where}: the reference is not finite"
    np.testing.assert_allclose(got, want, rtol=ex.rtol, atol=ex.atol, err_msg=where)


@pytest.mark.parametrize(("stem", "grade_id"), exercise_ids())
def test_solution_matches_reference_on_hidden_cases(stem, grade_id):
    nb, spec = load_notebook(stem), load_spec(stem)
    ex = by_id(spec, grade_id)
    sols = solution_cells(nb)

    # As the grader does: helpers, the required cells, the cell; a fresh namespace.
    student: dict = {}
    exec(spec.helpers, student)
    for gid in (*ex.requires, grade_id):
        run_cell(nb.cells[sols[gid]], student, stem)
    assert callable(student.get(ex.function)), f"the cell must define {ex.function}"
    reference: dict = {}
    exec(spec.helpers, reference)
    reference.update(spec.reference)

    cases = ex.cases(np.random.default_rng(spec.seed))
    assert 3 <= len(cases) <= 6, f"{grade_id}: {len(cases)} cases"
    again = ex.cases(np.random.default_rng(spec.seed))
    for case, other in zip(cases, again, strict=True):
        assert case.keys() == other.keys()
        for key in case:
            assert same_value(case[key], other[key]), f"cases must be seeded ({key})"
        assert all(is_plain(v) for v in case.values()), case
        assert not set(case) & set(spec.reference), "case names must not hide functions"

    for k, case in enumerate(cases):
        # A call must work whether the grader binds the case as globals or as locals.
        want = eval(ex.call, {**reference, **copy.deepcopy(case)})
        got = eval(ex.call, student, copy.deepcopy(case))
        for name, g, w in zip(ex.outputs, outputs(got, ex.outputs), outputs(want, ex.outputs),
                              strict=True):
            assert_same(g, w, ex, name, k)


@pytest.mark.parametrize(("stem", "grade_id"), exercise_ids())
def test_hidden_cases_include_edge_shapes(stem, grade_id):
    """Where an exercise takes matrices, some case has a size-1 axis (N, T, D or H = 1)."""
    spec = load_spec(stem)
    ex = by_id(spec, grade_id)
    cases = ex.cases(np.random.default_rng(spec.seed))
    matrices = [v for case in cases for v in case.values()
                if isinstance(v, np.ndarray) and v.ndim >= 2]
    if matrices:
        assert any(1 in m.shape for m in matrices), grade_id


def test_spec_references_are_trusted_code():
    for stem in STEMS:
        spec = load_spec(stem)
        assert spec.helpers.startswith("import numpy as np\n")
        assert "rnncourse" not in spec.helpers
        for ex in spec.exercises:
            assert ex.function in spec.reference, (stem, ex.function)
            assert ex.description and ex.outputs
            compile(ex.call, "<call>", "eval")


# --------------------------------------------------------------------------- (c) public checks


@pytest.mark.parametrize("stem", STEMS)
def test_check_cells_pass_on_the_solutions(stem):
    nb = load_notebook(stem)
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            printed = run_cell(cell, namespace, stem)
            if nbgrader(cell).get("grade"):
                assert "✓" in printed, cell.id


@pytest.mark.parametrize(("stem", "grade_id"), exercise_ids())
def test_check_cell_fails_on_the_stub(stem, grade_id):
    """With this one answer stubbed, the notebook runs up to its check, and the check fails."""
    nb = load_notebook(stem)
    i = solution_cells(nb)[grade_id]
    namespace: dict = {}
    for cell in nb.cells[:i]:
        if cell.cell_type == "code":
            run_cell(cell, namespace, stem)
    stubbed = copy.deepcopy(nb.cells[i])
    stubbed.source = stub(stubbed.source)
    assert "raise NotImplementedError()" in stubbed.source
    run_cell(stubbed, namespace, stem)  # defining the function must still work
    check = copy.deepcopy(nb.cells[i + 1])
    check.source = stub(check.source, BEGIN_HIDDEN, END_HIDDEN, keep=False)
    with pytest.raises(Exception):  # noqa: B017 -- any failure is a failed check
        run_cell(check, namespace, stem)


@pytest.mark.parametrize("stem", STEMS)
def test_every_check_fails_in_the_exercise_notebook(stem):
    """All answers stubbed and hidden tests removed: setup runs, every check cell fails."""
    nb = load_notebook(stem)
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell = copy.deepcopy(cell)
        meta = nbgrader(cell)
        if meta.get("solution"):
            cell.source = stub(cell.source)
        if meta.get("grade"):
            cell.source = stub(cell.source, BEGIN_HIDDEN, END_HIDDEN, keep=False)
            # One line, not a traceback through the package: "`f` is not implemented yet".
            with pytest.raises(NotImplementedYet, match=r"^`\w+` (is|calls `\w+`, which is) "
                                                        r"not implemented yet"):
                run_cell(cell, namespace, stem)
        elif meta.get("solution") or cell.id.startswith("setup"):
            run_cell(cell, namespace, stem)
        else:  # a demonstration: it may need an answer
            with contextlib.suppress(Exception):
                run_cell(cell, namespace, stem)


# --------------------------------------------------------------------------- the specs' references


def test_ch01_references_by_hand():
    from rnncourse.grading.checks.ch01_sequences import (
        bag_of_words,
        one_hot_windows,
        window_baseline_accuracy,
    )

    np.testing.assert_array_equal(one_hot_windows(np.array([2, 0, 1]), 3, 2),
                                  [[0, 0, 1, 1, 0, 0], [1, 0, 0, 0, 1, 0]])
    assert one_hot_windows(np.array([0]), 1, 1).tolist() == [[1.0]]
    np.testing.assert_array_equal(bag_of_words("the dog bites the man".split(), ["the", "cat"]),
                                  [2, 0])
    # 0 -> 1, 1 -> 2, 2 -> 0 in train; the last target 2 is missed: 3 of 4.
    train = np.array([0, 1, 2] * 3)
    assert window_baseline_accuracy(train, np.array([0, 1, 2, 0, 2]), 1) == 0.75
    assert window_baseline_accuracy(np.array([0, 0, 1]), np.array([1, 1, 0]), 2) == 1.0
    assert window_baseline_accuracy(np.array([1, 0, 1, 2]), np.array([1, 0]), 1) == 1.0
    assert window_baseline_accuracy(np.array([1, 0, 1, 2]), np.array([1, 2]), 1) == 0.0
    # Both kinds of tie (1 -> 0 or 2; items 1 and 2 equally frequent) go to the smaller item:
    # predictions 0, 1, 1 (context 3 unseen), 0, 1 for the targets 0, 3, 1, 2, 1.
    assert window_baseline_accuracy(np.array([2, 1, 0, 1, 2, 2, 1]),
                                    np.array([1, 0, 3, 1, 2, 1]), 1) == 0.6


def test_ch03_largest_hidden_size_is_the_largest():
    from rnncourse.grading.checks.ch03_params import NOTEBOOK, largest_hidden_size

    ex = by_id(NOTEBOOK, "largest_hidden_size")
    for case in ex.cases(np.random.default_rng(NOTEBOOK.seed)):
        d = largest_hidden_size(**case)
        cell, n, k, budget = case["cell"], case["n"], case["k"], case["budget"]
        if d:
            assert count_parameters(cell, n, d, k).total <= budget
        assert count_parameters(cell, n, d + 1, k).total > budget


def test_ch06_forget_bias_by_hand():
    from rnncourse.grading.checks.ch06_lstm import init_lstm_bias

    np.testing.assert_array_equal(init_lstm_bias(2, 3.0), [0, 0, 3, 3, 0, 0, 0, 0])


@given(T=st.integers(1, 6), H=st.integers(1, 4), scale=st.floats(0.3, 2.5),
       seed=st.integers(0, 2**16))
def test_ch05_jacobian_norms_match_torch_autograd(T, H, scale, seed):
    """||dh_T/dh_t||_2 of a real tanh RNN, by torch autograd, against the spec's reference."""
    torch = torch_or_skip()
    from rnncourse.grading.checks.ch05_gradients import jacobian_norms

    rng = np.random.default_rng(seed)
    D = 2
    x = torch.from_numpy(rng.standard_normal((T, D)))
    Wx = torch.from_numpy(rng.standard_normal((D, H)))
    Wh = torch.from_numpy(scale * rng.standard_normal((H, H)) / np.sqrt(H))
    h = [torch.from_numpy(rng.standard_normal(H))]
    for k in range(T):
        h.append(torch.tanh(x[k] @ Wx + h[-1] @ Wh))

    def run_from(t):  # h_T as a function of h_t
        def f(state):
            for k in range(t, T):
                state = torch.tanh(x[k] @ Wx + state @ Wh)
            return state
        return f

    expected = [torch.linalg.matrix_norm(torch.autograd.functional.jacobian(run_from(t), h[t]),
                                         ord=2).item() for t in range(T + 1)]
    dphi = np.stack([1 - h[k].numpy() ** 2 for k in range(1, T + 1)])
    got = jacobian_norms(Wh.numpy(), dphi)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


def _toy_decoder(rng, K, H, D=2):
    """Random weights of the ch09 exercises' toy decoder: K symbols, H units, D inputs."""
    return dict(h0=rng.standard_normal(H), E=rng.standard_normal((K, D)),
                Wx=rng.standard_normal((D, H)), Wh=rng.standard_normal((H, H)) / 2,
                V=2 * rng.standard_normal((H, K)))


def _complete_outputs(K, max_len, eos):
    """Every complete output of at most max_len tokens: it ends with eos, its only eos."""
    return [[*seq, eos] for n in range(max_len)
            for seq in itertools.product([k for k in range(K) if k != eos], repeat=n)]


def _log_probability(tokens, h0, E, Wx, Wh, V, bos):
    """log p(tokens) of the toy decoder, written out again without the spec's helpers."""
    h, previous, total = h0, bos, 0.0
    for token in tokens:
        h = np.tanh(E[previous] @ Wx + h @ Wh)
        scores = h @ V
        total += scores[token] - np.log(np.sum(np.exp(scores)))
        previous = token
    return total


@given(K=st.integers(2, 4), H=st.integers(1, 3), max_len=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_ch09_beam_search_matches_exhaustive_search(K, H, max_len, seed):
    from rnncourse.grading.checks.ch09_seq2seq import beam_search, greedy_decode

    bos, eos = 0, 1
    model = _toy_decoder(np.random.default_rng(seed), K, H)
    complete = _complete_outputs(K, max_len, eos)
    scores = [_log_probability(seq, **model, bos=bos) for seq in complete]
    best = int(np.argmax(scores))
    # A beam as wide as the number of hypotheses never prunes: it is exhaustive.
    tokens, score = beam_search(**model, bos=bos, eos=eos, max_len=max_len,
                                beam_width=K ** max_len)
    assert tokens.tolist() == complete[best]
    assert score == pytest.approx(scores[best], rel=1e-12, abs=1e-12)
    # A beam of one is greedy decoding, with eos forced as the last token of an output
    # that greedy decoding leaves unfinished.
    tokens, score = beam_search(**model, bos=bos, eos=eos, max_len=max_len, beam_width=1)
    greedy = greedy_decode(**model, bos=bos, eos=eos, max_len=max_len).tolist()
    if greedy[-1] != eos:
        greedy = [*greedy[:max_len - 1], eos]
    assert tokens.tolist() == greedy
    assert score == pytest.approx(_log_probability(greedy, **model, bos=bos), rel=1e-12)


def test_ch09_teacher_forcing_loss_matches_torch_cross_entropy(rng):
    torch = torch_or_skip()
    from rnncourse.grading.checks.ch09_seq2seq import encode, teacher_forcing_loss

    K, D, H, T = 6, 3, 4, 5
    E, Wx, Wh, V = (rng.standard_normal((K, D)), rng.standard_normal((D, H)),
                    rng.standard_normal((H, H)), rng.standard_normal((H, K)))
    h0 = encode(np.array([2, 4, 1]), E, Wx, Wh)
    target = rng.integers(1, K, size=T)
    # torch: an RNN without biases reading bos, target[:-1]; then a linear layer V.
    rnn = torch.nn.RNN(D, H, bias=False, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        inputs = torch.from_numpy(E[np.concatenate([[0], target[:-1]])])[None]
        states, _ = rnn(inputs, torch.from_numpy(h0)[None, None])
        logits = states[0] @ torch.from_numpy(V)
        expected = torch.nn.functional.cross_entropy(logits, torch.from_numpy(target)).item()
    got = teacher_forcing_loss(h0, E, Wx, Wh, V, 0, target)
    assert abs(got - expected) <= 1e-12
    # And the encoder is that RNN's last state from zeros.
    with torch.no_grad():
        states, _ = rnn(torch.from_numpy(E[[2, 4, 1]])[None])
    np.testing.assert_allclose(h0, states[0, -1].numpy(), rtol=0, atol=1e-12)


def test_ch09_hidden_cases_separate_beam_search_from_greedy_decoding():
    """The decoding cases are only worth something if the two searches disagree on some."""
    from rnncourse.grading.checks.ch09_seq2seq import NOTEBOOK, beam_search, greedy_decode

    cases = by_id(NOTEBOOK, "beam_search").cases(np.random.default_rng(NOTEBOOK.seed))
    differ = stops = 0
    for case in cases:
        model = {k: case[k] for k in ("h0", "E", "Wx", "Wh", "V", "bos", "eos", "max_len")}
        greedy = greedy_decode(**model)
        beam, _ = beam_search(**model, beam_width=case["beam_width"])
        differ += greedy.tolist() != beam.tolist()
        stops += len(greedy) < case["max_len"] and greedy[-1] == case["eos"]
    assert differ >= 2 and stops >= 1, (differ, stops)


def test_ch09_attention_decoder_step_matches_the_course_torch_attention(rng):
    """The spec's reference against rnncourse.models.seq2seq.AdditiveAttention (torch) with the
    same weights, and the recurrence written in torch."""
    torch = torch_or_skip()
    from rnncourse.grading.checks.ch09_seq2seq import NOTEBOOK, attention_decoder_step
    from rnncourse.models.seq2seq import AdditiveAttention

    for case in by_id(NOTEBOOK, "attention_decoder_step").cases(
            np.random.default_rng(NOTEBOOK.seed)):
        c = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
             for k, v in case.items()}
        H, A = c["Wq"].shape
        attention = AdditiveAttention(H, c["Wk"].shape[0], A).double()
        with torch.no_grad():
            attention.W_q.weight.copy_(c["Wq"].T)
            attention.W_k.weight.copy_(c["Wk"].T)
            attention.v.weight.copy_(c["v"][None])
            keys = attention.project_keys(c["enc"][None])
            context, weights = attention(c["h"][None], keys, c["enc"][None])
            h_new = torch.tanh(c["E"][c["token"]] @ c["Wx"] + context[0] @ c["Wc"]
                               + c["h"] @ c["Wh"])
        scores, got_h, got_w = attention_decoder_step(**case)
        np.testing.assert_allclose(got_w, weights[0].numpy(), rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(got_h, h_new.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(scores, (h_new @ c["V"]).numpy(), rtol=1e-10, atol=1e-14)


def test_ch03_lstm_projection_counts_match_torch():
    torch = torch_or_skip()
    from rnncourse.grading.checks.ch03_params import NOTEBOOK, count_lstm_proj_params

    cases = by_id(NOTEBOOK, "count_lstm_proj_params").cases(np.random.default_rng(NOTEBOOK.seed))
    for case in [*cases, dict(n=3, d=4, proj_size=2, num_layers=3, bidirectional=True)]:
        if case["d"] > 100:  # keep torch's allocation small; the formula does not care
            case = dict(case, d=case["d"] % 100 + 2, proj_size=case["proj_size"] % 2 + 1)
        lstm = torch.nn.LSTM(case["n"], case["d"], case["num_layers"],
                             bidirectional=case["bidirectional"], proj_size=case["proj_size"])
        assert count_lstm_proj_params(**case) == sum(p.numel() for p in lstm.parameters()), case


def test_ch05_orthogonal_init_is_gram_schmidt():
    """The spec's reference against classical Gram-Schmidt on the columns of the same
    Gaussian matrix (which gives the QR factor with a positive diagonal of R)."""
    from rnncourse.grading.checks.ch05_gradients import NOTEBOOK, orthogonal_init

    for case in by_id(NOTEBOOK, "orthogonal_init").cases(np.random.default_rng(NOTEBOOK.seed)):
        A = np.random.default_rng(case["seed"]).standard_normal((case["H"], case["H"]))
        Q = np.zeros_like(A)
        for j in range(A.shape[1]):
            v = A[:, j] - Q[:, :j] @ (Q[:, :j].T @ A[:, j])
            Q[:, j] = v / np.linalg.norm(v)
        np.testing.assert_allclose(orthogonal_init(**case), case["gain"] * Q, atol=1e-10)


def test_ch10_kneser_ney_reference_is_the_formula_by_hand():
    """rnncourse.models.ngram.KneserNey (order 2, fixed discount), the spec's reference, against
    the two interpolation formulas of the notebook written out with plain counting."""
    from rnncourse.grading.checks.ch10_applications import NOTEBOOK, kneser_ney_prob

    def by_hand(text, vocab, h, w, discount):
        pairs = [text[i:i + 2] for i in range(len(text) - 1)]
        distinct = set(pairs)
        N = {x: sum(1 for g in distinct if g[1] == x) for x in vocab}
        T1 = sum(1 for x in vocab if N[x] > 0)
        p1 = max(N[w] - discount, 0) / len(distinct) + discount * T1 / len(distinct) / len(vocab)
        c = {x: pairs.count(h + x) for x in vocab}
        if sum(c.values()) == 0:
            return p1
        T = sum(1 for x in vocab if c[x] > 0)
        return max(c[w] - discount, 0) / sum(c.values()) + discount * T / sum(c.values()) * p1

    for seed in range(5):
        for case in by_id(NOTEBOOK, "kneser_ney_prob").cases(np.random.default_rng(seed)):
            assert kneser_ney_prob(**case) == pytest.approx(by_hand(**case), rel=1e-12), case
