# The two commands of the README: `make run` and `make test`. Everything else is set-up they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
GRAPHIQL := transport/graphiql
NODE_STAMP := $(GRAPHIQL)/node_modules/.installed-stamp

.PHONY: run test lint migrate seed bench clean

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/python server.py serve

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrate: $(STAMP)
	$(BIN)/python server.py migrate

seed: $(STAMP)
	$(BIN)/python server.py seed --scale demo

bench: $(STAMP)
	$(BIN)/python -m bench.dashboard

# The venv is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# GraphiQL's browser files, served by the API (transport/ide.py): the lock's exact packages,
# reinstalled only when package.json or the lock changes.
$(NODE_STAMP): $(GRAPHIQL)/package.json $(GRAPHIQL)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install GraphiQL's files: install Node.js and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	cd $(GRAPHIQL) && npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(GRAPHIQL)/node_modules
