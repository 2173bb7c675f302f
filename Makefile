# Optimizers, Hands-On: set up, build and test the course.
#   make book     set up .venv and build the site into _build/html
#   make slides   a reveal.js deck per chapter, from the chapter, into _build/slides (works offline)
#   make test     set up .venv, .venv-colab (Colab's versions) and Chromium, make lint, then every test
#                 (unit, doctests, perf, notebooks, nbval, each chapter on the Colab stack, site, browser)
#   make unit     the fast lane: unit tests and optlab's doctests in parallel, no notebooks, site or perf (a few minutes)
#   make lint     ruff check, ruff format --check, lint-imports (pyproject.toml), and the workflow's and CITATION.cff's schemas
#   make test-portable   nbval on every chapter under the arithmetic of other machines (about 10 minutes)
#   make execute NB=chapters/01-gradient-descent.ipynb   refresh a notebook's saved outputs (and notebooks/)
#   make notebooks  the notebook edition in notebooks/ (what Colab opens), from chapters/
#   make lab      open the notebooks in JupyterLab
#   make retarget REPO=https://github.com/<owner>/<name>   point every Colab button and link at a fork
#   make student [STUDENT_REPO=https://github.com/<owner>/<name>]   the student edition (solutions replaced
#                 by stubs, links to STUDENT_REPO only) and its site, in _build/student
#   make grading [ONLY=label,label] [STUDENT_REPO=...]   the checked exercises as an Otter-Grader assignment
#                 (a notebook to hand out, autograder.zip for Gradescope or `otter run`), in _build/grading

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Colab stack (requirements-colab.txt): Colab's package versions, for tests/test_colab.py.
COLAB_VENV  := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
KERAS  := $(shell sed -n 's/^keras==\([0-9.]*\).*/\1/p' requirements.txt)

# TensorFlow's C++ start-up log would otherwise land in saved outputs as stderr.
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup colab-env browser book slides lint test unit test-portable execute notebooks lab retarget student grading clean

help:
	@sed -n '2,17p' Makefile

setup: $(STAMP)

$(STAMP): requirements.txt code/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e code
	@touch $(STAMP)

# A second, small environment with Colab's versions (the oldest stack the course
# supports), where tests/test_colab.py runs each chapter as Colab would; and, in
# its wheelhouse, the course's Keras, which a chapter's set-up cell installs in
# Colab when Colab's Keras is too old for it (see tools/course.py, NEEDS_KERAS).
colab-env: $(COLAB_STAMP)

$(COLAB_STAMP): requirements-colab.txt requirements.txt
	@test -x $(COLAB_VENV)/bin/python || $(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-colab.txt
	$(COLAB_VENV)/bin/python -m pip download --quiet --disable-pip-version-check --no-deps \
	    --dest $(COLAB_VENV)/wheelhouse keras==$(KERAS)
	@touch $(COLAB_STAMP)

book: setup
	$(BIN)/jupyter-book build .
	@echo "The site is at $(CURDIR)/_build/html/index.html"

# A reveal.js deck per chapter, made from the chapter (tools/slides.py), that works offline.
slides: setup
	$(BIN)/python tools/slides.py _build/slides

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

# The developer tools, with their settings in pyproject.toml (and chapters/ruff.toml:
# the chapters' code at most 79 columns wide): ruff's lint rules
# and formatting (check only: `$(BIN)/ruff format .` applies it), and
# import-linter's contracts between optlab's modules (it imports optlab, which
# setup installs with `pip install -e code`); check-jsonschema validates the
# workflow and CITATION.cff against the schemas it ships (no network).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.citation-file-format CITATION.cff

# pytest.ini collects tests/, chapters/ and code/optlab: the unit tests and the
# perf tests, optlab's doctests, the notebook conventions, nbval in strict mode
# on every chapter, each chapter run as in Colab, a warnings-as-errors build of
# the site with checks on its HTML, and the site driven in Chromium. The
# notebooks are executed with oneDNN on (make execute) and checked with it off,
# so that a cell whose saved text depends on the machine's rounding fails here,
# not on a reader's machine. The wall-clock tests (`perf`) run first, alone; the
# rest on two workers (pytest-xdist), each file on one of them (a notebook's
# cells share its kernel, a module's tests its fixtures), but test_colab's
# chapters spread over both (tests/conftest.py). On 2 cores that takes about
# 0.6 of the time of one worker.
test: setup colab-env browser lint
	TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest -m perf
	TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest -m "not perf" -n 2 --dist loadfile

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
	$(BIN)/python tools/editions.py notebooks

# The notebook edition (notebooks/): the chapters as Colab and Jupyter render
# them (plain Markdown exercises, folded solutions, no outputs), which the
# website's Colab button opens. `make execute` rewrites it too; tests/test_editions.py
# fails when it differs from what tools/editions.py makes of chapters/.
notebooks: setup
	$(BIN)/python tools/editions.py notebooks

lab: setup
	$(BIN)/jupyter lab chapters

# An instructor's fork: _config.yml's repository.url, every chapter's Colab
# set-up cell, and the Colab and repository links of the pages follow REPO.
retarget: setup
	@test -n "$(REPO)" || { echo "usage: make retarget REPO=https://github.com/<owner>/<name>"; exit 2; }
	$(BIN)/python tools/course.py retarget "$(REPO)"
	$(BIN)/python tools/editions.py notebooks

# The student edition: the book with every exercise's solution replaced by a
# stub (what to write, then NotImplementedError; the checker call kept), its
# notebook edition and its site built with solutions hidden. It is published as
# a repository of its own, STUDENT_REPO (default: this one's address + -student),
# and every link, Colab button and set-up cell in it points there.
student: setup
	$(BIN)/python tools/editions.py student _build/student $(STUDENT_REPO)
	$(BIN)/jupyter-book build _build/student
	@echo "Student notebooks: $(CURDIR)/_build/student/chapters; site: $(CURDIR)/_build/student/_build/html/index.html"

# The checked exercises as an Otter-Grader assignment (tools/grading.py): the
# notebook to hand out and autograder.zip, for Gradescope or `otter run`, in
# _build/grading. ONLY=label,label picks exercises; the notebook links to
# STUDENT_REPO's website and its Colab set-up cell clones STUDENT_REPO
# (default: the student edition's address, as for `make student`).
grading: setup
	$(BIN)/python tools/grading.py _build/grading $(if $(ONLY),--only "$(ONLY)") $(if $(STUDENT_REPO),--repository "$(STUDENT_REPO)")

clean:
	rm -rf _build
