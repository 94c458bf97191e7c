# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: install run test faults soak lint bench bench-quick es-start es-stop clean

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

## test: the import contracts, then the whole suite against a real Elasticsearch (started when needed)
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## faults: the fault suite (tests/faults: kill -9 of the service and of its own nodes, a 3-node cluster; ~6 min)
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

es-start: $(STAMP)
	$(BIN)/auditlog elasticsearch start

es-stop: $(STAMP)
	$(BIN)/auditlog elasticsearch stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
