# Rapport: `make demo` runs the local pipeline on the sample stream; `make test` runs every check.
# Both create (or reuse) .venv and install the pinned requirements first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT ?= out/demo

.PHONY: install demo test lint typecheck schemas unit clean

$(STAMP): pyproject.toml shared/requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/rapport run --events events/streams/demo.jsonl --out $(DEMO_OUT)
	@echo "Outputs: $(DEMO_OUT)/summary.json, $(DEMO_OUT)/requests.jsonl, $(DEMO_OUT)/quarantine.jsonl"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared cli functions bench

schemas: $(STAMP)
	$(BIN)/rapport schema --out events/schema

test: lint typecheck
	$(BIN)/pytest -n 2 --durations=10

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache .hypothesis
