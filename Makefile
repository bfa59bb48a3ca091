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

.PHONY: notebooks
notebooks: $(STAMP)  # executed .ipynb files (outputs, plots) in notebooks/_build/
	$(BIN)/python notebooks/_run.py

.PHONY: bench-dp
bench-dp: $(STAMP)  # Opacus rows need: $(BIN)/pip install -e '.[bench]'
	$(BIN)/python benchmarks/dp.py

clean:
	rm -rf $(VENV) *.egg-info
