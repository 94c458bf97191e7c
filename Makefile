# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: install browser run test faults soak lint bench bench-quick bench-follow es-start es-stop clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## run: local Elasticsearch (unless ELASTICSEARCH_URL), templates, demo data and key, gunicorn on $(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/auditlog run --host $(HOST) --port $(PORT)

## browser: Debian's Chromium and its driver for tests/e2e (installed with apt when root)
BROWSER_INSTALL := apt-get update && apt-get install -y chromium chromium-driver
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Chromium for the browser tests: $(BROWSER_INSTALL)"; \
	  export DEBIAN_FRONTEND=noninteractive; $(BROWSER_INSTALL); \
	else \
	  echo "the browser tests (tests/e2e) need Chromium and chromedriver; run:" >&2; \
	  echo "  sudo sh -c '$(BROWSER_INSTALL)'" >&2; exit 1; \
	fi

## test: the import contracts, then the whole suite against a real Elasticsearch (started when needed)
test: $(STAMP) browser
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## faults: the fault suite (tests/faults: kill -9 of the service and of its own nodes, a 3-node cluster; 4-7 min)
faults: $(STAMP)
	$(BIN)/python -m pytest -m faults tests/faults $(PYTEST_ARGS)

## soak: mixed load against a served instance for SOAK_ARGS (default 10 minutes; see bench/soak.py)
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

bench-follow: $(STAMP)
	$(BIN)/python -m bench.follow $(BENCH_ARGS)

es-start: $(STAMP)
	$(BIN)/auditlog elasticsearch start

es-stop: $(STAMP)
	$(BIN)/auditlog elasticsearch stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
