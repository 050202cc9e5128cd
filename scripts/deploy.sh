#!/usr/bin/env bash
# Builds the contracts and deploys them with outpost-deploy (same code path for every network).
#   scripts/deploy.sh --network testnet --account you.testnet   # your own account (near-cli key)
#   scripts/deploy.sh --network testnet                         # a faucet-funded dev account
#   scripts/deploy.sh --network sandbox      # a local sandbox (needs NEAR_SANDBOX_BIN_PATH here)
#   scripts/deploy.sh --reproducible ...     # deploy a reproducible build (docker + cargo-near)
# Any other flag goes to outpost-deploy (see `scripts/deploy.sh --help`).
source "$(dirname "$0")/lib.sh"
case " $* " in *" -h "*|*" --help "*) exec cargo run --quiet --locked --manifest-path "$ROOT/Cargo.toml" -p outpost-deploy -- --help ;; esac
BUILD_ARGS=()
DEPLOY_ARGS=()
for arg in "$@"; do
  if [ "$arg" = --reproducible ]; then BUILD_ARGS+=("$arg"); else DEPLOY_ARGS+=("$arg"); fi
done
"$ROOT/scripts/build-contracts.sh" ${BUILD_ARGS[@]+"${BUILD_ARGS[@]}"}
step "Building outpost-deploy"
cargo build --locked --manifest-path "$ROOT/Cargo.toml" -p outpost-deploy
step "Deploying"
exec "$CARGO_TARGET_DIR/debug/outpost-deploy" ${DEPLOY_ARGS[@]+"${DEPLOY_ARGS[@]}"}
