# cxlab front door. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE := data/sample
SAMPLE_CUSTOMERS ?= 20000
RUN ?= sample-$(shell date +%Y%m%d-%H%M%S)

.DEFAULT_GOAL := help
.PHONY: help install sample report test lab bench clean

help: ## Show the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install cxlab with its test tools

$(SAMPLE)/.generated: $(VENV)/.installed src/cxlab/synthetic.py
	rm -rf $(SAMPLE)
	$(BIN)/cxlab generate --customers $(SAMPLE_CUSTOMERS) --seed 0 --out $(SAMPLE)
	touch $@

sample: $(SAMPLE)/.generated ## Generate the built-in sample dataset into data/sample

report: $(SAMPLE)/.generated ## Install, generate the sample and run the full analysis into reports/
	$(BIN)/cxlab run --data $(SAMPLE) --out reports/$(RUN)

test: $(VENV)/.installed ## Install, lint and run the whole test suite
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest

lab: $(SAMPLE)/.generated ## Open JupyterLab on notebooks/ with the registered 'cxlab' kernel (prints the URL)
	$(BIN)/python -m ipykernel install --sys-prefix --name cxlab --display-name "Python (cxlab)"
	$(BIN)/jupyter lab notebooks/ --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: $(VENV)/.installed ## Run the benchmarks (1M customers; several minutes)
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_journeys.py
	$(BIN)/python benchmarks/bench_archetypes.py
	$(BIN)/python benchmarks/bench_impact.py
	$(BIN)/python benchmarks/bench_database.py
	$(BIN)/python benchmarks/bench_spark.py
	$(BIN)/python benchmarks/bench_run.py
	$(BIN)/python benchmarks/bench_startup.py

clean: ## Remove the environment, generated sample and caches (keeps reports/)
	rm -rf $(VENV) $(SAMPLE) .pytest_cache .hypothesis
