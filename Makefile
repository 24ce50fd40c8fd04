# Quick start: `make demo` and `make test` from a fresh clone with python3 (3.11+) and make.
#   make demo    the seed deck in the terminal; installs the core dependencies only (no PyTorch)
#   make check   the fast loop (under a minute on two cores): lint, type check and every test that needs
#                no browser, LaTeX, Graphviz or long run, with fewer fuzz examples
#   make test    lint + type check + the whole suite with doctests and golden files (test extras; CI)
#   make lint    ruff, mypy and the import contracts (lint-imports: imports run only downward)
#   make golden  rewrite tests/__snapshots__/ from the current output, after a reviewed format change
#   make bench   the speed table of the README
#   make gallery every example network (examples/gallery) in every format, PDFs too, into gallery/
#   make docs    the documentation site (mkdocs.yml, docs/), offline, into site/; a warning is an error
#   make screenshots  the explorer's main views at 1280 and 390 px into docs/screenshots/ (system Chromium)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet
# One venv, one stamp per layer of extras: the demo never waits for PyTorch, Playwright or numba.
CORE := $(VENV)/.core
LINT := $(VENV)/.lint
TEST := $(VENV)/.test
DOCS := $(VENV)/.docs

# the tests `make check` leaves out (markers in pyproject.toml; tests/conftest.py keeps them honest)
CHECK_SKIPS := not slow and not browser and not latex and not graphviz

.PHONY: demo check quick-durations test lint golden bench gallery docs screenshots clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(CORE): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(LINT): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[lint]'
	touch $@ $(CORE)

$(TEST): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test,plot,web,datasets]'
	touch $@ $(LINT) $(CORE)

venv: $(TEST)

demo: $(CORE)
	$(BIN)/stepgrad

lint: $(LINT)
	$(BIN)/ruff check src tests conftest.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

check: $(TEST) lint
	STEPGRAD_QUICK=1 $(BIN)/python -m pytest -n 2 -q -m "$(CHECK_SKIPS)"

quick-durations: $(TEST)  # measure the fast loop's tests, so `make check` can leave out the longest half of its time
	STEPGRAD_QUICK=1 $(BIN)/python -m pytest -n 2 -q -m "$(CHECK_SKIPS)" --store-durations

test: $(TEST) lint
	$(BIN)/python -m pytest -n 2 -q --durations=10

golden: $(TEST)
	$(BIN)/python -m pytest -q tests/test_golden.py --snapshot-update

bench: $(TEST)
	$(PIP) -e '.[bench]'
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/sequences.py

gallery: $(CORE)
	$(BIN)/python examples/gallery/build.py gallery

screenshots: $(TEST)
	$(BIN)/python docs/screenshots.py

# The site builds offline (no web fonts, no external scripts); every example in it runs in `make test`.
$(DOCS): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[docs]'
	touch $@ $(CORE)

docs: $(DOCS)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build site src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
