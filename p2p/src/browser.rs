//! The browser node (wasm32): the same behaviour and validation as a native node, over
//! `websocket-websys`, so the dApp can publish signed intents and hear relayers' statuses.
//!
//! ```ignore
//! let (node, mut events) = BrowserNode::start("testnet", "intents.outpost.testnet", peers)?;
//! node.publish_intent(&signed)?;              // validated here first, queued until a peer subscribes
//! while let Some(BrowserEvent::Status { intent_hash, status, author }) = events.next().await { ... }
//! ```

use crate::behaviour::{Behaviour, BehaviourEvent, GossipTuning, Topics};
use crate::ratelimit::{RateLimit, TokenBucket};
use crate::validate::{now_ns, Accepted, IgnoreReason, Validator, Verdict};
use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use libp2p::core::upgrade::Version;
use libp2p::core::Transport as _;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, websocket_websys, yamux, PeerId};
use outpost_protocol::gossip::{GossipMessage, IntentStatus};
use outpost_protocol::nep413::Payload;
use outpost_protocol::{DalekCrypto, IntentError, IntentHash, SignedIntent};
use std::collections::VecDeque;
use std::time::Duration;

/// Peers' addresses, as `BrowserNode::start` and `dial` take them.
pub use libp2p::Multiaddr;

/// What the dApp hears from the network.
#[derive(Clone, Debug)]
pub enum BrowserEvent {
    Connected { peer: PeerId },
    Disconnected { peer: PeerId },
    /// A peer subscribed to the intents topic: queued intents go out now.
    PeerSubscribed { peer: PeerId },
    /// An intent of ours left this node for at least one peer.
    Published { intent_hash: IntentHash },
    /// A relayer's report, with the peer that signed it (gossipsub strict signing), so the dApp
    /// can trust only the relayers it is configured with.
    Status { intent_hash: IntentHash, status: IntentStatus, author: Option<PeerId> },
    /// Another user's valid intent (the dApp can show or ignore it).
    Intent { intent_hash: IntentHash, signed: Box<SignedIntent> },
    DialFailed { address: String, error: String },
}

enum Command {
    Publish(IntentHash, Vec<u8>),
    Dial(Multiaddr),
}

/// How much of other people's traffic a page relays. A browser is a leaf of the mesh on a
/// phone's battery and data plan: it forwards at most this many messages (intents and statuses
/// together); past it, messages are neither validated nor forwarded (gossipsub `Ignore`, no
/// penalty), except that statuses are still read for the page itself, unforwarded.
pub const DEFAULT_FORWARD_LIMIT: RateLimit = RateLimit { per_second: 20.0, burst: 100.0 };

/// A handle on the running browser node. Dropping every handle stops the node.
#[derive(Clone)]
pub struct BrowserNode {
    peer_id: PeerId,
    commands: mpsc::UnboundedSender<Command>,
    contract: String,
}

impl BrowserNode {
    /// Starts a node with a fresh identity and dials `peers` (`/ip4/…/tcp/P/ws/p2p/<id>`, or
    /// `/dns4/…/tcp/443/wss/p2p/<id>` for https pages).
    pub fn start(chain_id: &str, contract: &str, peers: Vec<Multiaddr>) -> Result<(BrowserNode, mpsc::UnboundedReceiver<BrowserEvent>), String> {
        Self::start_with(chain_id, contract, peers, DEFAULT_FORWARD_LIMIT)
    }

    /// [`BrowserNode::start`] with another forwarding budget.
    pub fn start_with(
        chain_id: &str,
        contract: &str,
        peers: Vec<Multiaddr>,
        forward: RateLimit,
    ) -> Result<(BrowserNode, mpsc::UnboundedReceiver<BrowserEvent>), String> {
        let topics = Topics::new(chain_id, contract);
        let tuning = GossipTuning::default();
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_wasm_bindgen()
            .with_other_transport(|key| {
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                    websocket_websys::Transport::default()
                        .upgrade(Version::V1)
                        .authenticate(noise::Config::new(key)?)
                        .multiplex(yamux::Config::default())
                        .boxed(),
                )
            })
            .map_err(|e| e.to_string())?
            .with_behaviour(|key| Behaviour::new(key, &topics, &tuning).map_err(Box::<dyn std::error::Error + Send + Sync>::from))
            .map_err(|e| e.to_string())?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        let peer_id = *swarm.local_peer_id();
        let (events, events_rx) = mpsc::unbounded();
        let (commands, mut command_rx) = mpsc::unbounded::<Command>();
        for address in peers {
            if let Err(e) = swarm.dial(address.clone()) {
                let _ = events.unbounded_send(BrowserEvent::DialFailed { address: address.to_string(), error: e.to_string() });
            }
        }
        let mut validator = Validator::new(contract);
        let now_s = || js_sys::Date::now() / 1000.0;
        let mut budget = TokenBucket::full(forward, now_s());
        wasm_bindgen_futures::spawn_local(async move {
            let mut outbox: VecDeque<(IntentHash, Vec<u8>)> = VecDeque::new();
            let mut retry = futures_timer::Delay::new(Duration::from_millis(500)).fuse();
            loop {
                futures::select! {
                    event = swarm.select_next_some() => match event {
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { propagation_source, message_id, message })) => {
                            let gs = &mut swarm.behaviour_mut().gossipsub;
                            if !budget.take(forward, now_s()) {
                                // Over budget: not forwarded. A status may still be for one of
                                // this page's intents, and reading one costs no signature check.
                                gs.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Ignore);
                                if message.topic == topics.status.hash() {
                                    if let Ok(GossipMessage::Status { intent_hash, status }) = GossipMessage::decode(&message.data) {
                                        let _ = events.unbounded_send(BrowserEvent::Status { intent_hash, status, author: message.source });
                                    }
                                }
                                continue;
                            }
                            let verdict = topics.check(&message.topic, || validator.check_bytes(&message.data, now_ns()));
                            match verdict {
                                Verdict::Accept(accepted) => {
                                    gs.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Accept);
                                    let event = match accepted {
                                        Accepted::Status { intent_hash, status } => BrowserEvent::Status { intent_hash, status, author: message.source },
                                        Accepted::Intent { signed, verified } => BrowserEvent::Intent { intent_hash: verified.hash, signed },
                                    };
                                    let _ = events.unbounded_send(event);
                                }
                                Verdict::Ignore(reason) => {
                                    gs.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Ignore);
                                    // A report about an intent this page sent before a reload: not
                                    // forwarded, but the dApp still hears it (it trusts only its
                                    // configured relayers, and only as a hint).
                                    if reason == IgnoreReason::UnknownIntent {
                                        if let Ok(GossipMessage::Status { intent_hash, status }) = GossipMessage::decode(&message.data) {
                                            let _ = events.unbounded_send(BrowserEvent::Status { intent_hash, status, author: message.source });
                                        }
                                    }
                                }
                                Verdict::Reject(_) => {
                                    gs.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Reject);
                                }
                            }
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { peer_id, topic })) => {
                            if topic == topics.intents.hash() {
                                let _ = events.unbounded_send(BrowserEvent::PeerSubscribed { peer: peer_id });
                                flush(&mut swarm, &topics, &mut outbox, &events);
                            }
                        }
                        SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                            let _ = events.unbounded_send(BrowserEvent::Connected { peer: peer_id });
                        }
                        SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                            let _ = events.unbounded_send(BrowserEvent::Disconnected { peer: peer_id });
                        }
                        SwarmEvent::OutgoingConnectionError { error, .. } => {
                            let _ = events.unbounded_send(BrowserEvent::DialFailed { address: String::new(), error: error.to_string() });
                        }
                        _ => {}
                    },
                    command = command_rx.next() => match command {
                        Some(Command::Publish(hash, data)) => {
                            validator.mark_seen(hash);
                            outbox.push_back((hash, data));
                            flush(&mut swarm, &topics, &mut outbox, &events);
                        }
                        Some(Command::Dial(address)) => {
                            if let Err(e) = swarm.dial(address.clone()) {
                                let _ = events.unbounded_send(BrowserEvent::DialFailed { address: address.to_string(), error: e.to_string() });
                            }
                        }
                        // Every handle dropped: stop.
                        None => break,
                    },
                    _ = retry => {
                        flush(&mut swarm, &topics, &mut outbox, &events);
                        retry = futures_timer::Delay::new(Duration::from_millis(500)).fuse();
                    }
                }
            }
        });
        Ok((BrowserNode { peer_id, commands, contract: contract.to_owned() }, events_rx))
    }

    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Checks `signed` with the protocol rules (as every peer will) and publishes it; while no
    /// peer is subscribed it waits in this node's outbox. Returns the intent hash.
    pub fn publish_intent(&self, signed: &SignedIntent) -> Result<IntentHash, IntentError> {
        let verified = outpost_protocol::verify_signed_intent(&DalekCrypto, signed, &self.contract, now_ns())?;
        self.publish_unchecked(signed).map(|_| verified.hash)
    }

    /// Publishes without checking (tests use it to prove peers reject what this node would not
    /// send).
    pub fn publish_unchecked(&self, signed: &SignedIntent) -> Result<IntentHash, IntentError> {
        let hash = Payload::of(signed).hash(&DalekCrypto);
        let data = GossipMessage::Intent { intent: signed.clone() }.encode();
        self.commands
            .unbounded_send(Command::Publish(hash, data))
            .map_err(|_| IntentError::new(outpost_protocol::ErrorCode::MessageMalformed, "the browser node has stopped"))?;
        Ok(hash)
    }

    pub fn dial(&self, address: Multiaddr) {
        let _ = self.commands.unbounded_send(Command::Dial(address));
    }
}

fn flush(
    swarm: &mut libp2p::Swarm<Behaviour>,
    topics: &Topics,
    outbox: &mut VecDeque<(IntentHash, Vec<u8>)>,
    events: &mpsc::UnboundedSender<BrowserEvent>,
) {
    let mut kept = VecDeque::new();
    while let Some((hash, data)) = outbox.pop_front() {
        match swarm.behaviour_mut().gossipsub.publish(topics.intents.clone(), data.clone()) {
            Ok(_) | Err(PublishError::Duplicate) => {
                let _ = events.unbounded_send(BrowserEvent::Published { intent_hash: hash });
            }
            Err(_) => kept.push_back((hash, data)),
        }
    }
    *outbox = kept;
}
