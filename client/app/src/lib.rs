//! The Outpost dApp (DESIGN.md §5): Yew components over `outpost-client-model`. Browser-only: on a
//! native target this crate is empty, so `cargo test --workspace` stays native.
#![cfg(target_arch = "wasm32")]

mod app;
mod idb;
mod kdf;
mod net;
mod p2p;
mod screens;
mod tabs;
mod wallet;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    // The key worker (worker.js) loads this same module: no page to draw there.
    if web_sys::window().is_none() {
        return;
    }
    yew::Renderer::<app::App>::new().render();
}

/// The key worker's entry points (worker.js): Argon2id off the page's thread.
#[wasm_bindgen(js_name = kdfUnlock)]
pub fn kdf_unlock(vault_json: &str, passphrase: &str) -> Result<String, JsError> {
    outpost_client_model::keys::worker_unlock(vault_json, passphrase).map_err(|e| JsError::new(&e.0))
}

#[wasm_bindgen(js_name = kdfSeal)]
pub fn kdf_seal(secret_key: &str, passphrase: &str, named_account: &str) -> Result<String, JsError> {
    outpost_client_model::keys::worker_seal(secret_key, passphrase, named_account).map_err(|e| JsError::new(&e.0))
}

/// Signs and validates `n` transfer intents with the same code the Compose screen uses; returns
/// intents per second. The e2e test calls it to report throughput.
#[wasm_bindgen(js_name = benchSignValidate)]
pub fn bench_sign_validate(n: u32) -> Result<f64, JsError> {
    use outpost_client_model::compose::{sign, Draft};
    use outpost_protocol::{verify_signed_intent, DalekCrypto};
    let (key, _) = outpost_client_model::keys::generate().map_err(|e| JsError::new(&e.0))?;
    let signer = key.public_key().implicit_account_id();
    let draft = Draft {
        amount: "1.5".into(),
        receiver: "bob.testnet".into(),
        memo: "bench".into(),
        ..Draft::default()
    };
    let perf = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or_else(|| JsError::new("no performance clock"))?;
    let start = perf.now();
    for _ in 0..n {
        let now_ns = net::now_ms().saturating_mul(1_000_000);
        let intent = draft
            .build(&signer, now_ns, &|_: &outpost_protocol::TokenId| 24u8)
            .map_err(|e| JsError::new(&format!("{} field(s) refused", e.len())))?;
        let signed = sign(&key, &intent, "intents.test.near").map_err(|e| JsError::new(&e.0))?;
        verify_signed_intent(&DalekCrypto, &signed, "intents.test.near", now_ns)
            .map_err(|e| JsError::new(&e.to_string()))?;
    }
    let secs = (perf.now() - start) / 1000.0;
    Ok(f64::from(n) / secs.max(1e-9))
}
