"""``rnncourse bench`` runs end to end at a tiny size; timings are never asserted.

The benchmark is started once, as ``python -m rnncourse.bench``, in a subprocess
(it starts one worker process per measurement itself); the tests read its
table and its JSON file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnncourse import bench

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"numpy": "rnncourse.numpy", "rnncourse": "rnncourse.torch", "torch": "torch.nn"}


def _bench(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnncourse.bench", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bench") / "out.json"
    # --jobs and a small --matmul-size only make the smoke test quicker.
    proc = _bench("--shapes", "tiny", "--repeats", "2", "--warmup", "1", "--json", str(out),
                  "--device", "cpu", "--jobs", "2", "--matmul-size", "64",
                  "--libs", *LABELS)  # the compiled row has its own test: it compiles
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_json_has_every_lib_and_cell(tiny):
    _, report = tiny
    results = report["results"]
    assert {(r["lib"], r["cell"]) for r in results} == {
        (lib, cell) for lib in LABELS for cell in ("rnn", "lstm", "gru")}
    assert len(results) == 9
    for r in results:
        assert r["ok"], r
        assert r["shape"] == [5, 2, 3, 4] and (r["T"], r["B"], r["I"], r["H"]) == (5, 2, 3, 4)
        assert r["device"] == "cpu" and r["dtype"] == "float32"
        assert r["label"] == LABELS[r["lib"]]
        assert len(r["times_s"]) == 2 and all(t > 0 for t in r["times_s"])
        assert 0 < r["min_s"] <= r["median_s"]
        assert r["gflop"] == pytest.approx(bench.flops(r["cell"], (5, 2, 3, 4)) / 1e9)
        assert r["gflops"] == pytest.approx(r["gflop"] / r["median_s"])
        assert r["ratio"] > 0 and r["matmul_fraction"] > 0
        assert (r["first_call_s"] is None) == (r["lib"] == "numpy")
        if r["lib"] == "torch":
            assert r["ratio"] == 1.0  # the reference, to itself


@pytest.mark.slow
def test_json_header(tiny):
    _, report = tiny
    assert report["settings"]["repeats"] == 2 and report["settings"]["warmup"] == 1
    assert report["settings"]["devices"] == ["cpu"]
    assert {(m["lib"], m["device"]) for m in report["matmul"]} == {("numpy", "cpu"),
                                                                   ("torch", "cpu")}
    assert all(m["ok"] and m["gflops"] > 0 for m in report["matmul"])
    machine = report["machine"]
    assert machine["cpu_count"] >= 1 and machine["torch_threads"] >= 1
    assert machine["numpy"] and machine["torch"]


@pytest.mark.slow
def test_table(tiny):
    proc, _ = tiny
    lines = proc.stdout.splitlines()
    assert any(line.startswith("matmul rate") and "GFLOP/s" in line for line in lines)
    head = next(i for i, line in enumerate(lines) if line.startswith("cell "))
    for word in ("median ms", "vs torch.nn", "GFLOP/s", "% mm", "1st call s"):
        assert word in lines[head]
    rows = [line.split() for line in lines[head + 2:] if line.strip()]
    assert len(rows) == 9
    assert {(row[0], row[3]) for row in rows} == {
        (cell, label) for cell in ("RNN", "LSTM", "GRU") for label in LABELS.values()}
    for row in rows:
        assert row[1] == "5,2,3,4" and row[2] == "cpu"
        assert float(row[4]) > 0 and row[6].endswith("x")
        if row[3] == "torch.nn":
            assert row[6] == "1.00x"
    assert "bench: [" in proc.stderr  # progress on stderr, not in the table


@pytest.mark.parametrize("shape", ["huge", "1,2,3", "5,2,0,4", "a,b,c,d"])
def test_bad_shapes_give_a_clear_error(shape):
    proc = _bench("--shapes", shape)
    assert proc.returncode == 2
    assert f"bad shape {shape!r}" in proc.stderr and "T,B,I,H" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_cuda_without_cuda_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("tests the error without CUDA")
    proc = _bench("--shapes", "tiny", "--device", "cuda", "--quiet")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--device cuda, but CUDA cannot be used" in proc.stderr


def test_parser_and_shape_sets():
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--shapes", "tiny", "7,3,2,5", "--cells", "gru"])
    assert args.shapes == [[(5, 2, 3, 4)], [(7, 3, 2, 5)]] and args.cells == ["gru"]
    assert args.func is bench.run
    default = parser.parse_args([])
    assert default.shapes == [bench.SHAPE_SETS["standard"]]
    assert {(50, 32, 64, 128), (100, 64, 128, 256), (35, 20, 650, 650)} == set(
        bench.SHAPE_SETS["standard"])
    # 3 T (2 B (I + H) G H), written out for the LSTM at (35, 20, 650, 650)
    assert bench.flops("lstm", (35, 20, 650, 650)) == 3 * 35 * 2 * 20 * 1300 * 4 * 650


def test_failed_worker_is_shown_not_raised(tmp_path, capsys):
    # A timeout far too short for any worker to start: every row must report it.
    rc = bench.main(["--shapes", "tiny", "--libs", "numpy", "--cells", "rnn",
                     "--timeout", "0.001", "--quiet", "--json", str(tmp_path / "f.json")])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAILED: timed out after 0.001 s" in out
    report = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert report["results"][0]["ok"] is False
    assert "timed out" in report["results"][0]["error"]


Rows = dict[str, dict]


def _rows_beside_torch(tmp_path: Path, cell: str,
                       lib: str) -> tuple[subprocess.CompletedProcess, Rows]:
    """The tiny shape, ``lib`` and torch.nn: the run, and its JSON rows by library."""
    out = tmp_path / f"{lib}.json"
    proc = _bench("--shapes", "tiny", "--cells", cell, "--libs", lib, "torch",
                  "--repeats", "2", "--warmup", "1", "--device", "cpu", "--matmul-size", "64",
                  "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["lib"]: r for r in json.loads(out.read_text(encoding="utf-8"))["results"]}
    assert set(rows) == {lib, "torch"} and all(r["ok"] for r in rows.values())
    return proc, rows


@pytest.mark.slow
def test_compiled_row(tmp_path):
    """rnncourse.torch+compile is a row of its own, with the first call (compiling) apart."""
    pytest.importorskip("torch")
    from rnncourse.torch import compiled

    if not compiled.available()[0]:
        pytest.skip(compiled.available()[1])
    proc, rows = _rows_beside_torch(tmp_path, "lstm", "compiled")
    assert rows["compiled"]["label"] == "rnncourse.torch+compile"
    # compiling makes the first call far slower than the timed ones
    assert rows["compiled"]["first_call_s"] > 10 * rows["compiled"]["median_s"]
    assert "rnncourse.torch+compile" in proc.stdout


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_products_row_runs_the_layers_products(cell):
    """``--libs products`` runs the same matrix products as the layer, forward and
    backward: both count the FLOPs of the module docstring (torch's own FLOP counter)."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    import rnncourse.torch as rt
    from rnncourse.bench import worker

    shape = T, B, I, H = (6, 3, 5, 7)
    layer = getattr(rt, cell.upper())(I, H)
    x = torch.randn(T, B, I, requires_grad=True)
    counted = []
    for run in (worker._products_step(cell, shape, "float32", "cpu", 0),
                lambda: layer(x)[0].sum().backward()):
        with FlopCounterMode(display=False) as counter:
            run()
        counted.append(counter.get_total_flops())
    assert counted == [bench.flops(cell, shape)] * 2


@pytest.mark.slow
def test_products_row(tmp_path):
    pytest.importorskip("torch")
    proc, rows = _rows_beside_torch(tmp_path, "gru", "products")
    assert rows["products"]["label"] == "products alone" and "products alone" in proc.stdout
    assert rows["products"]["first_call_s"] is None and rows["products"]["ratio"] > 0
