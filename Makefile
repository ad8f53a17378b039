# Newcomer commands: `make run`, `make sandbox`, `make test`. Each sets up .venv on first use.
# The bot and the sandbox need only the package; the tests and the linters also need the dev tools.
VENV := .venv
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-installed-stamp
ARGS ?=

.PHONY: run sandbox test lint

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP) $(DEV_STAMP)

run: $(STAMP)
	$(VENV)/bin/lvzhi run

# `make sandbox ARGS=--keep` keeps the demo data of the previous run
sandbox: $(STAMP)
	$(VENV)/bin/lvzhi sandbox $(ARGS)

# The tests wait on the bot much of the time (its paced sends, bot processes started and killed,
# PostgreSQL): with 4 workers on 2 cores about a quarter of the CPU stayed idle; 6 keep both busy.
TEST_WORKERS ?= 6

test: $(DEV_STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup $(ARGS)

# ruff, the layers (import-linter contracts in pyproject.toml: a wrong-way import or a cycle fails),
# then the types (mypy, [tool.mypy] in pyproject.toml)
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
