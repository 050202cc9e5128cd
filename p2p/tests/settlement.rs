//! The settlement benchmark's code path (`outpost_p2p::settlement`) against the mock RPC: a node
//! in relayer mode with its HTTP API, intents posted over HTTP and followed until executed, and
//! the gas read back from the transactions. The sandbox benchmark runs the same functions.

mod common;
mod mock_rpc;

use libp2p::identity::Keypair;
use outpost_p2p::http::{self, ApiOptions, ApiState};
use outpost_p2p::node::{self, NodeConfig};
use outpost_p2p::relayer::store::Store;
use outpost_p2p::relayer::{Health, Relayer, StatusLog};
use outpost_p2p::settlement;
use outpost_p2p::testkit::{valid_intent, CHAIN, CONTRACT};
use outpost_protocol::SignedIntent;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settlement_benchmark_posts_follows_and_reports() {
    let chain = mock_rpc::new_chain();
    let url = mock_rpc::mock_rpc(chain.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("relayer.redb")).unwrap());

    // The node as `outpost-node --relayer` wires it: gossip intake into the relayer, the HTTP API
    // over the same store.
    let mut config = NodeConfig::new(CHAIN, CONTRACT, Keypair::generate_ed25519());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.tuning = common::fast_tuning();
    let (sink, intake) = tokio::sync::mpsc::channel(10_000);
    let mut registry = Registry::default();
    let node = node::spawn(config, &mut registry, Some(sink)).await.unwrap();
    let relayer_config = mock_rpc::test_relayer_config();
    let chain_client = outpost_p2p::relayer::chain::RpcChainClient::new(
        &url,
        relayer_config.contract.clone(),
        relayer_config.signer_id.clone(),
        relayer_config.secret_key.public_key(),
    );
    let relayer = Relayer::new(relayer_config, chain_client, store.clone(), StatusLog::default());
    tokio::spawn(relayer.run(intake));
    let api = ApiState {
        node,
        store: Some(store),
        health: Some(Health::default()),
        relayer_account: Some(mock_rpc::RELAYER.into()),
        registry: Arc::new(registry),
    };
    let addr = http::serve("127.0.0.1:0".parse().unwrap(), api, &ApiOptions { rate_limit: None, public_metrics: false }).await.unwrap();

    // 400 transfers from 200 signers, and one the node refuses (signed for another contract).
    let mut intents: Vec<SignedIntent> = (3000..3400).map(valid_intent).collect();
    intents.push(outpost_p2p::testkit::intent_for("elsewhere.test.near", 3400, 3600));
    let report = settlement::run(addr, &intents, 16, Duration::from_secs(60)).await.unwrap();
    println!("{}", report.markdown("settlement through the mock RPC"));

    assert_eq!((report.posted, report.accepted), (401, 400));
    assert_eq!(report.failures.get("refused: WRONG_RECIPIENT"), Some(&1), "{:?}", report.failures);
    assert_eq!((report.executed, report.failed, report.unsettled), (400, 0, 0));
    assert_eq!(report.latencies.len(), 400);
    let (p50, p99) = (report.percentile(50.0).unwrap(), report.percentile(99.0).unwrap());
    assert!(p50 <= p99 && p99 <= report.elapsed, "{p50:?} {p99:?} {:?}", report.elapsed);
    assert!(report.per_second() > 0.0);
    // The transactions the statuses name are the ones the chain received.
    let sent: std::collections::BTreeSet<String> = chain.lock().unwrap().executed.keys().map(|h| h.to_string()).collect();
    assert_eq!(report.tx_hashes, sent);
    // Each executed status names the relayer as its transaction's signer (what `tx` RPC needs).
    assert_eq!(report.tx_senders, [mock_rpc::RELAYER.to_owned()].into());
    let items: usize = chain.lock().unwrap().sent.iter().map(|s| s.items).sum();
    assert_eq!(items, 400, "no intent went out twice");

    // Gas from the transactions' outcomes, as on a sandbox (the mock burns a fixed amount each).
    let (per_intent, total) = settlement::gas_per_intent(&url, &mock_rpc::RELAYER.parse().unwrap(), &report.tx_hashes, report.executed).await.unwrap();
    assert_eq!(per_intent, total / 400);
    assert_eq!(total, mock_rpc::BURNT_PER_TX * report.tx_hashes.len() as u64);
}
