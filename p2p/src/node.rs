//! The native node: a swarm over TCP (+ noise + yamux) and WebSocket, the composed behaviour, and
//! one event loop that validates every gossip message before gossipsub may forward it.
//!
//! The loop is driven by three sources: swarm events, commands from [`NodeHandle`] (publish, dial,
//! queries) and a tick (outbox retries, graylist enforcement). Application code never touches the
//! swarm; it sends commands and reads [`NodeEvent`]s.

use crate::behaviour::{Behaviour, BehaviourEvent, GossipTuning, Topics};
use crate::metrics::NodeMetrics;
use crate::validate::{now_ns, Accepted, IgnoreReason, Validator, Verdict};
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::identity::Keypair;
use libp2p::metrics::{Metrics as Libp2pMetrics, Recorder};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use outpost_protocol::gossip::{GossipMessage, IntentStatus};
use outpost_protocol::{IntentError, IntentHash, SignedIntent};
use prometheus_client::registry::Registry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Per-peer token bucket on messages received (before any validation work).
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    /// A peer forwards everyone's traffic, so the limit is generous; it only stops one peer from
    /// taking all of a core (validation costs ~40 µs, so 2,000/s is under 10 % of one).
    fn default() -> Self {
        RateLimit { per_second: 2_000.0, burst: 4_000.0 }
    }
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub chain_id: String,
    /// The intents contract: names the topics and is the recipient intents must be signed for.
    pub contract: String,
    pub keypair: Keypair,
    /// e.g. `/ip4/0.0.0.0/tcp/4001` and `/ip4/0.0.0.0/tcp/4002/ws`.
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
    pub tuning: GossipTuning,
    pub rate_limit: RateLimit,
    /// Intents queued while no peer is subscribed yet (offline-first: published on reconnect).
    pub outbox_capacity: usize,
}

impl NodeConfig {
    pub fn new(chain_id: &str, contract: &str, keypair: Keypair) -> Self {
        NodeConfig {
            chain_id: chain_id.to_owned(),
            contract: contract.to_owned(),
            keypair,
            listen: vec![],
            bootstrap: vec![],
            tuning: GossipTuning::default(),
            rate_limit: RateLimit::default(),
            outbox_capacity: 10_000,
        }
    }
}

/// Where an accepted intent came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Peer(PeerId),
    /// Published by this node (HTTP or the application).
    Local,
}

#[derive(Clone, Debug)]
pub enum NodeEvent {
    /// A valid, new intent (already forwarded to the mesh when it came from a peer).
    Intent { hash: IntentHash, signed: Arc<SignedIntent>, source: Source },
    /// A relayer's report.
    Status { intent_hash: IntentHash, status: IntentStatus, source: PeerId },
    Rejected { peer: PeerId, error: IntentError },
    Ignored { peer: PeerId, reason: IgnoreReason },
    /// A peer's score fell below the graylist threshold; it was disconnected.
    Graylisted { peer: PeerId, score: f64 },
    Subscribed { peer: PeerId, topic: String },
    Listening { address: Multiaddr },
    Connected { peer: PeerId },
}

#[derive(Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Sent to at least one peer.
    Published,
    /// No peer yet: kept in the outbox and sent when one subscribes.
    Queued,
    /// Already seen (from a peer or an earlier publish).
    Duplicate,
}

#[derive(Debug)]
pub enum NodeError {
    Build(String),
    Listen(String),
    Dial(String),
    Publish(String),
    Invalid(IntentError),
    Stopped,
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeError::Build(e) => write!(f, "building the node: {e}"),
            NodeError::Listen(e) => write!(f, "listening: {e}"),
            NodeError::Dial(e) => write!(f, "dialing: {e}"),
            NodeError::Publish(e) => write!(f, "publishing: {e}"),
            NodeError::Invalid(e) => write!(f, "invalid intent: {e}"),
            NodeError::Stopped => f.write_str("the node has stopped"),
        }
    }
}

impl std::error::Error for NodeError {}

enum Command {
    PublishIntent(Box<SignedIntent>, oneshot::Sender<Result<(IntentHash, PublishOutcome), NodeError>>),
    PublishStatus(IntentHash, IntentStatus, oneshot::Sender<Result<(), NodeError>>),
    Dial(Multiaddr, oneshot::Sender<Result<(), NodeError>>),
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Peers(oneshot::Sender<Vec<PeerId>>),
    MeshPeers(oneshot::Sender<Vec<PeerId>>),
    PeerScore(PeerId, oneshot::Sender<Option<f64>>),
    Seen(IntentHash, oneshot::Sender<bool>),
    Stop,
}

/// The application's side of a running node. Cheap to clone.
#[derive(Clone)]
pub struct NodeHandle {
    peer_id: PeerId,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<NodeEvent>,
}

impl NodeHandle {
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Every event from now on. A receiver that falls more than 4,096 events behind loses the
    /// oldest (the relayer uses its own lossless channel, see [`spawn`]).
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Validates `signed` with the same rules as gossip and publishes it.
    pub async fn publish_intent(&self, signed: SignedIntent) -> Result<(IntentHash, PublishOutcome), NodeError> {
        self.ask(|tx| Command::PublishIntent(Box::new(signed), tx)).await?
    }

    pub async fn publish_status(&self, intent_hash: IntentHash, status: IntentStatus) -> Result<(), NodeError> {
        self.ask(|tx| Command::PublishStatus(intent_hash, status, tx)).await?
    }

    pub async fn dial(&self, address: Multiaddr) -> Result<(), NodeError> {
        self.ask(|tx| Command::Dial(address, tx)).await?
    }

    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NodeError> {
        self.ask(Command::ListenAddrs).await
    }

    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, NodeError> {
        self.ask(Command::Peers).await
    }

    /// Peers in this node's intents-topic mesh.
    pub async fn mesh_peers(&self) -> Result<Vec<PeerId>, NodeError> {
        self.ask(Command::MeshPeers).await
    }

    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, NodeError> {
        self.ask(|tx| Command::PeerScore(peer, tx)).await
    }

    /// True when this node accepted an intent with this hash (from a peer or locally).
    pub async fn has_seen(&self, hash: IntentHash) -> Result<bool, NodeError> {
        self.ask(|tx| Command::Seen(hash, tx)).await
    }

    pub async fn stop(&self) {
        let _ = self.commands.send(Command::Stop).await;
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

struct Node {
    swarm: Swarm<Behaviour>,
    topics: Topics,
    validator: Validator,
    events: broadcast::Sender<NodeEvent>,
    intent_sink: Option<mpsc::Sender<(IntentHash, Arc<SignedIntent>)>>,
    rate_limit: RateLimit,
    buckets: HashMap<PeerId, Bucket>,
    outbox: VecDeque<Vec<u8>>,
    outbox_capacity: usize,
    graylist_threshold: f64,
    metrics: NodeMetrics,
    libp2p_metrics: Libp2pMetrics,
}

/// Builds the swarm, starts listening and dialing, and runs the event loop on the tokio runtime.
/// `intent_sink`, when given, receives every accepted intent without loss (backpressure instead),
/// which is what relayer mode needs.
pub async fn spawn(
    config: NodeConfig,
    registry: &mut Registry,
    intent_sink: Option<mpsc::Sender<(IntentHash, Arc<SignedIntent>)>>,
) -> Result<NodeHandle, NodeError> {
    let topics = Topics::new(&config.chain_id, &config.contract);
    let tuning = config.tuning.clone();
    let gossip_registry = registry.sub_registry_with_prefix("gossipsub");
    let mut gossipsub = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(config.keypair.clone()),
        crate::behaviour::gossipsub_config(&tuning).map_err(NodeError::Build)?,
    )
    .map_err(|e| NodeError::Build(e.to_string()))?
    .with_metrics(gossip_registry, Default::default());
    Behaviour::setup_gossipsub(&mut gossipsub, &topics, &tuning).map_err(NodeError::Build)?;
    let mut gossipsub = Some(gossipsub);

    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| NodeError::Build(e.to_string()))?
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .map_err(|e| NodeError::Build(e.to_string()))?
        .with_behaviour(|key| Behaviour::with_gossipsub(key, gossipsub.take().expect("called once")))
        .map_err(|e| NodeError::Build(e.to_string()))?
        // Gossipsub holds a connection only while the peer is in the mesh; keep quiet peers.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();

    for address in &config.listen {
        swarm.listen_on(address.clone()).map_err(|e| NodeError::Listen(format!("{address}: {e}")))?;
    }
    for address in &config.bootstrap {
        // A bootstrap peer that is down is not fatal: it is retried from the tick.
        if let Err(e) = swarm.dial(address.clone()) {
            tracing::warn!(%address, error = %e, "cannot dial bootstrap peer");
        }
    }

    let (commands, command_rx) = mpsc::channel(1024);
    let (events, _) = broadcast::channel(4096);
    let handle = NodeHandle { peer_id: *swarm.local_peer_id(), commands, events: events.clone() };
    let node = Node {
        swarm,
        topics,
        validator: Validator::new(&config.contract),
        events,
        intent_sink,
        rate_limit: config.rate_limit,
        buckets: HashMap::new(),
        outbox: VecDeque::new(),
        outbox_capacity: config.outbox_capacity,
        graylist_threshold: tuning.thresholds.graylist_threshold,
        metrics: NodeMetrics::register(registry),
        libp2p_metrics: Libp2pMetrics::new(registry),
    };
    tokio::spawn(node.run(command_rx, config.bootstrap));
    Ok(handle)
}

impl Node {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, bootstrap: Vec<Multiaddr>) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event).await,
                command = commands.recv() => match command {
                    Some(Command::Stop) | None => break,
                    Some(command) => self.on_command(command),
                },
                _ = tick.tick() => {
                    ticks += 1;
                    self.on_tick();
                    // Re-dial bootstrap peers every 10 s while we have no connection at all.
                    if ticks % 20 == 0 && self.swarm.connected_peers().next().is_none() {
                        for address in &bootstrap {
                            let _ = self.swarm.dial(address.clone());
                        }
                    }
                }
            }
        }
        tracing::info!("node stopped");
    }

    fn emit(&self, event: NodeEvent) {
        // No receiver is fine: nobody is listening.
        let _ = self.events.send(event);
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        self.libp2p_metrics.record(&event);
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_message(propagation_source, message_id, message).await,
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { peer_id, topic })) => {
                if topic == self.topics.intents.hash() {
                    self.flush_outbox();
                }
                self.emit(NodeEvent::Subscribed { peer: peer_id, topic: topic.to_string() });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(e)) => self.libp2p_metrics.record(&e),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(e)) => self.libp2p_metrics.record(&e),
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, peer_id = %self.swarm.local_peer_id(), "listening");
                self.emit(NodeEvent::Listening { address });
            }
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                tracing::debug!(peer = %peer_id, address = %endpoint.get_remote_address(), "connected");
                if num_established.get() == 1 {
                    self.metrics.connected_peers.inc();
                }
                self.emit(NodeEvent::Connected { peer: peer_id });
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                if num_established == 0 {
                    self.metrics.connected_peers.dec();
                    self.buckets.remove(&peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "dial failed");
            }
            _ => {}
        }
    }

    /// Token bucket per propagation source: over the limit, the message is ignored before any
    /// parsing or signature work (no penalty: a peer relaying a genuine burst is not malicious).
    fn within_rate(&mut self, peer: PeerId) -> bool {
        let now = Instant::now();
        let limit = self.rate_limit;
        let bucket = self.buckets.entry(peer).or_insert(Bucket { tokens: limit.burst, last: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * limit.per_second).min(limit.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    async fn on_message(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        let verdict = if !self.within_rate(source) {
            Verdict::Ignore(IgnoreReason::RateLimited)
        } else {
            self.topics.check(&message.topic, || self.validator.check_bytes(&message.data, now_ns()))
        };
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        match verdict {
            Verdict::Accept(accepted) => {
                gossipsub.report_message_validation_result(&id, &source, MessageAcceptance::Accept);
                self.metrics.accepted.inc();
                match accepted {
                    Accepted::Intent { signed, verified } => {
                        let signed = Arc::new(*signed);
                        if let Some(sink) = &self.intent_sink {
                            // Backpressure rather than loss: the relayer must see every intent.
                            if sink.send((verified.hash, signed.clone())).await.is_err() {
                                tracing::warn!("relayer intake closed");
                            }
                        }
                        self.emit(NodeEvent::Intent { hash: verified.hash, signed, source: Source::Peer(source) });
                    }
                    Accepted::Status { intent_hash, status } => {
                        self.emit(NodeEvent::Status { intent_hash, status, source });
                    }
                }
            }
            Verdict::Ignore(reason) => {
                gossipsub.report_message_validation_result(&id, &source, MessageAcceptance::Ignore);
                self.metrics.ignored.get_or_create(&vec![("reason".into(), reason.as_str().into())]).inc();
                self.emit(NodeEvent::Ignored { peer: source, reason });
            }
            Verdict::Reject(error) => {
                tracing::debug!(peer = %source, %error, "rejected gossip message");
                gossipsub.report_message_validation_result(&id, &source, MessageAcceptance::Reject);
                self.metrics.rejected.get_or_create(&vec![("code".into(), error.code.as_str().into())]).inc();
                self.emit(NodeEvent::Rejected { peer: source, error });
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::PublishIntent(signed, reply) => {
                let _ = reply.send(self.publish_intent(*signed));
            }
            Command::PublishStatus(intent_hash, status, reply) => {
                let data = GossipMessage::Status { intent_hash, status }.encode();
                let result = match self.swarm.behaviour_mut().gossipsub.publish(self.topics.status.clone(), data) {
                    Ok(_) | Err(PublishError::Duplicate) => Ok(()),
                    // Statuses are informative; with no peer there is nobody to tell.
                    Err(PublishError::NoPeersSubscribedToTopic) => Ok(()),
                    Err(e) => Err(NodeError::Publish(e.to_string())),
                };
                let _ = reply.send(result);
            }
            Command::Dial(address, reply) => {
                let _ = reply.send(self.swarm.dial(address).map_err(|e| NodeError::Dial(e.to_string())));
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.swarm.connected_peers().cloned().collect());
            }
            Command::MeshPeers(reply) => {
                let topic = self.topics.intents.hash();
                let _ = reply.send(self.swarm.behaviour().gossipsub.mesh_peers(&topic).cloned().collect());
            }
            Command::PeerScore(peer, reply) => {
                let _ = reply.send(self.swarm.behaviour().gossipsub.peer_score(&peer));
            }
            Command::Seen(hash, reply) => {
                let _ = reply.send(self.validator.has_seen(&hash));
            }
            Command::Stop => {}
        }
    }

    fn publish_intent(&mut self, signed: SignedIntent) -> Result<(IntentHash, PublishOutcome), NodeError> {
        let data = GossipMessage::Intent { intent: signed.clone() }.encode();
        let hash = outpost_protocol::nep413::Payload::of(&signed).hash(&outpost_protocol::DalekCrypto);
        let signed = match self.validator.check_intent(signed, now_ns()) {
            Verdict::Accept(Accepted::Intent { signed, .. }) => Arc::new(*signed),
            Verdict::Ignore(IgnoreReason::Duplicate) => return Ok((hash, PublishOutcome::Duplicate)),
            Verdict::Ignore(reason) => {
                return Err(NodeError::Invalid(IntentError::new(
                    outpost_protocol::ErrorCode::DeadlineExpired,
                    format!("not published: {}", reason.as_str()),
                )))
            }
            Verdict::Reject(e) => return Err(NodeError::Invalid(e)),
            Verdict::Accept(Accepted::Status { .. }) => unreachable!("check_intent only accepts intents"),
        };
        self.metrics.published.inc();
        if let Some(sink) = &self.intent_sink {
            if sink.try_send((hash, signed.clone())).is_err() {
                tracing::warn!(%hash, "relayer intake full; the intent is still gossiped");
            }
        }
        self.emit(NodeEvent::Intent { hash, signed, source: Source::Local });
        let outcome = match self.swarm.behaviour_mut().gossipsub.publish(self.topics.intents.clone(), data.clone()) {
            Ok(_) => PublishOutcome::Published,
            Err(PublishError::Duplicate) => PublishOutcome::Duplicate,
            Err(_) => {
                // No peers yet, or all send queues full: keep it for the next peer.
                if self.outbox.len() >= self.outbox_capacity {
                    self.outbox.pop_front();
                }
                self.outbox.push_back(data);
                PublishOutcome::Queued
            }
        };
        Ok((hash, outcome))
    }

    fn flush_outbox(&mut self) {
        let mut kept = VecDeque::new();
        while let Some(data) = self.outbox.pop_front() {
            match self.swarm.behaviour_mut().gossipsub.publish(self.topics.intents.clone(), data.clone()) {
                Ok(_) | Err(PublishError::Duplicate) => {}
                Err(_) => kept.push_back(data),
            }
        }
        self.outbox = kept;
    }

    fn on_tick(&mut self) {
        if !self.outbox.is_empty() {
            self.flush_outbox();
        }
        // Gossipsub already ignores a graylisted peer's RPCs; disconnecting also stops it from
        // costing us bandwidth and decoding. Its score is retained, so reconnecting does not help.
        let graylisted: Vec<(PeerId, f64)> = self
            .swarm
            .connected_peers()
            .filter_map(|p| self.swarm.behaviour().gossipsub.peer_score(p).map(|s| (*p, s)))
            .filter(|(_, s)| *s < self.graylist_threshold)
            .collect();
        for (peer, score) in graylisted {
            tracing::warn!(%peer, score, "peer graylisted; disconnecting");
            self.metrics.graylisted.inc();
            let _ = self.swarm.disconnect_peer_id(peer);
            self.emit(NodeEvent::Graylisted { peer, score });
        }
    }
}
