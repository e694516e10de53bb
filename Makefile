# Two commands on a fresh machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/scaleup.yaml
DEMO_OUT ?= runs/demo

.PHONY: demo test lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	rm -rf $(DEMO_OUT)
	$(BIN)/salesops run $(SCENARIO) --out $(DEMO_OUT)
	@echo "report: $(DEMO_OUT)/report.html"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check engine solvers reports tests benchmarks

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run_all.py

docs: $(VENV)/.installed
	$(BIN)/python -m engine.scenario.reference README.md
	$(BIN)/python -m engine.scenario.reference docs/sweeps.md
	$(BIN)/python -m engine.scenario.reference docs/stress.md

clean:
	rm -rf $(VENV) runs .pytest_cache
