#!/usr/bin/env bash
# The main job: the whole local stack in one command.
#   scripts/run.sh
# With a NEAR sandbox (NEAR_SANDBOX_BIN_PATH names a neard sandbox binary; without it,
# near-workspaces first tries to download one, as on any machine with internet): starts the
# sandbox, deploys both contracts, starts an outpost-node relayer on it and serves the dApp
# configured for it. When no sandbox can be had: starts the node (gossip only) and serves the dApp
# in offline mode, where it signs, validates and queues but nothing settles.
# Ctrl-C or SIGTERM stops all of it, the sandbox included.
#
# Environment: OUTPOST_CLIENT_PORT (8080), OUTPOST_RELAYER_PORT (8787), OUTPOST_P2P_PORT (4001),
# OUTPOST_P2P_WS_PORT (4002); OUTPOST_DEV_DIR (target/dev: node identity, relayer store, logs);
# OUTPOST_NEARDEV (neardev/: deploy output); OUTPOST_RUN_PREBUILT=1 skips the builds and uses
# what is already built (contracts, binaries in $CARGO_TARGET_DIR/debug, the dApp if present).
source "$(dirname "$0")/lib.sh"

DEV_DIR="${OUTPOST_DEV_DIR:-$ROOT/target/dev}"
NEARDEV="${OUTPOST_NEARDEV:-$ROOT/neardev}"
CLIENT_PORT="${OUTPOST_CLIENT_PORT:-8080}"
RELAYER_PORT="${OUTPOST_RELAYER_PORT:-8787}"
P2P_TCP_PORT="${OUTPOST_P2P_PORT:-4001}"
P2P_WS_PORT="${OUTPOST_P2P_WS_PORT:-4002}"
mkdir -p "$DEV_DIR"

# Each part runs in its own process group (setsid), so stopping a part stops what it started too:
# outpost-deploy's sandbox (neard) would otherwise outlive it.
pids=()
start_part() { # log command...
  local log=$1
  shift
  setsid "$@" > "$log" 2>&1 &
  pids+=($!)
}
stop_all() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] || return 0
  step "Stopping (${#pids[@]} processes and what they started)"
  local pid
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  # A grace period to shut down cleanly (the deploy tool removes the sandbox's data), then KILL.
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until a file mentions a pattern (0), the process dies (1), or time runs out (2).
wait_for() { # file pattern pid seconds
  local file=$1 pattern=$2 pid=$3 seconds=$4
  for _ in $(seq "$seconds"); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { grep -q "$pattern" "$file" 2>/dev/null && return 0; return 1; }
    printf '.' >&2
    sleep 1
  done
  return 2
}
must_wait_for() { # file pattern pid seconds what
  local rc=0
  wait_for "$1" "$2" "$3" "$4" || rc=$?
  case $rc in
    0) return 0 ;;
    1) tail -20 "$1" >&2; die "$5 exited; its log: $1" ;;
    *) tail -20 "$1" >&2; die "$5 did not get ready in $4 s; its log: $1" ;;
  esac
}

if [ "${OUTPOST_RUN_PREBUILT:-0}" = 1 ]; then
  step "Using what is already built (OUTPOST_RUN_PREBUILT=1)"
else
  "$ROOT/scripts/build-contracts.sh"
  step "Building outpost-node and outpost-deploy"
  # `--bin` applies to every package named, so each binary is named.
  cargo build --locked --manifest-path "$ROOT/Cargo.toml" -p outpost-p2p --bin outpost-node -p outpost-deploy --bin outpost-deploy
  "$ROOT/scripts/build-client.sh"
fi
BIN="$CARGO_TARGET_DIR/debug"
for b in outpost-node outpost-deploy; do [ -x "$BIN/$b" ] || die "$BIN/$b is not built (run without OUTPOST_RUN_PREBUILT)"; done
CLIENT_DIR="${OUTPOST_CLIENT_DIR:-$ROOT/target/client}"

node_args=(--listen "/ip4/127.0.0.1/tcp/$P2P_TCP_PORT" --listen "/ip4/127.0.0.1/tcp/$P2P_WS_PORT/ws"
           --http "127.0.0.1:$RELAYER_PORT" --identity-file "$DEV_DIR/node.key")
MODE="offline"
if [ -n "${NEAR_SANDBOX_BIN_PATH:-}" ] && [ ! -f "$NEAR_SANDBOX_BIN_PATH" ]; then
  die "NEAR_SANDBOX_BIN_PATH=$NEAR_SANDBOX_BIN_PATH is not a file"
fi
if [ -n "${NEAR_SANDBOX_BIN_PATH:-}" ]; then
  step "Starting a NEAR sandbox ($NEAR_SANDBOX_BIN_PATH) and deploying the contracts"
else
  step "Starting a NEAR sandbox (none named by NEAR_SANDBOX_BIN_PATH: near-workspaces tries to download one)"
fi
rm -f "$NEARDEV/sandbox/network.json"
start_part "$DEV_DIR/sandbox.log" "$BIN/outpost-deploy" --network sandbox --serve --out "$NEARDEV" \
  --relayer-url "http://127.0.0.1:$RELAYER_PORT"
deploy_pid=$!
rc=0
wait_for "$DEV_DIR/sandbox.log" "sandbox running" "$deploy_pid" 300 || rc=$?
echo >&2
if [ $rc = 0 ]; then
  MODE="sandbox"
elif [ $rc = 1 ] && [ -z "${NEAR_SANDBOX_BIN_PATH:-}" ] && grep -q "no sandbox could be started" "$DEV_DIR/sandbox.log"; then
  # Only the download failed: go on without a chain, and say so plainly.
  info "$(grep -m1 'error:' "$DEV_DIR/sandbox.log" | cut -c1-200)"
  wait "$deploy_pid" 2>/dev/null || true
  pids=()
else
  tail -20 "$DEV_DIR/sandbox.log" >&2
  die "the sandbox and deploy failed; its log: $DEV_DIR/sandbox.log"
fi

node_args=(--listen "/ip4/127.0.0.1/tcp/$P2P_TCP_PORT" --listen "/ip4/127.0.0.1/tcp/$P2P_WS_PORT/ws"
           --http "127.0.0.1:$RELAYER_PORT" --identity-file "$DEV_DIR/node.key")
if [ "$MODE" = sandbox ]; then
  # shellcheck disable=SC1091
  source "$NEARDEV/sandbox/dev-account.env"
  NETWORK_JSON="$NEARDEV/sandbox/network.json"
  # A new sandbox is a new chain: the last run's relayer store has nothing to settle on it.
  rm -f "$DEV_DIR/relayer.redb"
  node_args+=(--chain-id localnet --contract "$INTENTS_CONTRACT" --relayer --rpc-url "$NEAR_RPC_URL"
              --relayer-key-file "$NEARDEV/sandbox/$RELAYER_ACCOUNT.json" --store "$DEV_DIR/relayer.redb")
else
  warn_line="no NEAR sandbox could be had (set NEAR_SANDBOX_BIN_PATH to a neard sandbox binary): offline mode, nothing settles"
  step "$warn_line"
  # The last testnet deploy's contract, if any, else the name the README uses.
  INTENTS_CONTRACT=$(cat "$NEARDEV/dev-account" 2>/dev/null || echo intents.outpost.testnet)
  NETWORK_JSON="$DEV_DIR/offline-network.json"
  cat > "$NETWORK_JSON" <<JSON
{"name": "custom", "chain_id": "offline", "rpc_url": "http://127.0.0.1:3030", "intents_contract": "$INTENTS_CONTRACT",
 "tokens": [{"id": "near", "symbol": "NEAR", "decimals": 24}], "peers": []}
JSON
  node_args+=(--chain-id offline --contract "$INTENTS_CONTRACT")
fi

step "Starting outpost-node ($MODE)"
start_part "$DEV_DIR/node.log" "$BIN/outpost-node" "${node_args[@]}"
must_wait_for "$DEV_DIR/node.log" "node started" "$!" 60 "outpost-node"
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
[ -f "$CLIENT_DIR/index.html" ] || die "$CLIENT_DIR has no built dApp (run without OUTPOST_RUN_PREBUILT)"
start_part "$DEV_DIR/http.log" python3 -m http.server "$CLIENT_PORT" --bind 127.0.0.1 -d "$CLIENT_DIR"

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
    dev account      $DEV_ACCOUNT (holds the token supply; key in $NEARDEV/sandbox/)
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
