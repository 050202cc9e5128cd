//! Relayer logic against the JSON-RPC interface it uses, with a local HTTP server on 127.0.0.1
//! standing in for a NEAR node (no neard sandbox here; tier 2 would run the real one).
//!
//! THIS DOES NOT PROVE CHAIN BEHAVIOUR. The mock answers `query` (call_function
//! `simulate_intents`, view_access_key), `send_tx` and `tx` in nearcore's JSON shapes (built from
//! near-primitives / near-jsonrpc-primitives types, so the real client parses them) and keeps a
//! toy ledger of used intent hashes. It proves what the relayer does with those answers: batching
//! by gas, ending only what no later state can cure and re-checking the rest until the deadline,
//! telling an executed intent from a cancelled one when its nonce is spent, attaching the
//! simulated deposit, re-signing on nonce and expiry errors, retrying transient failures, halting
//! (and saying so) when its own key is refused, and recovering from its store after a crash.

mod mock_rpc;

use mock_rpc::*;
use outpost_p2p::relayer::chain::RpcChainClient;
use outpost_p2p::relayer::store::{State as IntentState, Store};
use outpost_p2p::relayer::{GasConfig, Relayer, StatusLog, TGAS};
use outpost_p2p::testkit::{intent_for, swap_offer, swap_pair, valid_intent, withdraw_intent, CONTRACT};
use outpost_protocol::gossip::IntentStatus;
use outpost_protocol::{IntentHash, SignedIntent};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn relayer(url: &str, store: Arc<Store>) -> (Relayer<RpcChainClient, StatusLog>, StatusLog) {
    test_relayer(url, store)
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
    // 70 transfers (5 TGas each: 60 per 300 TGas batch), then 13 withdrawals (25 TGas: 12 per
    // batch), under a relayer configured for a chain that allows 300 TGas per call.
    let mut intents: Vec<SignedIntent> = (0..70).map(valid_intent).collect();
    intents.extend((100..113).map(withdraw_intent));
    enqueue(&store, &intents);
    let mut config = mock_rpc::test_relayer_config();
    config.gas = GasConfig { per_intent: 5 * TGAS, per_withdraw_intent: 20 * TGAS, max_batch_gas: 300 * TGAS, ..GasConfig::default() };
    let chain_client = RpcChainClient::new(&url, config.contract.clone(), config.signer_id.clone(), config.secret_key.public_key());
    let log = StatusLog::default();
    let mut relayer = Relayer::new(config, chain_client, store.clone(), log.clone());
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
}

#[tokio::test]
async fn batches_stay_within_the_gas_the_chain_allows_per_call() {
    // The chain allows 300 TGas per call (as before protocol 83); the defaults would fill 1 PGas.
    let (chain, url, _dir, store) = setup().await;
    chain.lock().unwrap().max_gas_per_call = Some(300 * TGAS);
    let intents: Vec<SignedIntent> = (2000..2200).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut capped, _log) = relayer(&url, store.clone());
    assert_eq!(settle_all(&mut capped, &store, 10).await, 2, "two batches");
    assert_eq!(capped.max_batch_gas(), 300 * TGAS);
    assert_eq!(capped.chain_limits().unwrap().max_log_bytes, 16384);
    {
        let c = chain.lock().unwrap();
        let shapes: Vec<(usize, u64)> = c.sent.iter().map(|s| (s.items, s.gas / TGAS)).collect();
        assert_eq!(shapes, vec![(150, 300), (50, 100)], "2 TGas an intent before simulation, at most 300 per call");
        assert_eq!(c.calls["EXPERIMENTAL_protocol_config"], 1, "read once");
    }

    // An RPC that does not serve the method: the configured cap stands (the defaults' 1 PGas
    // takes the contract's largest batch) and settling goes on.
    let (chain, url, _dir, store) = setup().await;
    chain.lock().unwrap().no_protocol_config = true;
    let intents: Vec<SignedIntent> = (2200..2600).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut configured, _log) = relayer(&url, store.clone());
    assert_eq!(settle_all(&mut configured, &store, 10).await, 2);
    assert_eq!(configured.chain_limits(), None);
    assert_eq!(configured.max_batch_gas(), outpost_protocol::limits::MAX_BATCH_GAS);
    let c = chain.lock().unwrap();
    let sizes: Vec<usize> = c.sent.iter().map(|s| s.items).collect();
    assert_eq!(sizes, vec![outpost_protocol::limits::MAX_BATCH_SIZE, 400 - outpost_protocol::limits::MAX_BATCH_SIZE]);
    assert_eq!(c.calls["EXPERIMENTAL_protocol_config"], 1, "asked again only a minute later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_keys_keep_batches_in_flight_at_once_and_never_share_an_intent() {
    let (chain, url, _dir, store) = setup().await;
    // Three more keys configured; the account has two of them (the third was never added).
    let extra: Vec<near_crypto::SecretKey> =
        (0..3).map(|i| near_crypto::SecretKey::from_seed(near_crypto::KeyType::ED25519, &format!("relayer lane {i}"))).collect();
    {
        let mut c = chain.lock().unwrap();
        c.send_delay = Duration::from_millis(300);
        c.extra_keys.insert(extra[0].public_key().to_string(), 7);
        c.extra_keys.insert(extra[1].public_key().to_string(), 1_000);
    }
    // 600 transfers from 200 signers.
    let intents: Vec<SignedIntent> = (4000..4600).map(valid_intent).collect();
    enqueue(&store, &intents);
    let mut config = mock_rpc::test_relayer_config();
    config.extra_keys = extra.clone();
    let chain_client = RpcChainClient::new(&url, config.contract.clone(), config.signer_id.clone(), config.secret_key.public_key());
    let log = StatusLog::default();
    let mut relayer = Relayer::new(config, chain_client, store.clone(), log.clone());
    assert_eq!(settle_all(&mut relayer, &store, 10).await, 1, "one round: a batch per key");
    assert_eq!(relayer.lanes(), 3, "the key the account lacks is left out");

    let c = chain.lock().unwrap();
    assert_eq!(c.max_in_flight, 3, "three transactions in flight at once");
    let keys: std::collections::HashSet<&str> = c.sent.iter().map(|s| s.public_key.as_str()).collect();
    assert_eq!(keys.len(), 3);
    for s in &c.sent {
        let first = match s.public_key.as_str() {
            k if k == extra[0].public_key().to_string() => 8,
            k if k == extra[1].public_key().to_string() => 1_001,
            _ => 42,
        };
        assert_eq!(s.nonce, first, "each key uses its own nonce");
    }
    // Every intent went out exactly once, and executed.
    assert_eq!(c.sent.iter().map(|s| s.items).sum::<usize>(), 600);
    assert_eq!(c.used.len(), 600);
    let st = statuses(&log);
    assert!(intents.iter().all(|s| matches!(st[&hash_of(s)], IntentStatus::Executed { .. })));
    // One signer's intents share a key (two batches in flight never spend one balance twice).
    let mut key_of_signer: HashMap<String, &str> = HashMap::new();
    for (tx, (signed_tx, hashes)) in &c.executed {
        let _ = tx;
        let key = signed_tx.transaction.public_key().to_string();
        for h in hashes {
            let s = intents.iter().find(|s| hash_of(s) == *h).unwrap();
            let signer = outpost_protocol::validate::decode_intent(&s.message).unwrap().signer_id.to_string();
            let key = c.sent.iter().find(|x| x.public_key == key).map(|x| x.public_key.as_str()).unwrap();
            assert_eq!(*key_of_signer.entry(signer).or_insert(key), key);
        }
    }
    drop(c);

    // A key removed from the account while the relayer runs: its batch waits and goes out on the
    // keys left; the relayer does not halt.
    chain.lock().unwrap().extra_keys.remove(&extra[1].public_key().to_string());
    let more: Vec<SignedIntent> = (4600..4900).map(valid_intent).collect();
    enqueue(&store, &more);
    settle_all(&mut relayer, &store, 10).await;
    assert_eq!(relayer.lanes(), 2);
    assert!(relayer.health().halted().is_none());
    let st = statuses(&log);
    assert!(more.iter().all(|s| matches!(st[&hash_of(s)], IntentStatus::Executed { .. })));
    assert_eq!(chain.lock().unwrap().used.len(), 900);
}

#[tokio::test]
async fn a_curable_failure_waits_and_a_permanent_one_ends_at_once() {
    let (chain, url, _dir, store) = setup().await;
    let intents: Vec<SignedIntent> = (200..205).map(valid_intent).collect();
    let (broke, forged) = (hash_of(&intents[1]), hash_of(&intents[3]));
    {
        let mut c = chain.lock().unwrap();
        // No balance yet (the deposit is still on its way): a later state cures it.
        c.fail_simulation.insert(broke);
        // A bad signature: nothing ever will.
        c.reject.insert(forged, "SIGNATURE_INVALID");
    }
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    assert_eq!(relayer.settle_once().await.unwrap(), 4, "3 executed, 1 failed for good, 1 waiting");
    {
        let c = chain.lock().unwrap();
        assert_eq!(c.sent.len(), 1);
        assert_eq!((c.sent[0].items, c.sent[0].deposit), (3, 0), "exactly the batch that passed re-simulation, no deposit");
        // Simulated twice: the full batch, then the 3 that passed.
        assert_eq!(c.calls["call_function"], 2);
    }
    let st = statuses(&log);
    assert!(matches!(&st[&forged], IntentStatus::Failed { code, .. } if code == "SIGNATURE_INVALID"));
    assert!(!st.contains_key(&broke), "nothing is announced for an intent that may still execute");
    let record = store.record(&broke).unwrap().expect("still held");
    assert_eq!(record.state, IntentState::Pending);
    assert_eq!(record.waiting_for.as_ref().map(|w| w.code.as_str()), Some("INSUFFICIENT_BALANCE"));
    assert!(record.not_before_ns > outpost_p2p::validate::now_ns(), "re-checked after a back-off, not every round");
    // Checked again before the back-off ends: not even simulated.
    let calls = chain.lock().unwrap().calls["call_function"];
    assert_eq!(relayer.settle_once().await.unwrap(), 0);
    assert_eq!(chain.lock().unwrap().calls["call_function"], calls);

    // The deposit lands: the next check after the back-off settles it.
    chain.lock().unwrap().fail_simulation.remove(&broke);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(relayer.settle_once().await.unwrap(), 1);
    assert!(matches!(statuses(&log)[&broke], IntentStatus::Executed { .. }));
    for (i, s) in intents.iter().enumerate() {
        if i != 3 {
            assert!(matches!(statuses(&log)[&hash_of(s)], IntentStatus::Executed { .. }), "intent {i}");
        }
    }
}

#[tokio::test]
async fn an_intent_that_waits_past_its_deadline_ends_expired_with_what_it_waited_for() {
    let (chain, url, _dir, store) = setup().await;
    let short = outpost_p2p::testkit::intent_for(outpost_p2p::testkit::CONTRACT, 900, 1);
    let h = hash_of(&short);
    chain.lock().unwrap().fail_simulation.insert(h);
    enqueue(&store, std::slice::from_ref(&short));
    let (mut relayer, log) = relayer(&url, store.clone());
    assert_eq!(relayer.settle_once().await.unwrap(), 0);
    assert!(statuses(&log).is_empty());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(relayer.settle_once().await.unwrap(), 1);
    match &statuses(&log)[&h] {
        IntentStatus::Failed { code, reason } => {
            assert_eq!(code, "DEADLINE_EXPIRED");
            assert!(reason.contains("INSUFFICIENT_BALANCE"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(chain.lock().unwrap().sent.is_empty());
}

#[tokio::test]
async fn a_spent_nonce_is_looked_up_before_anything_is_announced() {
    let (chain, url, _dir, store) = setup().await;
    let intents: Vec<SignedIntent> = (950..953).map(valid_intent).collect();
    let [elsewhere, spent, cancelled] = [&intents[0], &intents[1], &intents[2]].map(hash_of);
    {
        let mut c = chain.lock().unwrap();
        // Another relayer executed this very intent.
        c.nonces.insert(nonce_key(&intents[0]), Some(elsewhere));
        // The signer used the nonce for a different intent.
        c.nonces.insert(nonce_key(&intents[1]), Some(hash_of(&valid_intent(9_999))));
        // The signer cancelled it.
        c.nonces.insert(nonce_key(&intents[2]), None);
    }
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    assert_eq!(relayer.settle_once().await.unwrap(), 3);
    assert!(chain.lock().unwrap().sent.is_empty());
    assert_eq!(chain.lock().unwrap().calls["call_function"], 1 + 3, "one simulation, one nonce_status each");
    assert_eq!(store.state(&elsewhere).unwrap(), Some(IntentState::Executed { tx_hash: None }), "executed, by the chain's word");
    let st = statuses(&log);
    assert!(!st.contains_key(&elsewhere), "its sender announces it, with the transaction");
    for h in [spent, cancelled] {
        assert!(matches!(&st[&h], IntentStatus::Failed { code, .. } if code == "NONCE_USED"), "{:?}", st.get(&h));
    }
    assert!(matches!(&st[&spent], IntentStatus::Failed { reason, .. } if reason.contains("another intent")));
    assert!(matches!(&st[&cancelled], IntentStatus::Failed { reason, .. } if reason.contains("cancelled")));
}

#[tokio::test]
async fn a_refused_relayer_key_halts_submission_keeps_the_intents_and_resumes() {
    let (chain, url, _dir, store) = setup().await;
    chain.lock().unwrap().refuse_key = true;
    let intents: Vec<SignedIntent> = (960..963).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    let health = relayer.health();
    let e = relayer.settle_once().await.unwrap_err();
    assert!(e.to_string().contains("DepositWithFunctionCall"), "{e}");
    let halt = health.halted().expect("halted");
    assert_eq!(halt.code, "RELAYER_KEY_REJECTED");
    assert!(halt.detail.contains("DepositWithFunctionCall"));
    assert_eq!(chain.lock().unwrap().calls["send_tx"], 1, "a permanent refusal is not retried as transient");
    // While halted: no hammering, nothing lost, nothing announced, no attempt counted.
    assert_eq!(relayer.settle_once().await.unwrap(), 0);
    assert_eq!(chain.lock().unwrap().calls["send_tx"], 1);
    assert_eq!(store.pending_count().unwrap(), 3);
    assert!(store.pending().unwrap().iter().all(|(_, r)| r.attempts == 0));
    assert!(statuses(&log).is_empty());
    // Still refused after the back-off: halted again, for longer.
    tokio::time::sleep(Duration::from_millis(160)).await;
    assert!(relayer.settle_once().await.is_err());
    let again = health.halted().expect("still halted");
    assert_eq!(again.since_ns, halt.since_ns);
    assert!(again.retry_at_ns - outpost_p2p::validate::now_ns() > 200_000_000, "the back-off doubled");
    // The operator fixes the key: the next try settles everything and clears the halt.
    chain.lock().unwrap().refuse_key = false;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(relayer.settle_once().await.unwrap(), 3);
    assert!(health.halted().is_none());
    assert!(statuses(&log).values().all(|s| matches!(s, IntentStatus::Executed { .. })));
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
async fn a_failing_item_in_a_sent_batch_waits_alone_and_the_rest_is_retried() {
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
    assert_eq!(settled, 3);
    let st = statuses(&log);
    assert!(!st.contains_key(&h2), "a failure a later state may cure ends nothing");
    assert_eq!(store.record(&h2).unwrap().unwrap().waiting_for.unwrap().code, "INSUFFICIENT_BALANCE");
    for (i, s) in intents.iter().enumerate() {
        if i != 2 {
            assert!(matches!(st[&hash_of(s)], IntentStatus::Executed { .. }), "intent {i}");
        }
    }
    // The balance comes back: it executes.
    chain.lock().unwrap().fail_execution.remove(&h2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(relayer.settle_once().await.unwrap(), 1);
    assert!(matches!(statuses(&log)[&h2], IntentStatus::Executed { .. }));
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

/// Settles rounds until nothing is active or `rounds` ran; returns the rounds it took.
async fn settle_all(relayer: &mut Relayer<RpcChainClient, StatusLog>, store: &Store, rounds: usize) -> usize {
    for round in 1..=rounds {
        relayer.settle_once().await.unwrap();
        if store.active_count().unwrap() == 0 {
            return round;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("still active after {rounds} rounds: {:?}", store.active().unwrap());
}

#[tokio::test]
async fn a_dropped_transaction_is_rebroadcast_unchanged_never_resigned() {
    let (chain, url, _dir, store) = setup().await;
    chain.lock().unwrap().faults.insert("send_tx", VecDeque::from([Fault::Drop]));
    let intents: Vec<SignedIntent> = (1000..1003).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    // The node drops it: the wait for FINAL is bounded, the intents stay submitted under it.
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), relayer.settle_once()).await.expect("bounded wait").unwrap(), 0);
    let dropped = chain.lock().unwrap().dropped.clone();
    assert_eq!(dropped.len(), 1);
    assert!(store.active().unwrap().iter().all(|(_, r)| matches!(&r.state, IntentState::Submitted { tx_hash, .. } if *tx_hash == dropped[0].to_string())));
    // Next round: unknown to the chain, so the very same signed transaction goes out again.
    assert_eq!(relayer.settle_once().await.unwrap(), 3);
    let c = chain.lock().unwrap();
    assert_eq!(c.sent.len(), 1);
    assert_eq!(c.sent[0].hash, dropped[0], "same hash: re-broadcast, not re-signed");
    assert!(statuses(&log).values().all(|s| matches!(s, IntentStatus::Executed { .. })));
}

#[tokio::test]
async fn an_unknown_transaction_that_can_no_longer_land_is_signed_anew() {
    let (chain, url, _dir, store) = setup().await;
    chain.lock().unwrap().faults.insert("send_tx", VecDeque::from([Fault::Drop]));
    let intents: Vec<SignedIntent> = (1100..1102).map(valid_intent).collect();
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    relayer.settle_once().await.unwrap();
    // Its block hash expires while it is unknown: the copy can never land, so re-signing is safe.
    chain.lock().unwrap().block_hash = near_primitives::hash::CryptoHash::hash_bytes(b"a day later");
    settle_all(&mut relayer, &store, 5).await;
    let c = chain.lock().unwrap();
    assert_eq!(c.sent.len(), 1, "executed once");
    assert_ne!(c.sent[0].hash, c.dropped[0], "a new transaction");
    assert!(statuses(&log).values().all(|s| matches!(s, IntentStatus::Executed { .. })));
    assert_eq!(statuses(&log).len(), 2);
}

#[tokio::test]
async fn unmatched_swap_offers_wait_aside_and_matched_pairs_settle_with_the_rest() {
    let (chain, url, _dir, store) = setup().await;
    // Oldest first: two offers nobody matches yet, then transfers, then a matching pair.
    let lonely = [swap_offer(1200, -5, 7), swap_offer(1201, 9, -3)];
    let transfers: Vec<SignedIntent> = (1202..1205).map(valid_intent).collect();
    let pair = swap_pair(1205, 1206, 50, 60);
    enqueue(&store, &lonely);
    enqueue(&store, &transfers);
    enqueue(&store, &pair);
    let (mut relayer, log) = relayer(&url, store.clone());
    assert_eq!(relayer.settle_once().await.unwrap(), 5, "transfers and the pair, in one batch");
    {
        let c = chain.lock().unwrap();
        assert_eq!(c.sent.len(), 1);
        assert_eq!(c.sent[0].items, 5);
    }
    for s in &lonely {
        let r = store.record(&hash_of(s)).unwrap().expect("still held");
        assert_eq!(r.waiting_for.unwrap().code, "DIFF_NOT_BALANCED");
    }
    // The counterpart of the first lonely offer arrives: they settle together.
    let counterpart = swap_offer(1207, 5, -7);
    enqueue(&store, std::slice::from_ref(&counterpart));
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(relayer.settle_once().await.unwrap(), 2);
    let st = statuses(&log);
    assert!(matches!(st[&hash_of(&lonely[0])], IntentStatus::Executed { .. }));
    assert!(matches!(st[&hash_of(&counterpart)], IntentStatus::Executed { .. }));
    assert!(!st.contains_key(&hash_of(&lonely[1])), "still waiting for its match, not failed");
}

#[tokio::test]
async fn a_batch_that_fails_as_a_whole_is_split_until_the_culprit_is_alone() {
    let (chain, url, _dir, store) = setup().await;
    let intents: Vec<SignedIntent> = (1300..1316).map(valid_intent).collect();
    let culprit = hash_of(&intents[11]);
    chain.lock().unwrap().poison.insert(culprit);
    enqueue(&store, &intents);
    let (mut relayer, log) = relayer(&url, store.clone());
    let rounds = settle_all(&mut relayer, &store, 20).await;
    assert!(rounds <= 8, "halving isolates it in a few rounds, took {rounds}");
    let st = statuses(&log);
    assert!(matches!(&st[&culprit], IntentStatus::Failed { code, .. } if code == "EVENTS_TOO_LARGE"));
    for s in intents.iter().filter(|s| hash_of(s) != culprit) {
        assert!(matches!(st[&hash_of(s)], IntentStatus::Executed { .. }));
    }
    let c = chain.lock().unwrap();
    assert_eq!(c.sent.iter().map(|s| s.items).sum::<usize>(), 15, "the innocent ones executed once each");
}

#[tokio::test]
async fn an_intent_too_close_to_its_deadline_goes_into_no_batch() {
    let (chain, url, _dir, store) = setup().await;
    let close = intent_for(CONTRACT, 1400, 30);
    let far = valid_intent(1401);
    enqueue(&store, &[close.clone(), far.clone()]);
    let (mut relayer, log) = relayer(&url, store.clone());
    relayer.config_mut().deadline_margin = Duration::from_secs(60);
    assert_eq!(relayer.settle_once().await.unwrap(), 1);
    assert_eq!(chain.lock().unwrap().sent[0].items, 1, "only the one with time to spare");
    assert!(!statuses(&log).contains_key(&hash_of(&close)), "not failed either: it ends at its deadline, by the chain's word");
    assert_eq!(store.record(&hash_of(&close)).unwrap().unwrap().state, IntentState::Pending);
}

#[tokio::test]
async fn an_intent_executed_elsewhere_before_its_deadline_is_not_called_expired() {
    let (chain, url, _dir, store) = setup().await;
    let short = intent_for(CONTRACT, 1500, 1);
    let h = hash_of(&short);
    enqueue(&store, std::slice::from_ref(&short));
    let (mut relayer, log) = relayer(&url, store.clone());
    relayer.config_mut().deadline_margin = Duration::from_secs(60);
    assert_eq!(relayer.settle_once().await.unwrap(), 0);
    // Another relayer settles it in time.
    chain.lock().unwrap().nonces.insert(nonce_key(&short), Some(h));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(relayer.settle_once().await.unwrap(), 1);
    assert_eq!(store.state(&h).unwrap(), Some(IntentState::Executed { tx_hash: None }));
    assert!(statuses(&log).is_empty(), "nothing announced: it did not fail, and it was not ours to announce");
}

#[tokio::test]
async fn two_relayers_racing_for_the_same_intents_both_end_executed() {
    let chain = new_chain();
    let url = mock_rpc(chain.clone()).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store_a = Arc::new(Store::open(&dir_a.path().join("relayer.redb")).unwrap());
    let store_b = Arc::new(Store::open(&dir_b.path().join("relayer.redb")).unwrap());
    let intents: Vec<SignedIntent> = (1600..1620).map(valid_intent).collect();
    enqueue(&store_a, &intents);
    enqueue(&store_b, &intents);
    let (mut a, log_a) = relayer(&url, store_a.clone());
    let (mut b, log_b) = relayer(&url, store_b.clone());
    for _ in 0..10 {
        let (ra, rb) = tokio::join!(a.settle_once(), b.settle_once());
        ra.unwrap();
        rb.unwrap();
        if store_a.active_count().unwrap() + store_b.active_count().unwrap() == 0 {
            break;
        }
    }
    for (store, log) in [(&store_a, &log_a), (&store_b, &log_b)] {
        for s in &intents {
            assert!(matches!(store.state(&hash_of(s)).unwrap(), Some(IntentState::Executed { .. })), "{:?}", store.state(&hash_of(s)));
        }
        assert!(statuses(log).values().all(|s| matches!(s, IntentStatus::Executed { .. })), "neither announces a failure");
    }
    assert_eq!(chain.lock().unwrap().used.len(), 20, "each executed exactly once");
}
