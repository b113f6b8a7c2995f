# rnncourse: one entry point for setup, the book, the tests, grading and benchmarks.
#   make book   set up .venv and build the website into _build/html (warnings are errors),
#               with the whole book as one PDF (_build/pdf/rnncourse.pdf, linked by the site)
#   make test   set up .venv, then run every test (package, notebooks, book build)
#
# Only Python 3.11 (or newer), git and make are needed beforehand.

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
# PyTorch: the CPU build unless asked otherwise (scripts/torch_spec.py prints the pip
# arguments: PyTorch's CPU index on Linux, or a local wheel when pip has one).
#   make setup TORCH_BUILD=cuda    PyPI's CUDA build;  TORCH_BUILD=cu126  PyTorch's CUDA 12.6
#   make setup TORCH_BUILD=auto    CUDA when nvidia-smi finds a GPU, else CPU
#   TORCH_SPEC='...' overrides the pip arguments entirely.
TORCH_BUILD ?= cpu
TORCH_SPEC  ?= $(shell $(PYTHON) scripts/torch_spec.py --build $(TORCH_BUILD))
PIP         := $(BIN)/python -m pip --disable-pip-version-check
STAMP       := $(VENV)/.installed
JB_FLAGS    ?= -W -n --keep-going

.PHONY: help setup browser book html pdf test test-fast test-mutants test-portability test-portability-avx2 test-gpu lint exercises grade bench clean distclean

help:
	@echo "make book    set up and build the website into _build/html, and its PDF"
	@echo "make html    the website only (copies the last PDF built into it)"
	@echo "make pdf     print the built website as one PDF: _build/pdf/rnncourse.pdf"
	@echo "make test    set up and run all tests"
	@echo "make test-portability  nbval of every notebook under AVX2, and with one thread"
	@echo "make test-mutants  mutation testing of the exercises' public checks and hidden cases"
	@echo "make lint    ruff over the package and tests, zizmor over the workflows"
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
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11, 5), "make setup needs Python 3.11.5 or newer, this is " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	@# PyTorch first, as the build asked for (CPU by default), so that nothing later pulls a CUDA build.
	@test -n "$(TORCH_SPEC)" || { echo "error: scripts/torch_spec.py printed nothing (TORCH_BUILD=$(TORCH_BUILD))" >&2; exit 1; }
	$(PIP) install --quiet $(TORCH_SPEC)
	$(PIP) install --quiet -c requirements/constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

book: html
	@$(MAKE) --no-print-directory pdf

html: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "Book built: open _build/html/index.html"

# The whole book as one PDF (about 30 s): Chromium prints the built pages in the order
# of _toc.yml (scripts/build_pdf.py); the site's download button links the copy it puts
# in _build/html/ (`make pdf` alone prints the HTML already built).
pdf: $(STAMP) browser
	RNNCOURSE_CHROMIUM=$(CHROMIUM) $(BIN)/python scripts/build_pdf.py --json _build/pdf/report.json

# The book build first (warnings are errors), then lint, then the package tests,
# the browser test of the built site (tests/test_site.py: needs _build/html) and
# every notebook re-executed by nbval (stored outputs must still match).
# pytest runs last so that its summary line closes the output.
test: $(STAMP) browser
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory lint
	RNNCOURSE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests book solutions --nbval

# Portability: every book and solution notebook must pass nbval (strict) on other CPUs,
# thread counts and code paths than the one that stored its outputs. Emulated here:
#   avx2        torch's and NumPy's kernels limited to AVX2 (an older or smaller CPU)
#   one-thread  OpenMP, MKL and OpenBLAS with one thread
NBVAL_ALL   := $(BIN)/python -m pytest book solutions --nbval -q -p no:cacheprovider
AVX2_ENV    := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 OPENBLAS_CORETYPE=Haswell
test-portability-avx2: $(STAMP)
	$(AVX2_ENV) $(NBVAL_ALL)

test-portability: test-portability-avx2
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(NBVAL_ALL)

# Mutation testing of the exercises' checks (slow; not part of `make test`): every graded
# function's solution, mutated by AST operators that model student slips, plus the
# hand-written wrong solutions, against the public check cells and the hidden cases of
# several grading runs. Prints the per-exercise table; fails under the targets (hidden
# cases 100 %, public checks 90 % of the non-equivalent mutants).
test-mutants: $(STAMP)
	$(BIN)/python -m rnncourse.grading.mutants --seeds 4

test-fast: $(STAMP)
	$(BIN)/python -m pytest -x -q -m "not browser and not launch" tests

# On a machine with a CUDA GPU (set TORCH_SPEC to a CUDA build of PyTorch): the CUDA
# tests, PyTorch's module database run on CUDA against torch.nn on the CPU, the
# compiled path on CUDA, then the benchmark's GPU rows (torch.nn = cuDNN, ours eager
# and compiled) into _build/bench-gpu.json. Without a GPU it says so and succeeds.
GPU_TESTS := tests/test_torch_modules.py tests/test_torch_functional.py \
             tests/test_torch_module_db.py tests/test_torch_compiled.py \
             tests/test_torch_upstream_nn.py
test-gpu: $(STAMP)
	@if ! $(BIN)/python -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then \
	  echo "make test-gpu: no CUDA device is usable here; nothing to run."; exit 0; fi; \
	RNNCOURSE_TEST_CUDA=1 $(BIN)/python -m pytest -q -k "cuda" $(GPU_TESTS) && \
	mkdir -p _build && $(BIN)/rnncourse bench --device cuda --libs rnncourse compiled torch \
	  --json _build/bench-gpu.json

# ruff, then zizmor (a static checker for GitHub Actions) over every workflow: the
# course's own and the instructors' template; a workflow that does not parse fails too.
WORKFLOWS   := $(wildcard .github/workflows/*.yml instructors/*.yml)
lint: $(STAMP)
	$(BIN)/ruff check rnncourse tests benchmarks scripts
	$(BIN)/zizmor --offline --strict-collection --persona=pedantic --no-progress $(WORKFLOWS)

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
