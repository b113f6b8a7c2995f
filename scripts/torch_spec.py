"""Print the pip arguments that install PyTorch as the build asked for (used by `make setup`).

    python3 scripts/torch_spec.py                 # the CPU build (the default)
    python3 scripts/torch_spec.py --build cuda    # PyPI's Linux build (CUDA)
    python3 scripts/torch_spec.py --build cu126   # PyTorch's CUDA 12.6 index
    python3 scripts/torch_spec.py --build auto    # CUDA when nvidia-smi finds a GPU, else CPU

The CPU build of ``torch==X`` on Linux comes from PyTorch's CPU wheel index
(https://download.pytorch.org/whl/cpu); from PyPI the same pin is the CUDA
build with its ``nvidia-*`` wheels (gigabytes). macOS and Windows wheels on
PyPI are CPU builds already. When pip is configured with a local wheel of
that version (a ``find-links`` folder, or a ``file://`` index), the plain pin
is printed, so that an offline machine installs it from there.

Standard library only: ``make`` runs it before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import configparser
import os
import platform
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlparse

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_INDEX = "https://download.pytorch.org/whl/{build}"
DEFAULT_VERSION = "2.13.0"
ROOT = Path(__file__).resolve().parents[1]


def pinned_version(constraints: Path = ROOT / "requirements" / "constraints.txt") -> str:
    """The torch version pinned in the constraints file (else :data:`DEFAULT_VERSION`)."""
    try:
        for line in constraints.read_text().splitlines():
            m = re.fullmatch(r"torch==([0-9][^\s;+#]*)", line.strip())
            if m:
                return m.group(1)
    except OSError:
        pass
    return DEFAULT_VERSION


def pip_config_files(env: Mapping[str, str]) -> list[Path]:
    """pip's configuration files, in pip's order (site, user, then PIP_CONFIG_FILE)."""
    files = [Path("/etc/pip.conf")]
    dirs = env.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    files += [Path(d) / "pip" / "pip.conf" for d in dirs if d]
    home = Path(env.get("HOME", "~")).expanduser()
    files += [home / ".pip" / "pip.conf",
              Path(env.get("XDG_CONFIG_HOME", home / ".config")) / "pip" / "pip.conf"]
    if env.get("VIRTUAL_ENV"):
        files.append(Path(env["VIRTUAL_ENV"]) / "pip.conf")
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    return files


def local_locations(env: Mapping[str, str], config_files: Iterable[Path]) -> list[Path]:
    """Folders where pip looks for wheels on this machine: find-links and file:// indexes."""
    values: list[str] = []
    for key in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        values += env.get(key, "").split()
    for path in config_files:
        parser = configparser.ConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError):
            continue
        for section in parser.sections():
            for key in ("find-links", "index-url", "extra-index-url"):
                values += parser.get(section, key, fallback="").split()
    out = []
    for value in values:
        url = urlparse(value)
        if url.scheme == "file":
            path = Path(unquote(url.path))
        elif url.scheme == "":
            path = Path(value)
        else:
            continue  # a remote index: not known to hold the wheel
        out += [path, path / "torch"]  # a find-links folder, or a simple index's project page
    return out


def has_local_wheel(version: str, locations: Iterable[Path]) -> bool:
    """A CPU (or unlabelled) ``torch-<version>`` wheel in one of ``locations``."""
    pattern = re.compile(rf"torch-{re.escape(version)}(\+cpu)?-.*\.whl")
    for folder in locations:
        try:
            names = [p.name for p in folder.iterdir()]
        except OSError:
            continue
        if any(pattern.fullmatch(n) for n in names):
            return True
    return False


def pip_args(version: str, build: str, *, system: str, local_wheel: bool,
             gpu: bool = False) -> list[str]:
    """The pip arguments for ``build`` (cpu, cuda, cuNNN, auto) on ``system`` (e.g. Linux)."""
    if build == "auto":
        build = "cuda" if gpu and system == "Linux" else "cpu"
    pin = f"torch=={version}"
    if build == "cpu":
        if local_wheel or system != "Linux":
            return [pin]
        return [pin, "--index-url", CPU_INDEX]
    if build == "cuda":
        return [pin]
    if re.fullmatch(r"cu\d{3}", build):
        return [pin, "--index-url", CUDA_INDEX.format(build=build)]
    raise ValueError(f"unknown torch build {build!r}: expected cpu, cuda, cuNNN (e.g. cu126) "
                     f"or auto")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.environ.get("TORCH_BUILD", "cpu"),
                        help="cpu (default), cuda, cuNNN or auto (env TORCH_BUILD)")
    parser.add_argument("--version", default=None, help="default: the constraints' pin")
    args = parser.parse_args(argv)
    version = args.version or pinned_version()
    local = has_local_wheel(version, local_locations(os.environ, pip_config_files(os.environ)))
    try:
        out = pip_args(version, args.build, system=platform.system(), local_wheel=local,
                       gpu=shutil.which("nvidia-smi") is not None)
    except ValueError as exc:
        print(f"torch_spec.py: error: {exc}", file=sys.stderr)
        return 2
    print(" ".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
