# Yijian (一键申报). Two commands matter:
#   make run   — start the system on its embedded defaults (server on 127.0.0.1:8080, SQLite in
#                ./data, demonstration data loaded on first start; the accounts are printed)
#   make test  — everything: formatting, lints, unit, integration and browser tests
# Both install what is missing first (scripts/install-deps.sh).

SHELL := /bin/bash
CARGO ?= cargo
CARGO_FLAGS ?= --locked

.PHONY: run test deps ui app server android-check fmt-check clippy cargo-test browser-deps browser-test fmt \
	bench-sync bench-media bench-form bench-inbox bench-alerts bench-qr bench-scale fonts s3-deps

SERVER := ./target/debug/yijian-server

# First start: an empty ./data gets the demonstration staff and cases (`demo-seed --if-empty`
# leaves a database that has users alone). Then the server: resident form at /d/<village code>,
# console at /console, sync API at /v1.
run: deps ui server
	$(SERVER) demo-seed --if-empty
	@echo "控制台 / console:  http://127.0.0.1:8080/console   (演示账号密码 / demo password: yijian2026)"
	@echo "扫码申报 / form:    http://127.0.0.1:8080/d/621102105201"
	$(SERVER) serve

test: deps ui fmt-check clippy android-check app cargo-test browser-test

server: deps
	$(CARGO) build $(CARGO_FLAGS) -p yijian-server

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
	@# CI builds once: the Android check's artefacts are not needed again and disk is scarce there.
	@if [ "$${CI:-}" = true ]; then rm -rf target/aarch64-linux-android; fi

# A real S3-compatible server for the photo store's tests: moto's server mode from PyPI, in a
# venv of its own (pinned; nothing is downloaded when it is already there).
S3_VENV := target/s3-venv
s3-deps: deps
	@test -x $(S3_VENV)/bin/moto_server || { python3 -m venv $(S3_VENV) && \
		$(S3_VENV)/bin/pip install -q 'moto[server]==5.2.6'; }

# The app's WebDriver run measures contrast with axe-core from tests/browser's packages.
cargo-test: app browser-deps s3-deps
	$(CARGO) test $(CARGO_FLAGS) --workspace

browser-deps: deps
	cd tests/browser && npm ci --no-audit --no-fund

# The server's web pages in Debian's Chromium (playwright-core; no browser is downloaded).
browser-test: server browser-deps
	cd tests/browser && YIJIAN_SERVER_BIN=$(CURDIR)/target/debug/yijian-server npm test

fmt:
	$(CARGO) fmt --all

# The photo pipeline and QR benchmark (not a test), vipsthumbnail measured in the same run.
bench-media: deps
	@command -v vipsthumbnail >/dev/null || { apt-get update -q && apt-get install -y -q libvips-tools; }
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-client --bin bench_media
	./target/release/bench_media

# The app's inbox with 30,000 cases on the phone (not a test), reading every case as the anchor.
bench-inbox: deps
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-client --bin bench_inbox
	./target/release/bench_inbox

# The declaration form under 100 concurrent clients on SQLite (not a test): submissions per
# second and p99, with GET /healthz by the same clients as the anchor.
bench-form: deps
	$(CARGO) run $(CARGO_FLAGS) --release -p yijian-tests --bin bench-form

# The department-warning benchmark (not a test): a 100,000-line 医保 list matched against a
# 500,000-household city through `yijian-server import-alerts`; one JSON line per step.
bench-alerts: deps
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-server --bin yijian-server
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-tests --bin bench-alerts
	./target/release/bench-alerts

# Province scale (issue 13; not a test, up to 30 minutes): SCALE=county|city|province (default
# province). So far the register import on PostgreSQL (durable defaults) and SQLite, with the
# COPY anchor; one JSON line per step.
bench-scale: deps
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-server --bin yijian-server
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-tests --bin bench-scale
	./target/release/bench-scale

# The QR decoder on seeded field-like photos (12 MP, 3–4 px per module, damaged) and on zxing's
# blackbox set, beside zxing-cpp (PyPI) in the same run (not a test).
BENCH_VENV := target/bench-venv
bench-qr: deps
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c 'import zxingcpp, PIL, numpy' 2>/dev/null || \
		$(BENCH_VENV)/bin/pip install -q 'zxing-cpp>=2.2' pillow numpy
	$(CARGO) build $(CARGO_FLAGS) --release -p yijian-tests --bin bench-qr
	YIJIAN_BENCH_PYTHON=$(BENCH_VENV)/bin/python ./target/release/bench-qr

# The sync benchmark (not a test): prints one JSON line per step. See bench/README.md.
bench-sync: deps
	$(CARGO) run $(CARGO_FLAGS) --release -p yijian-tests --bin bench-sync

# The Tibetan fonts the pages ship (not part of `make test`: the built fonts are committed). Run it
# after changing sync-server/i18n/resident.bo.toml; a test fails until the form's subset matches.
FONT_VENV := target/font-venv
fonts: deps
	@test -f /usr/share/fonts/truetype/noto/NotoSerifTibetan-Regular.ttf || \
		{ apt-get update -q && apt-get install -y -q fonts-noto-core; }
	@test -x $(FONT_VENV)/bin/python || python3 -m venv $(FONT_VENV)
	@$(FONT_VENV)/bin/python -c 'import fontTools, brotli, uharfbuzz' 2>/dev/null || \
		$(FONT_VENV)/bin/pip install -q 'fonttools>=4.47' brotli 'uharfbuzz>=0.39'
	$(FONT_VENV)/bin/python tools/subset_tibetan_font.py
