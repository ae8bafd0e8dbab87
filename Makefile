# The two commands of the quick start: `make run` and `make test`. Only Python 3.11+ and make needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint format bench-smoke messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when the pins change.
$(VENV)/.run-deps: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -c constraints.txt -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -c constraints.txt -e ".[test]"
	touch $@ $(VENV)/.run-deps

## Run Tugi with its demo organisation at http://127.0.0.1:8000 (web server and worker).
run: $(VENV)/.run-deps
	$(BIN)/tugi run --demo

## Lint, type-check and run the whole test suite (SQLite; set DATABASE_URL for PostgreSQL).
test: $(VENV)/.test-deps lint
	$(BIN)/pytest -n 2

lint: $(VENV)/.test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: $(VENV)/.test-deps
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench-smoke: $(VENV)/.test-deps
	$(BIN)/python -m bench.run --scale smoke --db sqlite

## Regenerate the gettext catalogues from the source and compile them.
messages: $(VENV)/.test-deps
	cd src/tugi && ../../$(BIN)/tugi makemessages -l et -l en --no-location --no-obsolete \
		--ignore '*/migrations/*' && ../../$(BIN)/tugi compilemessages

clean:
	rm -rf $(VENV) var
