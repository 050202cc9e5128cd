//! The bridge to `wallet.js` (near-connect), loaded on first use so a user without a wallet never
//! downloads it. Text in, text out: the model (`outpost_client_model::wallet`) builds every request
//! and checks every answer.

use outpost_client_model::network::NetworkConfig;
use outpost_client_model::wallet::{self, MessageRequest, WalletAccount, WalletTx};
use outpost_client_model::Problem;
use outpost_protocol::{AccountId, SignedIntent};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = "
let m;
export function wallet_call(name, args) {
  m ??= import(new URL('wallet.js', document.baseURI).href);
  return m.then((mod) => mod[name](...args));
}
export function wallet_error(e) {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try { return JSON.stringify(e); } catch { return String(e); }
}")]
extern "C" {
    fn wallet_call(name: &str, args: js_sys::Array) -> js_sys::Promise;
    fn wallet_error(e: &JsValue) -> String;
}

/// near-connect's key in localStorage for the wallet chosen last: only then is the module loaded
/// at start to restore the session.
const SELECTED_WALLET_KEY: &str = "selected-wallet";

fn config(net: &NetworkConfig) -> String {
    serde_json::json!({ "network": net.wallet_network(), "rpcUrl": net.rpc_url, "manifest": net.wallet_manifest }).to_string()
}

async fn call(name: &str, net: &NetworkConfig, args: &[&str]) -> Result<String, Problem> {
    let array = js_sys::Array::new();
    array.push(&JsValue::from_str(&config(net)));
    for a in args {
        array.push(&JsValue::from_str(a));
    }
    match JsFuture::from(wallet_call(name, array)).await {
        Ok(v) => Ok(v.as_string().unwrap_or_default()),
        Err(e) => Err(Problem::new(format!("the wallet: {}", wallet_error(&e)))),
    }
}

fn first(json: &str) -> Result<Option<WalletAccount>, Problem> {
    Ok(wallet::parse_accounts(json)?.into_iter().next())
}

/// Opens the wallet list; the signed-in account.
pub async fn connect(net: &NetworkConfig) -> Result<WalletAccount, Problem> {
    first(&call("connect", net, &[]).await?)?.ok_or_else(|| Problem::new("the wallet signed in with no account"))
}

/// The account of a wallet session kept from an earlier visit, if any.
pub async fn restore(net: &NetworkConfig) -> Option<WalletAccount> {
    let selected = web_sys::window().and_then(|w| w.local_storage().ok().flatten()).and_then(|s| s.get_item(SELECTED_WALLET_KEY).ok().flatten());
    selected?;
    first(&call("restore", net, &[]).await.ok()?).ok().flatten()
}

pub async fn disconnect(net: &NetworkConfig) -> Result<(), Problem> {
    call("disconnect", net, &[]).await.map(drop)
}

/// Asks the wallet to sign the intent (NEP-413 `signMessage`) and checks its answer.
pub async fn sign(net: &NetworkConfig, req: &MessageRequest, signer: &AccountId, now_ns: u64) -> Result<SignedIntent, Problem> {
    let answer = call("signMessage", net, &[&req.to_json()]).await?;
    wallet::signed_from_wallet(req, &answer, signer, now_ns)
}

/// How long [`send`] waits for a wallet's transaction to become final before it goes on anyway.
const FINAL_WAIT_MS: u64 = 60_000;

/// Has the wallet sign and send a transaction; the transaction hash when the wallet reports one.
/// Returns once the transaction is final (at most [`FINAL_WAIT_MS`]): wallets answer when it ran,
/// the page reads at `final`, and a screen re-read before that would show the old state (a key
/// not yet listed, a deposit not yet in the ledger).
pub async fn send(net: &NetworkConfig, tx: &WalletTx) -> Result<Option<String>, Problem> {
    let answer = call("signAndSend", net, &[&tx.to_json()]).await?;
    let hash = wallet::parse_outcome(&answer)?;
    if let Some(request) = wallet::finality_request(&answer) {
        let start = crate::net::now_ms();
        // The node holds each `tx` call until FINAL or its own timeout; an error is asked again.
        while crate::net::now_ms().saturating_sub(start) < FINAL_WAIT_MS {
            match crate::net::rpc_call(&net.rpc_url, &request).await {
                Ok(text) if wallet::is_final(&text) => break,
                _ => crate::net::sleep(500).await,
            }
        }
    }
    Ok(hash)
}
