# Rapport: `make demo` runs the local pipeline on the sample stream; `make test` runs every check.
# Both create (or reuse) .venv and install the pinned requirements first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT ?= out/demo

.PHONY: install demo test lint typecheck schemas browser clean

$(STAMP): pyproject.toml shared/requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The demo stream's last full week is 9–15 November 2026; Monday 16 November at 18:00 UTC is
# past 08:00 in every demo member's timezone, so every subscribed member's digest is due.
DEMO_NOW ?= 2026-11-16T18:00:00Z

demo: $(STAMP)
	$(BIN)/rapport run --events events/streams/demo.jsonl --out $(DEMO_OUT) --now $(DEMO_NOW)
	@echo "Outputs: $(DEMO_OUT)/summary.json, requests.jsonl, quarantine.jsonl and digests/*.eml, *.html, *.json"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared cli functions bench

schemas: $(STAMP)
	$(BIN)/rapport schema --out events/schema

# The digest is checked in a real headless Chromium: Debian's, installed here when missing.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "Installing Debian chromium and chromium-driver for the browser test"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver \
	  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver; }; \
	fi

test: lint typecheck browser
	$(BIN)/pytest -n 2 --durations=10

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache .hypothesis
