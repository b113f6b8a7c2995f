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

.PHONY: help setup book test test-fast lint exercises grade bench clean distclean

help:
	@echo "make book    set up and build the website into _build/html"
	@echo "make test    set up and run all tests"
	@echo "make lint    ruff over the package and tests"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make grade   grade the notebooks in exercises/ (as a student's CI does)"
	@echo "make bench   time the recurrent layers: NumPy, rnncourse.torch, torch.nn"
	@echo "make clean   remove _build/"

setup: $(STAMP)

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

# The book build first (warnings are errors), then lint, then the package tests
# and every notebook re-executed by nbval (stored outputs must still match).
# pytest runs last so that its summary line closes the output.
test: $(STAMP)
	$(MAKE) --no-print-directory book
	$(BIN)/ruff check rnncourse tests benchmarks
	$(BIN)/python -m pytest tests book solutions --nbval --nbval-sanitize-with tests/nbval-sanitize.cfg

test-fast: $(STAMP)
	$(BIN)/python -m pytest -x -q tests

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
