# Upstream: two commands on a fresh machine.
#   make demo   create .venv, install, run the England evidence ensemble with three intervention packages:
#               surge table on the terminal, out/report.html (board report) and out/map.html (system map)
#   make app    start the web app on the built-in England model (http://127.0.0.1:8050)
#   make test   create .venv, install, run the quick tests (all but those marked slow; under 5 minutes)
#   make test-slow / make test-all   the slow tests (PySD round trips, notebooks, big ensembles) / everything
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out

.PHONY: demo test test-slow test-all bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,distributed]"
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/upstream report scenarios/england-evidence.yaml --members 2000 \
		--package upstream-mix --package downstream-capacity --package crisis-alternatives -o $(OUT)/report.html
	$(BIN)/upstream map england --package upstream-mix --package downstream-capacity -o $(OUT)/map.html --quiet
	@echo "open $(OUT)/report.html (the board report) and $(OUT)/map.html (the system map) in a browser"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow" --durations=10

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m slow --durations=10

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=10

.PHONY: app
app: $(STAMP)
	$(BIN)/upstream app england

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_ensembles.py
	$(BIN)/python benchmarks/bench_interventions.py
	$(BIN)/python benchmarks/bench_capacity.py
	$(BIN)/python benchmarks/bench_vensim.py
	$(BIN)/python benchmarks/bench_backends.py
	$(BIN)/python benchmarks/bench_strata.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_app.py
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_calibration.py
	$(BIN)/python benchmarks/sbc_calibration.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy simulator

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .mypy_cache .hypothesis
