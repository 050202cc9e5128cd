#!/usr/bin/env bash
# Builds every contract into an optimized wasm with NEP-330 source metadata:
#   target/near/<crate>.wasm   (override the folder with OUTPOST_WASM_DIR)
# Usage: scripts/build-contracts.sh [crate ...]   (default: all contracts)
source "$(dirname "$0")/lib.sh"

CONTRACTS=("$@")
[ ${#CONTRACTS[@]} -gt 0 ] || mapfile -t CONTRACTS < <(contract_crates)

ensure_wasm_target
ensure_npm_tools
mkdir -p "$OUTPOST_WASM_DIR"

rev="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
for crate in "${CONTRACTS[@]}"; do
  name="${crate//-/_}"
  step "Building $crate (wasm32, release)"
  # NEP-330: near-sdk embeds these in `contract_source_metadata`. The build is not reproducible
  # (no pinned docker image), so we claim no build_info, only version, link and standards.
  NEP330_VERSION="$(cargo metadata --no-deps --format-version 1 --manifest-path "$ROOT/Cargo.toml" \
      | python3 -c "import json,sys; print(next(p['version'] for p in json.load(sys.stdin)['packages'] if p['name']=='$crate'))")+git.${rev:0:12}" \
  cargo build --manifest-path "$ROOT/Cargo.toml" -p "$crate" --target wasm32-unknown-unknown --release --locked
  raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$name.wasm"
  out="$OUTPOST_WASM_DIR/$name.wasm"
  # The release profile strips the target_features section, so name the features rustc emits;
  # all are accepted by NEAR from protocol 84 (reftypes_bulk_memory), and tier-1 tests check it.
  wasm-opt -Oz --strip-debug --enable-bulk-memory --enable-bulk-memory-opt --enable-sign-ext \
    --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
    --enable-multivalue "$raw" -o "$out"
  info "$(printf '%-28s %8d bytes (before wasm-opt %d)' "$out" "$(stat -c %s "$out")" "$(stat -c %s "$raw")")"
done
