# Set-up in two commands on a fresh machine (README, "Set-up"); .ci/run calls both.
#   make run    creates .venv when it is missing, installs clustersim with its dev extra
#               (pip install -e ".[dev]"), then runs the main job: the embedded baseline,
#               Wallonia 2001-2012, written to ./results/ (ARGS="..." passes options)
#   make test   runs the tests on every core, pytest-xdist's workers taking whole test files
#               (PYTEST_ARGS="-m 'not slow'" for the quick subset, "-n 0" for one process)
# The install is redone only when pyproject.toml changed since (the stamp .venv/.installed).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=
# --dist loadscope: a file's tests stay on one worker, so its module-scoped runs are made once
PYTEST_XDIST := -n auto --dist loadscope

.PHONY: run test install

run: $(VENV)/.installed
	$(BIN)/clustersim run $(ARGS)

test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

install: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[dev]"
	touch $@
