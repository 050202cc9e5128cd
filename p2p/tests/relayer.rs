//! Relayer logic against the JSON-RPC interface it uses, with a local HTTP server on 127.0.0.1
//! standing in for a NEAR node (no neard sandbox here; tier 2 would run the real one).
//!
//! THIS DOES NOT PROVE CHAIN BEHAVIOUR. The mock answers `query` (call_function
//! `simulate_intents`, view_access_key), `send_tx` and `tx` in nearcore's JSON shapes (built from
//! near-primitives / near-jsonrpc-primitives types, so the real client parses them) and keeps a
//! toy ledger of used intent hashes. It proves what the relayer does with those answers: batching
//! by gas, dropping what simulation rejects, attaching the simulated deposit, re-signing on nonce
//! and expiry errors, retrying transient failures, and recovering from its store after a crash.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{routing::post, Json, Router};
use base64::Engine as _;
use near_jsonrpc_primitives::errors::RpcError;
use near_jsonrpc_primitives::types::query::{QueryResponseKind, RpcQueryResponse};
use near_jsonrpc_primitives::types::transactions::{RpcTransactionError, RpcTransactionResponse};
use near_primitives::action::Action as TxAction;
use near_primitives::errors::{ActionError, ActionErrorKind, FunctionCallError, InvalidTxError, TxExecutionError};
use near_primitives::hash::CryptoHash;
use near_primitives::transaction::SignedTransaction;
use near_primitives::types::AccountId;
use near_primitives::views::{
    AccessKeyPermissionView, AccessKeyView, CallResult, ExecutionMetadataView, ExecutionOutcomeView, ExecutionOutcomeWithIdView,
    ExecutionStatusView, FinalExecutionOutcomeView, FinalExecutionOutcomeViewEnum, FinalExecutionStatus, SignedTransactionView,
    TxExecutionStatus,
};
use outpost_p2p::relayer::chain::RpcChainClient;
use outpost_p2p::relayer::store::{State as IntentState, Store};
use outpost_p2p::relayer::{GasConfig, Relayer, RelayerConfig, RetryConfig, StatusLog, TGAS};
use outpost_p2p::testkit::{valid_intent, withdraw_intent, CONTRACT};
use outpost_protocol::abi::{ItemOutcome, ItemResult, SimulationReport};
use outpost_protocol::gossip::IntentStatus;
use outpost_protocol::nep413::Payload;
use outpost_protocol::{Amount, DalekCrypto, IntentHash, SignedIntent};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEPOSIT_PER_ITEM: u128 = 1_000;
const RELAYER: &str = "relayer.test.near";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// HTTP 503 with no body (a load balancer in trouble).
    Unavailable,
    /// JSON-RPC INTERNAL_ERROR.
    Internal,
    /// send_tx: the node answers InvalidNonce (someone else used the key).
    BumpNonce,
    /// send_tx: the block hash moved on; the tx is Expired.
    ExpireBlockHash,
    /// send_tx: executes the tx, then the connection "drops" (503) on every later send_tx.
    ExecuteThenVanish,
}

#[derive(Debug)]
struct Sent {
    hash: CryptoHash,
    items: usize,
    gas: u64,
    deposit: u128,
    nonce: u64,
}

#[derive(Default)]
struct Chain {
    ak_nonce: u64,
    block_hash: CryptoHash,
    fail_simulation: HashSet<IntentHash>,
    /// Fail only when executed (the state changed after the simulation).
    fail_execution: HashSet<IntentHash>,
    used: HashSet<IntentHash>,
    executed: HashMap<CryptoHash, (SignedTransaction, Vec<IntentHash>)>,
    faults: HashMap<&'static str, VecDeque<Fault>>,
    vanished: bool,
    sent: Vec<Sent>,
    calls: HashMap<String, usize>,
}

type Shared = Arc<Mutex<Chain>>;

fn hash_of(s: &SignedIntent) -> IntentHash {
    Payload::of(s).hash(&DalekCrypto)
}

fn rpc_ok(id: &Value, result: impl serde::Serialize) -> Response {
    Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })).into_response()
}

fn rpc_err(id: &Value, error: RpcError) -> Response {
    Json(json!({ "jsonrpc": "2.0", "id": id, "error": error })).into_response()
}

fn simulate(chain: &Chain, signed: &[SignedIntent]) -> SimulationReport {
    let mut outcomes = Vec::new();
    let mut ok = 0;
    for (i, s) in signed.iter().enumerate() {
        let h = hash_of(s);
        let result = if chain.used.contains(&h) {
            ItemResult::Failed { code: "NONCE_USED".into(), detail: "already used".into() }
        } else if chain.fail_simulation.contains(&h) {
            ItemResult::Failed { code: "INSUFFICIENT_BALANCE".into(), detail: "the balance is too low".into() }
        } else {
            ok += 1;
            ItemResult::Ok
        };
        outcomes.push(ItemOutcome { index: i as u32, intent_hash: Some(h), signer_id: None, nonce: None, result });
    }
    SimulationReport { outcomes, balance_changes: vec![], batch_error: None, storage_deposit_needed: Amount(ok * DEPOSIT_PER_ITEM) }
}

fn outcome_view(tx: &SignedTransaction, block_hash: CryptoHash, status: FinalExecutionStatus) -> RpcTransactionResponse {
    let view = FinalExecutionOutcomeView {
        status,
        transaction: SignedTransactionView::from(tx.clone()),
        transaction_outcome: ExecutionOutcomeWithIdView {
            proof: vec![],
            block_hash,
            id: tx.get_hash(),
            outcome: ExecutionOutcomeView {
                logs: vec![],
                receipt_ids: vec![],
                gas_burnt: near_primitives::types::Gas::from_gas(0),
                tokens_burnt: near_primitives::types::Balance::from_yoctonear(0),
                executor_id: RELAYER.parse().unwrap(),
                status: ExecutionStatusView::SuccessReceiptId(CryptoHash::default()),
                metadata: ExecutionMetadataView::default(),
            },
        },
        receipts_outcome: vec![],
    };
    RpcTransactionResponse {
        final_execution_outcome: Some(FinalExecutionOutcomeViewEnum::FinalExecutionOutcome(view)),
        final_execution_status: TxExecutionStatus::Final,
    }
}

fn execution_response(chain: &Chain, tx_hash: &CryptoHash) -> Option<RpcTransactionResponse> {
    let (tx, hashes) = chain.executed.get(tx_hash)?;
    let value = serde_json::to_vec(hashes).unwrap();
    Some(outcome_view(tx, chain.block_hash, FinalExecutionStatus::SuccessValue(value)))
}

fn panic_response(tx: &SignedTransaction, block_hash: CryptoHash, message: String) -> RpcTransactionResponse {
    let error = TxExecutionError::ActionError(ActionError {
        index: Some(0),
        kind: ActionErrorKind::FunctionCallError(FunctionCallError::ExecutionError(message)),
    });
    outcome_view(tx, block_hash, FinalExecutionStatus::Failure(error))
}

async fn handle(State(chain): State<Shared>, Json(body): Json<Value>) -> Response {
    let id = body["id"].clone();
    let method = body["method"].as_str().unwrap_or_default().to_owned();
    let params = body["params"].clone();
    let mut chain = chain.lock().unwrap();
    let kind = match method.as_str() {
        "query" => params["request_type"].as_str().unwrap_or_default().to_owned(),
        other => other.to_owned(),
    };
    *chain.calls.entry(kind.clone()).or_default() += 1;
    let key: &'static str = match kind.as_str() {
        "call_function" => "call_function",
        "view_access_key" => "view_access_key",
        "send_tx" => "send_tx",
        "tx" => "tx",
        _ => return (StatusCode::BAD_REQUEST, "unknown method").into_response(),
    };
    let fault = chain.faults.get_mut(key).and_then(|q| q.pop_front());
    match fault {
        Some(Fault::Unavailable) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Some(Fault::Internal) => return rpc_err(&id, RpcError::new_internal_error(None, "the node is overloaded".into())),
        _ => {}
    }
    let block_hash = chain.block_hash;
    match key {
        "call_function" => {
            assert_eq!(params["account_id"], CONTRACT);
            assert_eq!(params["method_name"], "simulate_intents");
            let args = base64::engine::general_purpose::STANDARD.decode(params["args_base64"].as_str().unwrap()).unwrap();
            let args: Value = serde_json::from_slice(&args).unwrap();
            let signed: Vec<SignedIntent> = serde_json::from_value(args["signed"].clone()).unwrap();
            let report = simulate(&chain, &signed);
            let result = serde_json::to_vec(&report).unwrap();
            rpc_ok(
                &id,
                RpcQueryResponse { kind: QueryResponseKind::CallResult(CallResult { result, logs: vec![] }), block_height: 1, block_hash },
            )
        }
        "view_access_key" => {
            assert_eq!(params["account_id"], RELAYER);
            let view = AccessKeyView { nonce: chain.ak_nonce, permission: AccessKeyPermissionView::FullAccess };
            rpc_ok(&id, RpcQueryResponse { kind: QueryResponseKind::AccessKey(view), block_height: 1, block_hash })
        }
        "send_tx" => {
            if chain.vanished {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            let bytes = base64::engine::general_purpose::STANDARD.decode(params["signed_tx_base64"].as_str().unwrap()).unwrap();
            let tx: SignedTransaction = borsh::from_slice(&bytes).unwrap();
            let t = &tx.transaction;
            let tx_hash = tx.get_hash();
            // A real node checks these; so does the mock.
            assert!(tx.signature.verify(tx_hash.as_ref(), t.public_key()), "signature checks out");
            assert_eq!(t.signer_id().as_str(), RELAYER);
            assert_eq!(t.receiver_id().as_str(), CONTRACT);
            if let Some(Fault::BumpNonce) = fault {
                chain.ak_nonce += 10;
            }
            if let Some(Fault::ExpireBlockHash) = fault {
                chain.block_hash = CryptoHash::hash_bytes(&chain.ak_nonce.to_le_bytes());
            }
            if t.nonce().nonce() <= chain.ak_nonce {
                let e = RpcTransactionError::InvalidTransaction {
                    context: InvalidTxError::InvalidNonce { tx_nonce: t.nonce().nonce(), ak_nonce: chain.ak_nonce },
                };
                return rpc_err(&id, e.into());
            }
            if *t.block_hash() != chain.block_hash {
                return rpc_err(&id, RpcTransactionError::InvalidTransaction { context: InvalidTxError::Expired }.into());
            }
            // Idempotent re-send of an executed transaction.
            if let Some(r) = execution_response(&chain, &tx_hash) {
                return rpc_ok(&id, r);
            }
            let [TxAction::FunctionCall(call)] = t.actions() else { panic!("one function call") };
            assert_eq!(call.method_name, "execute_intents");
            let args: Value = serde_json::from_slice(&call.args).unwrap();
            let signed: Vec<SignedIntent> = serde_json::from_value(args["signed"].clone()).unwrap();
            chain.sent.push(Sent {
                hash: tx_hash,
                items: signed.len(),
                gas: call.gas.as_gas(),
                deposit: call.deposit.as_yoctonear(),
                nonce: t.nonce().nonce(),
            });
            chain.ak_nonce = t.nonce().nonce();
            // The contract: all or nothing, the deposit must cover storage.
            if let Some(i) = signed.iter().position(|s| {
                let h = hash_of(s);
                chain.used.contains(&h) || chain.fail_simulation.contains(&h) || chain.fail_execution.contains(&h)
            }) {
                let r = panic_response(&tx, block_hash, format!("Smart contract panicked: intent #{i}: INSUFFICIENT_BALANCE: the balance is too low"));
                return rpc_ok(&id, r);
            }
            if call.deposit.as_yoctonear() < signed.len() as u128 * DEPOSIT_PER_ITEM {
                let r = panic_response(&tx, block_hash, "Smart contract panicked: batch: INSUFFICIENT_STORAGE_DEPOSIT: attach more".into());
                return rpc_ok(&id, r);
            }
            let hashes: Vec<IntentHash> = signed.iter().map(hash_of).collect();
            chain.used.extend(hashes.iter().copied());
            chain.executed.insert(tx_hash, (tx.clone(), hashes));
            if let Some(Fault::ExecuteThenVanish) = fault {
                chain.vanished = true;
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            rpc_ok(&id, execution_response(&chain, &tx_hash).unwrap())
        }
        "tx" => {
            let tx_hash: CryptoHash = params["tx_hash"].as_str().unwrap().parse().unwrap();
            match execution_response(&chain, &tx_hash) {
                Some(r) => rpc_ok(&id, r),
                None => rpc_err(&id, RpcTransactionError::UnknownTransaction { requested_transaction_hash: tx_hash }.into()),
            }
        }
        _ => unreachable!(),
    }
}

async fn mock_rpc(chain: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", post(handle)).with_state(chain);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn relayer_key() -> near_crypto::SecretKey {
    near_crypto::SecretKey::from_seed(near_crypto::KeyType::ED25519, "outpost relayer test")
}

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
    let chain: Shared = Arc::new(Mutex::new(Chain { ak_nonce: 41, block_hash: CryptoHash::hash_bytes(b"genesis"), ..Default::default() }));
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
        vec![(60, 300, 60_000), (10 + 10, 10 * 5 + 10 * 25, 20_000), (3, 3 * 25, 3_000)],
        "batches fill to the gas cap in arrival order; deposit = simulation's storage_deposit_needed"
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
    assert_eq!((chain.sent[0].items, chain.sent[0].deposit), (3, 3 * DEPOSIT_PER_ITEM), "deposit from re-simulating exactly the batch sent");
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
