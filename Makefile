# consent-guard: `make run` runs the whole system locally, `make test` checks everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export AWS_DEFAULT_REGION ?= eu-west-1

VENV := .venv
TOOLS := .venv-tools
CHECKOV := .venv-checkov
PY := $(VENV)/bin/python
# Python 3.13 is what Lambda runs; find it on PATH or through pyenv, or say clearly that it is missing.
PYTHON313 ?= $(shell for c in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	PYENV_VERSION=$$(ls $$HOME/.pyenv/versions 2>/dev/null | grep '^3\.13' | tail -1) $$c -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 \
	&& { PYENV_VERSION=$$(ls $$HOME/.pyenv/versions 2>/dev/null | grep '^3\.13' | tail -1) $$c -c 'import sys; print(sys.executable)'; break; }; done)
PORT ?= 3000
CHROMIUM ?= /usr/bin/chromium

.PHONY: help venv tools chromium lint typecheck validate build deploy test test-unit test-handlers test-e2e scorecard run reset demo token redrive clean lock deploy-console screenshots

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt constraints-dev.txt shared/requirements.txt
	@if [ -z "$(PYTHON313)" ]; then echo "ERROR: Python 3.13 not found. Install it (e.g. 'pyenv install 3.13') or pass PYTHON313=/path/to/python3.13" >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints-dev.txt
	@touch $@

$(TOOLS)/.installed: requirements-tools.txt constraints-tools.txt
	@if [ -z "$(PYTHON313)" ]; then echo "ERROR: Python 3.13 not found (needed by sam build for python3.13)" >&2; exit 1; fi
	@test -x $(TOOLS)/bin/python || $(PYTHON313) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check -r requirements-tools.txt -c constraints-tools.txt
	@touch $@

$(CHECKOV)/.installed: requirements-checkov.txt
	@if [ -z "$(PYTHON313)" ]; then echo "ERROR: Python 3.13 not found (needed for the checkov venv)" >&2; exit 1; fi
	@test -x $(CHECKOV)/bin/python || $(PYTHON313) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

chromium: ## Debian's chromium for the console's browser tests (apt, once; playwright never downloads a browser)
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null && echo "chromium: installed"; \
	else echo "ERROR: $(CHROMIUM) missing: sudo apt-get install chromium (or pass CHROMIUM=/path/to/chromium)" >&2; exit 1; fi

venv: $(VENV)/.installed ## create the app venv (Python 3.13, pinned)
tools: $(TOOLS)/.installed ## create the SAM/cfn-lint tool venv

lint: venv ## ruff + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared functions

validate: tools ## sam validate --lint (with samconfig.toml's environments) and cfn-lint (with the serverless rules)
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --lint --template template.yaml
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --config-file samconfig.toml --config-env default --template template.yaml
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --config-file samconfig.toml --config-env prod --template template.yaml
	$(TOOLS)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules

build: venv tools ## sam build for python3.13/arm64, slim botocore data, then precompile bytecode (read-only code dir)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam build --cached --parallel
	$(PY) -m local.botocore_data .aws-sam/build/PolicyLayer/python
	$(PY) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

ENV ?= default
deploy: build ## sam deploy with samconfig.toml's environment: make deploy [ENV=prod]
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam deploy --config-file samconfig.toml --config-env $(ENV)

test-unit: venv ## pure unit tests (no sockets)
	$(VENV)/bin/pytest -q tests/unit

test-handlers: venv ## handler tests on moto with the events/*.json files
	$(VENV)/bin/pytest -q tests/handlers

test-e2e: venv chromium ## end-to-end over real HTTP against the local stack (and the console in chromium)
	$(VENV)/bin/pytest -q tests/e2e

test: lint validate build chromium ## everything CI runs: lint, template checks, sam build, all tests (browser ones too)
	CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest -q -n 2 --dist loadfile tests

scorecard: venv tools $(CHECKOV)/.installed ## issue 7's security & reliability checks: one line each + TOTAL, scorecard.json
	PYTHONPATH=shared $(PY) -m tests.scorecard $(SCORECARD_ARGS)

.PHONY: bench
bench: venv build ## benchmarks (not tests): cold start, AWS calls, overhead, storm, re-review, policy, memory, cost
	PYTHONPATH=shared $(PY) -m bench $(BENCH_ARGS)

run: venv ## the whole system locally on http://127.0.0.1:$(PORT), state kept in .local/state (RESET=1: start clean)
	PYTHONPATH=shared $(PY) -m local --port $(PORT) $(if $(filter 1 yes true,$(RESET)),--reset)

reset: ## delete the local stack's saved state (.local/state); the next `make run` starts clean
	rm -rf .local/state

demo: venv ## drive a full story against the running local stack
	PYTHONPATH=shared $(PY) -m local.demo --url http://127.0.0.1:$(PORT)

token: venv ## mint a local JWT: make token SUB=alice GROUPS=moderators [SCOPE=consent-guard/platform]
	@PYTHONPATH=shared $(PY) -m local.token --sub "$(or $(SUB),alice)" --groups "$(GROUPS)" --scope "$(SCOPE)"

redrive: venv ## move messages from a DLQ back to its source queue on the local stack: make redrive QUEUE=NotificationDLQ
	PYTHONPATH=shared $(PY) -m local.redrive --url http://127.0.0.1:$(PORT) --queue "$(or $(QUEUE),NotificationDLQ)"

deploy-console: venv ## upload console/ to the deployed stack's bucket: make deploy-console STACK=consent-guard-dev [REGION=eu-west-1]
	@test -n "$(STACK)" || { echo "ERROR: pass STACK=<the deployed stack's name>" >&2; exit 1; }
	$(PY) -m console.deploy --stack "$(STACK)" $(if $(REGION),--region $(REGION)) $(if $(DRY_RUN),--dry-run)

screenshots: venv chromium ## docs/console-*.png: the console's queue and case view, taken against a fresh local stack
	PYTHONPATH=shared CHROMIUM=$(CHROMIUM) $(PY) -m tests.e2e.console_screenshots

lock: ## re-resolve the pinned constraint files
	rm -rf /tmp/cg-lock && $(PYTHON313) -m venv /tmp/cg-lock && /tmp/cg-lock/bin/pip install -q -r requirements-dev.txt && /tmp/cg-lock/bin/pip freeze > constraints-dev.txt

clean: ## remove venvs and build output
	rm -rf $(VENV) $(TOOLS) $(CHECKOV) .aws-sam .local scorecard.json
