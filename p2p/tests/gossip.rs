//! Several nodes on 127.0.0.1 in one process, each a full node (its own swarm, TCP + noise +
//! yamux, event loop and validator).

mod common;

use common::*;
use outpost_p2p::node::{NodeEvent, RateLimit, Source};
use outpost_p2p::testkit::*;
use outpost_protocol::gossip::GossipMessage;
use outpost_protocol::nep413::Payload;
use outpost_protocol::{DalekCrypto, ErrorCode, IntentHash, SignedIntent};
use std::time::Duration;

fn hash(s: &SignedIntent) -> IntentHash {
    Payload::of(s).hash(&DalekCrypto)
}

fn received(events: &[NodeEvent], h: IntentHash) -> usize {
    events.iter().filter(|e| matches!(e, NodeEvent::Intent { hash, .. } if *hash == h)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_intent_reaches_every_node_in_a_line_of_four() {
    let mut nodes = line(4).await;
    let signed = valid_intent(1);
    let (h, _) = nodes[0].handle.publish_intent(signed.clone()).await.unwrap();
    assert_eq!(h, hash(&signed));
    for (i, node) in nodes.iter_mut().enumerate().skip(1) {
        let source = wait_for(&mut node.events, Duration::from_secs(10), |e| match e {
            NodeEvent::Intent { hash, source, signed: got } if *hash == h => Some((source.clone(), (**got).clone())),
            _ => None,
        })
        .await
        .unwrap_or_else(|| panic!("node {i} never received the intent"));
        assert!(matches!(source.0, Source::Peer(_)));
        assert_eq!(source.1, signed, "node {i} got the intent intact");
        assert!(node.handle.has_seen(h).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_expired_intents_are_rejected_at_the_first_hop_and_never_forwarded() {
    // rogue -> b -> c -> d
    // Two rogues, two bad messages each: a third would graylist the sender, after which gossipsub
    // drops its messages unseen (the flood test covers that).
    let mut nodes = line(3).await;
    let rogue = start_rogue(nodes[0].addr.clone()).await;
    let rogue2 = start_rogue(nodes[0].addr.clone()).await;
    wait_mesh(&nodes[0].handle, 3).await;

    let genuine = valid_intent(2);
    let forged = forge(&genuine);
    let expired = intent_for(CONTRACT, 3, -3600);
    let wrong_recipient = intent_for("other.test.near", 4, 3600);
    for bad in [&forged, &expired] {
        rogue.publish(GossipMessage::Intent { intent: bad.clone() }.encode()).await.unwrap();
    }
    rogue2.publish(GossipMessage::Intent { intent: wrong_recipient.clone() }.encode()).await.unwrap();
    rogue2.publish(b"{\"kind\":\"intent\"}".to_vec()).await.unwrap();

    let mut codes = Vec::new();
    for _ in 0..4 {
        let code = wait_for(&mut nodes[0].events, Duration::from_secs(10), |e| match e {
            NodeEvent::Rejected { peer, error } if *peer == rogue.peer_id || *peer == rogue2.peer_id => Some(error.code),
            _ => None,
        })
        .await
        .expect("the first hop rejects each bad message");
        codes.push(code);
    }
    codes.sort();
    let mut want = vec![ErrorCode::SignatureInvalid, ErrorCode::DeadlineExpired, ErrorCode::WrongRecipient, ErrorCode::MessageMalformed];
    want.sort();
    assert_eq!(codes, want);

    // A valid intent published by b after them arrives at the end of the line, so the bad ones
    // had every chance to be forwarded first; none was. (The rogue itself is graylisted by now.)
    let marker = valid_intent(5);
    nodes[0].handle.publish_intent(marker.clone()).await.unwrap();
    let (c_events, d_events) = {
        let (a, b) = nodes.split_at_mut(2);
        let c = drain_for(&mut a[1].events, Duration::from_secs(3));
        let d = drain_for(&mut b[0].events, Duration::from_secs(3));
        tokio::join!(c, d)
    };
    for (name, events) in [("c", &c_events), ("d", &d_events)] {
        assert_eq!(received(events, hash(&marker)), 1, "{name} got the valid marker");
        for bad in [&expired, &wrong_recipient] {
            assert_eq!(received(events, hash(bad)), 0, "{name} never sees a bad intent");
        }
        assert!(!events.iter().any(|e| matches!(e, NodeEvent::Rejected { .. })), "{name} never had to reject anything: {events:?}");
    }
    // The forgery shares its hash with the genuine intent, which nobody has seen.
    assert!(!nodes[2].handle.has_seen(hash(&forged)).await.unwrap());
    // Each rogue's score at b fell (two invalid messages: about -40 each).
    for r in [&rogue, &rogue2] {
        let score = nodes[0].handle.peer_score(r.peer_id).await.unwrap().unwrap_or(0.0);
        assert!(score < -20.0, "rogue score {score}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_dropped_by_intent_hash() {
    let mut nodes = line(3).await;
    let rogue = start_rogue(nodes[0].addr.clone()).await;
    wait_mesh(&nodes[0].handle, 2).await;
    let signed = valid_intent(7);
    // The same intent three ways: once, the identical bytes again (gossipsub's content id drops
    // it), and re-encoded with other whitespace (a new message id, the same intent hash).
    let bytes = GossipMessage::Intent { intent: signed.clone() }.encode();
    rogue.publish(bytes.clone()).await.unwrap();
    let _ = rogue.publish(bytes).await; // gossipsub itself refuses an identical publish
    let pretty = serde_json::to_vec_pretty(&GossipMessage::Intent { intent: signed.clone() }).unwrap();
    rogue.publish(pretty).await.unwrap();

    let b = drain_for(&mut nodes[0].events, Duration::from_secs(2)).await;
    assert_eq!(received(&b, hash(&signed)), 1, "b accepted it once");
    assert!(b.iter().any(|e| matches!(e, NodeEvent::Ignored { reason: outpost_p2p::validate::IgnoreReason::Duplicate, .. })));
    assert!(!b.iter().any(|e| matches!(e, NodeEvent::Rejected { .. })), "a duplicate is not an offence");
    let c = drain_for(&mut nodes[1].events, Duration::from_millis(200)).await;
    assert_eq!(received(&c, hash(&signed)), 1, "c got it exactly once");
    let d = drain_for(&mut nodes[2].events, Duration::from_millis(200)).await;
    assert_eq!(received(&d, hash(&signed)), 1, "d got it exactly once");
    // d publishing the same intent again is a duplicate too, and goes nowhere.
    let (_, outcome) = nodes[2].handle.publish_intent(signed.clone()).await.unwrap();
    assert_eq!(outcome, outpost_p2p::node::PublishOutcome::Duplicate);
    let b = drain_for(&mut nodes[0].events, Duration::from_millis(500)).await;
    assert_eq!(received(&b, hash(&signed)), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_graylisted_while_valid_traffic_still_arrives() {
    // honest a - b - c, and five rogues attached to b, each flooding forged intents.
    let mut nodes = line(3).await;
    let mut rogues = Vec::new();
    for _ in 0..5 {
        rogues.push(start_rogue(nodes[1].addr.clone()).await);
    }
    let rogue_ids: Vec<_> = rogues.iter().map(|r| r.peer_id).collect();
    let c_id = nodes[2].handle.peer_id();
    let flooding = tokio::spawn(async move {
        let mut sent = 0;
        let mut tasks = Vec::new();
        for (r, rogue) in rogues.into_iter().enumerate() {
            let flood: Vec<Vec<u8>> =
                (0..1_000u64).map(|n| GossipMessage::Intent { intent: forged_intent(1_000_000 * (r as u64 + 1) + n) }.encode()).collect();
            tasks.push(tokio::spawn(async move { rogue.flood(flood).await }));
        }
        for t in tasks {
            sent += t.await.unwrap();
        }
        sent
    });
    // Valid traffic from the honest side while the flood runs.
    let valid: Vec<SignedIntent> = (0..20).map(|n| valid_intent(100 + n)).collect();
    for s in &valid {
        nodes[0].handle.publish_intent(s.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c_events = drain_for(&mut nodes[2].events, Duration::from_secs(3)).await;
    let b_events = drain_for(&mut nodes[1].events, Duration::from_millis(200)).await;
    let sent = flooding.await.unwrap();
    assert!(sent > 0);
    assert!(nodes[1].handle.mesh_peers().await.unwrap().contains(&c_id), "b kept the honest peer in its mesh");

    for s in &valid {
        assert_eq!(received(&c_events, hash(s)), 1, "valid intent reached c during the flood");
    }
    // b penalised every rogue and graylisted it (then disconnected it).
    let mut all_b = b_events;
    all_b.extend(drain_for(&mut nodes[1].events, Duration::from_secs(2)).await);
    // Graylisted: b's scoring put the rogues below the graylist threshold (-80), where gossipsub
    // ignores everything they send; b's tick disconnects such peers when it finds them still
    // connected (counted in `peers_graylisted`; the event stream is lossy under a flood). A
    // rogue's connection may drop before a tick sees it, so either shows the graylisting.
    let mut scores = Vec::new();
    for id in &rogue_ids {
        scores.push(nodes[1].handle.peer_score(*id).await.unwrap());
    }
    let disconnected = nodes[1].metric("outpost_peers_graylisted_total");
    assert!(
        disconnected > 0.0 || scores.iter().all(|s| s.is_some_and(|s| s < -80.0)),
        "no rogue was graylisted: scores now {scores:?}, {disconnected} disconnected"
    );
    // Once the flood stops the penalty decays 10 % a second; a rogue whose Graylisted event was
    // lost still shows a deep negative score.
    for id in &rogue_ids {
        let graylisted = all_b.iter().any(|e| matches!(e, NodeEvent::Graylisted { peer, .. } if peer == id));
        let score = nodes[1].handle.peer_score(*id).await.unwrap();
        assert!(graylisted || score.is_some_and(|s| s < -50.0), "rogue {id} was not penalised enough (score {score:?})");
    }
    // Nothing of the flood got past b.
    assert!(!c_events.iter().any(|e| matches!(e, NodeEvent::Rejected { .. })));
    // b and c stay connected and working.
    let after = valid_intent(999);
    nodes[0].handle.publish_intent(after.clone()).await.unwrap();
    let h = hash(&after);
    assert!(wait_for(&mut nodes[2].events, Duration::from_secs(5), |e| matches!(e, NodeEvent::Intent { hash, .. } if *hash == h).then_some(())).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_ignores_a_peer_over_its_budget_without_penalty() {
    let mut b = start_node(RateLimit { per_second: 1.0, burst: 3.0 }).await;
    let rogue = start_rogue(b.addr.clone()).await;
    wait_mesh(&b.handle, 1).await;
    for n in 0..6 {
        rogue.publish(GossipMessage::Intent { intent: valid_intent(500 + n) }.encode()).await.unwrap();
    }
    let events = drain_for(&mut b.events, Duration::from_secs(2)).await;
    let accepted = events.iter().filter(|e| matches!(e, NodeEvent::Intent { .. })).count();
    let limited = events
        .iter()
        .filter(|e| matches!(e, NodeEvent::Ignored { reason: outpost_p2p::validate::IgnoreReason::RateLimited, .. }))
        .count();
    assert!((3..=4).contains(&accepted), "accepted {accepted}");
    assert_eq!(accepted + limited, 6);
    let score = b.handle.peer_score(rogue.peer_id).await.unwrap().unwrap_or(0.0);
    assert!(score >= 0.0, "rate-limited but valid traffic is not penalised ({score})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayer_statuses_reach_peers_on_the_status_topic() {
    use outpost_protocol::gossip::IntentStatus;
    let mut nodes = line(3).await;
    let signed = valid_intent(77);
    let h = hash(&signed);
    let executed = IntentStatus::Executed { tx_hash: "9wQ1nF3hcfDLnEPuMxJgi5yVmc3FMDwsD8Nr2N4mPXW6".into() };
    // Nodes forward reports only about intents they accepted: the intent goes first.
    nodes[0].handle.publish_intent(signed).await.unwrap();
    wait_for(&mut nodes[2].events, Duration::from_secs(10), |e| matches!(e, NodeEvent::Intent { hash, .. } if *hash == h).then_some(())).await.expect("intent reached the far end");
    // The status topic has its own mesh; give the heartbeat a moment to graft it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    nodes[0].handle.publish_status(h, executed.clone()).await.unwrap();
    let got = wait_for(&mut nodes[2].events, Duration::from_secs(10), |e| match e {
        NodeEvent::Status { intent_hash, status, .. } if *intent_hash == h => Some(status.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got, Some(executed), "the status crossed two hops");
}
