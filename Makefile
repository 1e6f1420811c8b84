# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install assets system-packages build run serve test lint bench clean

install: $(VENV)/.installed

# Every Python package at the version constraints.txt pins.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==26.3
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# chromium and npm from Debian's packages, when missing (see the script).
system-packages:
	@bash scripts/system-packages.sh

# The query editor's assets come from the npm registry at the versions package-lock.json pins.
assets: src/tipkg/static/vendor/yasgui.min.js

src/tipkg/static/vendor/yasgui.min.js: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	bash scripts/vendor-assets.sh

build: install
	$(BIN)/tipkg build

# Built under the URL it is served at (the server answers under its build's base IRI), so
# every IRI in dist/ dereferences from it.
run: install assets
	$(BIN)/tipkg --base-iri http://$(HOST):$(PORT)/ build
	@echo "dumps are in $(CURDIR)/dist/; serving at http://$(HOST):$(PORT)/"
	$(BIN)/tipkg --base-iri http://$(HOST):$(PORT)/ serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install system-packages assets lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(BIN)/tipkg build
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/search.py

clean:
	rm -rf dist build tests/artifacts .pytest_cache node_modules src/tipkg/static/vendor
