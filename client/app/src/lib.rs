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
