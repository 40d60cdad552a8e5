#!/usr/bin/env bash
# Install what `make run` and `make test` need on Debian 12, and only what is missing, so a
# fresh machine needs nothing else. Safe to run again: it does nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages:
# - build-essential, pkg-config, file: C toolchain for -sys crates (bundled SQLite, …)
# - libwebkit2gtk-4.1-dev, libxdo-dev, libssl-dev, libayatana-appindicator3-dev, librsvg2-dev:
#   the Tauri 2 desktop app on Linux
# - xvfb, webkit2gtk-driver: driving the real app under a virtual display (WebKitWebDriver)
# - fonts-wqy-microhei: a Chinese font, so the app and the pages render (and their
#   screenshots show) Chinese text instead of empty boxes
# - hunspell, hunspell-bo: the Tibetan catalogues' syllables are checked against Debian's
#   Tibetan dictionary (a test; it catches typing slips, not wrong translations)
# - chromium: the browser tests of the server's pages (driven by playwright-core)
# - postgresql: throwaway clusters for the PostgreSQL backend tests
# - nginx, openssl: several server processes behind Debian's nginx over HTTPS, with a
#   certificate made for the test (the province's deployment, docs/deploy.md)
# - gcc-aarch64-linux-gnu, libc6-dev-arm64-cross: a C compiler for the bundled SQLite and zstd
#   when the app is type-checked for Android (the NDK cannot be installed here; nothing is
#   linked, so an aarch64 compiler with glibc headers is enough for `cargo check`)
APT_PACKAGES=(
  build-essential pkg-config file
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb webkit2gtk-driver fonts-wqy-microhei
  hunspell hunspell-bo
  chromium
  postgresql
  nginx openssl
  python3-venv
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
fi

for tool in cargo node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "install-deps: '$tool' is required (Rust 1.85+ with rustfmt and clippy; Node 20+ with npm)" >&2
    exit 1
  fi
done
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "install-deps: installing rust component $component"
    rustup component add "$component"
  fi
done

# The Android type-check needs the target's standard library.
if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-linux-android$'; then
  echo "install-deps: rustup target add aarch64-linux-android"
  rustup target add aarch64-linux-android
fi

# tauri-driver drives the real app through WebKitWebDriver (the WebDriver tests).
if ! command -v tauri-driver >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  echo "install-deps: cargo install tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi

# The app's screens: install npm packages when the lock file changed since the last install.
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci in ui/"
  (cd ui && npm ci --no-audit --no-fund)
fi
