//! The native node: a swarm over TCP (+ noise + yamux) and WebSocket, the composed behaviour, and
//! one event loop that validates every gossip message before gossipsub may forward it.
//!
//! The loop is driven by three sources: swarm events, commands from [`NodeHandle`] (publish, dial,
//! queries) and a tick (outbox retries, graylist enforcement). Application code never touches the
//! swarm; it sends commands and reads [`NodeEvent`]s.

use crate::behaviour::{Behaviour, BehaviourEvent, GossipTuning, IpLimits, Topics, TooManyFromIp};
use crate::metrics::NodeMetrics;
use crate::validate::{now_ns, Accepted, IgnoreReason, Validator, Verdict};
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::identity::Keypair;
use libp2p::metrics::{Metrics as Libp2pMetrics, Recorder};
use libp2p::connection_limits::{ConnectionLimits, Exceeded};
use libp2p::core::upgrade::Version;
use libp2p::core::Transport as _;
use libp2p::swarm::{ListenError, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use outpost_protocol::gossip::{GossipMessage, IntentStatus};
use outpost_protocol::{IntentError, IntentHash, SignedIntent};
use prometheus_client::registry::Registry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Token buckets on messages received, per peer and per IP (before any validation work).
pub use crate::ratelimit::RateLimit;
use crate::ratelimit::TokenBucket;

impl Default for RateLimit {
    /// A peer forwards everyone's traffic, so the limit is generous; it only stops one peer from
    /// taking all of a core (validation costs ~40 µs, so 2,000/s is under 10 % of one).
    fn default() -> Self {
        RateLimit { per_second: 2_000.0, burst: 4_000.0 }
    }
}

/// Who may connect, and how much one address may send. Peer ids cost nothing to make, so the
/// limits that matter are per IP address; `trusted_ips` (your own nodes behind one NAT, your TLS
/// proxy, a loopback test) are exempt from the per-IP ones.
#[derive(Clone, Debug)]
pub struct Admission {
    /// Inbound connections (pending or established) per remote IP.
    pub max_connections_per_ip: Option<u32>,
    pub trusted_ips: Vec<IpAddr>,
    /// Established connections in total, and per peer (libp2p's `connection_limits`).
    pub max_connections: Option<u32>,
    pub max_connections_per_peer: Option<u32>,
    /// Inbound connections still in their handshake.
    pub max_pending_incoming: Option<u32>,
    /// Messages per second from all the peers of one IP together (each peer also has its own
    /// [`NodeConfig::rate_limit`]).
    pub ip_rate_limit: RateLimit,
}

impl Default for Admission {
    /// 8 per IP lets a household or a small office in; a carrier NAT or a TLS proxy needs its
    /// address in `trusted_ips` (or a higher cap). Two connections per peer allow a simultaneous
    /// dial from both sides. The per-IP message rate is twice a single peer's.
    fn default() -> Self {
        Admission {
            max_connections_per_ip: Some(8),
            trusted_ips: vec![],
            max_connections: Some(512),
            max_connections_per_peer: Some(2),
            max_pending_incoming: Some(64),
            ip_rate_limit: RateLimit { per_second: 4_000.0, burst: 8_000.0 },
        }
    }
}

/// The certificate for listening on `/tls/ws` (secure WebSocket, what a page served over https
/// can dial), and extra roots to trust when dialing `/tls/ws` peers (the web PKI is always
/// trusted; extra roots are for private CAs and tests).
#[derive(Clone, Debug, Default)]
pub struct WsTls {
    /// DER certificates, leaf first. Empty: dial only.
    pub cert_chain: Vec<Vec<u8>>,
    /// DER private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Vec<u8>,
    pub extra_roots: Vec<Vec<u8>>,
}

impl WsTls {
    /// From PEM files as ACME clients write them (certbot: `fullchain.pem`, `privkey.pem`).
    pub fn from_pem_files(cert: &std::path::Path, key: &std::path::Path) -> Result<WsTls, String> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let cert_chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.map(|c| c.map(|c| c.to_vec())).collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        if cert_chain.is_empty() {
            return Err(format!("{}: no CERTIFICATE in it", cert.display()));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
        Ok(WsTls { cert_chain, key: key_der.secret_der().to_vec(), extra_roots: vec![] })
    }

    fn config(&self) -> Result<libp2p::websocket::tls::Config, String> {
        use libp2p::websocket::tls;
        let mut builder = tls::Config::builder();
        if !self.cert_chain.is_empty() {
            // `PrivateKey::new` panics on a key it cannot classify: check first.
            rustls_pki_types::PrivateKeyDer::try_from(self.key.clone()).map_err(|e| format!("TLS key: {e}"))?;
            let certs = self.cert_chain.iter().map(|c| tls::Certificate::new(c.clone()));
            builder.server(tls::PrivateKey::new(self.key.clone()), certs).map_err(|e| format!("TLS certificate and key: {e}"))?;
        }
        for root in &self.extra_roots {
            builder.add_trust(&tls::Certificate::new(root.clone())).map_err(|e| format!("TLS root: {e}"))?;
        }
        Ok(builder.finish())
    }
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub chain_id: String,
    /// The intents contract: names the topics and is the recipient intents must be signed for.
    pub contract: String,
    pub keypair: Keypair,
    /// e.g. `/ip4/0.0.0.0/tcp/4001`, `/ip4/0.0.0.0/tcp/4002/ws` and (with `tls`)
    /// `/ip4/0.0.0.0/tcp/443/tls/ws`.
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
    pub tuning: GossipTuning,
    pub rate_limit: RateLimit,
    /// Intents queued while no peer is subscribed yet (offline-first: published on reconnect).
    pub outbox_capacity: usize,
    pub admission: Admission,
    /// Needed to listen on `/tls/ws`.
    pub tls: Option<WsTls>,
    /// Intents held for the relayer while its intake channel is full (see [`spawn`]); past this
    /// the oldest are dropped and counted (`outpost_relayer_intake_dropped_total`).
    pub intake_overflow: usize,
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
            admission: Admission::default(),
            tls: None,
            intake_overflow: 50_000,
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
    /// Valid, but not taken now (its signer's budget is spent): try again later.
    Busy(String),
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
            NodeError::Busy(e) => write!(f, "not now: {e}"),
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

/// The relayer's side of the node: a bounded channel, and a bounded overflow in front of it so
/// the swarm loop never waits for the relayer.
struct Intake {
    sink: mpsc::Sender<(IntentHash, Arc<SignedIntent>)>,
    overflow: VecDeque<(IntentHash, Arc<SignedIntent>)>,
    capacity: usize,
}

impl Intake {
    /// Hands `item` to the relayer, or keeps it (in order) for when the channel has room.
    fn offer(&mut self, item: (IntentHash, Arc<SignedIntent>), metrics: &NodeMetrics) {
        self.drain();
        if self.overflow.is_empty() {
            match self.sink.try_send(item) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    tracing::warn!("relayer intake closed");
                    return;
                }
                Err(mpsc::error::TrySendError::Full(item)) => self.overflow.push_back(item),
            }
        } else {
            self.overflow.push_back(item);
        }
        if self.overflow.len() > self.capacity {
            if let Some((hash, _)) = self.overflow.pop_front() {
                tracing::warn!(%hash, "relayer far behind; an intent from gossip was dropped for it (still forwarded)");
                metrics.intake_dropped.inc();
            }
        }
        metrics.intake_overflow.set(self.overflow.len() as i64);
    }

    /// Moves what fits from the overflow into the channel.
    fn drain(&mut self) {
        while let Some(item) = self.overflow.pop_front() {
            match self.sink.try_send(item) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(item)) => {
                    self.overflow.push_front(item);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.overflow.clear();
                    break;
                }
            }
        }
    }
}

struct Node {
    swarm: Swarm<Behaviour>,
    topics: Topics,
    validator: Validator,
    events: broadcast::Sender<NodeEvent>,
    intake: Option<Intake>,
    rate_limit: RateLimit,
    buckets: HashMap<PeerId, TokenBucket>,
    ip_rate_limit: RateLimit,
    ip_buckets: HashMap<IpAddr, TokenBucket>,
    trusted_ips: HashSet<IpAddr>,
    /// The remote IP of each connected peer (its first connection's), for the per-IP bucket.
    peer_ips: HashMap<PeerId, IpAddr>,
    started: Instant,
    outbox: VecDeque<Vec<u8>>,
    outbox_capacity: usize,
    graylist_threshold: f64,
    metrics: NodeMetrics,
    libp2p_metrics: Libp2pMetrics,
}

/// Builds the swarm, starts listening and dialing, and runs the event loop on the tokio runtime.
/// `intent_sink`, when given, receives every accepted intent (relayer mode). Gossip never waits
/// for it: when the channel is full, intents wait in a bounded overflow that is drained as the
/// relayer catches up; past `intake_overflow` the oldest are dropped and counted. Dropping is
/// safe: the intent was still validated and forwarded, and its sender can post it over HTTP,
/// which the relayer persists before answering.
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

    let tls = config.tls.as_ref().map(WsTls::config).transpose().map_err(NodeError::Build)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| NodeError::Build(e.to_string()))?
        // WebSocket for browsers, built by hand (not `with_websocket`) to give it the TLS
        // certificate: one transport serves `/ws` and `/tls/ws`, and dials both.
        .with_other_transport(|key| {
            let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
            let mut ws = libp2p::websocket::Config::new(libp2p::dns::tokio::Transport::system(tcp)?);
            if let Some(tls) = tls {
                ws.set_tls_config(tls);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                ws.upgrade(Version::V1Lazy).authenticate(noise::Config::new(key)?).multiplex(yamux::Config::default()).boxed(),
            )
        })
        .map_err(|e| NodeError::Build(e.to_string()))?
        .with_behaviour(|key| Behaviour::with_gossipsub(key, gossipsub.take().expect("called once")))
        .map_err(|e| NodeError::Build(e.to_string()))?
        // Gossipsub holds a connection only while the peer is in the mesh; keep quiet peers.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();

    let admission = &config.admission;
    *swarm.behaviour_mut().limits.limits_mut() = ConnectionLimits::default()
        .with_max_established(admission.max_connections)
        .with_max_established_per_peer(admission.max_connections_per_peer)
        .with_max_pending_incoming(admission.max_pending_incoming);
    swarm.behaviour_mut().ip_limits =
        IpLimits::new(admission.max_connections_per_ip.map(|n| n as usize), admission.trusted_ips.iter().copied());

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
        intake: intent_sink.map(|sink| Intake { sink, overflow: VecDeque::new(), capacity: config.intake_overflow }),
        rate_limit: config.rate_limit,
        buckets: HashMap::new(),
        ip_rate_limit: config.admission.ip_rate_limit,
        ip_buckets: HashMap::new(),
        trusted_ips: config.admission.trusted_ips.iter().copied().collect(),
        peer_ips: HashMap::new(),
        started: Instant::now(),
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
        let intake_sink = self.intake.as_ref().map(|i| i.sink.clone());
        loop {
            let backlog = self.intake.as_ref().is_some_and(|i| !i.overflow.is_empty());
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                // The relayer made room: move the overflow on at once rather than at the next tick.
                Some(_permit) = async {
                    match &intake_sink {
                        Some(sink) => sink.reserve().await.ok(),
                        None => None,
                    }
                }, if backlog => {
                    if let Some(intake) = &mut self.intake {
                        intake.drain();
                        self.metrics.intake_overflow.set(intake.overflow.len() as i64);
                    }
                }
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

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        self.libp2p_metrics.record(&event);
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_message(propagation_source, message_id, message),
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
                    if let Some(ip) = crate::behaviour::ip_of(endpoint.get_remote_address()) {
                        self.peer_ips.insert(peer_id, ip);
                    }
                }
                self.emit(NodeEvent::Connected { peer: peer_id });
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.metrics.connected_peers.dec();
                self.buckets.remove(&peer_id);
                if let Some(ip) = self.peer_ips.remove(&peer_id) {
                    // Keep a partly spent bucket: reconnecting with a new peer id must not refill it.
                    let (limit, now) = (self.ip_rate_limit, self.now_s());
                    if self.ip_buckets.get(&ip).is_some_and(|b| b.is_full(limit, now)) {
                        self.ip_buckets.remove(&ip);
                    }
                }
            }
            SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                let reason = match &error {
                    ListenError::Denied { cause } if cause.downcast_ref::<TooManyFromIp>().is_some() => "per_ip",
                    ListenError::Denied { cause } if cause.downcast_ref::<Exceeded>().is_some() => "limits",
                    _ => "handshake",
                };
                tracing::debug!(address = %send_back_addr, %error, "inbound connection refused or failed");
                self.metrics.connections_refused.get_or_create(&vec![("reason".into(), reason.into())]).inc();
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "dial failed");
            }
            _ => {}
        }
    }

    fn now_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Token buckets per propagation source and per its IP (all of that address's peers
    /// together, since peer ids are free): over either limit, the message is ignored before any
    /// parsing or signature work (no penalty: a peer relaying a genuine burst is not malicious).
    fn within_rate(&mut self, peer: PeerId) -> bool {
        let now = self.now_s();
        let limit = self.rate_limit;
        if !self.buckets.entry(peer).or_insert_with(|| TokenBucket::full(limit, now)).take(limit, now) {
            return false;
        }
        match self.peer_ips.get(&peer) {
            Some(ip) if !self.trusted_ips.contains(ip) => {
                let limit = self.ip_rate_limit;
                self.ip_buckets.entry(*ip).or_insert_with(|| TokenBucket::full(limit, now)).take(limit, now)
            }
            _ => true,
        }
    }

    fn on_message(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
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
                        if let Some(intake) = &mut self.intake {
                            intake.offer((verified.hash, signed.clone()), &self.metrics);
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
            Verdict::Ignore(IgnoreReason::SignerRateLimited) => {
                return Err(NodeError::Busy("the signer published more intents than its budget; try again in a few seconds".into()))
            }
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
        if let Some(intake) = &mut self.intake {
            intake.offer((hash, signed.clone()), &self.metrics);
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
        // Forget per-IP buckets that refilled and whose address has no peer left.
        let (limit, now) = (self.ip_rate_limit, self.now_s());
        let live: HashSet<IpAddr> = self.peer_ips.values().copied().collect();
        self.ip_buckets.retain(|ip, b| live.contains(ip) || !b.is_full(limit, now));
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
