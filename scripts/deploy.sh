#!/usr/bin/env bash
# Builds the contracts and deploys them with outpost-deploy (same code path for every network).
#   scripts/deploy.sh --network testnet      # create or reuse a faucet-funded dev account
#   scripts/deploy.sh --network sandbox      # a local sandbox (needs NEAR_SANDBOX_BIN_PATH here)
# Any other flag goes to outpost-deploy (see `scripts/deploy.sh --help`).
source "$(dirname "$0")/lib.sh"
case " $* " in *" -h "*|*" --help "*) exec cargo run --quiet --locked --manifest-path "$ROOT/Cargo.toml" -p outpost-deploy -- --help ;; esac
"$ROOT/scripts/build-contracts.sh"
step "Building outpost-deploy"
cargo build --locked --manifest-path "$ROOT/Cargo.toml" -p outpost-deploy
step "Deploying"
exec "$CARGO_TARGET_DIR/debug/outpost-deploy" "$@"
