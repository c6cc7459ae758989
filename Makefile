# Two commands do everything on a fresh Debian machine with Python: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
CHROMIUM := /usr/bin/chromium
CLIENTS := .venv-clients
# Debian's PostgreSQL server binaries (the journal tests start their own server); the
# version directory is whichever Debian ships, 15 on bookworm.
INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb) /usr/lib/postgresql/15/bin/initdb)

.PHONY: run test lint typecheck pytest clients sandbox bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files make installs re-run only when the pinned lists change.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The real nomic and fh-immuta-utils clients for the fidelity tests, one venv each: their
# pins clash with ours. Rebuilt from scratch when their pinned list changes.
$(CLIENTS)/%/.installed: requirements-clients-%.txt
	rm -rf $(CLIENTS)/$*
	$(PYTHON) -m venv $(CLIENTS)/$*
	$(CLIENTS)/$*/bin/pip install --quiet -r $<
	touch $@

clients: $(CLIENTS)/nomic/.installed $(CLIENTS)/immuta/.installed

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(INITDB):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql

run: $(VENV)/.runtime
	@echo "Workbench: http://localhost:$(PORT)  (sandbox APIs on $${TAGGING_SANDBOX_URL:-http://127.0.0.1:8765})"
	$(BIN)/streamlit run app.py --server.headless true --server.port $(PORT)

sandbox: $(VENV)/.runtime
	$(BIN)/python -m tagging sandbox

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

pytest: $(VENV)/.dev $(CHROMIUM) $(INITDB) clients
	$(BIN)/python -m pytest

test: lint typecheck pytest

# Refresh the README's screenshots from the browser test.
screenshots: $(VENV)/.dev $(CHROMIUM)
	TAGGING_SCREENSHOTS=docs $(BIN)/python -m pytest tests/test_browser.py tests/test_browser_map.py \
		tests/test_browser_tour.py -q

bench: $(VENV)/.runtime
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(CLIENTS) .tagging .pytest_cache .mypy_cache .ruff_cache
