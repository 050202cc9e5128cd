# Shared by the scripts: paths, progress output, and installing tools only when missing.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Reuse one target dir across clones and runs when the caller sets it; otherwise the repo's own.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Where the optimized contracts land (documented in README.md).
export OUTPOST_WASM_DIR="${OUTPOST_WASM_DIR:-$ROOT/target/near}"

# Contracts built to wasm by scripts/build-contracts.sh.
contract_crates() {
  echo outpost-token
  echo outpost-intents
}
# Crates that build only for wasm32: the token is near-sdk through and through (near-sdk refuses
# a native build without its unit-testing feature), so it is tested as wasm in the NEAR VM. The
# intents crate keeps near-sdk wasm-only and its engine runs natively.
wasm_only_crates() {
  echo outpost-token
}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "Installing the rustup target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

# npm tools (wasm-opt from binaryen 132) pinned in scripts/tools/package-lock.json.
ensure_npm_tools() {
  if [ ! -x "$ROOT/scripts/tools/node_modules/.bin/wasm-opt" ]; then
    command -v npm >/dev/null || die "npm is needed for wasm-opt (binaryen); install Node.js 18+"
    step "Installing npm tools (binaryen)"
    (cd "$ROOT/scripts/tools" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  export PATH="$ROOT/scripts/tools/node_modules/.bin:$PATH"
}

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock (the browser libp2p stack pins it).
ensure_wasm_bindgen() {
  local want
  want=$(grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')
  if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$want" ]; then
    # A debug build: about 1 min to install on 2 cores instead of 5-25 for release, and it only
    # runs for a second or two per build (its output is byte-identical).
    step "Installing wasm-bindgen-cli $want (debug build, about a minute)"
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/tools" cargo install wasm-bindgen-cli --version "$want" --locked --debug
  fi
}

# Debian's chromium for the dApp's browser tests (Playwright's own browser download is not used).
ensure_chromium() {
  if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    command -v apt-get >/dev/null || die "the dApp tests need Chromium: set CHROMIUM=/path/to/chromium"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    step "Installing Debian's chromium"
    $sudo apt-get update && $sudo apt-get install -y chromium chromium-driver
  fi
}

# playwright-core (no browser download), pinned in client/e2e/package-lock.json.
ensure_e2e_tools() {
  if [ ! -d "$ROOT/client/e2e/node_modules/playwright-core" ] || [ ! -d "$ROOT/client/e2e/node_modules/jsqr" ]; then
    command -v npm >/dev/null || die "npm is needed for the dApp's browser tests; install Node.js 18+"
    step "Installing npm tools for the dApp tests (playwright-core, jsqr, pngjs)"
    (cd "$ROOT/client/e2e" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# npm packages of one folder, from its lockfile, when missing (p2p's browser test).
ensure_npm_ci() {
  if [ ! -d "$1/node_modules" ]; then
    command -v npm >/dev/null || die "npm is needed for the p2p browser and interop tests; install Node.js 18+"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The dApp's release build uses a pinned nightly for `-Z build-std` with
# `-C panic=immediate-abort`: a panic in the page is fatal either way (panic=abort), and without
# panic formatting the bundle is about 80 KB gzip smaller. Stable still builds it, only bigger.
CLIENT_TOOLCHAIN="${OUTPOST_CLIENT_TOOLCHAIN:-nightly-2026-05-20}"
ensure_client_toolchain() {
  local sysroot
  if sysroot=$(rustup run "$CLIENT_TOOLCHAIN" rustc --print sysroot 2>/dev/null) \
    && [ -d "$sysroot/lib/rustlib/src/rust/library" ] \
    && [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
    return 0
  fi
  step "Installing $CLIENT_TOOLCHAIN (minimal, rust-src, wasm32) for the dApp's size-optimized build"
  rustup toolchain install "$CLIENT_TOOLCHAIN" --profile minimal --component rust-src --target wasm32-unknown-unknown
}
