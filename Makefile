# Two commands on a fresh machine:
#   make demo   the main job on the local stack (Kafka + Postgres started by the project)
#   make test   the whole test suite, with everything it needs started by itself
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint stack-up stack-down clean

$(STAMP): pyproject.toml
	@bash scripts/system-deps.sh
	@echo "[setup] creating $(VENV) and installing sankalp with its test tools ..."
	@test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --progress-bar off -e '.[test]'
	@touch $(STAMP)
	@echo "[setup] done"

demo: $(STAMP)
	@$(VENV)/bin/sankalp demo

lint: $(STAMP)
	@$(VENV)/bin/ruff check .

test: $(STAMP) lint
	@$(VENV)/bin/pytest -v $(PYTEST_ARGS)

stack-up: $(STAMP)
	@$(VENV)/bin/sankalp stack up

stack-down: $(STAMP)
	@$(VENV)/bin/sankalp stack down

clean: stack-down
	rm -rf $(VENV) .stack .cache
