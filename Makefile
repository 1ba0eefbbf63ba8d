# Rapport: `make demo` runs the local pipeline on the sample stream; `make test` runs every check.
# Both create (or reuse) .venv and install it from the hashed locks first (`make lock` writes them).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT ?= out/demo

.PHONY: install demo test test-unit test-313 lint typecheck security schemas asyncapi-lint browser screenshot build clean bench corpus model evaluate
.PHONY: security-translated validate cdk-venv cdk-synth typecheck-cdk lock

# Every venv is installed from a hashed lock (*.txt, written by `make lock` from the *.in next to
# it), so a fresh clone gets exactly what CI tested. uv installs them: pip, itself hash-checked
# from requirements-uv.txt, installs uv once.
UV_VENV := .venv-uv
UV      := $(UV_VENV)/bin/uv
UV_SYNC  = $(UV) pip sync --quiet --require-hashes --python

$(UV): requirements-uv.txt
	test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.txt
	touch $@

# venv(dir, python): create the venv at dir with that interpreter unless it exists.
venv = test -x $(1)/bin/python || $(UV) venv --quiet --python $(2) $(1)

$(STAMP): pyproject.toml requirements-dev.txt $(UV)
	$(call venv,$(VENV),$(PYTHON))
	$(UV_SYNC) $(BIN)/python requirements-dev.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# The lock files, from the *.in files: universal (every platform and Python the project
# supports; the layer's and the SAM CLI's for Python 3.13, Lambda's runtime), with hashes.
LOCKS := shared/requirements requirements-dev requirements-sam requirements-checkov infra/cdk/requirements requirements-uv
LOCK_PYTHON = $(if $(filter shared/requirements requirements-sam,$(1)),3.13,3.11)

lock: $(UV)
	$(foreach lock,$(LOCKS),$(UV) pip compile --quiet --universal --generate-hashes \
	  --python-version $(call LOCK_PYTHON,$(lock)) --custom-compile-command "make lock" \
	  $(lock).in -o $(lock).txt &&) true

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
	$(BIN)/mypy shared cli functions bench infra tests tools training

schemas: $(STAMP)
	$(BIN)/rapport schema --out events/schema --asyncapi events/asyncapi.yaml

# `make test` validates events/asyncapi.yaml against the AsyncAPI JSON Schema, offline. This also
# runs the official JavaScript parser (node and the npm registry; pinned by its lock file).
ASYNCAPI_LINT := tools/asyncapi-lint

$(ASYNCAPI_LINT)/node_modules/.installed: $(ASYNCAPI_LINT)/package-lock.json
	cd $(ASYNCAPI_LINT) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

asyncapi-lint: $(ASYNCAPI_LINT)/node_modules/.installed
	node $(ASYNCAPI_LINT)/check.mjs events/asyncapi.yaml

# The reason reader (docs/classification.md): `make corpus` splits the written notes in
# data/reasons/raw into train/dev/test; `make model` trains on train, calibrates on dev and writes
# shared/rapport/reasons/reader.bin (scikit-learn is a dev-only tool: the Lambda reads the file
# with the stdlib); `make evaluate` prints the test split's figures, which nothing was tuned on.
corpus: $(STAMP)
	$(BIN)/python -m training.corpus

model: corpus
	OMP_NUM_THREADS=1 $(BIN)/python -m training.train

evaluate: $(STAMP)
	$(BIN)/rapport classify --evaluate data/reasons/test.jsonl

# Performance figures of issue 7 (docs/performance.md): writes bench/results.json and prints a table.
bench: $(STAMP)
	$(BIN)/python -m bench.run --out bench/results.json

# The digest is checked in a real headless Chromium: Debian's, installed here when missing.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "Installing Debian chromium and chromium-driver for the browser test"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver \
	  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver; }; \
	fi

# The README's pictures of one demo digest, from a fresh `make demo`: docs/images/digest.png (an
# 800 px desktop window) and docs/images/digest-phone.png (a 360 px phone, device emulation).
SCREENSHOT_DIGEST ?= $(DEMO_OUT)/digests/m-priya_2026-11-09.html

screenshot: demo browser
	$(BIN)/python -m tools.screenshot --digest $(SCREENSHOT_DIGEST) --out docs/images

# Static security scan of the template, offline. checkov pins its own boto3 and many more, so it
# lives in its own venv; every skipped check is justified in the template (Metadata: checkov).
CHECKOV_VENV := .venv-checkov

$(CHECKOV_VENV)/.installed: requirements-checkov.txt $(UV)
	$(call venv,$(CHECKOV_VENV),$(PYTHON))
	$(UV_SYNC) $(CHECKOV_VENV)/bin/python requirements-checkov.txt
	touch $@

security: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --file infra/template.yaml --framework cloudformation \
	  --skip-download --compact --quiet

# The unit tests alone (tests/unit): no network (sockets refused), no moto server, no browser,
# each property test at most 10 examples (tests/support/examples.py). `make test` runs them in full.
# --dist loadfile: a module's fixtures (the reader's model, the translated template) load once.
test-unit: $(STAMP)
	RAPPORT_QUICK_TESTS=1 $(BIN)/pytest -n 2 --dist loadfile -q -p no:cacheprovider tests/unit

# --dist loadfile: a file's tests run together on one worker. `rapport run` resets moto's
# process-wide state when it starts, so a module's resources must not outlive its own file.
test: lint typecheck typecheck-cdk security security-translated validate build cdk-venv browser
	$(BIN)/pytest -n 2 --dist loadfile --durations=10
	$(MAKE) --no-print-directory test-313

# The Lambda functions run on Python 3.13: the unit and integration tests run there too, from
# the same lock (the suite as a whole runs on $(PYTHON) above).
VENV_313 := .venv-313

$(VENV_313)/.installed: pyproject.toml requirements-dev.txt $(UV)
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (set PYTHON313=/path/to/python3.13)"; exit 1; }
	$(call venv,$(VENV_313),$(PYTHON313))
	$(UV_SYNC) $(VENV_313)/bin/python requirements-dev.txt
	$(UV) pip install --quiet --python $(VENV_313)/bin/python --no-deps -e .
	touch $@

test-313: $(VENV_313)/.installed
	$(VENV_313)/bin/pytest -n 2 --dist loadfile -q tests/unit tests/integration

# `sam build` needs the functions' runtime (Python 3.13) on PATH, and the SAM CLI pins its own
# boto3 and cfn-lint, so it lives in a separate venv.
PYTHON313 ?= $(shell for p in $(HOME)/.pyenv/versions/3.13*/bin/python3.13 python3.13; do \
  "$$p" -c "" 2>/dev/null && { command -v "$$p"; break; }; done)
SAM_VENV := .venv-sam

$(SAM_VENV)/.installed: requirements-sam.txt $(UV)
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (set PYTHON313=/path/to/python3.13)"; exit 1; }
	$(call venv,$(SAM_VENV),$(PYTHON313))
	$(UV_SYNC) $(SAM_VENV)/bin/python requirements-sam.txt
	touch $@

build: $(SAM_VENV)/.installed $(STAMP)
	cd infra && PATH="$(dir $(PYTHON313)):$$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	  ../$(SAM_VENV)/bin/sam build --template-file template.yaml --build-dir ../build/sam
	$(BIN)/python infra/artifacts.py build/sam

clean:
	rm -rf $(VENV) $(VENV_313) $(UV_VENV) $(SAM_VENV) $(CHECKOV_VENV) $(CDK_VENV) $(ASYNCAPI_LINT)/node_modules out build .mypy_cache .ruff_cache .pytest_cache .hypothesis

# What deploys is the template after the SAM transform, so cfn-lint and checkov check that too:
# translated offline (infra/cdk/sam_translate.py, which the CDK app includes too). A SAM
# resource's skips cover what SAM generates from it, e.g. the function URL of UnsubscribeFunction.
TRANSLATED := build/translated/template.json

security-translated: $(CHECKOV_VENV)/.installed $(STAMP)
	$(BIN)/python infra/cdk/sam_translate.py --out $(TRANSLATED)
	$(BIN)/cfn-lint --regions us-east-1 -- $(TRANSLATED)
	$(CHECKOV_VENV)/bin/checkov --file $(TRANSLATED) --framework cloudformation \
	  --skip-download --compact --quiet

# The SAM CLI's own check of the template (cfn-lint), offline.
validate: $(SAM_VENV)/.installed
	cd infra && SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	  ../$(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

# The CDK app (infra/cdk, docs/deploy.md) in its own venv: aws-cdk-lib brings jsii, which runs
# the construct library on node. `python app.py` synthesises offline, without the CDK CLI, from
# the artifacts of `make build`. jsii warns on every run that node 20 is past its end of life.
CDK_VENV := infra/cdk/.venv
CDK_OUT  ?= build/cdk
CDK_ENV  := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

$(CDK_VENV)/.installed: infra/cdk/requirements.txt $(UV)
	$(call venv,$(CDK_VENV),$(PYTHON))
	$(UV_SYNC) $(CDK_VENV)/bin/python infra/cdk/requirements.txt
	touch $@

cdk-venv: $(CDK_VENV)/.installed

cdk-synth: $(CDK_VENV)/.installed build
	rm -rf $(CDK_OUT)
	$(CDK_ENV) CDK_OUTDIR=$(CDK_OUT) $(CDK_VENV)/bin/python infra/cdk/app.py
	@echo "Cloud assembly: $(CDK_OUT) (deploy: cdk deploy --app $(CDK_OUT), docs/deploy.md)"

# infra/cdk's modules import each other as top-level modules (app.py runs from there), so mypy
# checks them from there; `make typecheck` leaves the directory out (pyproject.toml).
typecheck-cdk: $(STAMP)
	cd infra/cdk && ../../$(BIN)/mypy --config-file ../../pyproject.toml \
	  app.py example_embedding.py rapport_cdk.py sam_translate.py
