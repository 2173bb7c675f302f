# Optimizers, Hands-On: set up, build and test the course.
#   make book     set up .venv and build the site into _build/html
#   make test     set up .venv (and Chromium), make lint, then every test (unit, doctests, perf, notebooks, nbval, Colab, site, browser)
#   make unit     the fast lane: unit tests and optlab's doctests in parallel, no notebooks, site or perf (a few minutes)
#   make lint     ruff check, ruff format --check, and lint-imports (the contracts in pyproject.toml)
#   make test-portable   nbval on every chapter under the arithmetic of other machines (about 10 minutes)
#   make execute NB=chapters/01-gradient-descent.ipynb   refresh a notebook's saved outputs
#   make lab      open the notebooks in JupyterLab
#   make retarget REPO=https://github.com/<owner>/<name>   point every Colab button and link at a fork
#   make student  the student edition (solutions replaced by stubs) and its site, in _build/student

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# TensorFlow's C++ start-up log would otherwise land in saved outputs as stderr.
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup browser book lint test unit test-portable execute lab retarget student clean

help:
	@sed -n '2,11p' Makefile

setup: $(STAMP)

$(STAMP): requirements.txt code/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e code
	@touch $(STAMP)

book: setup
	$(BIN)/jupyter-book build .
	@echo "The site is at $(CURDIR)/_build/html/index.html"

# Chromium for tests/test_browser.py, from the distribution's packages
# (Playwright drives it; it never downloads a browser of its own). Installed
# when missing and this is root with apt-get (CI); otherwise it says how.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Chromium from the distribution's packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: install the distribution's chromium package; tests/test_browser.py is skipped until then"; \
	  fi; }

# The developer tools, with their settings in pyproject.toml: ruff's lint rules
# and formatting (check only: `$(BIN)/ruff format .` applies it), and
# import-linter's contracts between optlab's modules (it imports optlab, which
# setup installs with `pip install -e code`).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

# pytest.ini collects tests/, chapters/ and code/optlab: the unit tests and the
# perf tests, optlab's doctests, the notebook conventions, nbval in strict mode
# on every chapter, each chapter run as in Colab, a warnings-as-errors build of
# the site with checks on its HTML, and the site driven in Chromium. The
# notebooks are executed with oneDNN on (make execute) and checked with it off,
# so that a cell whose saved text depends on the machine's rounding fails here,
# not on a reader's machine.
test: setup browser lint
	TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest

# The fast lane for day-to-day work: the unit tests and optlab's doctests, on
# every core (pytest-xdist). It leaves out what tests/conftest.py marks `course`
# (nbval, notebook conventions, Colab, site, browser, course editions, the
# chapters' claims) and the wall-clock tests marked `perf`, which a busy
# machine would fail; `make test` runs them all. addopts is emptied because
# pytest.ini's --nbval options would otherwise collect and run every chapter.
unit: setup
	TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest -o addopts="" -p no:cacheprovider -ra \
	    -n auto --doctest-modules -m "not course and not perf" tests code/optlab

# nbval on every chapter with oneDNN off, limited to AVX2, and on one CPU (each
# first shown to change a known-sensitive result); see tests/portable.py.
test-portable: setup
	$(BIN)/python tests/portable.py

# TensorFlow's C++ start-up lines (absl, oneDNN) are written straight to file
# descriptor 2, whatever TF_CPP_MIN_LOG_LEVEL says; with capture_fd_output off
# they reach the terminal, not the notebook, as under nbval.
execute: setup
	@test -n "$(NB)" || { echo "usage: make execute NB=chapters/NN-topic.ipynb"; exit 2; }
	TF_ENABLE_ONEDNN_OPTS=1 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.kernel_name=python3 \
	    --ExecutePreprocessor.timeout=600 \
	    --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.shutdown_kernel=immediate \
	    --ExecutePreprocessor.extra_arguments='["--IPKernelApp.capture_fd_output=False"]' \
	    $(NB)

lab: setup
	$(BIN)/jupyter lab chapters

# An instructor's fork: _config.yml's repository.url, every chapter's Colab
# set-up cell, and the Colab and repository links of the pages follow REPO.
retarget: setup
	@test -n "$(REPO)" || { echo "usage: make retarget REPO=https://github.com/<owner>/<name>"; exit 2; }
	$(BIN)/python tools/course.py retarget "$(REPO)"

# The student edition: the book with every exercise's solution replaced by a
# stub (what to write, then NotImplementedError; the checker call kept), and
# its site built with solutions hidden.
student: setup
	$(BIN)/python tools/course.py student _build/student
	$(BIN)/jupyter-book build _build/student
	@echo "Student notebooks: $(CURDIR)/_build/student/chapters; site: $(CURDIR)/_build/student/_build/html/index.html"

clean:
	rm -rf _build
