//! The gossip channel's state, in plain Rust: what the browser libp2p node has told us (peers,
//! subscriptions, publications, relayers' reports), folded into the answers a sync
//! [`Channel`](crate::sync::Channel) gives. The app feeds it the node's events and asks it; the
//! node itself (`outpost_p2p::browser::BrowserNode`) is only in the browser build.
//!
//! Trust: gossipsub signs every message with its author's peer key, but anyone can join the
//! topic. A relayer's report moves a record to a final state, so only reports authored by a peer
//! the network config names (the `/p2p/<id>` of a configured peer, the same trust as the relayer
//! URL) count; others are ignored. Execution is also confirmed on chain by the nonce oracle.

use crate::sync::{ChannelStatus, SendOutcome};
use outpost_protocol::gossip::IntentStatus;
use std::collections::{BTreeMap, BTreeSet};

/// What the browser node reported (peer ids and intent hashes as text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    Connected { peer: String },
    Disconnected { peer: String },
    /// The peer subscribed to the intents topic: a publish now reaches it.
    PeerSubscribed { peer: String },
    /// One of our intents left the node for at least one peer.
    Published { id: String },
    /// A relayer's report, with the peer that authored (signed) it when known.
    Status { id: String, status: IntentStatus, author: Option<String> },
    DialFailed { address: String, error: String },
}

/// How long the app waits for a publish to leave the node before calling the attempt failed
/// (the node keeps it in its outbox, so it may still go out: `maybe_delivered`).
pub const PUBLISH_WAIT_MS: u64 = 3_000;
/// With no peer connected, dial the configured peers again this often.
pub const REDIAL_MS: u64 = 10_000;

/// The peer id in a multiaddr's `/p2p/<id>` part.
pub fn peer_id_of(multiaddr: &str) -> Option<&str> {
    let mut parts = multiaddr.split('/');
    while let Some(p) = parts.next() {
        if p == "p2p" {
            return parts.next().filter(|id| !id.is_empty());
        }
    }
    None
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GossipView {
    trusted: BTreeSet<String>,
    connected: BTreeSet<String>,
    subscribed: BTreeSet<String>,
    published: BTreeSet<String>,
    reports: BTreeMap<String, IntentStatus>,
    /// The intents whose reports are kept: relayers report on everyone's intents, and a page that
    /// stays open must not collect them all.
    watched: BTreeSet<String>,
    /// Reports dropped because their author is not a configured peer (shown on the network screen).
    pub untrusted_reports: u64,
    pub last_error: Option<String>,
    last_dial_ms: Option<u64>,
    /// Had a peer, lost them all: the node is redialling (said so instead of "connecting").
    dropped: bool,
}

impl GossipView {
    /// A view for a node that dials `peers` (the network config's multiaddrs).
    pub fn new(peers: &[String]) -> GossipView {
        GossipView { trusted: peers.iter().filter_map(|p| peer_id_of(p)).map(str::to_owned).collect(), ..Default::default() }
    }

    pub fn apply(&mut self, event: NodeEvent) {
        match event {
            NodeEvent::Connected { peer } => {
                self.connected.insert(peer);
                self.last_error = None;
                self.dropped = false;
            }
            NodeEvent::Disconnected { peer } => {
                self.connected.remove(&peer);
                // It subscribes again when it comes back.
                self.subscribed.remove(&peer);
                self.dropped = self.connected.is_empty();
            }
            NodeEvent::PeerSubscribed { peer } => {
                self.subscribed.insert(peer);
            }
            NodeEvent::Published { id } => {
                self.published.insert(id);
            }
            NodeEvent::Status { id, status, author } => {
                if !author.is_some_and(|a| self.trusted.contains(&a)) {
                    self.untrusted_reports += 1;
                } else if self.watched.contains(&id) {
                    self.reports.insert(id, status);
                }
            }
            NodeEvent::DialFailed { address, error } => {
                self.last_error = Some(if address.is_empty() { error } else { format!("{address}: {error}") });
            }
        }
    }

    /// Sets the intents to keep reports for (the queue's unsettled records); forgets the rest.
    pub fn watch(&mut self, ids: impl IntoIterator<Item = String>) {
        self.watched = ids.into_iter().collect();
        let watched = &self.watched;
        self.reports.retain(|id, _| watched.contains(id));
        self.published.retain(|id| watched.contains(id));
    }

    /// Whether a publish would reach anyone now.
    pub fn ready(&self) -> bool {
        !self.subscribed.is_empty()
    }

    pub fn connected_peers(&self) -> usize {
        self.connected.len()
    }

    /// Whether the configured peers should be dialled again (none connected, and the last dial is
    /// `REDIAL_MS` old). Records the dial when it says yes.
    pub fn redial_due(&mut self, now_ms: u64) -> bool {
        let due = self.connected.is_empty() && self.last_dial_ms.is_none_or(|t| now_ms.saturating_sub(t) >= REDIAL_MS);
        if due {
            self.last_dial_ms = Some(now_ms);
        }
        due
    }

    /// The answer to a send before publishing: `None` when a peer would receive it.
    pub fn before_send(&self) -> Option<SendOutcome> {
        if self.ready() {
            return None;
        }
        let reason = match (&self.last_error, self.connected.is_empty()) {
            (Some(e), true) => format!("no gossip peer reachable ({e})"),
            (None, true) => "no gossip peer connected".to_owned(),
            (_, false) => "connected, but no peer has joined the intents topic yet".to_owned(),
        };
        Some(SendOutcome::Unavailable { reason, maybe_delivered: false })
    }

    /// The answer to a send after publishing `id` and waiting up to `PUBLISH_WAIT_MS`.
    pub fn after_publish(&self, id: &str) -> SendOutcome {
        if self.published.contains(id) {
            SendOutcome::Accepted
        } else {
            // Still in the node's outbox: it may leave later, so discarding is no longer safe.
            SendOutcome::Unavailable { reason: "no peer took it in time".into(), maybe_delivered: true }
        }
    }

    /// What the gossip channel knows of `id`. Without a trusted report it has no answer (an
    /// `Err`, not `Unknown`): silence on gossip says nothing about whether a relayer has it, so it
    /// must not count toward "lost".
    pub fn status(&self, id: &str) -> Result<ChannelStatus, String> {
        match self.reports.get(id) {
            // Gossip statuses do not name the transaction's signer (the wire format is closed), so
            // past the nonce record's pruning they cannot be checked: the relayer's HTTP status can.
            Some(IntentStatus::Executed { tx_hash }) => Ok(ChannelStatus::Executed { tx_hash: Some(tx_hash.clone()), sender: None }),
            Some(IntentStatus::Failed { code, reason }) => {
                Ok(ChannelStatus::Failed { code: code.clone(), reason: crate::relayer::reason_for(code, reason), tx_hash: None })
            }
            None => Err("no relayer has reported on it over gossip".into()),
        }
    }

    /// One line for the header and the network screen.
    pub fn summary(&self) -> String {
        match (self.connected.len(), self.subscribed.len()) {
            (0, _) => match (&self.last_error, self.dropped) {
                (Some(_), _) => "p2p: unreachable".into(),
                (None, true) => "p2p: peer lost, redialling".into(),
                (None, false) => "p2p: connecting".into(),
            },
            (c, 0) => format!("p2p: {c} peer{}, not subscribed", if c == 1 { "" } else { "s" }),
            (c, _) => format!("p2p: {c} peer{}", if c == 1 { "" } else { "s" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELAYER: &str = "12D3KooWRelayer";
    const PEERS: [&str; 2] = ["/ip4/127.0.0.1/tcp/4002/ws/p2p/12D3KooWRelayer", "/dns4/example.org/tcp/443/wss"];

    fn view() -> GossipView {
        GossipView::new(&PEERS.map(String::from))
    }

    #[test]
    fn peer_ids_come_from_the_p2p_part() {
        assert_eq!(peer_id_of(PEERS[0]), Some(RELAYER));
        assert_eq!(peer_id_of(PEERS[1]), None);
        assert_eq!(peer_id_of("/ip4/1.2.3.4/tcp/1/ws/p2p/"), None);
    }

    #[test]
    fn sends_wait_for_a_subscribed_peer_and_a_publication() {
        let mut v = view();
        assert!(matches!(v.before_send(), Some(SendOutcome::Unavailable { maybe_delivered: false, ref reason }) if reason.contains("no gossip peer connected")));
        v.apply(NodeEvent::DialFailed { address: PEERS[0].into(), error: "refused".into() });
        assert!(matches!(v.before_send(), Some(SendOutcome::Unavailable { ref reason, .. }) if reason.contains("refused")));
        assert_eq!(v.summary(), "p2p: unreachable");
        v.apply(NodeEvent::Connected { peer: RELAYER.into() });
        assert!(matches!(v.before_send(), Some(SendOutcome::Unavailable { ref reason, .. }) if reason.contains("topic")));
        v.apply(NodeEvent::PeerSubscribed { peer: RELAYER.into() });
        assert_eq!(v.before_send(), None);
        assert_eq!(v.summary(), "p2p: 1 peer");
        // Published or not, after the wait.
        assert!(matches!(v.after_publish("A"), SendOutcome::Unavailable { maybe_delivered: true, .. }));
        v.apply(NodeEvent::Published { id: "A".into() });
        assert_eq!(v.after_publish("A"), SendOutcome::Accepted);
        // The peer leaves: no longer ready until it subscribes again.
        v.apply(NodeEvent::Disconnected { peer: RELAYER.into() });
        assert!(v.before_send().is_some());
        assert_eq!(v.connected_peers(), 0);
        assert_eq!(v.summary(), "p2p: peer lost, redialling");
    }

    #[test]
    fn only_configured_peers_reports_count() {
        let mut v = view();
        v.watch(["A".to_owned(), "B".to_owned()]);
        assert!(v.status("A").is_err(), "silence is no answer");
        let executed = IntentStatus::Executed { tx_hash: "TX".into() };
        v.apply(NodeEvent::Status { id: "A".into(), status: executed.clone(), author: Some("12D3KooWStranger".into()) });
        v.apply(NodeEvent::Status { id: "A".into(), status: executed.clone(), author: None });
        assert!(v.status("A").is_err());
        assert_eq!(v.untrusted_reports, 2);
        v.apply(NodeEvent::Status { id: "A".into(), status: executed, author: Some(RELAYER.into()) });
        assert_eq!(v.status("A"), Ok(ChannelStatus::Executed { tx_hash: Some("TX".into()), sender: None }));
        let failed = IntentStatus::Failed { code: "NONCE_USED".into(), reason: "".into() };
        v.apply(NodeEvent::Status { id: "B".into(), status: failed, author: Some(RELAYER.into()) });
        assert!(matches!(v.status("B"), Ok(ChannelStatus::Failed { ref code, tx_hash: None, .. }) if code == "NONCE_USED"));
    }

    #[test]
    fn only_watched_intents_reports_are_kept() {
        let mut v = view();
        let report = |id: &str| NodeEvent::Status {
            id: id.into(),
            status: IntentStatus::Executed { tx_hash: "TX".into() },
            author: Some(RELAYER.into()),
        };
        v.watch(["mine".to_owned()]);
        v.apply(report("someone else's"));
        v.apply(report("mine"));
        assert!(v.status("someone else's").is_err());
        assert!(v.status("mine").is_ok());
        assert_eq!(v.reports.len(), 1, "other users' reports are not collected");
        // Settled and gone from the queue: forgotten.
        v.watch([]);
        assert!(v.status("mine").is_err() && v.reports.is_empty());
    }

    #[test]
    fn redials_only_while_disconnected_and_not_too_often() {
        let mut v = view();
        assert!(v.redial_due(1_000));
        assert!(!v.redial_due(1_000 + REDIAL_MS - 1));
        assert!(v.redial_due(1_000 + REDIAL_MS));
        v.apply(NodeEvent::Connected { peer: RELAYER.into() });
        assert!(!v.redial_due(1_000 + 10 * REDIAL_MS));
    }
}
