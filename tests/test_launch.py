"""Each chapter runs where its launch buttons send it: a bare folder, no rnncourse.

Colab and a JupyterHub open a book notebook on its own: no checkout around it, no
``rnncourse`` installed. This test does the same here. It builds the package's wheel,
makes for each notebook a fresh Python environment that has the course's other
dependencies (numpy, torch, matplotlib, ipykernel...) but *not* rnncourse, copies the
notebook alone into an empty folder and executes it there with a kernel of that
environment. The notebook's first cell must install rnncourse (from the wheel:
``RNNCOURSE_SOURCE``, with ``PIP_NO_INDEX=1`` so that nothing is downloaded), and the
cells after it must run, up to and including the first one that loads the book's
shipped data (weights through ``rnncourse.data.bookdata``) -- or the first few cells where
a chapter loads none. Probes then check that ``rnncourse`` and the data were taken
from the installed wheel, not from the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.launch

ROOT = Path(__file__).resolve().parents[1]
BOOK = sorted((ROOT / "book").glob("*.ipynb"))
MARKER = "# rnncourse: install what this chapter needs"
# Code cells run after the install cell in a chapter that loads no shipped data.
FIRST_CELLS = 3
_DATA_LOAD = re.compile(r"bookdata|[\"']data/")


def _copy_source(dst: Path) -> None:
    """What building the wheel reads: a copy, so that the build leaves no files here."""
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, dst / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "rnncourse", dst / "rnncourse", ignore=ignore)
    shutil.copytree(ROOT / "book" / "data", dst / "book" / "data", ignore=ignore)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("source")
    out = tmp_path_factory.mktemp("wheelhouse")
    _copy_source(src)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(out), str(src)],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (found,) = out.glob("rnncourse-*.whl")
    return found


@pytest.fixture(scope="session")
def dependencies(tmp_path_factory) -> Path:
    """This environment's installed packages *without* rnncourse, as a folder of links."""
    site = Path(sysconfig.get_paths()["purelib"])
    farm = tmp_path_factory.mktemp("site-without-rnncourse")
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("rnncourse", "__editable__", "_rnncourse")) or name.endswith(".pth"):
            continue
        (farm / entry.name).symlink_to(entry)
    return farm


def _environment(where: Path, dependencies: Path) -> Path:
    """A fresh virtual environment that sees `dependencies` but has no rnncourse."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    # A .pth line that names a folder puts it on sys.path (its own .pth files are not run).
    (Path(purelib) / "course-dependencies.pth").write_text(f"{dependencies}\n")
    return python


def _kernel(where: Path, python: Path, wheel: Path) -> Path:
    """A kernelspec for `python`, whose kernel installs from `wheel` and nothing else."""
    spec = where / "kernels" / "launch-test"
    spec.mkdir(parents=True)
    env = {
        "RNNCOURSE_SOURCE": wheel.as_uri(),
        "PIP_NO_INDEX": "1",  # everything else is there already: download nothing
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONPATH": "",
        "MPLBACKEND": "agg",
    }
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "launch test", "language": "python", "env": env,
    }))
    return where


def _cells_to_run(nb: nbformat.NotebookNode) -> list[int]:
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for n, i in enumerate(code):
        if _DATA_LOAD.search(nb.cells[i].source):
            return code[: n + 1]
    return code[: 1 + FIRST_CELLS]


_PROBE = """\
import json, rnncourse
from rnncourse.data import bookdata
print("PROBE" + json.dumps({"package": rnncourse.__file__,
                            "data": [str(p) for p in bookdata.locations()]}))
"""


@pytest.mark.parametrize("path", BOOK, ids=[p.stem for p in BOOK])
def test_chapter_runs_from_an_empty_folder(path: Path, tmp_path: Path, wheel: Path,
                                           dependencies: Path, monkeypatch) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and code[0].source.lstrip().startswith(MARKER), (
        f"{path.name}: the first code cell is not the install cell; run "
        "`python scripts/install_cell.py book/*.ipynb`"
    )
    python = _environment(tmp_path / "env", dependencies)
    missing = subprocess.run([str(python), "-c", "import rnncourse"], cwd=tmp_path,
                             capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert missing.returncode != 0, "rnncourse is importable before the install cell ran"

    folder = tmp_path / "reader"
    folder.mkdir()
    shutil.copy2(path, folder / path.name)  # the notebook alone, as Colab opens it
    keep = _cells_to_run(nb)
    nb.cells = [c for i, c in enumerate(nb.cells) if i in keep]
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    monkeypatch.setenv("JUPYTER_PATH", str(_kernel(tmp_path / "jupyter", python, wheel)))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    client = NotebookClient(nb, kernel_name="launch-test", timeout=600,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()

    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    probe = json.loads(out.split("PROBE", 1)[1])
    env = (tmp_path / "env").resolve()
    assert Path(probe["package"]).resolve().is_relative_to(env), probe["package"]
    assert not any(Path(p).resolve().is_relative_to(ROOT) for p in probe["data"][:-1]
                   if Path(p).is_dir()), f"book data found in the repository: {probe['data']}"
    assert Path(probe["data"][-1]).resolve().is_relative_to(env), probe["data"]
    assert sorted(p.name for p in folder.iterdir()) == [path.name], (
        "the chapter wrote files next to the notebook")


def _git_ignored(path: Path) -> bool:
    """Whether git ignores ``path``: a local file such as a training script's resume
    cache (``book/data/ch10/.charlm_tuned_cache/``), not part of the course's data."""
    done = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT,
                          capture_output=True, check=False)
    return done.returncode == 0


def test_wheel_ships_the_book_data(wheel: Path, tmp_path: Path) -> None:
    """pip install --target of the wheel: bookdata.path finds every file, byte for byte."""
    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    data = ROOT / "book" / "data"
    files = sorted(p.relative_to(data).as_posix() for p in data.rglob("*")
                   if p.is_file() and not _git_ignored(p))
    script = tmp_path / "probe.py"
    script.write_text(
        "import hashlib, json, sys\n"
        f"sys.path.insert(0, {str(target)!r})\n"
        "import rnncourse\n"
        "from rnncourse.data import bookdata\n"
        "found = {f: [str(bookdata.path(f)), "
        "hashlib.sha256(bookdata.path(f).read_bytes()).hexdigest()] "
        "for f in json.loads(sys.argv[1])}\n"
        "print(json.dumps({'package': rnncourse.__file__, 'found': found}))\n"
    )
    result = subprocess.run([sys.executable, "-I", str(script), json.dumps(files)],
                            cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert Path(report["package"]).is_relative_to(target), report["package"]
    for name in files:
        where, digest = report["found"][name]
        assert Path(where).is_relative_to(target), (name, where)
        assert digest == hashlib.sha256((data / name).read_bytes()).hexdigest(), name
