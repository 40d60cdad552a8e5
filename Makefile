# Yijian (一键申报). Two commands matter:
#   make run   — start the system on its embedded defaults (server on 127.0.0.1:8080, SQLite in ./data)
#   make test  — everything: formatting, lints, unit and integration tests
# Both install what is missing first (scripts/install-deps.sh).

SHELL := /bin/bash
CARGO ?= cargo
CARGO_FLAGS ?= --locked

.PHONY: run test deps ui app android-check fmt-check clippy cargo-test fmt bench-sync bench-media

run: deps ui
	$(CARGO) run $(CARGO_FLAGS) -p yijian-server -- serve

test: deps ui fmt-check clippy android-check app cargo-test

deps:
	@bash scripts/install-deps.sh

# The Tauri crate embeds ui/dist at compile time, so the screens are built before any cargo step.
ui: deps
	cd ui && npm run build

fmt-check:
	$(CARGO) fmt --all --check

clippy: ui
	$(CARGO) clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

# The app binary the WebDriver tests drive (it embeds ui/dist).
app: ui
	$(CARGO) build $(CARGO_FLAGS) -p yijian-app

# Type-check the app for Android so mobile-only code cannot rot unseen. Linking would need the
# Android NDK, which this machine cannot get; the C parts compile with a plain aarch64 gcc.
android-check: deps
	CC_aarch64_linux_android=aarch64-linux-gnu-gcc AR_aarch64_linux_android=aarch64-linux-gnu-ar \
		$(CARGO) check $(CARGO_FLAGS) --target aarch64-linux-android -p yijian-app

cargo-test: app
	$(CARGO) test $(CARGO_FLAGS) --workspace

fmt:
	$(CARGO) fmt --all

# The photo pipeline and QR benchmark (not a test), vipsthumbnail measured in the same run.
bench-media: deps
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-client --bin bench_media
	./target/release/bench_media

# The sync benchmark (not a test): prints one JSON line per step. See bench/README.md.
bench-sync: deps
	$(CARGO) run $(CARGO_FLAGS) --release -p yijian-tests --bin bench-sync
