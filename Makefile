# The two commands a newcomer needs: `make run` and `make test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Programs installed from Debian's packages when missing (scripts/debian-package.sh).
CHROMIUM ?= $(or $(PORTAL_TEST_CHROMIUM),/usr/bin/chromium)
WRK ?= /usr/bin/wrk

.PHONY: run test bench fuzz chaos install frontend screenshots migrate worker scheduler clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## The H5 front end (frontend/, Vue + Vant built by Vite into frontend/dist, served at /h5/):
## npm ci when the lock changes, a build when a source changes; needs Node.js 20+ and npm.
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html frontend/vite.config.js frontend/vite.admin.config.js

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/.built: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build
	touch $@

frontend: frontend/dist/.built

## Embedded default on http://127.0.0.1:6543 — SQLite, in-process workers, simulators.
run: install frontend
	$(BIN)/portal -c development.ini migrate --demo
	$(BIN)/pserve development.ini

## The whole suite against PostgreSQL, Redis and RabbitMQ on their default local addresses
## (started when not running) and Debian's Chromium (installed when missing).
test: install frontend
	@scripts/services.sh
	@scripts/debian-package.sh $(CHROMIUM) chromium
	PORTAL_TEST_CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

## The browser tests again, then the README's phone screenshots (docs/screenshots/) from them.
screenshots: install frontend
	@scripts/services.sh
	@scripts/debian-package.sh $(CHROMIUM) chromium
	PORTAL_SCREENSHOTS_DOCS=1 PORTAL_TEST_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/browser -q $(PYTEST_ARGS)

## Benchmarks against same-run baselines (README, "Benchmarks"); writes bench/RESULTS.md.
## wrk is installed and PostgreSQL and Redis started as for make test; BENCH_ARGS="--only read --duration 5".
bench: install $(VENV)/.bench-installed
	@scripts/services.sh
	@scripts/debian-package.sh $(WRK) wrk
	$(BIN)/python bench/run.py $(BENCH_ARGS)

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

## Schemathesis with a larger budget and the stateful phase (`make test` runs a small one).
fuzz: install
	PORTAL_FUZZ_MAX_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) PORTAL_FUZZ_STATEFUL=1 $(BIN)/pytest tests/fuzz $(PYTEST_ARGS)

## The chaos test (README, "Chaos test"): its own database portal_chaos and its own redis-server.
chaos: install
	$(BIN)/python -m chaos.run $(CHAOS_ARGS)

## Against PostgreSQL + Redis (see README): migrate, then start workers / scheduler.
migrate: install
	$(BIN)/portal -c $(or $(PORTAL_INI),development.ini) migrate

worker: install
	PORTAL_INI=$(or $(PORTAL_INI),development.ini) $(BIN)/dramatiq portal.worker

scheduler: install
	$(BIN)/portal -c $(or $(PORTAL_INI),development.ini) scheduler

clean:
	rm -rf $(VENV) var build src/*.egg-info .pytest_cache frontend/node_modules frontend/dist
