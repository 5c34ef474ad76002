# cxlab front door. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE := data/sample
SAMPLE_CUSTOMERS ?= 20000
RUN ?= sample-$(shell date +%Y%m%d-%H%M%S)
# pytest-xdist workers; each test file runs whole on one worker, so module fixtures are built once
TEST_WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help install sample report test lab bench clean

help: ## Show the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

# What a run needs (cxlab and its database drivers). Spark, the browser driver and the test
# tools come with `make test` only.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[db]"
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install cxlab with what a run needs

$(SAMPLE)/.generated: $(VENV)/.installed src/cxlab/synthetic.py
	rm -rf $(SAMPLE)
	$(BIN)/cxlab generate --customers $(SAMPLE_CUSTOMERS) --seed 0 --out $(SAMPLE)
	touch $@

sample: $(SAMPLE)/.generated ## Generate the built-in sample dataset into data/sample

report: $(SAMPLE)/.generated ## Install, generate the sample and run the full analysis into reports/
	$(BIN)/cxlab run --data $(SAMPLE) --out reports/$(RUN)

test: $(VENV)/.test-installed ## Install the test tools, lint and run the whole test suite
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lab: $(SAMPLE)/.generated ## Open JupyterLab on notebooks/ with the registered 'cxlab' kernel (prints the URL)
	$(BIN)/python -m ipykernel install --sys-prefix --name cxlab --display-name "Python (cxlab)"
	$(BIN)/jupyter lab notebooks/ --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: $(VENV)/.test-installed ## Run the benchmarks (1M customers; about half an hour), then one summary table
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_journeys.py
	$(BIN)/python benchmarks/bench_archetypes.py
	$(BIN)/python benchmarks/bench_impact.py
	$(BIN)/python benchmarks/bench_churn_cohorts.py
	$(BIN)/python benchmarks/bench_comments.py
	$(BIN)/python benchmarks/bench_database.py
	$(BIN)/python benchmarks/bench_spark.py
	$(BIN)/python benchmarks/bench_run.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/summary.py

clean: ## Remove the environment, generated sample and caches (keeps reports/)
	rm -rf $(VENV) $(SAMPLE) .pytest_cache .hypothesis
