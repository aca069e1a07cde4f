# Every target sets itself up on a fresh machine: a virtual environment in .venv, then the project.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= $(HOME)/credit-home
ROWS ?= 50000
AS_OF ?=
BENCH_ROWS ?= 200000

.PHONY: demo test lint bench suites clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[airflow,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/credit --home $(HOME_DIR) demo --rows $(ROWS) $(if $(AS_OF),--as-of $(AS_OF))
	@echo
	@echo "Look at: $(HOME_DIR)/exports/public/latest.json (public export), $(HOME_DIR)/exports/internal (office),"
	@echo "         $(HOME_DIR)/feedback (department feedback .xlsx), $(HOME_DIR)/validation/docs (GX Data Docs)."
	@echo "Query:   $(BIN)/credit --home $(HOME_DIR) query \"select * from department_quality\""

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy pipelines

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --rows $(BENCH_ROWS)

suites: $(STAMP)
	$(BIN)/python -m pipelines.validate.suites

clean:
	rm -rf $(VENV)
