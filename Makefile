# Two commands on a fresh machine: `make demo` runs the level-1 CT story, `make test` the tests.
# Both create or update .venv with the pinned constraints first (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv demo test test-fast bench bench-quick lint format constraints docker-base clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[test,docs]"
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/airflow-mlops demo

# pytest exits 5 when a selection collects no test: that is not a failure here.
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

test-fast: venv
	$(MAKE) test PYTEST_ARGS="-m 'not slow and not docker and not browser'"

bench: venv
	$(BIN)/python benchmarks/run_all.py

bench-quick: venv
	$(BIN)/python benchmarks/run_all.py --quick

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin everything that is installed in .venv (after changing dependencies in pyproject.toml).
constraints: venv
	{ echo "# Exact pins used by README's commands and CI (pip install -c constraints.txt)."; \
	  echo "# Library metadata in pyproject.toml stays loose. Regenerate: make constraints."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^airflow-mlops' \
	    | sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/'; } > constraints.txt

# Docker engine + local Python base image (root on Debian; used by CI and the demo).
docker-base:
	bash scripts/ensure-docker.sh

clean:
	rm -rf $(VENV) .airflow-mlops .pytest_cache .ruff_cache build dist *.egg-info
