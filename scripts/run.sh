#!/usr/bin/env bash
# The main job: builds every contract and prints where the optimized wasm files are.
#   scripts/run.sh
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build-contracts.sh"
step "Contracts ready (need NEAR protocol >= 85)"
for f in "$OUTPOST_WASM_DIR"/*.wasm; do
  printf '    %-40s %8d bytes  sha256 %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-16)"
done
