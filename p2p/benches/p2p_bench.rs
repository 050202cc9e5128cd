//! Measurements (not assertions): `cargo bench -p outpost-p2p --bench p2p_bench [-- NAME...]`
//! with NAME in `validation`, `latency`, `flood`. Prints a Markdown report and writes it to
//! `$CARGO_TARGET_DIR/reports/p2p.md`.
//!
//! * validation: intents/s on one core, one by one and with ed25519 batch verification;
//! * latency: a 4-node line on 127.0.0.1, one message per ms from the first node, delivery time
//!   at the last (p50/p99);
//! * flood: a node (a separate `outpost-node` process, so its RSS is its own) between two honest
//!   nodes while a rogue peer sends it 100,000 invalid messages; RSS and valid delivery.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use outpost_p2p::node::{NodeEvent, RateLimit};
use outpost_p2p::testkit::*;
use outpost_p2p::validate::{now_ns, Validator, Verdict};
use outpost_protocol::gossip::GossipMessage;
use outpost_protocol::nep413::Payload;
use outpost_protocol::{DalekCrypto, IntentHash};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn validation(report: &mut String) {
    let n = 20_000u64;
    let msgs: Vec<Vec<u8>> = (0..n).map(|i| GossipMessage::Intent { intent: valid_intent(i) }.encode()).collect();
    let mut v = Validator::new(CONTRACT).with_signer_limit(outpost_p2p::node::RateLimit { per_second: 1e12, burst: 1e12 });
    let start = Instant::now();
    let accepted = msgs.iter().filter(|m| matches!(v.check_bytes(m, now_ns()), Verdict::Accept(_))).count();
    let single = n as f64 / start.elapsed().as_secs_f64();
    assert_eq!(accepted as u64, n);

    let mut rates = Vec::new();
    for batch in [16usize, 64, 256] {
        let mut v = Validator::new(CONTRACT).with_signer_limit(outpost_p2p::node::RateLimit { per_second: 1e12, burst: 1e12 });
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let start = Instant::now();
        let mut accepted = 0;
        for chunk in refs.chunks(batch) {
            accepted += v.check_batch(chunk, now_ns()).iter().filter(|v| matches!(v, Verdict::Accept(_))).count();
        }
        assert_eq!(accepted as u64, n);
        rates.push((batch, n as f64 / start.elapsed().as_secs_f64()));
    }
    // Rejecting garbage costs far less than accepting: decoding fails before any signature work.
    let garbage: Vec<Vec<u8>> = (0..n).map(|i| format!("{{\"kind\":\"intent\",\"x\":{i}}}").into_bytes()).collect();
    let start = Instant::now();
    for g in &garbage {
        let _ = v.check_bytes(g, now_ns());
    }
    let garbage_rate = n as f64 / start.elapsed().as_secs_f64();
    let forged: Vec<Vec<u8>> = (0..n).map(|i| GossipMessage::Intent { intent: forged_intent(n + i) }.encode()).collect();
    let start = Instant::now();
    for f in &forged {
        let _ = v.check_bytes(f, now_ns());
    }
    let forged_rate = n as f64 / start.elapsed().as_secs_f64();

    writeln!(report, "## Validation throughput (one core, {n} distinct valid intents)\n").unwrap();
    writeln!(report, "| path | intents/s |\n|---|---|").unwrap();
    writeln!(report, "| one by one (what the node does) | {single:.0} |").unwrap();
    for (b, r) in rates {
        writeln!(report, "| ed25519 batch verification, batches of {b} | {r:.0} |").unwrap();
    }
    writeln!(report, "| reject: malformed JSON | {garbage_rate:.0} |").unwrap();
    writeln!(report, "| reject: forged signature | {forged_rate:.0} |\n").unwrap();
}

async fn latency(report: &mut String) {
    let mut nodes = line(4).await;
    let total = 5_000u64;
    let warmup = 500u64;
    let msgs: Vec<(IntentHash, outpost_protocol::SignedIntent)> = (0..total)
        .map(|i| {
            let s = valid_intent(10_000_000 + i);
            (Payload::of(&s).hash(&DalekCrypto), s)
        })
        .collect();
    let mut last = nodes.pop().unwrap();
    let receiver = tokio::spawn(async move {
        let mut got: HashMap<IntentHash, Instant> = HashMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while got.len() < total as usize {
            match tokio::time::timeout_at(deadline, last.events.recv()).await {
                Ok(Ok(NodeEvent::Intent { hash, .. })) => {
                    got.insert(hash, Instant::now());
                }
                Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                _ => break,
            }
        }
        (got, last)
    });
    let first = &nodes[0].handle;
    let mut sent: HashMap<IntentHash, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    for (h, s) in &msgs {
        tick.tick().await;
        sent.insert(*h, Instant::now());
        first.publish_intent(s.clone()).await.unwrap();
    }
    let send_secs = start.elapsed().as_secs_f64();
    let (got, _last) = receiver.await.unwrap();
    let mut lat: Vec<f64> = msgs
        .iter()
        .skip(warmup as usize)
        .filter_map(|(h, _)| Some(got.get(h)?.duration_since(sent[h]).as_secs_f64() * 1e3))
        .collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let delivered = got.len();
    writeln!(report, "## Propagation latency, 4-node line on 127.0.0.1\n").unwrap();
    writeln!(
        report,
        "{total} intents published by the first node at {:.0}/s (target 1,000/s); {delivered}/{total} reached the last node.\n",
        total as f64 / send_secs
    )
    .unwrap();
    writeln!(report, "| p50 | p90 | p99 | max |\n|---|---|---|---|").unwrap();
    writeln!(
        report,
        "| {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |\n",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    )
    .unwrap();
    writeln!(report, "(3 hops, each validating every message; all 4 nodes share this process and its 2 cores. The first {warmup} messages are warm-up and not counted.)\n").unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

async fn flood(report: &mut String) {
    // b = a separate outpost-node process between honest in-process nodes a and c.
    let dir = tempfile::tempdir().unwrap();
    let port = |_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (b_tcp, b_http): (u16, u16) = (port(0), port(1));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_outpost-node"))
        .args(["--chain-id", CHAIN, "--contract", CONTRACT, "--listen", &format!("/ip4/127.0.0.1/tcp/{b_tcp}")])
        // All peers share 127.0.0.1 here; in the wild the rogues' IPs are not the honest peers'.
        // Trusted, so the per-IP connection cap (8) and message budget do not stop the ten rogues
        // before scoring does: this measures scoring.
        .args(["--trusted-ip", "127.0.0.1"])
        .args(["--http", &format!("127.0.0.1:{b_http}"), "--identity-file"])
        .arg(dir.path().join("b.key"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("outpost-node binary");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b_id = libp2p::identity::Keypair::from_protobuf_encoding(&std::fs::read(dir.path().join("b.key")).unwrap()).unwrap().public().to_peer_id();
    let b_addr: libp2p::Multiaddr = format!("/ip4/127.0.0.1/tcp/{b_tcp}/p2p/{b_id}").parse().unwrap();
    let a = start_node(RateLimit::default()).await;
    let mut c = start_node(RateLimit::default()).await;
    a.handle.dial(b_addr.clone()).await.unwrap();
    c.handle.dial(b_addr.clone()).await.unwrap();
    wait_mesh(&a.handle, 1).await;
    wait_mesh(&c.handle, 1).await;
    let rss_before = rss_kib(child.id());

    let total = 100_000u64;
    let rogues = 10u64;
    let per_rogue = total / rogues;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for r in 0..rogues {
        let addr = b_addr.clone();
        tasks.push(tokio::spawn(async move {
            let rogue = start_rogue(addr).await;
            let msgs: Vec<Vec<u8>> =
                (0..per_rogue).map(|i| GossipMessage::Intent { intent: forged_intent(50_000_000 + r * per_rogue + i) }.encode()).collect();
            rogue.flood(msgs).await
        }));
    }
    // Honest traffic during the flood: 10 intents/s from a, counted at c.
    let valid: Vec<_> = (0..100u64).map(|i| valid_intent(90_000_000 + i)).collect();
    let mut peak = rss_before;
    let mut published = 0;
    for s in &valid {
        a.handle.publish_intent(s.clone()).await.unwrap();
        published += 1;
        peak = peak.max(rss_kib(child.id()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut attempted = 0;
    for t in tasks {
        attempted += t.await.unwrap();
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let events = drain_for(&mut c.events, Duration::from_secs(2)).await;
    let delivered = valid
        .iter()
        .filter(|s| {
            let h = Payload::of(*s).hash(&DalekCrypto);
            events.iter().any(|e| matches!(e, NodeEvent::Intent { hash, .. } if *hash == h))
        })
        .count();
    peak = peak.max(rss_kib(child.id()));
    let metrics = reqwest_metrics(b_http).await;
    let _ = child.kill();
    writeln!(report, "## Flood: {total} invalid messages at one node\n").unwrap();
    writeln!(report, "{rogues} rogue peers each publish {per_rogue} forged intents (valid gossipsub signatures, bad intent signatures) at node b, a separate `outpost-node` process (`--trusted-ip 127.0.0.1`, since every peer here shares loopback); meanwhile a publishes 100 valid intents (10/s) that must cross b to reach c.\n").unwrap();
    writeln!(report, "| measure | value |\n|---|---|").unwrap();
    writeln!(report, "| rogue publishes attempted | {attempted} in {flood_secs:.1} s |").unwrap();
    writeln!(report, "| b RSS before / peak | {} MiB / {} MiB |", rss_before / 1024, peak / 1024).unwrap();
    writeln!(report, "| valid intents delivered a → b → c | {delivered}/{published} |").unwrap();
    for line in metrics.lines().filter(|l| l.starts_with("outpost_gossip_") || l.starts_with("outpost_peers_graylisted")) {
        writeln!(report, "| b: `{line}` | |").unwrap();
    }
    writeln!(report).unwrap();
}

/// b's /metrics over plain HTTP/1.0 (no client dependency for one GET).
async fn reqwest_metrics(port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return String::new() };
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").await;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let mut report = String::from("# outpost-p2p measurements\n\n");
    if want("validation") {
        validation(&mut report);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if want("latency") {
        rt.block_on(latency(&mut report));
    }
    if want("flood") {
        rt.block_on(flood(&mut report));
    }
    println!("{report}");
    let dir = std::path::Path::new(&std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into())).join("reports");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("p2p.md"), report);
}
