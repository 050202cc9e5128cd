#!/usr/bin/env bash
# Builds every contract into an optimized wasm with NEP-330 source metadata:
#   target/near/<crate>.wasm        (override the folder with OUTPOST_WASM_DIR)
#   target/near/<crate>.build.json  which build made it: {"crate","kind","commit",...}; the deploy
#                                   tool prints it and a tier-1 test checks the wasm against it
# Usage: scripts/build-contracts.sh [--reproducible] [crate ...]   (default: all contracts)
#   (default)       plain build here: cargo + wasm-opt, no docker; version, link and standards in
#                   NEP-330, no build_info (nobody could reproduce it byte for byte).
#   --reproducible  `cargo near build reproducible-wasm` in the docker image pinned by digest in
#                   each contract's [package.metadata.near.reproducible_build]; builds the committed
#                   tree and embeds build_info (image, command, commit). Needs docker and cargo-near.
source "$(dirname "$0")/lib.sh"

REPRODUCIBLE=0
CONTRACTS=()
for arg in "$@"; do
  case "$arg" in
    --reproducible) REPRODUCIBLE=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $arg (see --help)" ;;
    *) CONTRACTS+=("$arg") ;;
  esac
done
[ ${#CONTRACTS[@]} -gt 0 ] || mapfile -t CONTRACTS < <(contract_crates)

rev="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
metadata() {
  cargo metadata --no-deps --format-version 1 --manifest-path "$ROOT/Cargo.toml"
}
# One field of a package from `cargo metadata` (python: no jq on every machine).
package_field() { # crate, python expression over `p` (the package object)
  metadata | python3 -c "import json,sys; p=next(p for p in json.load(sys.stdin)['packages'] if p['name']=='$1'); print($2)"
}
# The build record next to the wasm; a tier-1 test compares the wasm's NEP-330 view with it.
write_record() { # crate, kind, [build_environment]
  python3 - "$OUTPOST_WASM_DIR/${1//-/_}.build.json" "$1" "$2" "$rev" "${3:-}" <<'PY'
import json, sys
path, crate, kind, commit, env = sys.argv[1:]
record = {"crate": crate, "kind": kind, "commit": commit}
if env:
    record["build_environment"] = env
open(path, "w").write(json.dumps(record, indent=2) + "\n")
PY
}

mkdir -p "$OUTPOST_WASM_DIR"

if [ "$REPRODUCIBLE" = 1 ]; then
  command -v docker >/dev/null || die "--reproducible builds inside docker: install Docker (https://docs.docker.com/engine/install/) and start it, or build without --reproducible"
  docker info >/dev/null 2>&1 || die "--reproducible builds inside docker, but the docker daemon is not reachable (\`docker info\` failed): start it (e.g. \`sudo systemctl start docker\`) or add your user to the docker group"
  cargo near --version >/dev/null 2>&1 || die "--reproducible needs cargo-near on this machine: \`cargo install cargo-near --locked\` (Debian/Ubuntu first: \`apt-get install libudev-dev pkg-config\`)"
  # cargo-near builds a clone of HEAD: uncommitted changes would not be in the wasm.
  [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] || die "--reproducible builds the committed tree: commit or stash your changes first"
  for crate in "${CONTRACTS[@]}"; do
    name="${crate//-/_}"
    dir="$(dirname "$(package_field "$crate" "p['manifest_path']")")"
    env="$(package_field "$crate" "p['metadata']['near']['reproducible_build']['image'] + '@' + p['metadata']['near']['reproducible_build']['image_digest']")"
    step "Building $crate reproducibly in $env"
    out_dir="$(mktemp -d)"
    (cd "$dir" && cargo near build reproducible-wasm --out-dir "$out_dir")
    [ -f "$out_dir/$name.wasm" ] || die "cargo near wrote no $out_dir/$name.wasm"
    cp "$out_dir/$name.wasm" "$OUTPOST_WASM_DIR/$name.wasm"
    rm -rf "$out_dir"
    write_record "$crate" reproducible "$env"
    info "$(printf '%-28s %8d bytes, sha256 %s' "$OUTPOST_WASM_DIR/$name.wasm" "$(stat -c %s "$OUTPOST_WASM_DIR/$name.wasm")" "$(sha256sum "$OUTPOST_WASM_DIR/$name.wasm" | cut -c1-64)")"
  done
  exit 0
fi

ensure_wasm_target
ensure_npm_tools
for crate in "${CONTRACTS[@]}"; do
  name="${crate//-/_}"
  step "Building $crate (wasm32, release)"
  # NEP-330: near-sdk embeds these in `contract_source_metadata`. This build is not reproducible
  # (no pinned image), so it claims no build_info, only version, link and standards.
  NEP330_VERSION="$(package_field "$crate" "p['version']")+git.${rev:0:12}" \
  cargo build --manifest-path "$ROOT/Cargo.toml" -p "$crate" --target wasm32-unknown-unknown --release --locked
  raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$name.wasm"
  out="$OUTPOST_WASM_DIR/$name.wasm"
  # The release profile strips the target_features section, so name the features rustc emits;
  # all are accepted by NEAR from protocol 84 (reftypes_bulk_memory), and tier-1 tests check it.
  wasm-opt -Oz --strip-debug --enable-bulk-memory --enable-bulk-memory-opt --enable-sign-ext \
    --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
    --enable-multivalue "$raw" -o "$out"
  write_record "$crate" plain
  info "$(printf '%-28s %8d bytes (before wasm-opt %d)' "$out" "$(stat -c %s "$out")" "$(stat -c %s "$raw")")"
done
