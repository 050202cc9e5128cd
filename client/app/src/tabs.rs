//! Several tabs, one queue (Web Locks API). IndexedDB is the queue's truth across tabs:
//! * one tab at a time runs the sync loop's sends and polls: the one holding `outpost-sync`, a lock
//!   kept for the tab's life and passed on when it closes; the others only show what it did;
//! * every change to the queue, in any tab, happens under `outpost-queue` after re-reading the
//!   records from IndexedDB, so no tab writes back a stale copy over another tab's change.
//!
//! Without the API (old browsers) every tab syncs on its own, as before: duplicates are then
//! harmless (the relayer and the contract deduplicate by intent hash) but wasteful.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = "
export function lock_request(name) {
  if (!globalThis.navigator || !navigator.locks) return Promise.resolve(null);
  return new Promise((granted, failed) => {
    navigator.locks.request(name, () => new Promise((release) => granted(release))).catch(failed);
  });
}")]
extern "C" {
    fn lock_request(name: &str) -> js_sys::Promise;
}

/// The cross-tab lock every queue change takes.
pub const QUEUE_LOCK: &str = "outpost-queue";
/// Held for its whole life by the tab that syncs.
pub const SYNC_LOCK: &str = "outpost-sync";

/// A held lock, released when dropped. Holds nothing where the API is missing.
pub struct Held(Option<js_sys::Function>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            let _ = release.call0(&JsValue::NULL);
        }
    }
}

/// Waits for the lock. `Held(None)` where the browser has no Web Locks (or refused the request).
pub async fn acquire(name: &str) -> Held {
    match JsFuture::from(lock_request(name)).await {
        Ok(f) => Held(f.dyn_into::<js_sys::Function>().ok()),
        Err(_) => Held(None),
    }
}
