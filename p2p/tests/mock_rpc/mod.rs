//! A local HTTP server on 127.0.0.1 that speaks the NEAR JSON-RPC methods the relayer calls
//! (`query` call_function `simulate_intents`/`nonce_status` and view_access_key, `send_tx`, `tx`), in nearcore's
//! JSON shapes built from near-primitives / near-jsonrpc-primitives types, over a toy ledger of
//! used intent hashes. It does not prove chain behaviour.
#![allow(dead_code)]

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
use near_primitives::views::{
    AccessKeyPermissionView, AccessKeyView, CallResult, ExecutionMetadataView, ExecutionOutcomeView, ExecutionOutcomeWithIdView,
    ExecutionStatusView, FinalExecutionOutcomeView, FinalExecutionOutcomeViewEnum, FinalExecutionStatus, SignedTransactionView,
    TxExecutionStatus,
};
use outpost_p2p::testkit::CONTRACT;
use outpost_protocol::abi::{ItemOutcome, ItemResult, NonceStatus, SimulationReport};
use outpost_protocol::nep413::Payload;
use outpost_protocol::{DalekCrypto, IntentHash, Nonce, SignedAmount, SignedIntent};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DEPOSIT_PER_ITEM: u128 = 1_000;
pub const RELAYER: &str = "relayer.test.near";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
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
    /// send_tx: the node times out and the transaction never reaches a chunk: the chain does
    /// not know it (it may be sent again).
    Drop,
}

/// A nonce's key in the toy ledger: (signer, nonce).
pub type NonceKey = (String, Nonce);

/// The signer and nonce of a signed intent.
pub fn nonce_key(s: &SignedIntent) -> NonceKey {
    let intent = outpost_protocol::validate::decode_intent(&s.message).unwrap();
    (intent.signer_id.to_string(), s.nonce)
}

#[derive(Debug)]
pub struct Sent {
    pub hash: CryptoHash,
    pub items: usize,
    pub gas: u64,
    pub deposit: u128,
    pub nonce: u64,
    /// The access key that signed it.
    pub public_key: String,
}

#[derive(Default)]
pub struct Chain {
    pub ak_nonce: u64,
    pub block_hash: CryptoHash,
    pub fail_simulation: HashSet<IntentHash>,
    /// Items simulation (and execution) rejects with this code.
    pub reject: HashMap<IntentHash, &'static str>,
    /// Spent nonces: `Some(hash)` used by that intent, which executed; `None` cancelled.
    pub nonces: HashMap<NonceKey, Option<IntentHash>>,
    /// send_tx: the relayer's access key refuses the transaction (a function-call key given a
    /// deposit, as nearcore answers it).
    pub refuse_key: bool,
    /// A batch holding any of these fails as a whole (`EVENTS_TOO_LARGE`), in simulation and on
    /// chain, however many items it has.
    pub poison: HashSet<IntentHash>,
    /// Transactions the node dropped (hashes), in order.
    pub dropped: Vec<CryptoHash>,
    /// Signers with no balance at all: every intent of theirs fails simulation and execution
    /// with INSUFFICIENT_BALANCE (a flood from fresh keys).
    pub broke: HashSet<String>,
    /// Fail only when executed (the state changed after the simulation).
    pub fail_execution: HashSet<IntentHash>,
    pub used: HashSet<IntentHash>,
    pub executed: HashMap<CryptoHash, (SignedTransaction, Vec<IntentHash>)>,
    pub faults: HashMap<&'static str, VecDeque<Fault>>,
    pub vanished: bool,
    /// Every request answers 503 (the RPC endpoint is down).
    pub down: bool,
    pub sent: Vec<Sent>,
    pub calls: HashMap<String, usize>,
    /// `max_total_prepaid_gas` in `EXPERIMENTAL_protocol_config` (None: 1 PGas, as since
    /// protocol 83); `max_gas_burnt` is the same.
    pub max_gas_per_call: Option<u64>,
    /// `EXPERIMENTAL_protocol_config` is not served (an RPC proxy that filters it).
    pub no_protocol_config: bool,
    /// The relayer account's other access keys (public key text → nonce); the main key's nonce
    /// is `ak_nonce`. Any other key is unknown.
    pub extra_keys: HashMap<String, u64>,
    /// `send_tx` takes this long (outside the lock), so transactions overlap as on a real node.
    pub send_delay: Duration,
    /// `send_tx` requests being handled now, and the most at once.
    pub in_flight: usize,
    pub max_in_flight: usize,
}

impl Chain {
    /// The nonce of the relayer's access key `public_key`; `None` for a key the account lacks.
    fn key_nonce(&mut self, public_key: &str) -> Option<&mut u64> {
        if public_key == relayer_key().public_key().to_string() {
            return Some(&mut self.ak_nonce);
        }
        self.extra_keys.get_mut(public_key)
    }
}

/// Counts a `send_tx` in flight until dropped.
struct InFlight(Shared);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap().in_flight -= 1;
    }
}

pub type Shared = Arc<Mutex<Chain>>;

pub fn hash_of(s: &SignedIntent) -> IntentHash {
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
        let result = if chain.used.contains(&h) || chain.nonces.contains_key(&nonce_key(s)) {
            ItemResult::Failed { code: "NONCE_USED".into(), detail: "already used".into() }
        } else if let Some(code) = chain.reject.get(&h) {
            ItemResult::Failed { code: (*code).into(), detail: "rejected by the mock".into() }
        } else if chain.fail_simulation.contains(&h) || chain.broke.contains(&nonce_key(s).0) {
            ItemResult::Failed { code: "INSUFFICIENT_BALANCE".into(), detail: "the balance is too low".into() }
        } else {
            ok += 1;
            ItemResult::Ok
        };
        let storage_cost = SignedAmount(if result.is_ok() { DEPOSIT_PER_ITEM as i128 } else { 0 });
        outcomes.push(ItemOutcome { index: i as u32, intent_hash: Some(h), signer_id: None, nonce: None, result, gas: 0, storage_bytes: 0, storage_cost });
    }
    let passing: Vec<&SignedIntent> = signed.iter().zip(&outcomes).filter(|(_, o)| o.result.is_ok()).map(|(s, _)| s).collect();
    let caller_charge = SignedAmount((ok * DEPOSIT_PER_ITEM) as i128);
    SimulationReport { outcomes, balance_changes: vec![], batch_error: batch_error(chain, &passing), caller_charge, gas: 0 }
}

/// The contract's batch-wide rules over the items that pass: swap offers net to zero, and the
/// mock's poison.
fn batch_error(chain: &Chain, items: &[&SignedIntent]) -> Option<ItemResult> {
    if items.iter().any(|s| chain.poison.contains(&hash_of(s))) {
        return Some(ItemResult::Failed { code: "EVENTS_TOO_LARGE".into(), detail: "poisoned by the mock".into() });
    }
    let diffs: Vec<_> = items
        .iter()
        .flat_map(|s| outpost_protocol::validate::decode_intent(&s.message).unwrap().actions)
        .filter_map(|a| match a {
            outpost_protocol::Action::TokenDiff { diff } => Some(diff),
            _ => None,
        })
        .collect();
    outpost_protocol::validate::check_diffs_balanced(diffs.iter()).err().map(|e| ItemResult::from(&e))
}

/// Gas every transaction outcome reports burnt (the settlement benchmark sums it).
pub const BURNT_PER_TX: u64 = 3_000_000_000_000;

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
                gas_burnt: near_primitives::types::Gas::from_gas(BURNT_PER_TX),
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

async fn handle(State(shared): State<Shared>, Json(body): Json<Value>) -> Response {
    let id = body["id"].clone();
    let method = body["method"].as_str().unwrap_or_default().to_owned();
    let params = body["params"].clone();
    let _in_flight = if method == "send_tx" {
        let delay = {
            let mut chain = shared.lock().unwrap();
            chain.in_flight += 1;
            chain.max_in_flight = chain.max_in_flight.max(chain.in_flight);
            chain.send_delay
        };
        let guard = InFlight(shared.clone());
        tokio::time::sleep(delay).await;
        Some(guard)
    } else {
        None
    };
    let mut chain = shared.lock().unwrap();
    if chain.down {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
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
        "EXPERIMENTAL_protocol_config" => "EXPERIMENTAL_protocol_config",
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
        "EXPERIMENTAL_protocol_config" => {
            if chain.no_protocol_config {
                return rpc_err(&id, RpcError::method_not_found("EXPERIMENTAL_protocol_config".into()));
            }
            // The part of nearcore's answer the relayer reads (the real one has hundreds of fields).
            let gas = chain.max_gas_per_call.unwrap_or(1_000_000_000_000_000);
            rpc_ok(
                &id,
                json!({"protocol_version": 86, "runtime_config": {"wasm_config": {"limit_config": {
                    "max_total_prepaid_gas": gas, "max_gas_burnt": gas, "max_total_log_length": 16384,
                }}}}),
            )
        }
        "call_function" => {
            assert_eq!(params["account_id"], CONTRACT);
            // Views run on the latest state, where a transaction sent now would run.
            assert_eq!(params["finality"], "optimistic", "views must not lag behind at final");
            let args = base64::engine::general_purpose::STANDARD.decode(params["args_base64"].as_str().unwrap()).unwrap();
            let args: Value = serde_json::from_slice(&args).unwrap();
            let result = match params["method_name"].as_str().unwrap() {
                "simulate_intents" => {
                    let signed: Vec<SignedIntent> = serde_json::from_value(args["signed"].clone()).unwrap();
                    serde_json::to_vec(&simulate(&chain, &signed)).unwrap()
                }
                "nonce_status" => {
                    let key: NonceKey = (args["account_id"].as_str().unwrap().to_owned(), serde_json::from_value(args["nonce"].clone()).unwrap());
                    let status = match chain.nonces.get(&key) {
                        None => NonceStatus::Unused,
                        Some(Some(intent_hash)) => NonceStatus::Executed { intent_hash: *intent_hash },
                        Some(None) => NonceStatus::Cancelled,
                    };
                    serde_json::to_vec(&status).unwrap()
                }
                other => panic!("unexpected view {other}"),
            };
            rpc_ok(
                &id,
                RpcQueryResponse { kind: QueryResponseKind::CallResult(CallResult { result, logs: vec![] }), block_height: 1, block_hash },
            )
        }
        "view_access_key" => {
            assert_eq!(params["account_id"], RELAYER);
            let Some(nonce) = chain.key_nonce(params["public_key"].as_str().unwrap_or_default()).copied() else {
                let e = near_jsonrpc_primitives::types::query::RpcQueryError::UnknownAccessKey {
                    public_key: params["public_key"].as_str().unwrap().parse().unwrap(),
                    block_height: 1,
                    block_hash,
                };
                return rpc_err(&id, e.into());
            };
            let view = AccessKeyView { nonce, permission: AccessKeyPermissionView::FullAccess };
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
            if chain.refuse_key {
                let e = RpcTransactionError::InvalidTransaction {
                    context: InvalidTxError::InvalidAccessKeyError(near_primitives::errors::InvalidAccessKeyError::DepositWithFunctionCall),
                };
                return rpc_err(&id, e.into());
            }
            let key = t.public_key().to_string();
            let ak_nonce = *chain.key_nonce(&key).expect("a key of the relayer account");
            if t.nonce().nonce() <= ak_nonce {
                let e = RpcTransactionError::InvalidTransaction { context: InvalidTxError::InvalidNonce { tx_nonce: t.nonce().nonce(), ak_nonce } };
                return rpc_err(&id, e.into());
            }
            if *t.block_hash() != chain.block_hash {
                return rpc_err(&id, RpcTransactionError::InvalidTransaction { context: InvalidTxError::Expired }.into());
            }
            // Idempotent re-send of an executed transaction.
            if let Some(r) = execution_response(&chain, &tx_hash) {
                return rpc_ok(&id, r);
            }
            if let Some(Fault::Drop) = fault {
                chain.dropped.push(tx_hash);
                return rpc_err(&id, RpcTransactionError::TimeoutError(None).into());
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
                public_key: key.clone(),
            });
            *chain.key_nonce(&key).expect("checked above") = t.nonce().nonce();
            // The contract: all or nothing, the deposit must cover storage.
            if let Some(i) = signed.iter().position(|s| {
                let h = hash_of(s);
                chain.used.contains(&h)
                    || chain.nonces.contains_key(&nonce_key(s))
                    || chain.reject.contains_key(&h)
                    || chain.fail_simulation.contains(&h)
                    || chain.fail_execution.contains(&h)
            }) {
                let h = hash_of(&signed[i]);
                let code = if chain.used.contains(&h) || chain.nonces.contains_key(&nonce_key(&signed[i])) {
                    "NONCE_USED"
                } else {
                    chain.reject.get(&h).copied().unwrap_or("INSUFFICIENT_BALANCE")
                };
                let r = panic_response(&tx, block_hash, format!("Smart contract panicked: intent #{i}: {code}: the mock refused it"));
                return rpc_ok(&id, r);
            }
            if let Some(ItemResult::Failed { code, .. }) = batch_error(&chain, &signed.iter().collect::<Vec<_>>()) {
                let r = panic_response(&tx, block_hash, format!("Smart contract panicked: batch: {code}: the mock refused the batch"));
                return rpc_ok(&id, r);
            }
            // v2: storage is paid from the relayer's ledger NEAR; a deposit means a v1 relayer.
            if call.deposit.as_yoctonear() != 0 {
                let r = panic_response(&tx, block_hash, "Smart contract panicked: v2 takes no deposit".into());
                return rpc_ok(&id, r);
            }
            let hashes: Vec<IntentHash> = signed.iter().map(hash_of).collect();
            chain.used.extend(hashes.iter().copied());
            for (s, h) in signed.iter().zip(&hashes) {
                chain.nonces.insert(nonce_key(s), Some(*h));
            }
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

pub async fn mock_rpc(chain: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", post(handle)).with_state(chain);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}


/// A fresh chain: access-key nonce 41, a fixed block hash.
pub fn new_chain() -> Shared {
    Arc::new(Mutex::new(Chain { ak_nonce: 41, block_hash: CryptoHash::hash_bytes(b"genesis"), ..Default::default() }))
}

pub fn relayer_key() -> near_crypto::SecretKey {
    near_crypto::SecretKey::from_seed(near_crypto::KeyType::ED25519, "outpost relayer test")
}

/// The relayer config the mock-chain tests use: the mock's relayer account and key, short waits.
pub fn test_relayer_config() -> outpost_p2p::relayer::RelayerConfig {
    use std::time::Duration;
    let key = relayer_key();
    let mut config = outpost_p2p::relayer::RelayerConfig::new(RELAYER.parse().unwrap(), key, CONTRACT.parse().unwrap());
    config.retry = outpost_p2p::relayer::RetryConfig { attempts: 4, initial_backoff: Duration::from_millis(10), max_backoff: Duration::from_millis(50) };
    config.batch_delay = Duration::from_millis(20);
    config.status_poll = Duration::from_millis(10);
    config.recheck = (Duration::from_millis(40), Duration::from_millis(160));
    config.halt_backoff = (Duration::from_millis(150), Duration::from_millis(600));
    config.final_wait = Duration::from_millis(150);
    config.deadline_margin = Duration::ZERO;
    config
}

/// A relayer on the mock chain at `url`, with its status log.
pub fn test_relayer(url: &str, store: Arc<outpost_p2p::relayer::store::Store>) -> (outpost_p2p::relayer::Relayer<outpost_p2p::relayer::chain::RpcChainClient, outpost_p2p::relayer::StatusLog>, outpost_p2p::relayer::StatusLog) {
    let config = test_relayer_config();
    let chain = outpost_p2p::relayer::chain::RpcChainClient::new(url, config.contract.clone(), config.signer_id.clone(), config.secret_key.public_key());
    let log = outpost_p2p::relayer::StatusLog::default();
    (outpost_p2p::relayer::Relayer::new(config, chain, store, log.clone()), log)
}
