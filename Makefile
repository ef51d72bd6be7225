# Alertdesk's entry points. `make help` lists them. Both `run` and `test` install what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
export PATH := $(HOME)/.cargo/bin:$(PATH)

CARGO_FLAGS := --workspace --locked
PYTEST_ARGS ?=
BENCH_PY ?= $(CURDIR)/.venv/bin/python
BIN_DIR := $(CURDIR)/target/debug

.PHONY: help setup setup-test build run test lint test-rust test-ui test-e2e soak bench bench-desktop bench-smoke deb release test-package

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup: ## Install what building and running needs (apt packages, Rust, npm packages)
	scripts/setup

setup-test: ## Install what the tests need as well
	scripts/setup --test

build: setup ## Build both binaries (target/debug/alertdesk and alertdesk-cli)
	cargo build $(CARGO_FLAGS)

run: build ## Set up, build and start Alertdesk (the window, or the headless listener without a display)
	scripts/run-app $(BIN_DIR)

test: setup-test lint test-rust test-ui test-e2e bench-smoke ## Run the whole test suite (installs what it needs)
	@echo "make test: all checks passed"

lint: ## rustfmt and clippy (warnings are errors)
	cargo fmt --all --check
	cargo clippy $(CARGO_FLAGS) --all-targets -- -D warnings

test-rust: ## Unit and crate tests
	cargo test $(CARGO_FLAGS)

test-ui: ## The UI's type check, unit tests (jsdom) and browser tests (headless Chromium, mocked IPC)
	npm --prefix ui run typecheck
	npm --prefix ui test
	npm --prefix ui run test:browser

test-e2e: ## CLI and desktop tests on the real binaries, under Xvfb and a private D-Bus session
	cargo build $(CARGO_FLAGS)
	ALERTDESK_BIN_DIR=$(BIN_DIR) xvfb-run -a -s "-screen 0 1280x800x24" \
	  dbus-run-session -- .venv/bin/python -m pytest tests $(PYTEST_ARGS)

soak: build ## A compressed shift (about 10 min): listen --notify and the desktop app; figures in tests/soak/results/
	mkdir -p tests/soak/results
	ALERTDESK_BIN_DIR=$(BIN_DIR) unshare -n tests/soak/in-namespace .venv/bin/python tests/soak/soak.py \
	  --scale full --json tests/soak/results/latest.json

bench: ## Full benchmark vs peer clients (release build, about 10 min); raw output in tests/bench/results/
	cargo build --release --locked -p alertdesk-cli
	$(BENCH_PY) tests/bench/run.py --full --bin $(CURDIR)/target/release/alertdesk-cli

bench-desktop: ## Desktop app with 10,000 alerts: memory of all its processes, arrival-to-row latency, and the floor (an empty window)
	cargo build --release --locked -p alertdesk --bin alertdesk --example empty_window
	xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
	  $(BENCH_PY) tests/bench/desktop.py --floor $(CURDIR)/target/release/examples/empty_window --runs 2
	xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
	  $(BENCH_PY) tests/bench/desktop.py --floor $(CURDIR)/target/release/examples/empty_window --runs 2 --no-gpu
	xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
	  $(BENCH_PY) tests/bench/desktop.py --bin $(CURDIR)/target/release/alertdesk
	xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
	  $(BENCH_PY) tests/bench/desktop.py --bin $(CURDIR)/target/release/alertdesk --no-gpu

bench-smoke: ## A few seconds of the benchmark harness (fails if the harness breaks, not on missed targets)
	test -x $(BIN_DIR)/alertdesk-cli || cargo build --locked -p alertdesk-cli
	$(BENCH_PY) tests/bench/run.py --smoke --bin $(BIN_DIR)/alertdesk-cli

deb: setup ## Build the release .deb (alertdesk + alertdesk-cli), unsigned, into dist/ (about 5 min)
	scripts/release --unsigned

release: setup ## Signed release into dist/: BASE_URL=https://... with TAURI_SIGNING_PRIVATE_KEY set (docs/releasing.md)
	scripts/release --base-url "$(BASE_URL)"

test-package: setup-test ## Build the .deb, inspect it, dpkg -i it, run it, let it update itself, remove it (root, ~10 min)
	xvfb-run -a -s "-screen 0 1280x800x24" \
	  dbus-run-session -- .venv/bin/python -m pytest tests/package -m package $(PYTEST_ARGS)
