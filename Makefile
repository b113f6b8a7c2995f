# rnncourse: one entry point for setup, the book, the tests, grading and benchmarks.
#   make book   set up .venv and build the website into _build/html (warnings are errors)
#   make test   set up .venv, then run every test (package, notebooks, book build)
#
# Only Python 3.11 (or newer), git and make are needed beforehand.

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
# The CPU build of PyTorch. Override for another build, e.g. TORCH_SPEC='torch==2.13.0+cu126'.
TORCH_SPEC  ?= torch==2.13.0
PIP         := $(BIN)/python -m pip --disable-pip-version-check
STAMP       := $(VENV)/.installed
JB_FLAGS    ?= -W -n --keep-going

.PHONY: help setup browser book test test-fast test-gpu lint exercises grade bench clean distclean

help:
	@echo "make book    set up and build the website into _build/html"
	@echo "make test    set up and run all tests"
	@echo "make lint    ruff over the package and tests"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make grade   grade the notebooks in exercises/ (as a student's CI does)"
	@echo "make bench   time the recurrent layers: NumPy, rnncourse.torch, torch.nn"
	@echo "make test-gpu  on a CUDA machine: the GPU tests and the benchmark's GPU rows"
	@echo "make clean   remove _build/"

setup: $(STAMP) browser

# The browser test (tests/test_site.py) drives Debian's chromium through Playwright's
# Python package (no `playwright install`). Installed here when absent: as root, or
# with password-less sudo; otherwise stop and say how.
CHROMIUM    ?= $(shell command -v chromium || echo /usr/bin/chromium)
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	elif sudo -n true 2>/dev/null; then sudo -n apt-get update -qq && sudo -n apt-get install -y -qq chromium >/dev/null; \
	else echo "error: the browser test needs Chromium and this user cannot install it." \
	  "Run 'sudo apt-get install -y chromium', or pass CHROMIUM=/path/to/chromium, then make again." >&2; \
	  exit 1; fi

$(STAMP): pyproject.toml requirements/constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "rnncourse needs Python 3.10 or newer, this is " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	@# PyTorch first, pinned to the CPU wheel, so that nothing later pulls a CUDA build.
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -c requirements/constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "Book built: open _build/html/index.html"

# The book build first (warnings are errors), then lint, then the package tests,
# the browser test of the built site (tests/test_site.py: needs _build/html) and
# every notebook re-executed by nbval (stored outputs must still match).
# pytest runs last so that its summary line closes the output.
test: $(STAMP) browser
	$(MAKE) --no-print-directory book
	$(BIN)/ruff check rnncourse tests benchmarks
	RNNCOURSE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests book solutions --nbval --nbval-sanitize-with tests/nbval-sanitize.cfg

test-fast: $(STAMP)
	$(BIN)/python -m pytest -x -q -m "not browser" tests

# On a machine with a CUDA GPU (set TORCH_SPEC to a CUDA build of PyTorch): the CUDA
# tests, PyTorch's module database run on CUDA against torch.nn on the CPU, the
# compiled path on CUDA, then the benchmark's GPU rows (torch.nn = cuDNN, ours eager
# and compiled) into _build/bench-gpu.json. Without a GPU it says so and succeeds.
GPU_TESTS := tests/test_torch_modules.py tests/test_torch_functional.py \
             tests/test_torch_module_db.py tests/test_torch_compiled.py
test-gpu: $(STAMP)
	@if ! $(BIN)/python -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then \
	  echo "make test-gpu: no CUDA device is usable here; nothing to run."; exit 0; fi; \
	RNNCOURSE_TEST_CUDA=1 $(BIN)/python -m pytest -q -k "cuda" $(GPU_TESTS) && \
	mkdir -p _build && $(BIN)/rnncourse bench --device cuda --libs rnncourse compiled torch \
	  --json _build/bench-gpu.json

lint: $(STAMP)
	$(BIN)/ruff check rnncourse tests benchmarks

exercises: $(STAMP)
	$(BIN)/rnncourse exercises

grade: $(STAMP)
	$(BIN)/rnncourse grade exercises

bench: $(STAMP)
	mkdir -p _build && $(BIN)/rnncourse bench --json _build/bench.json

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV)
