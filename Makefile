# The two commands of the README:
#   make demo   set up everything and run the hub with demo data on http://127.0.0.1:5000
#   make test   set up everything and run the whole test suite (PostgreSQL, Redis, Chromium),
#               then the app's tests again on SQLite, the embedded default
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
PYTEST_ARGS ?=
# Every install takes the tested versions from constraints.txt (how to upgrade: see there).
PIP_INSTALL := $(PY) -m pip install --quiet --constraint constraints.txt
PACKAGING := setup.cfg setup.py pyproject.toml simulators/pyproject.toml constraints.txt

.PHONY: demo test bench install install-demo services lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# What the demo needs: the hub and the simulators, nothing of the dev extra. The hub is
# editable; the simulators are a plain install (their dependencies), and run from the
# checkout, where they come first on sys.path.
$(VENV)/.installed-demo: $(PACKAGING) | $(PY)
	$(PIP_INSTALL) pip
	$(PIP_INSTALL) -e . ./simulators
	touch $@

# Development and tests: the hub with its dev extra, and the simulators.
$(VENV)/.installed: $(PACKAGING) | $(PY)
	$(PIP_INSTALL) pip
	$(PIP_INSTALL) -e '.[dev]' ./simulators
	touch $@

install-demo: $(VENV)/.installed-demo

install: $(VENV)/.installed

demo: install-demo
	$(PY) -m hub.demo

services:
	bash scripts/ensure-services

# The second pass runs the app's tests again on the embedded default (SQLite): every API
# endpoint, UI page and action, sync, webhook and job; not the tests that need no database
# (schemas, simulators), PostgreSQL's own faults, or the fuzzers, which the first pass ran.
SQLITE_TESTS ?= tests/api tests/ui tests/open311_facade tests/sync tests/webhooks \
	tests/services tests/tasks tests/security/test_access.py \
	tests/security/test_attachments.py tests/security/test_secrets.py \
	tests/test_demo.py tests/test_health.py tests/test_cli.py tests/test_sla_cli.py \
	tests/test_seed.py

# `services` has started MariaDB: its tests fail rather than skip if it cannot be reached.
test: export HUB_TEST_REQUIRE_MARIADB = 1
test: install services lint
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)
	$(PY) -m pytest -n 2 --backend=sqlite $(PYTEST_ARGS) $(SQLITE_TESTS)

bench: install services
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check hub connectors tests bench
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache build dist
