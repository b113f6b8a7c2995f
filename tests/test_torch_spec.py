"""scripts/torch_spec.py: which PyTorch build `make setup` installs, on which machine.

The expected arguments are PyTorch's own install instructions: the CPU build of
a Linux machine from https://download.pytorch.org/whl/cpu, a CUDA build from
PyPI (Linux) or from https://download.pytorch.org/whl/cuNNN, and PyPI's plain
pin on macOS and Windows, whose wheels have no CUDA.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("torch_spec", ROOT / "scripts" / "torch_spec.py")
ts = importlib.util.module_from_spec(_spec)
sys.modules["torch_spec"] = ts
_spec.loader.exec_module(ts)

CPU = ["torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cpu"]
PLAIN = ["torch==2.13.0"]


@pytest.mark.parametrize("build, system, local, gpu, expected", [
    ("cpu", "Linux", False, False, CPU),  # an ordinary Linux machine: never the CUDA build
    ("cpu", "Linux", False, True, CPU),  # a GPU present, but CPU asked for
    ("cpu", "Linux", True, False, PLAIN),  # a local CPU wheel (these machines): offline
    ("cpu", "Darwin", False, False, PLAIN),
    ("cpu", "Windows", False, False, PLAIN),
    ("cuda", "Linux", False, True, PLAIN),  # PyPI's Linux wheel is the CUDA build
    ("cu126", "Linux", True, True,
     ["torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cu126"]),
    ("auto", "Linux", False, True, PLAIN),
    ("auto", "Linux", False, False, CPU),
    ("auto", "Darwin", False, True, PLAIN),
])
def test_pip_args(build, system, local, gpu, expected):
    assert ts.pip_args("2.13.0", build, system=system, local_wheel=local, gpu=gpu) == expected


@pytest.mark.parametrize("build", ["gpu", "cu12", "CPU", ""])
def test_unknown_builds_are_refused(build):
    with pytest.raises(ValueError, match="unknown torch build"):
        ts.pip_args("2.13.0", build, system="Linux", local_wheel=False)


def test_local_wheels_in_find_links_and_file_indexes(tmp_path):
    links, index = tmp_path / "wheels", tmp_path / "simple"
    links.mkdir()
    (index / "torch").mkdir(parents=True)
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nfind-links = {links}\n"
                    f"extra-index-url = file://{index} https://example.org/simple\n")
    locations = ts.local_locations({}, [conf, tmp_path / "absent.conf"])
    assert links in locations and index / "torch" in locations
    assert not any("example.org" in str(p) for p in locations)
    assert not ts.has_local_wheel("2.13.0", locations)
    (links / "torch-2.13.0+cu126-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    (index / "torch" / "torch-2.12.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    assert not ts.has_local_wheel("2.13.0", locations)  # a CUDA wheel, another version
    (index / "torch" / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    assert ts.has_local_wheel("2.13.0", locations)
    env_only = ts.local_locations({"PIP_FIND_LINKS": str(links)}, [])
    assert env_only[0] == links


def test_pinned_version_comes_from_the_constraints(tmp_path):
    constraints = (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
    assert f"torch=={ts.pinned_version()}" in constraints
    other = tmp_path / "c.txt"
    other.write_text("numpy==2.4.6\ntorch==2.9.1\n")
    assert ts.pinned_version(other) == "2.9.1"
    assert ts.pinned_version(tmp_path / "none.txt") == ts.DEFAULT_VERSION


def test_the_makefile_uses_it():
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/torch_spec.py" in makefile
