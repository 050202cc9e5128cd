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
    /// Addresses exempt from gossipsub's IP-colocation penalty (P6), which otherwise lowers the
    /// score of every peer at an address shared by more than 10 peers: your own nodes behind one
    /// NAT, or every node of a loopback test.
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
            ip_colocation_whitelist: vec![],
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub gossipsub: gossipsub::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
}

/// The browser's behaviour: no identify. A page has no address to announce (identify's job
/// between nodes), native nodes simply see the protocol unsupported on that connection, and
/// leaving it out keeps identify and its codec out of the dApp's download.
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
            gossipsub,
            #[cfg(not(target_arch = "wasm32"))]
            identify: identify::Behaviour::new(identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())),
            ping: ping::Behaviour::new(ping::Config::new()),
        }
    }
}
