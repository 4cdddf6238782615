# Keyward: `make run` starts the dashboard on SQLite; `make test` runs every test.
# Each tool is installed once, only if missing, into $(TOOLS) (outside the clone, so that later
# clones on the same machine reuse it) and put on PATH.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

TOOLS ?= $(HOME)/.local/share/keyward-tools
CARGO_LEPTOS_VERSION := 0.3.10
BINARYEN_VERSION := 132.0.0
SCHEMATHESIS_VERSION := 4.32.5
# The receivers' side of webhook signatures, checked independently of Keyward's own code.
STANDARD_WEBHOOKS_VERSION := 1.1.0
# wasm-bindgen-cli must match the wasm-bindgen library pinned in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p;}' Cargo.lock)
export PATH := $(TOOLS)/bin:$(TOOLS)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help run build site test test-rust test-server test-e2e test-api bench bench-cluster loadgen tools chromium clean

help:
	@echo "make run    build (release) and start Keyward at http://127.0.0.1:3000 on SQLite (./data/)"
	@echo "make test   unit, integration, Playwright and Schemathesis (REST API) tests"
	@echo "make bench  bundle size, keys list at 100,000 keys, SSR of the keys page under load"
	@echo "make bench-cluster  two instances on PostgreSQL under load (keys rotated and revoked) beside one on SQLite"

run: build
	@mkdir -p data
	./target/release/keyward

# Rebuilt only when a source changed, so a second `make run` starts in seconds; and whenever the
# server binary is newer than the stamp, i.e. something other than cargo-leptos wrote it.
SOURCES := $(shell find app frontend server style public .cargo -type f 2>/dev/null) Cargo.toml Cargo.lock Leptos.toml
build: target/site/.built

# --precompress: a brotli and a gzip copy beside each of the site's files, which the server sends
# to a browser that accepts them.
target/site/.built: $(SOURCES) target/release/keyward | tools
	cargo leptos build --release --split --precompress
	@touch $@ target/site/.front

# Made by the rule above; listed so that a missing or foreign binary triggers it.
target/release/keyward: ;

# The site's front end alone (WASM, JS, CSS, assets): what the browser loads, whichever server
# serves it. Its sources leave out app/src/ssr, which the WASM build never reads, so a change in a
# service rebuilds no WASM.
FRONT_SOURCES := $(shell find app/src frontend style public .cargo -type f -not -path 'app/src/ssr/*' 2>/dev/null) \
	app/Cargo.toml Cargo.toml Cargo.lock Leptos.toml
site: target/site/.front

target/site/.front: $(FRONT_SOURCES) | tools
	cargo leptos build --release --frontend-only --split --precompress
	@touch $@

test: test-rust test-e2e test-api

# The Rust tests build under the test profile (target/debug: no LTO, incremental), never touching the
# release binary and site that cargo-leptos built. `--examples` builds the benchmarks too (unoptimised,
# run as empty test binaries), so that a change that breaks `make bench` fails here first.
# TEST_ARGS go to the test runner, e.g. TEST_ARGS=--include-ignored where PostgreSQL and Redis answer.
TEST_ARGS ?=
TEST_CRATES := -p app --features app/test-support -p keyward -p keyward-client --tests --examples
# KEYWARD_TEST_PYTHON: a Python with the `standardwebhooks` package, which checks the signatures of
# the webhooks the tests receive.
test-rust: $(TOOLS)/venv/.standardwebhooks-$(STANDARD_WEBHOOKS_VERSION)
	KEYWARD_TEST_PYTHON=$(TOOLS)/venv/bin/python cargo test --locked $(TEST_CRATES) -- $(TEST_ARGS)
	RUSTDOCFLAGS="-D warnings" cargo doc --locked --quiet --no-deps -p keyward-client

# Playwright and Schemathesis run against the server the Rust tests build (target/debug/keyward:
# the same source, reading the same Leptos.toml), with the site's front end as cargo-leptos builds
# it: after a change, `make test` rebuilds neither the release server nor, for a change in
# app/src/ssr, the WASM. `make run` serves the release build of the same code. The site's files are
# named by their hashes, which a server reads from hash.txt beside its binary: cargo-leptos writes
# it beside the release one, and the test server gets a copy.
TEST_SERVER := target/debug/keyward
test-server:
	cargo test --locked $(TEST_CRATES) --no-run --quiet

test-e2e: test-server site chromium end2end/node_modules/.package-lock.json
	@port=$$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	data=$$(mktemp -d); \
	echo "Playwright against a fresh server on 127.0.0.1:$$port (database in $$data)"; \
	cp target/release/hash.txt $(dir $(TEST_SERVER))hash.txt; \
	cd end2end && KEYWARD_BIN=$(TEST_SERVER) E2E_PORT=$$port E2E_DATA_DIR=$$data CHROMIUM_PATH=$(CHROMIUM) npx playwright test; \
	status=$$?; rm -rf "$$data"; exit $$status

# Schemathesis against /api/v1/openapi.json of a fresh server, with a full-access key: the schema's
# examples, then fuzzed requests, API_FUZZ_EXAMPLES per operation (default 100). No 5xx, and every
# answer as its schema says. API_FUZZ_SEED picks other inputs (the default seed is fixed).
test-api: test-server $(TOOLS)/venv/.schemathesis-$(SCHEMATHESIS_VERSION)
	KEYWARD_BIN=$(TEST_SERVER) SCHEMATHESIS=$(TOOLS)/venv/bin/schemathesis end2end/api-fuzz.sh

# Figures, each beside a baseline measured in the same run (machines here are shared and noisy):
# - the WASM bundle against its 300 KB gzip budget, and the bytes of a first load of /keys;
# - the keys list service at 100,000 keys against the same queries at 1,000 keys;
# - the verification API (valid, unknown, rate-limited keys) against /healthz of the same server;
# - the server-rendered API Keys page (100,000 keys) against /healthz, under wrk on loopback;
# - webhook delivery on loopback, from a change's answer to its event's arrival (p50, p99).
BENCH_KEYS ?= 100000
BENCH_SECONDS ?= 10
bench: build loadgen
	cargo run --profile benchmark --locked -q -p keyward --example bench_verify -- $(BENCH_SECONDS)
	python3 end2end/webhook-latency.py ./target/release/keyward 200
	@dir=$$(mktemp -d); trap 'kill $$server 2>/dev/null; rm -rf "$$dir"' EXIT; \
	cargo run --profile benchmark --locked -q -p app --features ssr --example bench_list -- "$$dir/bench.db" $(BENCH_KEYS) | tee "$$dir/out"; \
	session=$$(sed -n 's/^SESSION=//p' "$$dir/out"); \
	port=$$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	DATABASE_URL="sqlite://$$dir/bench.db" KEYWARD_LISTEN=127.0.0.1:$$port KEYWARD_LOG=warn ./target/release/keyward & server=$$!; \
	for _ in $$(seq 50); do curl -fs http://127.0.0.1:$$port/healthz >/dev/null && break; sleep 0.2; done; \
	html=$$(curl -s -o /dev/null -w '%{size_download}' -H "Cookie: kw_session=$$session" -H "Accept: text/html" \
		-H "Accept-Encoding: br, gzip" http://127.0.0.1:$$port/keys); \
	python3 end2end/bundle-size.py target/site/pkg --html-bytes $$html || echo "WARNING: over the 300 KB budget"; \
	echo "SSR of /keys ($(BENCH_KEYS) keys) under wrk -t2 -c8 -d10s, against /healthz in the same run:"; \
	wrk -t2 -c8 -d10s --latency http://127.0.0.1:$$port/healthz | grep -E 'Requests/sec|50%|99%' | sed 's|^|  healthz |'; \
	wrk -t2 -c8 -d10s --latency -H "Cookie: kw_session=$$session" -H "Accept: text/html" http://127.0.0.1:$$port/keys \
		| grep -E 'Requests/sec|50%|99%|Non-2xx' | sed 's|^|  keys    |'

# Two instances on one PostgreSQL (KEYWARD_BENCH_DATABASE_URL, default the local server) while keys
# are rotated and revoked, beside one SQLite instance under the same load; usage totals checked.
CLUSTER_REQUESTS ?= 100000
bench-cluster:
	cargo run --profile benchmark --locked -q -p keyward --example load_cluster -- $(CLUSTER_REQUESTS) 32

# Load generators from Debian's packages: wrk (peak rate) and hey (a fixed rate).
loadgen:
	@command -v wrk >/dev/null && command -v hey >/dev/null || { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk hey; }

tools: $(TOOLS)/.wasm32 $(TOOLS)/bin/cargo-leptos $(TOOLS)/bin/wasm-bindgen-$(WASM_BINDGEN_VERSION) $(TOOLS)/node_modules/.bin/wasm-opt

$(TOOLS)/.wasm32:
	@mkdir -p $(TOOLS)
	rustup target add wasm32-unknown-unknown
	@touch $@

$(TOOLS)/bin/cargo-leptos:
	cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --root $(TOOLS)

# Without --locked: 0.2.130's own lockfile pins a webpki-roots release the registry lacks.
$(TOOLS)/bin/wasm-bindgen-$(WASM_BINDGEN_VERSION):
	@if ! wasm-bindgen --version 2>/dev/null | grep -qF " $(WASM_BINDGEN_VERSION)"; then \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS) --force; \
	fi
	@touch $@

$(TOOLS)/node_modules/.bin/wasm-opt:
	npm install --prefix $(TOOLS) --no-audit --no-fund binaryen@$(BINARYEN_VERSION)

# Python tools in their own virtual environment, at pinned versions.
$(TOOLS)/venv/bin/python:
	@python3 -m venv $(TOOLS)/venv 2>/dev/null || { \
		rm -rf $(TOOLS)/venv; $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; \
		python3 -m venv $(TOOLS)/venv; }

$(TOOLS)/venv/.standardwebhooks-$(STANDARD_WEBHOOKS_VERSION): | $(TOOLS)/venv/bin/python
	$(TOOLS)/venv/bin/pip install --quiet --disable-pip-version-check standardwebhooks==$(STANDARD_WEBHOOKS_VERSION)
	@touch $@

$(TOOLS)/venv/.schemathesis-$(SCHEMATHESIS_VERSION): | $(TOOLS)/venv/bin/python
	@if ! $(TOOLS)/venv/bin/schemathesis --version 2>/dev/null | grep -qF " $(SCHEMATHESIS_VERSION)"; then \
		$(TOOLS)/venv/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION); \
	fi
	@touch $@

chromium:
	@[ -x $(CHROMIUM) ] || { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

end2end/node_modules/.package-lock.json: end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

clean:
	cargo clean
	rm -rf end2end/node_modules data
