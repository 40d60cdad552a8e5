# Yijian (一键申报). Two commands matter:
#   make run   — start the system on its embedded defaults (server on 127.0.0.1:8080, SQLite in ./data)
#   make test  — everything: formatting, lints, unit and integration tests
# Both install what is missing first (scripts/install-deps.sh).

SHELL := /bin/bash
CARGO ?= cargo
CARGO_FLAGS ?= --locked

.PHONY: run test deps ui fmt-check clippy cargo-test fmt bench-sync

run: deps ui
	$(CARGO) run $(CARGO_FLAGS) -p yijian-server -- serve

test: deps ui fmt-check clippy cargo-test

deps:
	@bash scripts/install-deps.sh

# The Tauri crate embeds ui/dist at compile time, so the screens are built before any cargo step.
ui: deps
	cd ui && npm run build

fmt-check:
	$(CARGO) fmt --all --check

clippy: ui
	$(CARGO) clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

cargo-test: ui
	$(CARGO) test $(CARGO_FLAGS) --workspace

fmt:
	$(CARGO) fmt --all

# The sync benchmark (not a test): prints one JSON line per step. See bench/README.md.
bench-sync: deps
	$(CARGO) run $(CARGO_FLAGS) --release -p yijian-tests --bin bench-sync
