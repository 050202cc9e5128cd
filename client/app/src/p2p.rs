//! The gossip channel: the browser libp2p node (`outpost_p2p::browser`, websocket to the
//! configured peers; secure WebSocket `/tls/ws` ones only when the page is https) with the model's [`GossipView`] deciding what a send or a status poll
//! answers. Started when the network config names peers, restarted when that config changes.

use crate::net::{now_ms, sleep};
use futures::StreamExt;
use outpost_client_model::gossip::{GossipView, NodeEvent, PUBLISH_WAIT_MS};
use outpost_client_model::network::NetworkConfig;
use outpost_client_model::sync::{Channel, ChannelStatus, SendOutcome};
use outpost_client_model::words::explain;
use outpost_p2p::browser::{BrowserEvent, BrowserNode, Multiaddr};
use outpost_protocol::SignedIntent;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;

pub struct P2p {
    node: BrowserNode,
    view: Rc<RefCell<GossipView>>,
    /// Other users' intents heard since the sync loop last looked (it keeps those paying the
    /// user in the history). Bounded: a page away from its loop must not grow without end.
    heard: Rc<RefCell<Vec<SignedIntent>>>,
    /// The network config it was started for; another one means a new node.
    network: NetworkConfig,
    peers: Vec<Multiaddr>,
}

fn node_event(e: BrowserEvent) -> Option<NodeEvent> {
    Some(match e {
        BrowserEvent::Connected { peer } => NodeEvent::Connected {
            peer: peer.to_string(),
        },
        BrowserEvent::Disconnected { peer } => NodeEvent::Disconnected {
            peer: peer.to_string(),
        },
        BrowserEvent::PeerSubscribed { peer } => NodeEvent::PeerSubscribed {
            peer: peer.to_string(),
        },
        BrowserEvent::Published { intent_hash } => NodeEvent::Published {
            id: intent_hash.to_string(),
        },
        BrowserEvent::Status {
            intent_hash,
            status,
            author,
        } => NodeEvent::Status {
            id: intent_hash.to_string(),
            status,
            author: author.map(|a| a.to_string()),
        },
        BrowserEvent::DialFailed { address, error } => NodeEvent::DialFailed { address, error },
        // Other users' intents go to the history (see `heard`), not to the view.
        BrowserEvent::Intent { .. } => return None,
    })
}

impl P2p {
    /// Starts a node for `network` (None when it names no peers). `changed` runs after every event
    /// that may change what the page shows or what the sync loop can do.
    pub fn start(network: &NetworkConfig, changed: Rc<dyn Fn()>) -> Result<Option<P2p>, String> {
        if network.peers.is_empty() {
            return Ok(None);
        }
        // An https page can only open secure WebSockets (`/tls/ws`): browsers block `ws://`.
        let https = web_sys::window()
            .and_then(|w| w.location().protocol().ok())
            .is_some_and(|p| p == "https:");
        let peers = network
            .dialable_peers(https)
            .map_err(|p| p.0)?
            .iter()
            .map(|p| p.parse().map_err(|e| format!("peer `{p}`: {e}")))
            .collect::<Result<Vec<Multiaddr>, String>>()?;
        let (node, mut events) =
            BrowserNode::start(&network.chain_id, &network.intents_contract, peers.clone())?;
        let view = Rc::new(RefCell::new(GossipView::new(&network.peers)));
        view.borrow_mut().redial_due(now_ms()); // start() dialled them just now
        let sink = Rc::downgrade(&view);
        let heard = Rc::new(RefCell::new(Vec::new()));
        let heard_sink = Rc::downgrade(&heard);
        spawn_local(async move {
            while let Some(e) = events.next().await {
                // The node outlived its channel (the network changed): let it go.
                let Some(view) = sink.upgrade() else { break };
                if let (BrowserEvent::Intent { signed, .. }, Some(heard)) = (&e, heard_sink.upgrade()) {
                    let mut heard = heard.borrow_mut();
                    if heard.len() < HEARD_MAX {
                        heard.push((**signed).clone());
                    }
                }
                if let Some(e) = node_event(e) {
                    view.borrow_mut().apply(e);
                    changed();
                }
            }
        });
        Ok(Some(P2p {
            node,
            view,
            heard,
            network: network.clone(),
            peers,
        }))
    }

    /// Whether this node gossips on `network`'s topics with its peers.
    pub fn serves(&self, network: &NetworkConfig) -> bool {
        (
            &self.network.chain_id,
            &self.network.intents_contract,
            &self.network.peers,
        ) == (&network.chain_id, &network.intents_contract, &network.peers)
    }

    /// Dials the configured peers again when none is connected (they went down, or the page was
    /// offline), at most every `REDIAL_MS`.
    pub fn tick(&self) {
        if self.view.borrow_mut().redial_due(now_ms()) {
            for address in &self.peers {
                self.node.dial(address.clone());
            }
        }
    }

    /// Keeps relayers' reports only for these intents (the queue's unsettled records).
    pub fn watch(&self, ids: impl IntoIterator<Item = String>) {
        self.view.borrow_mut().watch(ids);
    }

    pub fn summary(&self) -> String {
        self.view.borrow().summary()
    }

    pub fn ready(&self) -> bool {
        self.view.borrow().ready()
    }

    pub fn peer_id(&self) -> String {
        self.node.peer_id().to_string()
    }

    pub fn untrusted_reports(&self) -> u64 {
        self.view.borrow().untrusted_reports
    }

    /// Other users' intents heard since the last call.
    pub fn take_heard(&self) -> Vec<SignedIntent> {
        std::mem::take(&mut *self.heard.borrow_mut())
    }
}

/// Intents kept between two looks of the sync loop (it looks every two seconds).
const HEARD_MAX: usize = 1_000;

impl Channel for P2p {
    fn name(&self) -> &str {
        "p2p"
    }
    async fn send(&self, signed: &SignedIntent, id: &str) -> SendOutcome {
        if let Some(refused) = self.view.borrow().before_send() {
            return refused;
        }
        // The node checks it with the protocol rules, as every peer will.
        if let Err(e) = self.node.publish_intent(signed) {
            return SendOutcome::Rejected {
                code: e.code.as_str().to_owned(),
                reason: explain(&e),
            };
        }
        let until = now_ms() + PUBLISH_WAIT_MS;
        while now_ms() < until && self.view.borrow().after_publish(id) != SendOutcome::Accepted {
            sleep(20).await;
        }
        self.view.borrow().after_publish(id)
    }
    async fn status(&self, id: &str) -> Result<ChannelStatus, String> {
        self.view.borrow().status(id)
    }
}
