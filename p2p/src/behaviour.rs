//! The composed `NetworkBehaviour` every Outpost node runs, native and in the browser: gossipsub
//! (strictly signed, application-validated, content-addressed ids, peer scoring), identify, ping.

use libp2p::gossipsub::{
    self, IdentTopic, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds, TopicScoreParams,
    ValidationMode,
};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
#[cfg(not(target_arch = "wasm32"))]
use libp2p::identify;
use libp2p::ping;
use outpost_protocol::gossip::{intents_topic, status_topic};
use outpost_protocol::limits::MAX_GOSSIP_MESSAGE_BYTES;
use outpost_protocol::{ErrorCode, IntentError};
use crate::validate::{Accepted, Verdict};
use sha2::Digest as _;
use std::time::Duration;

/// The identify protocol version: peers on other Outpost protocol versions are still peers, but
/// this string tells operators which build they talk to.
pub const IDENTIFY_PROTOCOL: &str = "/outpost/1.0.0";

/// Which network and intents contract a node serves; names its topics (DESIGN.md §6).
#[derive(Clone, Debug)]
pub struct Topics {
    pub chain_id: String,
    pub contract: String,
    pub intents: IdentTopic,
    pub status: IdentTopic,
}

impl Topics {
    pub fn new(chain_id: &str, contract: &str) -> Self {
        Topics {
            chain_id: chain_id.to_owned(),
            contract: contract.to_owned(),
            intents: IdentTopic::new(intents_topic(chain_id, contract)),
            status: IdentTopic::new(status_topic(chain_id, contract)),
        }
    }

    /// The verdict on a message that came on `topic`, its content checked by `validate` only when
    /// the topic is one of ours (we subscribe to no other, so anything else is a misbehaving peer
    /// and not worth a signature check); an intent on the status topic (or the reverse) is a
    /// protocol violation.
    pub fn check(&self, topic: &gossipsub::TopicHash, validate: impl FnOnce() -> Verdict) -> Verdict {
        let malformed = |what| Verdict::Reject(IntentError::new(ErrorCode::MessageMalformed, what));
        if *topic != self.intents.hash() && *topic != self.status.hash() {
            return malformed("unknown topic");
        }
        match validate() {
            Verdict::Accept(Accepted::Intent { .. }) if *topic != self.intents.hash() => malformed("an intent on the status topic"),
            Verdict::Accept(Accepted::Status { .. }) if *topic != self.status.hash() => malformed("a status on the intents topic"),
            v => v,
        }
    }
}

/// Gossip tuning. Defaults suit a public network; tests shorten the heartbeat.
#[derive(Clone, Debug)]
pub struct GossipTuning {
    pub heartbeat: Duration,
    /// First heartbeat after start (gossipsub's default, 5 s, delays the first mesh).
    pub heartbeat_initial_delay: Duration,
    /// Score thresholds; `graylist` is where a peer's messages stop being processed at all.
    pub thresholds: PeerScoreThresholds,
    /// Penalty weight per invalid message (squared count, see gossipsub P4).
    pub invalid_message_weight: f64,
    /// Weight of gossipsub's IP-colocation penalty (P6), which lowers the score of every peer at
    /// an address shared by more than 10 peers. 0 (off) by default: it cannot tell a Sybil from
    /// honest browsers behind one TLS proxy or carrier NAT, and disconnected them past ~15 peers.
    /// A cap on connections per IP ([`IpLimits`]) bounds what one address can do instead.
    pub ip_colocation_weight: f64,
    /// Addresses exempt from P6 when it is on.
    pub ip_colocation_whitelist: Vec<std::net::IpAddr>,
}

impl Default for GossipTuning {
    fn default() -> Self {
        GossipTuning {
            heartbeat: Duration::from_millis(700),
            heartbeat_initial_delay: Duration::from_millis(100),
            thresholds: PeerScoreThresholds {
                gossip_threshold: -10.0,
                publish_threshold: -50.0,
                graylist_threshold: -80.0,
                accept_px_threshold: 10.0,
                opportunistic_graft_threshold: 5.0,
            },
            invalid_message_weight: -10.0,
            ip_colocation_weight: 0.0,
            ip_colocation_whitelist: vec![],
        }
    }
}

/// The native node's behaviour. The two limits come first: a connection they deny is refused
/// before gossipsub or identify set anything up for it.
#[cfg(not(target_arch = "wasm32"))]
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Total, pending and per-peer connection caps (libp2p's own).
    pub limits: libp2p::connection_limits::Behaviour,
    /// Inbound connections per remote IP.
    pub ip_limits: IpLimits,
    pub gossipsub: gossipsub::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
}

/// The browser's behaviour: no identify. A page has no address to announce (identify's job
/// between nodes), native nodes simply see the protocol unsupported on that connection, and
/// leaving it out keeps identify and its codec out of the dApp's download. Ping stays: its
/// traffic is how the page notices a peer that died without closing the connection (the e2e
/// kills its node and waits for the page to say so); without it, about 4 KB gzip less.
#[cfg(target_arch = "wasm32")]
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub gossipsub: gossipsub::Behaviour,
    pub ping: ping::Behaviour,
}

/// Message id = sha256 of the payload. Identical bytes from different authors are one message
/// (gossipsub drops the second copy before it reaches validation); the same intent re-encoded is
/// caught later by the validator's intent-hash check.
pub fn content_message_id(message: &gossipsub::Message) -> MessageId {
    MessageId::from(sha2::Sha256::digest(&message.data).to_vec())
}

/// The gossipsub configuration: strict signing, manual validation, content ids.
pub fn gossipsub_config(tuning: &GossipTuning) -> Result<gossipsub::Config, String> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(content_message_id)
        .heartbeat_interval(tuning.heartbeat)
        .heartbeat_initial_delay(tuning.heartbeat_initial_delay)
        // One RPC may carry a few messages; each message is bounded again by the validator.
        .max_transmit_size(4 * MAX_GOSSIP_MESSAGE_BYTES + 1024)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())
}

/// Per-topic scoring for the intents and status topics. Traffic is sporadic (people sign intents
/// now and then), so mesh-delivery penalties (P3, P3b) are off: they would punish quiet peers.
/// What counts is P4, invalid messages: `weight × count²`, decaying by 10 % a second, so three
/// invalid messages in a row cross the default graylist threshold (-80) and a peer that errs once
/// recovers within a minute. Positive terms are capped low so earned credit cannot hide a flood.
pub fn topic_score_params(tuning: &GossipTuning) -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 300.0,
        first_message_deliveries_weight: 0.5,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 20.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.5,
        mesh_message_deliveries_cap: 100.0,
        mesh_message_deliveries_threshold: 20.0,
        mesh_message_deliveries_window: Duration::from_millis(10),
        mesh_message_deliveries_activation: Duration::from_secs(5),
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.5,
        invalid_message_deliveries_weight: tuning.invalid_message_weight,
        invalid_message_deliveries_decay: 0.9,
    }
}

pub fn peer_score_params(topics: &Topics, tuning: &GossipTuning) -> PeerScoreParams {
    let mut params = PeerScoreParams {
        topic_score_cap: 25.0,
        decay_interval: Duration::from_secs(1),
        ip_colocation_factor_weight: tuning.ip_colocation_weight,
        ip_colocation_factor_whitelist: tuning.ip_colocation_whitelist.iter().copied().collect(),
        ..Default::default()
    };
    for topic in [&topics.intents, &topics.status] {
        params.topics.insert(topic.hash(), topic_score_params(tuning));
    }
    params
}

impl Behaviour {
    /// Builds the behaviour and subscribes to both topics.
    pub fn new(key: &Keypair, topics: &Topics, tuning: &GossipTuning) -> Result<Self, String> {
        let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossipsub_config(tuning)?)?;
        Self::setup_gossipsub(&mut gossipsub, topics, tuning)?;
        Ok(Self::with_gossipsub(key, gossipsub))
    }

    pub(crate) fn setup_gossipsub(gossipsub: &mut gossipsub::Behaviour, topics: &Topics, tuning: &GossipTuning) -> Result<(), String> {
        gossipsub.with_peer_score(peer_score_params(topics, tuning), tuning.thresholds.clone())?;
        gossipsub.subscribe(&topics.intents).map_err(|e| e.to_string())?;
        gossipsub.subscribe(&topics.status).map_err(|e| e.to_string())?;
        Ok(())
    }

    pub(crate) fn with_gossipsub(key: &Keypair, gossipsub: gossipsub::Behaviour) -> Self {
        #[cfg(target_arch = "wasm32")]
        let _ = key;
        Behaviour {
            // Unlimited until the node applies its configuration (`node::spawn`).
            #[cfg(not(target_arch = "wasm32"))]
            limits: libp2p::connection_limits::Behaviour::new(Default::default()),
            #[cfg(not(target_arch = "wasm32"))]
            ip_limits: IpLimits::default(),
            gossipsub,
            #[cfg(not(target_arch = "wasm32"))]
            identify: identify::Behaviour::new(identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())),
            ping: ping::Behaviour::new(ping::Config::new()),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use ip_limits::{ip_of, IpLimits, TooManyFromIp};

/// A cap on inbound connections per remote IP address, in the shape of libp2p's
/// `connection_limits`: a peer id is free to make, an address is not. Counted from the moment a
/// connection is accepted (pending), so a burst of handshakes is bounded too. Outbound
/// connections are not counted: this node chose to dial them.
#[cfg(not(target_arch = "wasm32"))]
mod ip_limits {
    use libp2p::core::{transport::PortUse, Endpoint, Multiaddr};
    use libp2p::multiaddr::Protocol;
    use libp2p::swarm::{
        dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, ListenFailure, NetworkBehaviour, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm,
    };
    use libp2p::PeerId;
    use std::collections::{HashMap, HashSet};
    use std::net::IpAddr;
    use std::task::{Context, Poll};

    #[derive(Default)]
    pub struct IpLimits {
        /// `None`: no cap.
        max_per_ip: Option<usize>,
        /// Addresses never capped (your own nodes behind one NAT, your TLS proxy, loopback tests).
        exempt: HashSet<IpAddr>,
        by_connection: HashMap<ConnectionId, IpAddr>,
        per_ip: HashMap<IpAddr, usize>,
    }

    /// Why an inbound connection was refused.
    #[derive(Debug)]
    pub struct TooManyFromIp {
        pub ip: IpAddr,
        pub max: usize,
    }

    impl std::fmt::Display for TooManyFromIp {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} already has {} connections (the cap per IP)", self.ip, self.max)
        }
    }

    impl std::error::Error for TooManyFromIp {}

    /// The IP of `/ip4/../tcp/..` or `/ip6/..`; `None` for addresses without one (relays, memory).
    pub fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
        address.iter().find_map(|p| match p {
            Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
            Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
            _ => None,
        })
    }

    impl IpLimits {
        pub fn new(max_per_ip: Option<usize>, exempt: impl IntoIterator<Item = IpAddr>) -> Self {
            IpLimits { max_per_ip, exempt: exempt.into_iter().collect(), ..Default::default() }
        }

        /// Inbound connections (pending or established) from `ip`.
        pub fn count(&self, ip: &IpAddr) -> usize {
            self.per_ip.get(ip).copied().unwrap_or(0)
        }

        fn release(&mut self, connection: ConnectionId) {
            if let Some(ip) = self.by_connection.remove(&connection) {
                if let Some(n) = self.per_ip.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        self.per_ip.remove(&ip);
                    }
                }
            }
        }
    }

    impl NetworkBehaviour for IpLimits {
        type ConnectionHandler = dummy::ConnectionHandler;
        type ToSwarm = std::convert::Infallible;

        fn handle_pending_inbound_connection(
            &mut self,
            connection_id: ConnectionId,
            _local: &Multiaddr,
            remote: &Multiaddr,
        ) -> Result<(), ConnectionDenied> {
            let Some(ip) = ip_of(remote) else { return Ok(()) };
            if let Some(max) = self.max_per_ip {
                if !self.exempt.contains(&ip) && self.count(&ip) >= max {
                    return Err(ConnectionDenied::new(TooManyFromIp { ip, max }));
                }
            }
            self.by_connection.insert(connection_id, ip);
            *self.per_ip.entry(ip).or_default() += 1;
            Ok(())
        }

        fn handle_established_inbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: &Multiaddr,
        ) -> Result<THandler<Self>, ConnectionDenied> {
            Ok(dummy::ConnectionHandler)
        }

        fn handle_established_outbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: Endpoint,
            _: PortUse,
        ) -> Result<THandler<Self>, ConnectionDenied> {
            Ok(dummy::ConnectionHandler)
        }

        fn on_swarm_event(&mut self, event: FromSwarm) {
            match event {
                FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => self.release(connection_id),
                // Refused by another behaviour, or the handshake failed.
                FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) => self.release(connection_id),
                _ => {}
            }
        }

        fn on_connection_handler_event(&mut self, _: PeerId, _: ConnectionId, event: THandlerOutEvent<Self>) {
            match event {}
        }

        fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
            Poll::Pending
        }
    }
}
