//! `/tls/ws`: a node with a certificate listens on secure WebSocket, and a node trusting the
//! certificate's CA dials it, meshes and receives intents; one that does not trust it cannot
//! connect (so TLS is really in the path). The browser side is in `p2p/browser/test/run.mjs`.

mod common;

use common::*;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use outpost_p2p::node::{self, NodeConfig, NodeEvent, WsTls};
use outpost_p2p::testkit::*;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// A test CA and a certificate it signed for `localhost` and 127.0.0.1: (CA DER, leaf DER, leaf key DER).
fn test_certificate() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap().signed_by(&leaf_key, &ca, &ca_key).unwrap();
    (ca.der().to_vec(), leaf.der().to_vec(), leaf_key.serialize_der())
}

async fn start(listen: &str, tls: Option<WsTls>) -> TestNode {
    let mut config = NodeConfig::new(CHAIN, CONTRACT, Keypair::generate_ed25519());
    config.listen = vec![listen.parse().unwrap()];
    config.tuning = fast_tuning();
    config.admission.trusted_ips = vec!["127.0.0.1".parse().unwrap()];
    config.tls = tls;
    let mut metrics = Registry::default();
    let handle = node::spawn(config, &mut metrics, None).await.expect("node starts");
    let events = handle.events();
    let addr = listen_addr(&handle).await;
    TestNode { handle, events, addr, metrics }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_cross_a_tls_websocket() {
    let (ca, leaf, key) = test_certificate();
    let mut server = start("/ip4/127.0.0.1/tcp/0/tls/ws", Some(WsTls { cert_chain: vec![leaf], key, extra_roots: vec![] })).await;
    assert!(server.addr.iter().any(|p| p == Protocol::Tls), "listening on {}", server.addr);

    let trusting = start("/ip4/127.0.0.1/tcp/0", Some(WsTls { extra_roots: vec![ca], ..WsTls::default() })).await;
    trusting.handle.dial(server.addr.clone()).await.unwrap();
    wait_mesh(&trusting.handle, 1).await;
    let signed = valid_intent(900);
    let (h, _) = trusting.handle.publish_intent(signed).await.unwrap();
    let got = wait_for(&mut server.events, Duration::from_secs(10), |e| matches!(e, NodeEvent::Intent { hash, .. } if *hash == h).then_some(())).await;
    assert!(got.is_some(), "the intent crossed /tls/ws");

    // Without the CA, the certificate is refused: no connection.
    let stranger = start("/ip4/127.0.0.1/tcp/0", None).await;
    stranger.handle.dial(server.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(stranger.handle.connected_peers().await.unwrap().is_empty(), "an untrusted certificate must not connect");
}

#[tokio::test]
async fn listening_on_tls_without_a_certificate_fails_clearly() {
    let mut config = NodeConfig::new(CHAIN, CONTRACT, Keypair::generate_ed25519());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0/tls/ws".parse::<Multiaddr>().unwrap()];
    let mut registry = Registry::default();
    let handle = node::spawn(config, &mut registry, None).await;
    // Either refused at listen time or never listening: never a /tls/ws listener without a cert.
    if let Ok(handle) = handle {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(handle.listen_addrs().await.unwrap().is_empty());
    }
    let bad = WsTls { cert_chain: vec![vec![1, 2, 3]], key: vec![4, 5, 6], extra_roots: vec![] };
    let mut config = NodeConfig::new(CHAIN, CONTRACT, Keypair::generate_ed25519());
    config.tls = Some(bad);
    let err = node::spawn(config, &mut registry, None).await.err().expect("a garbage key is refused");
    assert!(err.to_string().contains("TLS"), "{err}");
}
