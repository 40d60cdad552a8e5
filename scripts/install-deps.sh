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
# - postgresql: throwaway clusters for the PostgreSQL backend tests
APT_PACKAGES=(
  build-essential pkg-config file
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb webkit2gtk-driver
  postgresql
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

# The app's screens: install npm packages when the lock file changed since the last install.
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci in ui/"
  (cd ui && npm ci --no-audit --no-fund)
fi
