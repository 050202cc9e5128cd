//! fetch, timers and connectivity, plus the two sync channels that need them: the relayer's HTTP
//! endpoint and the chain's `nonce_status` view over JSON-RPC.

use outpost_client_model::queue::Record;
use outpost_client_model::relayer;
use outpost_client_model::rpc;
use outpost_client_model::sync::{Channel, ChannelStatus, NonceOracle, SendOutcome};
use outpost_client_model::network::NetworkConfig;
use outpost_protocol::{AccountId, SignedIntent, TokenId};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// A JS exception or rejection in words (its `message`, or the string it is). Not `{:?}`: the
/// release build compiles Debug formatting out (-Zfmt-debug=none).
pub fn js_text(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        return s;
    }
    js_sys::Reflect::get(v, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| "an error the browser did not describe".into())
}

pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

pub fn online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(false)
}

pub async fn sleep(ms: u32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = JsFuture::from(p).await;
}

/// Why a fetch failed, and whether the request may have reached the server.
pub struct FetchError {
    pub reason: String,
    pub maybe_delivered: bool,
}

/// One HTTP request; returns status and body text. JSON bodies only; no credentials are sent.
pub async fn fetch(
    method: &str,
    url: &str,
    body: Option<&str>,
) -> Result<(u16, String), FetchError> {
    let fail = |reason: String, maybe_delivered| FetchError {
        reason,
        maybe_delivered,
    };
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(b));
    }
    let req = Request::new_with_str_and_init(url, &init)
        .map_err(|_| fail(format!("`{url}` is not a usable address"), false))?;
    if body.is_some() {
        let _ = req.headers().set("content-type", "application/json");
    }
    let window = web_sys::window().ok_or_else(|| fail("no window".into(), false))?;
    // A network error after the request left may still have delivered it: say so.
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| {
            fail(
                "could not reach it (offline, or the server is down)".into(),
                online(),
            )
        })?;
    let resp: Response = resp
        .dyn_into()
        .map_err(|_| fail("unexpected answer".into(), true))?;
    let status = resp.status();
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((status, text))
}

/// The relayer's HTTP endpoint (`POST /intents`, `GET /intents/{hash}`).
pub struct RelayerChannel {
    pub base: String,
}

impl Channel for RelayerChannel {
    fn name(&self) -> &str {
        "relayer"
    }
    async fn send(&self, signed: &SignedIntent, id: &str) -> SendOutcome {
        // The body is the protocol's SignedIntent JSON, nothing else: no key material can ride along.
        let body = match serde_json::to_string(signed) {
            Ok(b) => b,
            Err(e) => {
                return SendOutcome::Rejected {
                    code: "ENCODE".into(),
                    reason: e.to_string(),
                }
            }
        };
        match fetch("POST", &relayer::intents_url(&self.base), Some(&body)).await {
            Ok((status, text)) => relayer::post_outcome(status, &text, id),
            Err(e) => SendOutcome::Unavailable {
                reason: e.reason,
                maybe_delivered: e.maybe_delivered,
            },
        }
    }
    async fn status(&self, id: &str) -> Result<ChannelStatus, String> {
        let (status, text) = fetch("GET", &relayer::status_url(&self.base, id), None)
            .await
            .map_err(|e| e.reason)?;
        relayer::status_outcome(status, &text)
    }
}

/// Asks the browser to keep this site's storage (the encrypted key, the queue) under storage
/// pressure: `navigator.storage.persist()`. `Ok(true)` when it will, `Ok(false)` when the storage
/// stays "best effort" (the browser decides, e.g. by how much the site is used).
pub async fn persist_storage() -> Result<bool, String> {
    let storage = web_sys::window().ok_or("no window")?.navigator().storage();
    let ask = |p: Result<js_sys::Promise, JsValue>| async move {
        let value = JsFuture::from(p.map_err(|e| js_text(&e))?)
            .await
            .map_err(|e| js_text(&e))?;
        Ok::<bool, String>(value.as_bool().unwrap_or(false))
    };
    if ask(storage.persisted()).await? {
        return Ok(true);
    }
    ask(storage.persist()).await
}

/// `nonce_status` over RPC: what became of a record's nonce, and by which intent.
pub struct RpcOracle {
    pub rpc_url: String,
    pub contract: String,
}

/// An account's balance of one token in the ledger (`get_balance`).
pub async fn ledger_balance(net: &NetworkConfig, account: &AccountId, token: &TokenId) -> Result<u128, String> {
    rpc_call(&net.rpc_url, &rpc::get_balance_request(&net.intents_contract, account, token)).await.and_then(|t| rpc::parse_balance(&t))
}

/// Its ledger balances of NEAR and every token the network lists, in that order.
pub async fn ledger_balances(net: &NetworkConfig, account: &AccountId) -> Vec<(TokenId, Result<u128, String>)> {
    let mut out = vec![];
    for t in net.token_ids() {
        let b = ledger_balance(net, account, &t).await;
        out.push((t, b));
    }
    out
}

pub async fn rpc_call(rpc_url: &str, body: &str) -> Result<String, String> {
    match fetch("POST", rpc_url, Some(body)).await {
        Ok((200, text)) => Ok(text),
        Ok((status, _)) => Err(format!("the RPC node answered HTTP {status}")),
        Err(e) => Err(e.reason),
    }
}

impl NonceOracle for RpcOracle {
    async fn nonce_status(
        &self,
        record: &Record,
    ) -> Result<outpost_protocol::abi::NonceStatus, String> {
        let account: AccountId = record
            .signer_id
            .parse()
            .map_err(|_| "bad signer".to_owned())?;
        let text = rpc_call(
            &self.rpc_url,
            &rpc::nonce_status_request(&self.contract, &account, &record.signed.nonce),
        )
        .await?;
        rpc::parse_nonce_status(&text)
    }

    async fn executed_in_tx(&self, tx_hash: &str, sender: &str, id: &str) -> Result<bool, String> {
        let text = rpc_call(&self.rpc_url, &rpc::tx_status_request(tx_hash, sender, "EXECUTED_OPTIMISTIC")).await?;
        Ok(rpc::parse_executed_hashes(&text, &self.contract)?.iter().any(|h| h == id))
    }
}
