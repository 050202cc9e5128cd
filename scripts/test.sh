#!/usr/bin/env bash
# Runs every test Outpost has, installing what is missing (rustup target, npm tools).
#   scripts/test.sh
# Tier 1 always runs. Tier 2 (a NEAR sandbox via near-workspaces) runs when NEAR_SANDBOX_BIN_PATH
# points at a neard sandbox binary and otherwise reports itself skipped; with a sandbox the dApp is
# built (and Chromium and the e2e tools installed) first, for tier 2's wallet journey.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
start=$(date +%s)

ensure_wasm_target
ensure_npm_tools

step "Protocol crate for all three targets"
info "contract flavour: wasm32, no dalek (host functions supply the crypto)"
cargo build --locked -p outpost-protocol --target wasm32-unknown-unknown --no-default-features
info "browser flavour: wasm32 + wasm-bindgen + dalek"
cargo build --locked -p outpost-protocol --target wasm32-unknown-unknown --features wasm-bindgen
info "native flavour: built and tested with the workspace below"

step "Contracts (optimized wasm)"
"$ROOT/scripts/build-contracts.sh"

export OUTPOST_CLIENT_DIR="${OUTPOST_CLIENT_DIR:-$ROOT/target/client}"
client_built=0
if { [ -n "${NEAR_SANDBOX_BIN_PATH:-}" ] && [ -f "$NEAR_SANDBOX_BIN_PATH" ]; } || [ "${OUTPOST_SANDBOX_DOWNLOAD:-0}" = 1 ]; then
  # Tier 2's dApp wallet journey (integration-tests/tests/sandbox.rs) drives the built dApp in
  # Chromium against the sandbox: provide all it needs before the sandbox suite runs below. It
  # was all provided, so a missing piece there is a failure, not a skip.
  step "dApp for tier 2's wallet journey: build, Chromium, e2e tools"
  ensure_chromium
  ensure_e2e_tools
  "$ROOT/scripts/build-client.sh"
  client_built=1
  export OUTPOST_TIER2_NO_SKIPS=1
  export OUTPOST_SANDBOX_ARTIFACTS="$ROOT/target/reports/sandbox-wallet-journey"
fi

step "Native tests: unit, property, NEAR VM (tier 1)"
excludes=()
for c in $(wasm_only_crates); do excludes+=(--exclude "$c"); done
cargo test --locked --workspace "${excludes[@]}"

step "Settlement benchmark (tier 2: 10,000 transfers through outpost-node on a sandbox; skipped without one)"
# Built with the tests above (same profile); its client side also runs against the mock RPC in
# p2p/tests/settlement.rs. Report: target/reports/settlement.md. The relayer is
# $OUTPOST_NODE_BIN, else a release outpost-node beside it, else the debug one `cargo test` built.
cargo run --locked -q -p outpost-integration-tests --example settlement

step "dApp: build, then drive it in headless Chromium (tier 1)"
ensure_chromium
ensure_e2e_tools
# Built once: before the native tests when a sandbox needed it.
[ "$client_built" = 1 ] || "$ROOT/scripts/build-client.sh"
mkdir -p "$ROOT/target/reports"
artifacts="$ROOT/target/reports/client-e2e"
info "screenshots and report.json: $artifacts"
# outpost-node was built by `cargo test` above: the e2e's last part gossips to a real node.
OUTPOST_NODE_BIN="$CARGO_TARGET_DIR/debug/outpost-node" node "$ROOT/client/e2e/e2e.mjs" "$OUTPOST_CLIENT_DIR" "$artifacts"
cp "$artifacts/report.md" "$ROOT/target/reports/client.md"

step "P2P: the wasm browser node in headless Chromium publishing to native nodes"
ensure_chromium
ensure_wasm_bindgen
ensure_npm_ci "$ROOT/p2p/browser/test"
cargo build --locked -p outpost-p2p-browser --target wasm32-unknown-unknown
pkg="$CARGO_TARGET_DIR/browser-test/pkg"
wasm-bindgen --target web --out-dir "$pkg" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/debug/outpost_p2p_browser.wasm"
# outpost-node was built by `cargo test` above (its integration tests need it).
node "$ROOT/p2p/browser/test/run.mjs" "$CARGO_TARGET_DIR/debug/outpost-node" "$pkg"

step "P2P: js-libp2p (libp2p 3 + @libp2p/gossipsub) exchanging near-api-js-signed intents with outpost-node"
ensure_npm_ci "$ROOT/p2p/interop"
node "$ROOT/p2p/interop/interop.mjs" "$CARGO_TARGET_DIR/debug/outpost-node"

step "Reports"
for f in "$ROOT"/target/reports/*.md; do [ -f "$f" ] && { info "$f"; cat "$f"; echo; }; done
info "all tests passed in $(( $(date +%s) - start )) s"
