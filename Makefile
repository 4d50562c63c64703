# The two commands of the README: `make run` and `make test`. Both set up everything on a bare machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
DB := data/warehouse.duckdb
DEMO := data/demo
PORT ?= 8501

.PHONY: run test lint setup browser demo bench clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the browser tests and the report charts; installed when we are root, else explained.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium (browser tests, report charts)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "NOTE: chromium is not installed and this user cannot install it (sudo apt-get install chromium)."; \
	    echo "      Browser tests will be skipped with that reason; report charts use the fallback renderer."; \
	  fi; }

# --messy: the vendor-style export is loaded too, so Data quality shows quarantined rows as in the README.
$(DB): $(STAMP)
	$(PY) -m pipelines demo --out $(DEMO) --db $(DB) --messy

demo: $(DB)

run: $(STAMP) $(DB)
	$(VENV)/bin/streamlit run ui/serve.py --server.port $(PORT) --server.headless true \
	  --server.address 127.0.0.1 --browser.gatherUsageStats false

# The house habits (pyproject.toml): ruff's lint and format, and mypy's type check.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Two workers: the suite is mostly DuckDB and great-expectations work on a 2-core machine. The 25 slowest
# tests are listed at the end, so the CI log says where its time goes.
PYTEST_ARGS ?= -n 2 --durations=25
test: $(STAMP) browser lint
	$(PY) -m pytest $(PYTEST_ARGS)

# BENCH_ARGS=--quick for a smoke run; the default measures 25k, 250k and 1M students a year.
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data/demo $(DB)
