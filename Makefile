# Newcomer commands: `make run`, `make sandbox`, `make test`. Each sets up .venv on first use.
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run sandbox test lint

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/lvzhi run

sandbox: $(STAMP)
	$(VENV)/bin/lvzhi sandbox

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check .
