# keyclients — the two commands of the README, and the developer's helpers.
# `make report` and `make test` create .venv with python3 when it is missing and install the
# package through requirements.lock (a tested, pinned set), so runs are reproducible.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
PYTEST_ARGS ?=

.PHONY: help install install-test install-dev report test test-fast lab bench bench-bar method-bar lock sample clean

help:
	@echo "make report     render the sample report into reports/sample/"
	@echo "make test       run every test (slow statistical ones included)"
	@echo "make test-fast  skip the tests marked slow"
	@echo "make lab        open JupyterLab on notebooks/ (dev extra)"
	@echo "make bench      run the benchmarks in benchmarks/ (BENCH_ARGS='--only classify,report' for some)"
	@echo "make method-bar issue 12's whole bar: 600 worlds, two designs (make test runs the sample design's 280)"
	@echo "make bench-bar  issue 16's bar in one run: report ÷ floor, folder size, classify 1M × 12, SIGTERM"
	@echo "make lock       regenerate requirements.lock in a fresh virtual environment"
	@echo "make sample     regenerate data/sample/ and data/sample-one-company/ (the commands in their README.md)"

$(BIN)/python:
	@echo "creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

# one stamp per set of extras; reinstalled when the dependency list or the lock changes
$(VENV)/.stamp-base: $(BIN)/python pyproject.toml $(LOCK)
	@echo "installing keyclients and its pinned dependencies ($(LOCK)) into $(VENV); a first install takes a few minutes"
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e .
	@touch $@

$(VENV)/.stamp-test: $(BIN)/python pyproject.toml $(LOCK)
	@echo "installing keyclients with its test tools, pinned by $(LOCK), into $(VENV); a first install takes a few minutes"
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[test]'
	@touch $@ $(VENV)/.stamp-base

$(VENV)/.stamp-dev: $(BIN)/python pyproject.toml $(LOCK)
	@echo "installing keyclients with its test and development tools, pinned by $(LOCK), into $(VENV)"
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[test,dev]'
	@touch $@ $(VENV)/.stamp-test $(VENV)/.stamp-base

install: $(VENV)/.stamp-base
install-test: $(VENV)/.stamp-test
install-dev: $(VENV)/.stamp-dev

report: $(VENV)/.stamp-base
	@echo "rendering the sample report into reports/sample/"
	$(BIN)/keyclients run --sample --out reports/sample

test: $(VENV)/.stamp-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.stamp-test
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lab: $(VENV)/.stamp-dev
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: $(VENV)/.stamp-test
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# issue 12's whole bar (600 simulated worlds, the sample design and G = 10, through the default method);
# `make test` runs the sample design's 200 null and 80 planted worlds
method-bar: $(VENV)/.stamp-test
	KEYCLIENTS_METHOD_BAR=1 $(BIN)/python -m pytest -s tests/test_method_check_bar.py $(PYTEST_ARGS)

# issue 16's bar in one run: report ÷ floor (sample, export-shaped world), folder ÷ input, classify
# 1M × 12 (time, peak memory), SIGTERM leaves nothing
bench-bar: $(VENV)/.stamp-test
	$(BIN)/python benchmarks/run.py --only classify,report --repeat 1 $(BENCH_ARGS)

# The lock is what `pip freeze` sees in a fresh venv with every extra installed.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e '.[test,dev,spark]'
	{ echo "# Tested, pinned set for keyclients. Regenerate with: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e'; } > $(LOCK)
	rm -rf .lock-venv

sample: $(VENV)/.stamp-base
	$(BIN)/keyclients synth --out data/sample $$(sed -n 's/^ *keyclients synth //p' data/sample/README.md | head -1)
	$(BIN)/keyclients synth --out data/sample-one-company $$(sed -n 's/^ *keyclients synth //p' data/sample-one-company/README.md | head -1)

clean:
	rm -rf reports .pytest_cache build dist src/*.egg-info
