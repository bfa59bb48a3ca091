PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests

bench: $(STAMP)
	$(BIN)/python benchmarks/core.py

# the suite against jax 0.11 (Python 3.12, which jax 0.11 needs), in its own venv
PY312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
VENV011 := .venv-jax011

$(VENV011)/.installed: pyproject.toml
	$(PY312) -m venv $(VENV011)
	$(VENV011)/bin/pip install -q -e '.[dev]' 'jax>=0.11,<0.12' 'jaxlib>=0.11,<0.12'
	touch $@

.PHONY: test-jax011
test-jax011: $(VENV011)/.installed
	$(VENV011)/bin/python -m pytest -n 2 tests

.PHONY: notebooks
notebooks: $(STAMP)  # executed .ipynb files (outputs, plots) in notebooks/_build/
	$(BIN)/python notebooks/_run.py

.PHONY: bench-dp
bench-dp: $(STAMP)  # Opacus rows need: $(BIN)/pip install -e '.[bench]'
	$(BIN)/python benchmarks/dp.py

clean:
	rm -rf $(VENV) $(VENV011) *.egg-info
