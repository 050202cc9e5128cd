//! Browser entry points (feature `wasm-bindgen`): the dApp's JS can check a pasted intent with the
//! same rules the contract runs. Errors come back as `CODE: detail` strings.

use crate::{crypto::DalekCrypto, error::IntentError, intent::SignedIntent, validate};
use wasm_bindgen::prelude::*;

/// Verifies a signed intent (its JSON) for `recipient` at `now_ms` (JS `Date.now()`); returns the
/// intent hash (base58).
#[wasm_bindgen(js_name = verifySignedIntent)]
pub fn verify_signed_intent(json: &str, recipient: &str, now_ms: f64) -> Result<String, JsError> {
    let signed: SignedIntent = serde_json::from_slice(json.as_bytes())
        .map_err(|e| IntentError::new(crate::ErrorCode::MessageMalformed, e.to_string()))?;
    // JS time is ms as a double; whole ms up to year 2255 fit exactly in u64 ns.
    let now_ns = (now_ms.max(0.0) as u64).saturating_mul(1_000_000);
    let verified = validate::verify_signed_intent(&DalekCrypto, &signed, recipient, now_ns)?;
    Ok(verified.hash.to_string())
}
