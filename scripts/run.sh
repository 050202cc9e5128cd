#!/usr/bin/env bash
# The main job: builds every contract and prints where the optimized wasm files are.
#   scripts/run.sh
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build-contracts.sh"
step "Contracts ready (need NEAR protocol >= 85)"
for f in "$OUTPOST_WASM_DIR"/*.wasm; do
  printf '    %-40s %8d bytes  sha256 %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-16)"
done

# Optional: build the dApp and serve it on 127.0.0.1 (see README, "The dApp").
if [ "${OUTPOST_SERVE_CLIENT:-0}" = 1 ]; then
  "$ROOT/scripts/build-client.sh"
  dir="${OUTPOST_CLIENT_DIR:-$ROOT/target/client}"
  step "Serving the dApp at http://127.0.0.1:${OUTPOST_CLIENT_PORT:-8080}/ (Ctrl-C stops)"
  exec python3 -m http.server "${OUTPOST_CLIENT_PORT:-8080}" --bind 127.0.0.1 -d "$dir"
fi
