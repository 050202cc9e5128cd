//! Relayer logic against the JSON-RPC interface it uses, with a local HTTP server on 127.0.0.1
//! standing in for a NEAR node (no neard sandbox here; tier 2 would run the real one).
//!
//! THIS DOES NOT PROVE CHAIN BEHAVIOUR. The mock answers `query` (call_function
//! `simulate_intents`, view_access_key), `send_tx` and `tx` in nearcore's JSON shapes (built from
//! near-primitives / near-jsonrpc-primitives types, so the real client parses them) and keeps a
//! toy ledger of used intent hashes. It proves what the relayer does with those answers: batching
//! by gas, dropping what simulation rejects, attaching the simulated deposit, re-signing on nonce
//! and expiry errors, retrying transient failures, and recovering from its store after a crash.

mod mock_rpc;

use mock_rpc::*;
use near_primitives::types::AccountId;
use outpost_p2p::relayer::chain::RpcChainClient;
use outpost_p2p::relayer::store::{State as IntentState, Store};
use outpost_p2p::relayer::{GasConfig, Relayer, RelayerConfig, RetryConfig, StatusLog, TGAS};
use outpost_p2p::testkit::{valid_intent, withdraw_intent, CONTRACT};
use outpost_protocol::gossip::IntentStatus;
use outpost_protocol::{IntentHash, SignedIntent};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn relayer(url: &str, store: Arc<Store>) -> (Relayer<RpcChainClient, StatusLog>, StatusLog) {
    let key = relayer_key();
    let signer: AccountId = RELAYER.parse().unwrap();
    let contract: AccountId = CONTRACT.parse().unwrap();
    let mut config = RelayerConfig::new(signer.clone(), key.clone(), contract.clone());
    config.retry = RetryConfig { attempts: 4, initial_backoff: Duration::from_millis(10), max_backoff: Duration::from_millis(50) };
    config.batch_delay = Duration::from_millis(20);
    config.status_poll = Duration::from_millis(10);
    let chain = RpcChainClient::new(url, contract, signer, key.public_key());
    let log = StatusLog::default();
    (Relayer::new(config, chain, store, log.clone()), log)
}

async fn setup() -> (Shared, String, tempfile::TempDir, Arc<Store>) {
    let chain = new_chain();
    let url = mock_rpc(chain.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("relayer.redb")).unwrap());
    (chain, url, dir, store)
}

fn enqueue(store: &Store, intents: &[SignedIntent]) {
    let items: Vec<(IntentHash, SignedIntent)> = intents.iter().map(|s| (hash_of(s), s.clone())).collect();
    store.add_pending(&items, outpost_p2p::validate::now_ns()).unwrap();
}

fn statuses(log: &StatusLog) -> HashMap<IntentHash, IntentStatus> {
    log.0.lock().unwrap().iter().cloned().collect()
}

#[tokio::test]
async fn batches_by_gas_and_attaches_the_simulated_deposit() {
    let (chain, url, _dir, store) = setup().await;
    // 70 transfers (5 TGas each: 60 per 300 TGas batch), then 13 withdrawals (25 TGas: 12 per batch).
    let mut intents: Vec<SignedIntent> = (0..70).map(valid_intent).collect();
    intents.extend((100..113).map(withdraw_intent));
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    let mut settled = 0;
    for _ in 0..10 {
        settled += relayer.settle_once().await.unwrap();
        if settled == intents.len() {
            break;
        }
    }
    assert_eq!(settled, intents.len());
    let chain = chain.lock().unwrap();
    let shapes: Vec<(usize, u64, u128)> = chain.sent.iter().map(|s| (s.items, s.gas / TGAS, s.deposit)).collect();
    assert_eq!(
        shapes,
        vec![(60, 300, 0), (10 + 10, 10 * 5 + 10 * 25, 0), (3, 3 * 25, 0)],
        "batches fill to the gas cap in arrival order; v2: no deposit attached"
    );
    let nonces: Vec<u64> = chain.sent.iter().map(|s| s.nonce).collect();
    assert_eq!(nonces, vec![42, 43, 44], "nonces follow the access key's");
    let st = statuses(&log);
    assert_eq!(st.len(), intents.len());
    for s in &intents {
        let h = hash_of(s);
        assert!(chain.used.contains(&h));
        match &st[&h] {
            IntentStatus::Executed { tx_hash } => assert!(chain.executed.contains_key(&tx_hash.parse().unwrap())),
            other => panic!("{other:?}"),
        }
        assert!(matches!(store.state(&h).unwrap(), Some(IntentState::Executed { .. })));
    }
    assert_eq!(store.active_count().unwrap(), 0);
    let _ = GasConfig::default();
}

#[tokio::test]
async fn drops_items_that_simulation_rejects_and_submits_the_rest() {
    let (chain, url, _dir, store) = setup().await;
    let intents: Vec<SignedIntent> = (200..205).map(valid_intent).collect();
    {
        let mut c = chain.lock().unwrap();
        c.fail_simulation.insert(hash_of(&intents[1]));
        c.fail_simulation.insert(hash_of(&intents[3]));
    }
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    assert_eq!(relayer.settle_once().await.unwrap(), 5);
    let chain = chain.lock().unwrap();
    assert_eq!(chain.sent.len(), 1);
    assert_eq!((chain.sent[0].items, chain.sent[0].deposit), (3, 0), "exactly the batch that passed re-simulation, no deposit");
    // Simulated twice: the full batch, then the 3 that passed.
    assert_eq!(chain.calls["call_function"], 2);
    let st = statuses(&log);
    for (i, s) in intents.iter().enumerate() {
        let status = &st[&hash_of(s)];
        if i == 1 || i == 3 {
            assert_eq!(status, &IntentStatus::Failed { code: "INSUFFICIENT_BALANCE".into(), reason: "the balance is too low".into() });
            assert!(!chain.used.contains(&hash_of(s)));
        } else {
            assert!(matches!(status, IntentStatus::Executed { .. }));
        }
    }
}

#[tokio::test]
async fn retries_transient_errors_and_resigns_on_nonce_and_expiry_errors() {
    let (chain, url, _dir, store) = setup().await;
    {
        let mut c = chain.lock().unwrap();
        c.faults.insert("call_function", VecDeque::from([Fault::Internal, Fault::Unavailable]));
        c.faults.insert("view_access_key", VecDeque::from([Fault::Unavailable]));
        c.faults.insert("send_tx", VecDeque::from([Fault::Unavailable, Fault::BumpNonce, Fault::ExpireBlockHash, Fault::Internal]));
    }
    let intents: Vec<SignedIntent> = (300..303).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    assert_eq!(relayer.settle_once().await.unwrap(), 3);
    let chain = chain.lock().unwrap();
    let sent: Vec<&Sent> = chain.sent.iter().collect();
    assert_eq!(sent.len(), 1, "executed exactly once");
    assert_eq!(sent[0].nonce, 41 + 10 + 1, "re-signed above the bumped access-key nonce");
    assert!(chain.faults.values().all(|q| q.is_empty()), "every fault was hit");
    assert!(statuses(&log).values().all(|s| matches!(s, IntentStatus::Executed { .. })));
}

#[tokio::test]
async fn gives_up_after_the_retry_budget_and_keeps_the_intents() {
    let (chain, url, _dir, store) = setup().await;
    chain.lock().unwrap().faults.insert("call_function", VecDeque::from([Fault::Unavailable; 10]));
    let intents: Vec<SignedIntent> = (400..402).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    let e = relayer.settle_once().await.unwrap_err();
    assert!(e.to_string().contains("transient"), "{e}");
    assert_eq!(chain.lock().unwrap().calls["call_function"], 4, "the configured number of attempts");
    assert_eq!(store.pending_count().unwrap(), 2, "nothing lost");
    assert!(statuses(&log).is_empty());
}

#[tokio::test]
async fn a_restart_loses_nothing_and_does_not_submit_twice() {
    let (chain, url, dir, store) = setup().await;
    let first: Vec<SignedIntent> = (500..503).map(valid_intent).collect();
    let second: Vec<SignedIntent> = (600..602).map(valid_intent).collect();
    enqueue(&store, &first);
    chain.lock().unwrap().faults.insert("send_tx", VecDeque::from([Fault::ExecuteThenVanish]));
    {
        let (mut relayer, _) = relayer(&url, store.clone());
        // The tx executes but its response never arrives: the relayer cannot tell, so it errs.
        assert!(relayer.settle_once().await.is_err());
        // More intents arrive, then the process dies before they are submitted.
        enqueue(&store, &second);
    }
    drop(store);
    for (_, s) in store_states(dir.path()) {
        assert!(matches!(s, IntentState::Submitted { .. } | IntentState::Pending), "{s:?}");
    }
    chain.lock().unwrap().vanished = false;

    // Restart on the same file.
    let store = Arc::new(Store::open(&dir.path().join("relayer.redb")).unwrap());
    assert_eq!(store.active_count().unwrap(), 5);
    let (mut relayer, log) = relayer(&url, store.clone());
    let mut settled = 0;
    for _ in 0..3 {
        settled += relayer.settle_once().await.unwrap();
    }
    assert_eq!(settled, 5, "the first batch recovered, the second submitted after the restart");
    let chain = chain.lock().unwrap();
    assert_eq!(chain.sent.len(), 2, "the first batch was recovered from the chain, not sent again");
    let st = statuses(&log);
    for s in first.iter().chain(&second) {
        assert!(matches!(st.get(&hash_of(s)), Some(IntentStatus::Executed { .. })), "every intent executed and announced");
    }
    let first_tx = chain.sent[0].hash.to_string();
    assert_eq!(st[&hash_of(&first[0])], IntentStatus::Executed { tx_hash: first_tx });
}

fn store_states(dir: &Path) -> Vec<(IntentHash, IntentState)> {
    let store = Store::open(&dir.join("relayer.redb")).unwrap();
    store.active().unwrap().into_iter().map(|(h, r)| (h, r.state)).collect()
}

#[tokio::test]
async fn a_failing_item_in_a_sent_batch_fails_alone_and_the_rest_is_retried() {
    // The chain changed between simulation and execution (another relayer spent the balance).
    let (chain, url, _dir, store) = setup().await;
    let intents: Vec<SignedIntent> = (700..704).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    let h2 = hash_of(&intents[2]);
    chain.lock().unwrap().fail_execution.insert(h2);
    let mut settled = 0;
    for _ in 0..4 {
        settled += relayer.settle_once().await.unwrap();
    }
    assert_eq!(settled, 4);
    let st = statuses(&log);
    assert!(matches!(&st[&h2], IntentStatus::Failed { code, .. } if code == "INSUFFICIENT_BALANCE"));
    for (i, s) in intents.iter().enumerate() {
        if i != 2 {
            assert!(matches!(st[&hash_of(s)], IntentStatus::Executed { .. }), "intent {i}");
        }
    }
}

#[tokio::test]
async fn run_loop_settles_what_arrives_on_the_intake() {
    let (_chain, url, _dir, store) = setup().await;
    let (relayer, log) = relayer(&url, store.clone());
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(relayer.run(rx));
    let intents: Vec<SignedIntent> = (800..805).map(valid_intent).collect();
    for s in &intents {
        tx.send((hash_of(s), Arc::new(s.clone()))).await.unwrap();
    }
    drop(tx);
    tokio::time::timeout(Duration::from_secs(20), task).await.unwrap().unwrap().unwrap();
    assert_eq!(statuses(&log).len(), 5);
    assert_eq!(store.active_count().unwrap(), 0);
}
