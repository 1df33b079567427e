# Vigil — see README.md. `make run` serves the console; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Leptos reads these at build and run time; fixing them keeps cargo from
# rebuilding dependencies between `cargo test` and `.ci/build-site`.
export LEPTOS_OUTPUT_NAME := vigil
export LEPTOS_SITE_ROOT := target/site
export LEPTOS_SITE_PKG_DIR := pkg

PORT ?= 3000
PG_PORT ?= 54329
export VIGIL_PG_PORT := $(PG_PORT)
DEMO_DAYS ?= 30
DEMO_EVENTS ?= 200000

.PHONY: help run test stop db demo bench bench-monitor reliability build release clean-data cluster cluster-test

help:
	@echo "make run    install what is missing, start PostgreSQL, load demo data, serve http://127.0.0.1:$(PORT)"
	@echo "make test   install what is missing and run every test (Rust + Playwright in Chromium)"
	@echo "make stop   stop Vigil's private PostgreSQL cluster"
	@echo "make demo   add DEMO_EVENTS demo events over DEMO_DAYS days"
	@echo "make bench  load 10 M demo events and print ingest, explorer and export figures (release build)"
	@echo "make bench-monitor  what alert evaluation costs ingest, notification latency, check schedules (release build)"
	@echo "make reliability  fuzz, faults, schemathesis and a 5-minute mixed load, with a summary (release build)"
	@echo "make cluster       primary + streaming standby, two instances, nginx on :$(PORT); Ctrl-C stops it"
	@echo "make cluster-test  the same, then the scale-out checks (reads on the standby, fallback, lease takeover)"

# --- the database: DATABASE_URL when set, else a private cluster in .vigil/pg ---
db:
	@if [ -z "$$DATABASE_URL" ]; then .ci/postgres start >/dev/null && .ci/postgres createdb vigil; fi

stop:
	@.ci/postgres stop

clean-data: stop
	rm -rf .vigil/pg .vigil/pg.log .vigil/ingest-key .vigil/export-key .vigil/secret .vigil/checkpoints.jsonl

# --- build ---
build:
	@.ci/install-tools build
	@.ci/build-site

release:
	@.ci/release

# --- run: release build, demo data on first start, serve until Ctrl-C ---
run: release
	@PORT=$(PORT) DEMO_DAYS=$(DEMO_DAYS) DEMO_EVENTS=$(DEMO_EVENTS) .ci/serve

demo: release db
	@export DATABASE_URL="$${DATABASE_URL:-$$(.ci/postgres url vigil)}"; \
	export VIGIL_GEOIP_DB="$${VIGIL_GEOIP_DB:-$(CURDIR)/.vigil/geo/dbip-city-lite.mmdb}"; \
	target/release/vigil demo --days $(DEMO_DAYS) --events $(DEMO_EVENTS) --seed $$RANDOM

bench: release
	@.ci/bench

bench-monitor: release
	@.ci/bench-monitor

cluster: release
	@.ci/install-tools cluster
	@PORT=$(PORT) .ci/cluster run

cluster-test: release
	@.ci/install-tools cluster
	@PORT=$(PORT) .ci/cluster test

reliability:
	@.ci/install-tools reliability
	@.ci/reliability

# --- test: Rust tests against PostgreSQL, then Playwright in Chromium ---
test:
	@.ci/install-tools test
	@.ci/test
