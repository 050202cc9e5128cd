#!/usr/bin/env bash
# Builds the dApp into a folder any static web server can serve:
#   scripts/build-client.sh            -> target/client/ (OUTPOST_CLIENT_DIR overrides)
# cargo (wasm32, release; a pinned nightly with build-std and panic=immediate-abort, see lib.sh,
# or stable with OUTPOST_CLIENT_STABLE=1) -> wasm-bindgen --target web -> npm binaryen wasm-opt -Oz, then the
# static files, the service worker (stamped with a build hash) and neardev/network.json if the
# deploy scripts wrote one. Prints raw and gzip sizes.
source "$(dirname "$0")/lib.sh"
ensure_wasm_target
ensure_npm_tools
ensure_wasm_bindgen
out="${OUTPOST_CLIENT_DIR:-$ROOT/target/client}"
if [ "${OUTPOST_CLIENT_STABLE:-0}" != 1 ] && ensure_client_toolchain; then
  step "dApp: cargo build (wasm32, release, $CLIENT_TOOLCHAIN, build-std, panic=immediate-abort)"
  # Its own target dir: another toolchain and flags must not evict the stable builds.
  built="$CARGO_TARGET_DIR/client-nightly"
  # -Zfmt-debug=none: Debug formatting compiled out (about 7 KB gzip); the page says every error
  # with Display (see net::js_text).
  RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
    cargo +"$CLIENT_TOOLCHAIN" build --manifest-path "$ROOT/Cargo.toml" -p outpost-client-app \
    --target wasm32-unknown-unknown --release --locked -Z build-std=std,panic_abort --target-dir "$built"
else
  [ "${OUTPOST_CLIENT_STABLE:-0}" = 1 ] || info "WARNING: $CLIENT_TOOLCHAIN could not be installed: building with stable (about 80 KB gzip bigger)"
  step "dApp: cargo build (wasm32, release, stable)"
  built="$CARGO_TARGET_DIR"
  cargo build --manifest-path "$ROOT/Cargo.toml" -p outpost-client-app --target wasm32-unknown-unknown --release --locked
fi
mkdir -p "$out"
rm -rf "$out/snippets" # a previous build's snippets (their folder name carries a hash)
step "dApp: wasm-bindgen and wasm-opt"
wasm-bindgen --target web --no-typescript --out-dir "$out" \
  "$built/wasm32-unknown-unknown/release/outpost_client_app.wasm"
wasm="$out/outpost_client_app_bg.wasm"
raw=$(stat -c %s "$wasm")
# --merge-similar-functions first (functions that differ only in constants become one: Rust's
# monomorphized copies; -4.4 KB gzip), then -Oz until nothing shrinks; --low-memory-unused and
# --zero-filled-memory hold for rustc's output (data from 1 MiB up, a fresh instance's own zeroed
# memory): about 6 KB gzip.
wasm-opt --merge-similar-functions -Oz --converge --low-memory-unused --zero-filled-memory --strip-producers --strip-debug --enable-bulk-memory --enable-bulk-memory-opt --enable-sign-ext \
  --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
  --enable-multivalue "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
step "dApp: wallet module (near-connect, bundled with esbuild; loaded on first use)"
ensure_npm_ci "$ROOT/client/app/js"
esbuild="$ROOT/client/app/js/node_modules/.bin/esbuild"
"$esbuild" "$ROOT/client/app/js/wallet.js" --bundle --format=esm --minify \
  --target=es2022 --legal-comments=none --log-level=warning --outfile="$out/wallet.js"
"$esbuild" "$ROOT/client/app/static/style.css" --minify --log-level=warning --outfile="$out/style.css"
# The CSP nonce near-connect's wallet iframes need (index.html); new for every build.
nonce=$(head -c 16 /dev/urandom | base64 | tr -d '+/=')
sed "s/__OUTPOST_CSP_NONCE__/$nonce/g" "$ROOT/client/app/static/index.html" > "$out/index.html"
# The JS the page loads, minified (wasm-bindgen's glue and our three small scripts): -2.5 KB gzip.
esbuild_min() { "$esbuild" "$1" --minify --format=esm --target=es2022 --log-level=warning --outfile="$2" --allow-overwrite; }
esbuild_min "$out/outpost_client_app.js" "$out/outpost_client_app.js"
for f in main.js worker.js; do esbuild_min "$ROOT/client/app/static/$f" "$out/$f"; done
if [ -f "$ROOT/neardev/network.json" ]; then cp "$ROOT/neardev/network.json" "$out/network.json"; fi
build=$(cat "$wasm" "$out/outpost_client_app.js" "$out/wallet.js" "$out/index.html" "$out/style.css" "$out/main.js" "$out/worker.js" $(find "$out/snippets" -name '*.js' 2>/dev/null | sort) | sha256sum | cut -c1-16)
# The worker caches wasm-bindgen's snippets too: without them the page cannot start offline.
snippets=$(cd "$out" && find snippets -name '*.js' 2>/dev/null | sort | sed "s|^|, './|; s|\$|'|" | tr -d '\n')
sed -e "s/__OUTPOST_BUILD__/outpost-$build/" -e "s|/\*__OUTPOST_SNIPPETS__\*/|$snippets|" "$ROOT/client/app/static/sw.js" > "$out/sw.src.js"
esbuild_min "$out/sw.src.js" "$out/sw.js" && rm "$out/sw.src.js"
step "dApp ready in $out (serve it over http; 127.0.0.1 or https for the service worker)"
gz() { gzip -9 -c "$1" | wc -c; }
info "$(printf 'wasm %8d bytes (%d before wasm-opt), gzip %d' "$(stat -c %s "$wasm")" "$raw" "$(gz "$wasm")")"
info "$(printf 'js   %8d bytes, gzip %d' "$(stat -c %s "$out/outpost_client_app.js")" "$(gz "$out/outpost_client_app.js")")"
info "$(printf 'wallet.js %8d bytes, gzip %d (near-connect; loaded when a wallet is used)' "$(stat -c %s "$out/wallet.js")" "$(gz "$out/wallet.js")")"
