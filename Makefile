# The two commands of the README:
#   make demo   set up everything and run the hub with demo data on http://127.0.0.1:5000
#   make test   set up everything and run the whole test suite (PostgreSQL, Redis, Chromium)
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: demo test bench install services lint clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m hub.demo

services:
	bash scripts/ensure-services

test: install services
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: install services
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check hub connectors tests bench

clean:
	rm -rf $(VENV) var .pytest_cache
