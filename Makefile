# The two commands: `make run` and `make test`.  See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages the tests start for real.
TEST_SYSTEM_PACKAGES := redis-server postgresql prometheus-alertmanager prometheus chromium khal

.PHONY: bench-slo-evaluate bench-slo-gate bench-api-throttle bench-api bench-ical bench-ical-poll bench-insights bench-pay run test test-fast e2e install install-dev system-deps lint migrate demo bench bench-intake bench-escalation bench-dev-stop bench-embedded-paging clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	DEBUG=1 $(PY) manage.py oncall_demo

## make run: set up, migrate, load the demo, serve web + worker + beat (Ctrl-C stops all)
run: demo
	@echo "serving on http://127.0.0.1:8000/admin/  (log in as admin / admin)"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DEBUG=1 $(VENV)/bin/honcho -f Procfile.dev start

system-deps:
	scripts/ensure-system-packages $(TEST_SYSTEM_PACKAGES)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

## make test: install what the tests need, lint, run the whole suite
test: install-dev system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

## make test-fast: the suite without the end-to-end scenarios (tests/e2e)
test-fast: install-dev system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -m "not e2e"

## make e2e: only the end-to-end scenarios against the whole stack
e2e: install-dev system-deps
	$(VENV)/bin/pytest tests/e2e

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

## make bench-intake: Alertmanager intake benchmark (web server + PostgreSQL + Redis + worker)
bench-intake: install-dev system-deps
	scripts/ensure-system-packages wrk
	$(PY) bench/intake.py

## make bench-escalation: how late steps fire with 1,000 open incidents (workers + beat + Redis)
bench-escalation: install-dev system-deps
	$(PY) bench/escalation.py

## make bench-dev-stop: how long Ctrl-C on `make run` takes, and what it logs
bench-dev-stop: install-dev
	$(PY) bench/dev_stop.py

## make bench-embedded-paging: first-page delays of the embedded default (`make run`'s stack)
bench-embedded-paging: install-dev
	$(PY) bench/embedded_paging.py

## make bench-pay: a month's pay statements for 1,000 rotations (compute, close, read back; query counts)
bench-pay: install-dev
	$(PY) bench/pay_statements.py

## make bench-ical: rendering a team feed (six months, 20 overrides) and polling an unchanged one
bench-ical: install-dev
	$(PY) bench/ical.py

## make bench-slo-gate: the deploy gate's answer time from stored evaluations (service and HTTP,
## throttled at compose's rate in redis, four tokens in turn)
bench-slo-gate: install-dev
	API_THROTTLE_RATE=1200/min $(PY) bench/slo_gate.py --server granian --calls 3000 --tokens 4

## make bench-api-throttle: the API throttle's CPU per request, DRF's cached list against the Lua log
bench-api-throttle: install-dev
	$(PY) bench/api_throttle.py

## make bench-slo-evaluate: one evaluation cycle of 200 ratio SLOs against a real Prometheus
bench-slo-evaluate: install-dev system-deps
	$(PY) bench/slo_evaluate.py --slos 200 --days 3 --cycles 3 --concurrency 8,1

## make bench-api: GET /api/v1/incidents/?team= with 100,000 incidents on PostgreSQL
bench-api: install-dev system-deps
	$(PY) bench/api_incidents.py --postgres

## make bench-ical-poll: unchanged-feed polls/s against the web server + PostgreSQL + Redis (1,000 tokens)
bench-ical-poll: install-dev
	$(PY) bench/ical_poll.py

## make bench-insights: a team's quarter report and the org-wide alert quality on a year of history
bench-insights: install-dev system-deps
	$(PY) bench/insights.py --postgres
