#!/usr/bin/env bash
# The main job: the whole local stack in one command.
#   scripts/run.sh
# With a NEAR sandbox binary (NEAR_SANDBOX_BIN_PATH, or OUTPOST_SANDBOX_DOWNLOAD=1 where a download
# is possible): starts a sandbox, deploys both contracts, starts an outpost-node relayer on it and
# serves the dApp configured for it. Without one: starts the node (gossip only) and serves the dApp
# in offline mode, where it signs, validates and queues but nothing settles. Ctrl-C stops all.
source "$(dirname "$0")/lib.sh"

DEV_DIR="$ROOT/target/dev"            # node identity, relayer store, logs
CLIENT_PORT="${OUTPOST_CLIENT_PORT:-8080}"
RELAYER_PORT="${OUTPOST_RELAYER_PORT:-8787}"
P2P_TCP_PORT="${OUTPOST_P2P_PORT:-4001}"
P2P_WS_PORT="${OUTPOST_P2P_WS_PORT:-4002}"
mkdir -p "$DEV_DIR"

pids=()
stop_all() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    step "Stopping (${#pids[@]} processes)"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

sandbox_available() {
  { [ -n "${NEAR_SANDBOX_BIN_PATH:-}" ] && [ -f "$NEAR_SANDBOX_BIN_PATH" ]; } || [ "${OUTPOST_SANDBOX_DOWNLOAD:-0}" = 1 ]
}

# Waits until a file mentions a pattern, or the process dies, or time runs out.
wait_for() { # file pattern pid seconds what
  local file=$1 pattern=$2 pid=$3 seconds=$4 what=$5
  for _ in $(seq "$seconds"); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { tail -20 "$file" >&2; die "$what exited; its log: $file"; }
    printf '.' >&2
    sleep 1
  done
  tail -20 "$file" >&2
  die "$what did not get ready in $seconds s; its log: $file"
}

"$ROOT/scripts/build-contracts.sh"
step "Building outpost-node and outpost-deploy"
cargo build --locked --manifest-path "$ROOT/Cargo.toml" -p outpost-p2p --bin outpost-node -p outpost-deploy
BIN="$CARGO_TARGET_DIR/debug"
"$ROOT/scripts/build-client.sh"
CLIENT_DIR="${OUTPOST_CLIENT_DIR:-$ROOT/target/client}"

node_args=(--listen "/ip4/127.0.0.1/tcp/$P2P_TCP_PORT" --listen "/ip4/127.0.0.1/tcp/$P2P_WS_PORT/ws"
           --http "127.0.0.1:$RELAYER_PORT" --identity-file "$DEV_DIR/node.key")
if sandbox_available; then
  step "Starting a NEAR sandbox and deploying the contracts"
  rm -f "$ROOT/neardev/sandbox/network.json"
  "$BIN/outpost-deploy" --network sandbox --serve --out "$ROOT/neardev" \
    --relayer-url "http://127.0.0.1:$RELAYER_PORT" > "$DEV_DIR/sandbox.log" 2>&1 &
  pids+=($!)
  wait_for "$DEV_DIR/sandbox.log" "sandbox running" "$!" 300 "the sandbox and deploy"
  echo >&2
  # shellcheck disable=SC1091
  source "$ROOT/neardev/sandbox/dev-account.env"
  NETWORK_JSON="$ROOT/neardev/sandbox/network.json"
  MODE="sandbox"
  node_args+=(--chain-id localnet --contract "$INTENTS_CONTRACT" --relayer --rpc-url "$NEAR_RPC_URL"
              --relayer-key-file "$ROOT/neardev/sandbox/$RELAYER_ACCOUNT.json" --store "$DEV_DIR/relayer.redb")
else
  warn_line="no NEAR sandbox binary (set NEAR_SANDBOX_BIN_PATH): offline mode, nothing settles"
  step "$warn_line"
  # The last testnet deploy's contract, if any, else the name the README uses.
  INTENTS_CONTRACT=$(cat "$ROOT/neardev/dev-account" 2>/dev/null || echo intents.outpost.testnet)
  NETWORK_JSON="$DEV_DIR/offline-network.json"
  MODE="offline"
  cat > "$NETWORK_JSON" <<JSON
{"name": "custom", "chain_id": "offline", "rpc_url": "http://127.0.0.1:3030", "intents_contract": "$INTENTS_CONTRACT",
 "tokens": [{"id": "near", "symbol": "NEAR", "decimals": 24}], "peers": []}
JSON
  node_args+=(--chain-id offline --contract "$INTENTS_CONTRACT")
fi

step "Starting outpost-node ($MODE)"
"$BIN/outpost-node" "${node_args[@]}" > "$DEV_DIR/node.log" 2>&1 &
pids+=($!)
wait_for "$DEV_DIR/node.log" "node started" "$!" 60 "outpost-node"
echo >&2
PEER_ID=$(grep -o 'peer_id=[A-Za-z0-9]*' "$DEV_DIR/node.log" | head -1 | cut -d= -f2)
PEER="/ip4/127.0.0.1/tcp/$P2P_WS_PORT/ws/p2p/$PEER_ID"

# The dApp reads network.json next to index.html: the deployed network plus this node as a peer.
python3 - "$NETWORK_JSON" "$CLIENT_DIR/network.json" "$PEER" <<'PY'
import json, sys
src, dst, peer = sys.argv[1:]
config = json.load(open(src))
config["peers"] = [peer]
json.dump(config, open(dst, "w"), indent=2)
PY

step "Serving the dApp"
python3 -m http.server "$CLIENT_PORT" --bind 127.0.0.1 -d "$CLIENT_DIR" > "$DEV_DIR/http.log" 2>&1 &
pids+=($!)

cat <<EOF2

  Outpost is running ($MODE).
    dApp             http://127.0.0.1:$CLIENT_PORT/
    relayer API      http://127.0.0.1:$RELAYER_PORT/intents   metrics: /metrics
    p2p peer         $PEER
    intents contract $INTENTS_CONTRACT
EOF2
if [ "$MODE" = sandbox ]; then
  cat <<EOF2
    token contract   $TOKEN_CONTRACT
    dev account      $DEV_ACCOUNT (holds the token supply; key in neardev/sandbox/)
    relayer account  $RELAYER_ACCOUNT
    NEAR RPC         $NEAR_RPC_URL
EOF2
fi
cat <<EOF2
    logs             $DEV_DIR/*.log
  Ctrl-C stops everything.

EOF2
# Stop everything as soon as any part dies.
wait -n "${pids[@]}"
die "a process of the stack exited; see $DEV_DIR/*.log"
