//! Outpost's own Prometheus metrics (libp2p's swarm, gossipsub, identify and ping metrics are
//! registered next to them by the node).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub type Labels = Vec<(String, String)>;

#[derive(Clone)]
pub struct NodeMetrics {
    pub accepted: Counter,
    pub ignored: Family<Labels, Counter>,
    pub rejected: Family<Labels, Counter>,
    pub published: Counter,
    pub graylisted: Counter,
    pub connected_peers: Gauge,
    pub connections_refused: Family<Labels, Counter>,
    pub intake_overflow: Gauge,
    pub intake_dropped: Counter,
}

impl NodeMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = NodeMetrics {
            accepted: Counter::default(),
            ignored: Family::default(),
            rejected: Family::default(),
            published: Counter::default(),
            graylisted: Counter::default(),
            connected_peers: Gauge::default(),
            connections_refused: Family::default(),
            intake_overflow: Gauge::default(),
            intake_dropped: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("outpost");
        r.register("gossip_accepted", "Gossip messages that passed validation and were forwarded", m.accepted.clone());
        r.register("gossip_ignored", "Gossip messages dropped without penalty, by reason", m.ignored.clone());
        r.register("gossip_rejected", "Gossip messages rejected (sender penalised), by error code", m.rejected.clone());
        r.register("intents_published", "Intents published by this node (HTTP or application)", m.published.clone());
        r.register("peers_graylisted", "Times a peer fell below the graylist threshold and was disconnected", m.graylisted.clone());
        r.register("connected_peers", "Peers with at least one open connection", m.connected_peers.clone());
        r.register("connections_refused", "Inbound connections refused (per_ip: the cap per IP; limits: total, pending or per peer) or failed in the handshake", m.connections_refused.clone());
        r.register("relayer_intake_overflow", "Intents from gossip waiting for room in the relayer's intake", m.intake_overflow.clone());
        r.register("relayer_intake_dropped", "Intents from gossip the relayer never got because its overflow was full (they were still forwarded)", m.intake_dropped.clone());
        m
    }
}

/// The relayer's metrics.
#[derive(Clone)]
pub struct RelayerMetrics {
    pub pending: Gauge,
    pub batches: Family<Labels, Counter>,
    pub intents: Family<Labels, Counter>,
    pub rpc_retries: Counter,
    pub rpc_errors: Family<Labels, Counter>,
    pub halted: Gauge,
    pub refused: Family<Labels, Gauge>,
}

impl RelayerMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = RelayerMetrics {
            pending: Gauge::default(),
            batches: Family::default(),
            intents: Family::default(),
            rpc_retries: Counter::default(),
            rpc_errors: Family::default(),
            halted: Gauge::default(),
            refused: Family::default(),
        };
        let r = registry.sub_registry_with_prefix("outpost_relayer");
        r.register("pending", "Intents waiting to be submitted", m.pending.clone());
        r.register("batches", "execute_intents transactions, by outcome", m.batches.clone());
        r.register("intents", "Intents settled, by outcome", m.intents.clone());
        r.register("rpc_retries", "RPC calls retried after a transient error", m.rpc_retries.clone());
        r.register("rpc_errors", "RPC calls that failed for good, by kind (transient: out of retries; permanent: refused)", m.rpc_errors.clone());
        r.register("halted", "1 while the relayer's own account or key cannot submit (see /health)", m.halted.clone());
        r.register("refused", "Intents the relayer would not hold since start (fee below its own and pool full, per-signer places, full), by reason", m.refused.clone());
        m
    }
}
