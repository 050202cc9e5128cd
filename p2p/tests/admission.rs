//! Who may connect and how much they may send, on 127.0.0.1: the cap on connections per IP and
//! its exemption, libp2p's connection limits, the per-IP message rate, the colocation penalty
//! turned off, and a relayer intake that never holds gossip up.

mod common;

use common::*;
use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr};
use outpost_p2p::behaviour::{Behaviour, GossipTuning, Topics};
use outpost_p2p::node::{self, Admission, NodeConfig, NodeEvent, RateLimit};
use outpost_p2p::testkit::*;
use outpost_protocol::gossip::GossipMessage;
use outpost_protocol::{IntentHash, SignedIntent};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

type Sink = mpsc::Sender<(IntentHash, Arc<SignedIntent>)>;

async fn start_configured(configure: impl FnOnce(&mut NodeConfig), sink: Option<Sink>) -> TestNode {
    let mut config = NodeConfig::new(CHAIN, CONTRACT, Keypair::generate_ed25519());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.tuning = fast_tuning();
    configure(&mut config);
    let mut registry = Registry::default();
    let handle = node::spawn(config, &mut registry, sink).await.expect("node starts");
    let events = handle.events();
    let addr = listen_addr(&handle).await;
    TestNode { handle, events, addr, metrics: registry }
}

/// A plain peer (fresh identity, the same behaviour) dialing `addr`. Resolves `true` once its
/// connection has stayed up for a second, `false` when refused or closed; the peer keeps running
/// (holding its connection) until the handle is aborted.
async fn connect(addr: Multiaddr) -> (bool, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let topics = Topics::new(CHAIN, CONTRACT);
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|key| Behaviour::new(key, &topics, &fast_tuning()).unwrap())
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        swarm.dial(addr).unwrap();
        let mut tx = Some(tx);
        let mut up_since = None;
        loop {
            match tokio::time::timeout(Duration::from_millis(50), swarm.select_next_some()).await {
                Ok(SwarmEvent::ConnectionEstablished { .. }) => up_since = Some(Instant::now()),
                Ok(SwarmEvent::ConnectionClosed { .. }) | Ok(SwarmEvent::OutgoingConnectionError { .. }) => {
                    up_since = None;
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(false);
                    }
                }
                _ => {}
            }
            if up_since.is_some_and(|t: Instant| t.elapsed() > Duration::from_secs(1)) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(true);
                }
            }
        }
    });
    (tokio::time::timeout(Duration::from_secs(15), rx).await.ok().and_then(Result::ok).unwrap_or(false), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_ip_are_capped_unless_the_ip_is_trusted() {
    let node = start_configured(|c| c.admission = Admission { max_connections_per_ip: Some(2), ..Admission::default() }, None).await;
    let mut peers = Vec::new();
    for i in 0..3 {
        let (held, task) = connect(node.addr.clone()).await;
        assert_eq!(held, i < 2, "connection {i} from 127.0.0.1 with a cap of 2");
        peers.push(task);
    }
    assert_eq!(node.handle.connected_peers().await.unwrap().len(), 2);
    assert_eq!(node.metric("outpost_connections_refused_total{reason=\"per_ip\"}"), 1.0);
    // A slot freed is a slot available again.
    peers.remove(0).abort();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (held, task) = connect(node.addr.clone()).await;
    assert!(held, "the freed slot is reusable");
    peers.push(task);

    // The same cap, with 127.0.0.1 trusted: all get in.
    let trusting =
        start_configured(|c| c.admission = Admission { max_connections_per_ip: Some(2), trusted_ips: vec!["127.0.0.1".parse().unwrap()], ..Admission::default() }, None)
            .await;
    for i in 0..4 {
        let (held, task) = connect(trusting.addr.clone()).await;
        assert!(held, "connection {i} from a trusted IP");
        peers.push(task);
    }
    for p in peers {
        p.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_connection_limit_holds() {
    let node = start_configured(
        |c| c.admission = Admission { max_connections: Some(2), max_connections_per_ip: None, ..Admission::default() },
        None,
    )
    .await;
    let mut peers = Vec::new();
    for i in 0..3 {
        let (held, task) = connect(node.addr.clone()).await;
        assert_eq!(held, i < 2, "connection {i} with a total limit of 2");
        peers.push(task);
    }
    assert_eq!(node.handle.connected_peers().await.unwrap().len(), 2);
    assert_eq!(node.metric("outpost_connections_refused_total{reason=\"limits\"}"), 1.0);
    for p in peers {
        p.abort();
    }
}

/// Peer ids are free: two peers at one address share that address's message budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_of_one_ip_share_a_message_budget() {
    let mut b = start_configured(
        |c| c.admission = Admission { ip_rate_limit: RateLimit { per_second: 0.5, burst: 3.0 }, ..Admission::default() },
        None,
    )
    .await;
    let rogues = [start_rogue(b.addr.clone()).await, start_rogue(b.addr.clone()).await];
    wait_mesh(&b.handle, 2).await;
    for (r, rogue) in rogues.iter().enumerate() {
        for n in 0..3 {
            rogue.publish(GossipMessage::Intent { intent: valid_intent(600 + 10 * r as u64 + n) }.encode()).await.unwrap();
        }
    }
    let events = drain_for(&mut b.events, Duration::from_secs(2)).await;
    let accepted = events.iter().filter(|e| matches!(e, NodeEvent::Intent { .. })).count();
    let limited =
        events.iter().filter(|e| matches!(e, NodeEvent::Ignored { reason: outpost_p2p::validate::IgnoreReason::RateLimited, .. })).count();
    assert!((3..=4).contains(&accepted), "accepted {accepted} of 6 with a per-IP burst of 3");
    assert_eq!(accepted + limited, 6);
    for rogue in &rogues {
        let score = b.handle.peer_score(rogue.peer_id).await.unwrap().unwrap_or(0.0);
        assert!(score >= 0.0, "over budget is not an offence ({score})");
    }
}

/// Sixteen honest peers behind one address (a TLS proxy, a carrier NAT): with the colocation
/// penalty at its gossipsub default they would all fall below the graylist threshold
/// (-5 × (16 - 10)² = -180) and be disconnected; off, they all stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_honest_peers_behind_one_ip_keep_their_score() {
    let b = start_configured(
        |c| {
            c.tuning = GossipTuning { ip_colocation_whitelist: vec![], ..fast_tuning() };
            c.admission.trusted_ips = vec!["127.0.0.1".parse().unwrap()];
        },
        None,
    )
    .await;
    let mut rogues = Vec::new();
    for _ in 0..16 {
        rogues.push(start_rogue(b.addr.clone()).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(b.handle.connected_peers().await.unwrap().len(), 16, "nobody was disconnected");
    for r in &rogues {
        let score = b.handle.peer_score(r.peer_id).await.unwrap().unwrap_or(f64::NAN);
        assert!(score >= 0.0, "peer score {score}");
    }
}

/// A relayer that does not read its intake (stuck waiting for a transaction): gossip carries on
/// at full speed, the intents wait in the overflow, and reach the relayer when it reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_never_waits_for_a_stuck_relayer() {
    let (sink, mut intake) = mpsc::channel(2);
    let b = start_configured(|c| c.intake_overflow = 30, Some(sink)).await;
    let a = start_node(RateLimit::default()).await;
    let mut c = start_node(RateLimit::default()).await;
    a.handle.dial(b.addr.clone()).await.unwrap();
    b.handle.dial(c.addr.clone()).await.unwrap();
    wait_mesh(&b.handle, 2).await;
    wait_mesh(&c.handle, 1).await;

    let intents: Vec<SignedIntent> = (0..50).map(|n| valid_intent(700 + n)).collect();
    let started = Instant::now();
    for s in &intents {
        a.handle.publish_intent(s.clone()).await.unwrap();
    }
    let mut at_c = std::collections::HashSet::new();
    while at_c.len() < intents.len() {
        let h = wait_for(&mut c.events, Duration::from_secs(10), |e| match e {
            NodeEvent::Intent { hash, .. } => Some(*hash),
            _ => None,
        })
        .await
        .unwrap_or_else(|| panic!("only {} of 50 crossed b while its relayer was stuck", at_c.len()));
        at_c.insert(h);
    }
    let crossed = started.elapsed();
    eprintln!("50 intents crossed b in {crossed:?} while its relayer read nothing");
    assert!(crossed < Duration::from_secs(5), "50 intents took {crossed:?} to cross b");
    // b's loop still answers.
    assert!(b.handle.has_seen(outpost_protocol::nep413::Payload::of(&intents[49]).hash(&outpost_protocol::DalekCrypto)).await.unwrap());

    // 2 in the channel, the newest 30 in the overflow, the 18 between them dropped and counted.
    assert_eq!(b.metric("outpost_relayer_intake_dropped_total"), 18.0);
    assert_eq!(b.metric("outpost_relayer_intake_overflow"), 30.0);
    let mut got = Vec::new();
    while let Ok(Some((h, _))) = tokio::time::timeout(Duration::from_secs(2), intake.recv()).await {
        got.push(h);
    }
    let hash = |s: &SignedIntent| outpost_protocol::nep413::Payload::of(s).hash(&outpost_protocol::DalekCrypto);
    let want: Vec<IntentHash> = intents[..2].iter().chain(&intents[20..]).map(hash).collect();
    assert_eq!(got, want, "the relayer gets the first two and the newest 30, in order");
    assert_eq!(b.metric("outpost_relayer_intake_overflow"), 0.0);

    // Nothing lost when the overflow is big enough: the next 20 all reach the relayer.
    let more: Vec<SignedIntent> = (0..20).map(|n| valid_intent(800 + n)).collect();
    for s in &more {
        a.handle.publish_intent(s.clone()).await.unwrap();
    }
    let mut got = Vec::new();
    while got.len() < more.len() {
        match tokio::time::timeout(Duration::from_secs(10), intake.recv()).await {
            Ok(Some((h, _))) => got.push(h),
            _ => panic!("only {} of 20 reached the relayer", got.len()),
        }
    }
    assert_eq!(got, more.iter().map(hash).collect::<Vec<_>>());
    assert_eq!(b.metric("outpost_relayer_intake_dropped_total"), 18.0);
}
