"""The install cell of the book notebooks (scripts/install_cell.py).

The reference for the expected commands is written out here by hand: the
repository URL and branch read from _config.yml with PyYAML, PyTorch's CPU index
URL, the extras of pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install_cell.py"
BOOK = sorted((ROOT / "book").glob("*.ipynb"))
_CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO = _CONFIG["repository"]["url"].rstrip("/")
BRANCH = _CONFIG["repository"].get("branch", "main")


def _tool():
    spec = importlib.util.spec_from_file_location("install_cell", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["install_cell"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


tool = _tool()


def _notebook(*cells: tuple[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, text in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(text) if kind == "md"
                        else nbformat.v4.new_code_cell(text))
    return nb


def _run_cell(source: str, missing: set[str], env: dict[str, str] | None = None) -> list:
    """Execute an install cell with find_spec and subprocess.run replaced: the pip calls."""
    calls = []

    def fake_run(cmd, check=False, **kwargs):
        assert check is True, "a failed pip install must stop the notebook"
        calls.append(cmd)
        for arg in cmd:  # what was installed is importable afterwards
            missing.discard(arg.split("[")[0].split(" ")[0])
        return subprocess.CompletedProcess(cmd, 0)

    real_find_spec = importlib.util.find_spec
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(importlib.util, "find_spec",
                   lambda name, *a: None if name in missing else real_find_spec(name, *a))
        mp.setattr(subprocess, "run", fake_run)
        for key in ("RNNCOURSE_SOURCE",):
            mp.delenv(key, raising=False)
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        exec(compile(source, "<install cell>", "exec"), {})
    finally:
        mp.undo()
    return calls


@pytest.mark.parametrize("path", BOOK, ids=[p.stem for p in BOOK])
def test_book_notebook_has_the_current_install_cell(path: Path) -> None:
    """Fails until `python scripts/install_cell.py book/*.ipynb` has been run."""
    nb = nbformat.read(path, as_version=4)
    assert tool.problems(nb, tool.configured_source()) == [], (
        f"{path.name}: run `python scripts/install_cell.py book/*.ipynb`")
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert set(first.metadata["tags"]) >= {"hide-input", "nbval-ignore-output"}
    assert f"git+{REPO}@{BRANCH}" in first.source


def test_cell_goes_before_the_first_code_cell_and_is_idempotent() -> None:
    nb = _notebook(("md", "# Title"), ("code", "import torch\nimport numpy as np"),
                   ("md", "text"), ("code", "x = 1"))
    source = tool.configured_source()
    assert tool.update_notebook(nb, source) is True
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "code", "markdown", "code"]
    cell = nb.cells[1]
    assert cell.metadata["tags"] == ["hide-input", "remove-output", "nbval-ignore-output"]
    assert cell.outputs == [] and cell.execution_count is None
    text = nbformat.writes(nb)
    assert tool.update_notebook(nb, source) is False
    assert nbformat.writes(nb) == text
    assert tool.problems(nb, source) == []


def test_stale_or_misplaced_cell_is_replaced_not_duplicated() -> None:
    nb = _notebook(("md", "# Title"), ("code", "import numpy"))
    source = tool.configured_source()
    tool.update_notebook(nb, source)
    install = nb.cells[1]
    install.source = install.source.replace(BRANCH, "old-branch")
    install.metadata["tags"] = []
    nb.cells = [nb.cells[0], nb.cells[2], install]  # moved to the end
    assert tool.problems(nb, source) == ["no install cell before its first code cell"]
    assert tool.update_notebook(nb, source) is True
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 2 and code[0].source.startswith(tool.MARKER)
    assert "old-branch" not in code[0].source and "hide-input" in code[0].metadata["tags"]


def test_an_executed_install_cell_stays_current() -> None:
    """Executing the notebook (nbval, jupyter execute) numbers the cell: still current."""
    nb = _notebook(("code", "import numpy"))
    source = tool.configured_source()
    tool.update_notebook(nb, source)
    nb.cells[0].execution_count = 1
    assert tool.problems(nb, source) == []
    assert tool.update_notebook(nb, source) is False and nb.cells[0].execution_count == 1


def test_notebook_without_code_is_left_alone() -> None:
    nb = _notebook(("md", "# Only text"))
    assert tool.update_notebook(nb, tool.configured_source()) is False


def test_links_to_the_repository_follow_the_config() -> None:
    nb = _notebook(("md", "[ex](https://github.com/someone/fork/blob/dev/exercises/ch01.ipynb) "
                          "[other](https://github.com/numpy/numpy/blob/main/README.md)"),
                   ("code", "pass"))
    tool.update_notebook(nb, tool.configured_source())
    text = nb.cells[0].source
    assert f"{REPO}/blob/{BRANCH}/exercises/ch01.ipynb" in text
    assert "https://github.com/numpy/numpy/blob/main/README.md" in text  # not ours


def test_cell_installs_cpu_torch_then_the_pinned_package() -> None:
    nb = _notebook(("code", "import torch\nfrom rnncourse.torch import LSTM"))
    text = tool.cell_source(tool.imported_modules(nb), tool.configured_source())
    calls = _run_cell(text, missing={"torch", "rnncourse"})
    assert len(calls) == 2
    assert calls[0][:4] == [sys.executable, "-m", "pip", "install"]
    assert calls[0][-3:] == ["torch", "--index-url", "https://download.pytorch.org/whl/cpu"]
    assert calls[1][-1] == f"rnncourse[torch,notebooks] @ git+{REPO}@{BRANCH}"
    assert "--quiet" in calls[0] and "--quiet" in calls[1]


def test_cell_does_nothing_when_everything_is_installed() -> None:
    nb = _notebook(("code", "import torch\nimport rnncourse"))
    text = tool.cell_source(tool.imported_modules(nb), tool.configured_source())
    assert _run_cell(text, missing=set()) == []


def test_cell_without_torch_and_with_a_local_source() -> None:
    nb = _notebook(("code", "import numpy as np\n%matplotlib inline\nfrom rnncourse import params"))
    assert "torch" not in tool.imported_modules(nb)
    text = tool.cell_source(tool.imported_modules(nb), tool.configured_source())
    assert "torch" not in text
    wheel = "file:///tmp/wheels/rnncourse-0.1.0-py3-none-any.whl"
    calls = _run_cell(text, missing={"rnncourse"}, env={"RNNCOURSE_SOURCE": wheel})
    assert [c[-1] for c in calls] == [f"rnncourse[notebooks] @ {wheel}"]


def test_cell_installs_when_only_tokenizers_is_missing() -> None:
    # a chapter that imports tokenizers (chapter 9's BPE) itself: rnncourse[notebooks] has it
    nb = _notebook(("code", "from tokenizers import Tokenizer\nimport rnncourse"))
    text = tool.cell_source(tool.imported_modules(nb), tool.configured_source())
    calls = _run_cell(text, missing={"tokenizers"})
    assert [c[-1] for c in calls] == [f"rnncourse[notebooks] @ git+{REPO}@{BRANCH}"]
    plain = tool.cell_source(tool.imported_modules(_notebook(("code", "import rnncourse"))),
                             tool.configured_source())
    assert "tokenizers" not in plain


def test_notebooks_extra_exists_in_pyproject() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert "notebooks" in extras and "torch" in extras
    assert any(r.startswith("matplotlib") for r in extras["notebooks"])


def test_check_mode_reports_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.ipynb"
    nbformat.write(_notebook(("md", "# T"), ("code", "import numpy")), path)
    before = path.read_bytes()
    result = subprocess.run([sys.executable, str(SCRIPT), "--check", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "x.ipynb" in result.stderr
    assert path.read_bytes() == before
    subprocess.run([sys.executable, str(SCRIPT), str(path)], check=True, capture_output=True)
    assert json.loads(path.read_text())["cells"][1]["id"] == "install-rnncourse"
    result = subprocess.run([sys.executable, str(SCRIPT), "--check", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
