//! Nodes on 127.0.0.1 for the multi-node tests and benchmarks, plus a "rogue" peer: a bare swarm
//! with the same behaviour that publishes whatever bytes it is told to, without validating.
#![allow(dead_code)]

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::identity::Keypair;
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId};
use outpost_p2p::behaviour::{Behaviour, BehaviourEvent, GossipTuning, Topics};
use outpost_p2p::node::{self, NodeConfig, NodeEvent, NodeHandle, RateLimit};
use outpost_p2p::testkit::{CHAIN, CONTRACT};
use prometheus_client::registry::Registry;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

pub fn fast_tuning() -> GossipTuning {
    GossipTuning {
        heartbeat: Duration::from_millis(100),
        heartbeat_initial_delay: Duration::from_millis(50),
        // Every test node shares 127.0.0.1; real attackers and honest peers do not share an IP.
        ip_colocation_whitelist: vec!["127.0.0.1".parse().unwrap()],
        ..Default::default()
    }
}

pub struct TestNode {
    pub handle: NodeHandle,
    pub events: broadcast::Receiver<NodeEvent>,
    pub addr: Multiaddr,
    /// The node's metrics: counters here are lossless, unlike the event stream.
    pub metrics: Registry,
}

impl TestNode {
    /// The sum of the samples whose series starts with `series` (e.g.
    /// `outpost_connections_refused_total{reason="per_ip"}`) in this node's registry.
    pub fn metric(&self, series: &str) -> f64 {
        metric(&self.metrics, series)
    }
}

pub fn metric(registry: &Registry, series: &str) -> f64 {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text.lines().filter(|l| l.starts_with(series)).map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap()).sum()
}

pub async fn start_node(rate_limit: RateLimit) -> TestNode {
    let mut config = NodeConfig::new(CHAIN, CONTRACT, Keypair::generate_ed25519());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.tuning = fast_tuning();
    config.rate_limit = rate_limit;
    // Every test peer dials from 127.0.0.1 (as for the colocation whitelist above).
    config.admission.trusted_ips = config.tuning.ip_colocation_whitelist.clone();
    let mut registry = Registry::default();
    let handle = node::spawn(config, &mut registry, None).await.expect("node starts");
    let events = handle.events();
    let addr = listen_addr(&handle).await;
    TestNode { handle, events, addr, metrics: registry }
}

/// The first bound TCP address with the node's peer id appended.
pub async fn listen_addr(handle: &NodeHandle) -> Multiaddr {
    for _ in 0..200 {
        if let Some(a) = handle.listen_addrs().await.unwrap().into_iter().next() {
            return a.with(libp2p::multiaddr::Protocol::P2p(handle.peer_id()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("node never listened");
}

/// Waits until `handle` has at least `n` mesh peers on the intents topic.
pub async fn wait_mesh(handle: &NodeHandle, n: usize) {
    for _ in 0..300 {
        if handle.mesh_peers().await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("mesh of {n} never formed (have {:?})", handle.mesh_peers().await.unwrap());
}

/// A line a - b - c - d (each dials the next), meshes formed.
pub async fn line(n: usize) -> Vec<TestNode> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(start_node(RateLimit::default()).await);
    }
    for i in 0..n - 1 {
        nodes[i].handle.dial(nodes[i + 1].addr.clone()).await.unwrap();
    }
    for (i, node) in nodes.iter().enumerate() {
        wait_mesh(&node.handle, if i == 0 || i == n - 1 { 1 } else { 2 }).await;
    }
    nodes
}

/// Waits for the first event matching `f`, up to `timeout`.
pub async fn wait_for<T>(events: &mut broadcast::Receiver<NodeEvent>, timeout: Duration, mut f: impl FnMut(&NodeEvent) -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => return None,
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(_)) => return None,
            Ok(Ok(e)) => {
                if let Some(t) = f(&e) {
                    return Some(t);
                }
            }
        }
    }
}

/// Collects every event for `d`.
pub async fn drain_for(events: &mut broadcast::Receiver<NodeEvent>, d: Duration) -> Vec<NodeEvent> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + d;
    while let Ok(r) = tokio::time::timeout_at(deadline, events.recv()).await {
        match r {
            Ok(e) => out.push(e),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        }
    }
    out
}

pub enum RogueCommand {
    Publish(Vec<u8>, oneshot::Sender<Result<(), String>>),
    /// Publishes many payloads as fast as gossipsub takes them; replies with how many went out.
    Flood(Vec<Vec<u8>>, oneshot::Sender<usize>),
}

pub struct Rogue {
    pub peer_id: PeerId,
    pub commands: mpsc::Sender<RogueCommand>,
}

impl Rogue {
    pub async fn publish(&self, data: Vec<u8>) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(RogueCommand::Publish(data, tx)).await.unwrap();
        rx.await.unwrap()
    }
    pub async fn flood(&self, data: Vec<Vec<u8>>) -> usize {
        let (tx, rx) = oneshot::channel();
        self.commands.send(RogueCommand::Flood(data, tx)).await.unwrap();
        rx.await.unwrap()
    }
}

/// A peer that speaks the protocol but publishes anything; it accepts whatever it receives.
pub async fn start_rogue(dial: Multiaddr) -> Rogue {
    let topics = Topics::new(CHAIN, CONTRACT);
    let tuning = fast_tuning();
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|key| Behaviour::new(key, &topics, &tuning).unwrap())
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm.dial(dial.clone()).unwrap();
    let peer_id = *swarm.local_peer_id();
    let (commands, mut rx) = mpsc::channel::<RogueCommand>(16);
    let topic: IdentTopic = topics.intents.clone();
    let (ready_tx, ready_rx) = oneshot::channel();
    let mut ready = Some(ready_tx);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { propagation_source, message_id, .. })) => {
                        swarm.behaviour_mut().gossipsub.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Accept);
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { topic: t, .. })) if t == topic.hash() => {
                        if let Some(r) = ready.take() { let _ = r.send(()); }
                    }
                    _ => {}
                },
                command = rx.recv() => match command {
                    Some(RogueCommand::Publish(data, reply)) => {
                        let r = swarm.behaviour_mut().gossipsub.publish(topic.clone(), data).map(|_| ()).map_err(|e| e.to_string());
                        let _ = reply.send(r);
                    }
                    Some(RogueCommand::Flood(all, reply)) => {
                        // Publish as fast as gossipsub takes them. When the victim drops us
                        // (graylisted), dial again and carry on, as a real attacker would.
                        let mut sent = 0;
                        let mut redials = 0;
                        'outer: for data in all {
                            loop {
                                match swarm.behaviour_mut().gossipsub.publish(topic.clone(), data.clone()) {
                                    Ok(_) => break,
                                    Err(gossipsub::PublishError::Duplicate) => break,
                                    Err(_) => {
                                        if swarm.connected_peers().next().is_none() {
                                            redials += 1;
                                            if redials > 200 {
                                                break 'outer;
                                            }
                                            let _ = swarm.dial(dial.clone());
                                        }
                                        let _ = tokio::time::timeout(Duration::from_millis(5), swarm.select_next_some()).await;
                                    }
                                }
                            }
                            sent += 1;
                            if sent % 64 == 0 {
                                let _ = tokio::time::timeout(Duration::from_millis(1), swarm.select_next_some()).await;
                            }
                        }
                        let _ = reply.send(sent);
                    }
                    None => break,
                },
            }
        }
    });
    let _ = tokio::time::timeout(Duration::from_secs(10), ready_rx).await;
    Rogue { peer_id, commands }
}
