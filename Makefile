# bemanning — two commands for a newcomer: `make demo` and `make test`.
# Both bootstrap .venv from the committed lock file (requirements.lock).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
PYTEST_ARGS ?=

.PHONY: install demo test lint typecheck lock benchmarks clean serve-demo

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 not found as '$(PYTHON)'; set PYTHON=..."; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

## install: create .venv from the lock file (nothing else)
install: $(STAMP)

## demo: simulate the district as raw exports, assemble, validate, build features, train, forecast, plan, report
demo: $(STAMP)
	MPLBACKEND=Agg bash scripts/demo.sh $(DEMO_DIR)

## test: lint, type-check and run the whole suite
test: $(STAMP)
	$(BIN)/ruff check data simulate features models training serving tests benchmarks
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check data simulate features models training serving tests benchmarks
	$(BIN)/ruff format --check data simulate features models training serving tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

## lock: re-resolve requirements.lock from pyproject.toml (maintainers only)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements.lock

## benchmarks: run every benchmark (prints figures and ratios; asserts nothing)
benchmarks: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache mlflow.db mlruns
