"""The ``rnncourse`` command line, called in-process and once as ``python -m rnncourse``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import rnncourse
from rnncourse.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_params_lecture_example(capsys):
    rc = main(["params", "rnn", "--input", "234", "--hidden", "1024", "512", "--output", "15",
               "--no-bias"])
    out, err = capsys.readouterr()
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[-1].split() == ["total", "2,082,304"]
    assert any(line.split()[-1] == "239,616" and "234·1024" in line for line in lines)
    assert any(line.split()[-1] == "7,680" and "output: V" in line for line in lines)


def test_params_with_biases_and_layers(capsys):
    # 2 layers of 20 LSTM units on 10 inputs, textbook biases, 3 outputs, by hand:
    # 4(10·20 + 20·20 + 20) + 4(20·20 + 20·20 + 20) + 20·3 + 3 = 2480 + 3280 + 63
    assert main(["params", "lstm", "--input", "10", "--hidden", "20", "--layers", "2",
                 "--output", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split() == ["total", "5,823"]


def test_params_pytorch_bidirectional_matches_torch(capsys):
    torch = pytest.importorskip("torch")
    m = torch.nn.GRU(6, 7, num_layers=2, bidirectional=True)
    expected = sum(p.numel() for p in m.parameters())
    assert main(["params", "gru", "--input", "6", "--hidden", "7", "--layers", "2",
                 "--bidirectional", "--bias-convention", "pytorch"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split() == ["total", f"{expected:,}"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rnncourse {rnncourse.__version__}"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["params", "transformer", "--input", "3", "--hidden", "4"],
         r"^rnncourse params: error: argument CELL: invalid choice: 'transformer'"),
        (["params", "rnn", "--input", "0", "--hidden", "4"],
         r"^rnncourse params: error: argument --input: expected a positive integer, got '0'"),
        (["params", "rnn", "--input", "3", "--hidden", "x"],
         r"^rnncourse params: error: argument --hidden: expected a positive integer, got 'x'"),
        (["params", "rnn", "--hidden", "4"],
         r"^rnncourse params: error: the following arguments are required: --input"),
        (["params", "rnn", "--input", "3", "--hidden", "4", "5", "--layers", "3"],
         r"^rnncourse params: error: num_layers = 3 does not match the 2 hidden sizes"),
        (["params", "rnn", "--input", "3", "--hidden", "4", "--bias-convention", "keras"],
         r"^rnncourse params: error: argument --bias-convention: invalid choice"),
        ([], r"^rnncourse: error: the following arguments are required: COMMAND"),
        (["train"], r"^rnncourse: error: argument COMMAND: invalid choice: 'train'"),
    ],
)
def test_errors_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.match(message, err), err


def test_help_exits_0(capsys):
    assert main(["params", "--help"]) == 0
    assert "--bias-convention" in capsys.readouterr().out


def test_python_dash_m_rnncourse():
    out = subprocess.run(
        [sys.executable, "-m", "rnncourse", "params", "rnn", "--input", "234", "--hidden",
         "1024", "512", "--output", "15", "--no-bias"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "2,082,304" in out.stdout


def test_bench_subcommand_is_wired(capsys):
    from rnncourse.cli import main

    assert main(["bench", "--shapes", "1,2,3"]) == 2
    assert "bad shape '1,2,3'" in capsys.readouterr().err
