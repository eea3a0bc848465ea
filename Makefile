# Every target creates .venv on first use, so `make site` and `make test` work on a fresh
# clone with only Python 3.11+ installed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help site real test test-all test-stress lint format eval bench bench-classify bench-spikes bench-full demo clean audit plotly-bundle

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,search]'
	touch $(STAMP)

site: $(STAMP) ## Build site/ from the bundled synthetic demo data
	$(PY) build.py

real: $(STAMP) ## Build out/real/ from the real CFPB samples in ../shared/data/real
	$(PY) build.py --input ../shared/data/real/cfpb/*.csv --out out/real

# make test: every test, in parallel (pytest-xdist; WORKERS=0 for one process); the browser
# crawls every page template and chart kind and a seeded sample of the other pages.
# make test-all: the same with every page of both sites crawled (the nightly publish runs it).
# make test-stress: the suite STRESS_RUNS times, shuffled, with both cores and memory kept
# busy (tests/stress.py); STRESS_ARGS go to pytest.
WORKERS     ?= auto
STRESS_RUNS ?= 5
STRESS_ARGS ?= --crawl-sample=0
PYTEST      := $(PY) -m pytest -q -n $(WORKERS) --durations=25

test: $(STAMP) ## Run the whole test suite in parallel (browser tests need Chromium)
	$(PYTEST)

test-all: $(STAMP) ## make test, with the browser crawling every page of both sites
	$(PYTEST) --crawl=all

test-stress: $(STAMP) ## The suite STRESS_RUNS times (5), shuffled, under CPU and memory load
	$(PY) tests/stress.py --runs $(STRESS_RUNS) -- $(STRESS_ARGS)

lint: $(STAMP) ## ruff check, ruff format --check, actionlint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@if ls .github/workflows/*.yml >/dev/null 2>&1; then $(VENV)/bin/actionlint; fi

format: $(STAMP) ## Apply ruff's formatting and fixable lint
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# make eval: the text rules against the gold set (data/gold; rewrites data/gold/agreement.json
# and data/gold/results.json, which the methodology page shows) and against the CFPB labels.
eval: $(STAMP) ## Score the text rules: gold set (writes data/gold/results.json), CFPB labels
	$(PY) -m collectwatch.evaluate --gold --write ../shared/data/real/cfpb/*.csv

demo: $(STAMP) ## Regenerate the synthetic demo data
	$(PY) data/demo/generate.py

bench: $(STAMP) ## Benchmarks at scale; writes docs/benchmarks.md (not part of make test)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/classify.py

bench-classify: $(STAMP) ## Only classify at 2 M rows against its last per-behaviour revision
	$(PY) benchmarks/classify.py

bench-spikes: $(STAMP) ## Only the spike rule's false alarms and power (its docs/benchmarks.md section)
	$(PY) benchmarks/spikes.py

bench-full: $(STAMP) ## The whole build at 1.4 M rows vs the host's limits; docs/benchmarks.md
	$(PY) benchmarks/full.py

audit: $(STAMP) ## Lighthouse (mobile) and page weight of key pages; docs/benchmarks.md (needs Node)
	cd tools/audit && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	$(PY) benchmarks/audit.py

plotly-bundle: ## Rebuild the site's partial plotly.js from pinned npm packages (needs Node)
	tools/plotly-bundle/build.sh

clean: ## Remove build output and caches
	rm -rf site out .cache .pytest_cache
