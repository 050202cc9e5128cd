//! The browser node as a wasm module with a small JS API, for pages that are not Rust and for the
//! headless-Chromium test. The Yew dApp uses `outpost_p2p::browser::BrowserNode` directly.
//!
//! ```js
//! const node = OutpostNode.start("testnet", "intents.outpost.testnet", ["/ip4/127.0.0.1/tcp/4002/ws/p2p/12D3..."]);
//! const hash = node.publish_intent(JSON.stringify(signedIntent));
//! for (const e of node.take_events()) console.log(JSON.parse(e));  // {"kind": "status", ...}
//! ```
#![cfg(target_arch = "wasm32")]

use futures::StreamExt;
use outpost_p2p::browser::{BrowserEvent, BrowserNode};
use outpost_protocol::SignedIntent;
use serde_json::json;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct OutpostNode {
    node: BrowserNode,
    events: Rc<RefCell<VecDeque<String>>>,
}

fn event_json(e: &BrowserEvent) -> serde_json::Value {
    match e {
        BrowserEvent::Connected { peer } => json!({ "kind": "connected", "peer": peer.to_string() }),
        BrowserEvent::Disconnected { peer } => json!({ "kind": "disconnected", "peer": peer.to_string() }),
        BrowserEvent::PeerSubscribed { peer } => json!({ "kind": "peer_subscribed", "peer": peer.to_string() }),
        BrowserEvent::Published { intent_hash } => json!({ "kind": "published", "intent_hash": intent_hash.to_string() }),
        BrowserEvent::Status { intent_hash, status, author } => json!({
            "kind": "status", "intent_hash": intent_hash.to_string(), "status": status,
            "author": author.map(|a| a.to_string()),
        }),
        BrowserEvent::Intent { intent_hash, .. } => json!({ "kind": "intent", "intent_hash": intent_hash.to_string() }),
        BrowserEvent::DialFailed { address, error } => json!({ "kind": "dial_failed", "address": address, "error": error }),
    }
}

#[wasm_bindgen]
impl OutpostNode {
    /// Starts a node and dials `peers` (multiaddrs with `/ws`, `/tls/ws` or `/wss`, and `/p2p/<id>`).
    pub fn start(chain_id: &str, contract: &str, peers: Vec<String>) -> Result<OutpostNode, JsError> {
        Self::start_inner(chain_id, contract, peers, outpost_p2p::browser::DEFAULT_FORWARD_LIMIT)
    }

    fn start_inner(chain_id: &str, contract: &str, peers: Vec<String>, forward: outpost_p2p::ratelimit::RateLimit) -> Result<OutpostNode, JsError> {
        let peers = peers
            .iter()
            .map(|p| p.parse().map_err(|e| JsError::new(&format!("{p}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let (node, mut stream) = BrowserNode::start_with(chain_id, contract, peers, forward).map_err(|e| JsError::new(&e))?;
        let events = Rc::new(RefCell::new(VecDeque::new()));
        let sink = events.clone();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(e) = stream.next().await {
                sink.borrow_mut().push_back(event_json(&e).to_string());
            }
        });
        Ok(OutpostNode { node, events })
    }

    /// [`OutpostNode::start`] forwarding at most `per_second` messages of others (burst `burst`).
    pub fn start_with_forward_limit(chain_id: &str, contract: &str, peers: Vec<String>, per_second: f64, burst: f64) -> Result<OutpostNode, JsError> {
        Self::start_inner(chain_id, contract, peers, outpost_p2p::ratelimit::RateLimit { per_second, burst })
    }

    pub fn peer_id(&self) -> String {
        self.node.peer_id().to_string()
    }

    /// Validates and publishes a `SignedIntent` given as JSON; returns its intent hash.
    pub fn publish_intent(&self, json: &str) -> Result<String, JsError> {
        let signed: SignedIntent = serde_json::from_str(json).map_err(|e| JsError::new(&format!("MESSAGE_MALFORMED: {e}")))?;
        self.node.publish_intent(&signed).map(|h| h.to_string()).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Publishes without checking: only for tests that prove peers reject bad intents.
    pub fn publish_unchecked(&self, json: &str) -> Result<String, JsError> {
        let signed: SignedIntent = serde_json::from_str(json).map_err(|e| JsError::new(&format!("MESSAGE_MALFORMED: {e}")))?;
        self.node.publish_unchecked(&signed).map(|h| h.to_string()).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Events since the last call, each a JSON object with a `kind`.
    pub fn take_events(&self) -> Vec<String> {
        self.events.borrow_mut().drain(..).collect()
    }
}

/// Test intents signed in the page (same keys and shapes as `outpost_p2p::testkit`).
#[wasm_bindgen]
pub fn test_intent(n: u32) -> String {
    serde_json::to_string(&outpost_p2p::testkit::valid_intent(n as u64)).unwrap_or_default()
}

#[wasm_bindgen]
pub fn test_forged_intent(n: u32) -> String {
    serde_json::to_string(&outpost_p2p::testkit::forged_intent(n as u64)).unwrap_or_default()
}

#[wasm_bindgen]
pub fn test_expired_intent(n: u32) -> String {
    let s = outpost_p2p::testkit::intent_for(outpost_p2p::testkit::CONTRACT, n as u64, -3600);
    serde_json::to_string(&s).unwrap_or_default()
}
