//! What the relayer needs from NEAR, behind a trait ([`ChainClient`]) so the batching and retry
//! logic can be tested against a local JSON-RPC server, and its implementation over
//! `near-jsonrpc-client` ([`RpcChainClient`]).

use near_jsonrpc_client::errors::{JsonRpcError, JsonRpcServerError, JsonRpcServerResponseStatusError};
use near_jsonrpc_client::{methods, JsonRpcClient};
use near_jsonrpc_primitives::types::query::QueryResponseKind;
use near_jsonrpc_primitives::types::transactions::{RpcTransactionError, TransactionInfo};
use near_primitives::errors::{ActionErrorKind, FunctionCallError, InvalidTxError, TxExecutionError};
use near_primitives::hash::CryptoHash;
use near_primitives::transaction::SignedTransaction;
use near_primitives::types::{AccountId, BlockReference, Finality, FunctionArgs};
use near_primitives::views::{FinalExecutionOutcomeViewEnum, FinalExecutionStatus, QueryRequest, TxExecutionStatus};
use outpost_protocol::abi::{methods as abi_methods, BatchFailure, NonceStatus, SimulationReport};
use outpost_protocol::{IntentHash, Nonce, SignedIntent};
use std::future::Future;

/// Why a chain call failed, sorted by what the relayer does about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// Network trouble, timeouts, overloaded or unsynced node: retry with backoff.
    Transient(String),
    /// The access key's nonce moved (another sender, or a tx we lost track of): re-sign with
    /// `ak_nonce + 1`.
    InvalidNonce { ak_nonce: u64 },
    /// The block hash in the transaction is too old: re-sign with a fresh one.
    Expired,
    /// The nonce is ahead of what the chain accepts yet (our cached nonce ran ahead): re-sign
    /// with the access key's own.
    NonceTooLarge,
    /// The relayer's own account or key cannot send this (a function-call key given a deposit or
    /// another method, a deleted key, no NEAR for gas, wrong network). Permanent until the
    /// operator acts: the relayer halts submissions, keeps the intents and says so.
    Relayer(String),
    /// This transaction is invalid as built (too large, too much gas): the batch's fault, not
    /// the intents' one by one nor the relayer's.
    TxInvalid(String),
    /// Anything else the node refused (bad request, a view that failed): not retried.
    Rejected(String),
}

impl ChainError {
    /// Permanent errors that no retry of the same call can fix.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ChainError::Relayer(_) | ChainError::TxInvalid(_) | ChainError::Rejected(_))
    }
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainError::Transient(e) => write!(f, "transient RPC error: {e}"),
            ChainError::InvalidNonce { ak_nonce } => write!(f, "invalid nonce (access key nonce is {ak_nonce})"),
            ChainError::Expired => f.write_str("transaction expired (block hash too old)"),
            ChainError::NonceTooLarge => f.write_str("transaction nonce too large"),
            ChainError::Relayer(e) => write!(f, "the relayer's account or key cannot submit: {e}"),
            ChainError::TxInvalid(e) => write!(f, "invalid transaction: {e}"),
            ChainError::Rejected(e) => write!(f, "rejected: {e}"),
        }
    }
}

/// The access key's current nonce and a recent final block hash, from one `view_access_key`
/// query (its response names the block it was answered at, like near-api-rs does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessKeyState {
    pub nonce: u64,
    pub block_hash: CryptoHash,
}

/// How an `execute_intents` transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// The batch applied; the contract returned these intent hashes.
    Executed { tx_hash: CryptoHash, intent_hashes: Vec<IntentHash> },
    /// The receipt failed. `failure` is the contract's batch failure when the panic message
    /// carries one; otherwise (out of gas, ...) `message` says what happened.
    Failed { tx_hash: CryptoHash, failure: Option<BatchFailure>, message: String },
    /// Sent, but not final yet (the node timed out waiting): ask again with `tx_status`.
    Pending { tx_hash: CryptoHash },
}

/// What one call may use on this chain: nearcore's runtime config, read once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLimits {
    /// The least of `max_total_prepaid_gas` and `max_gas_burnt` (1 PGas since protocol 83).
    pub max_gas_per_call: u64,
    /// `max_total_log_length`, bytes of logs per receipt.
    pub max_log_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::ChainLimits;

    #[test]
    fn limits_from_nearcore_protocol_config() {
        let config = serde_json::json!({"runtime_config": {"wasm_config": {"limit_config": {
            "max_total_prepaid_gas": 1_000_000_000_000_000u64, "max_gas_burnt": "300000000000000", "max_total_log_length": 16384
        }}}});
        assert_eq!(
            ChainLimits::from_protocol_config(&config),
            Some(ChainLimits { max_gas_per_call: 300_000_000_000_000, max_log_bytes: 16384 })
        );
        assert_eq!(ChainLimits::from_protocol_config(&serde_json::json!({"runtime_config": {}})), None);
    }
}

impl ChainLimits {
    /// From an `EXPERIMENTAL_protocol_config` result.
    pub fn from_protocol_config(config: &serde_json::Value) -> Option<ChainLimits> {
        let limits = &config["runtime_config"]["wasm_config"]["limit_config"];
        // Numbers in nearcore's JSON; accept the decimal strings near-gas can also write.
        let gas = |name: &str| limits[name].as_u64().or_else(|| limits[name].as_str()?.parse().ok());
        Some(ChainLimits {
            max_gas_per_call: gas("max_total_prepaid_gas")?.min(gas("max_gas_burnt")?),
            max_log_bytes: gas("max_total_log_length")?,
        })
    }
}

pub trait ChainClient: Send + Sync + 'static {
    /// The chain's per-call limits (`EXPERIMENTAL_protocol_config`).
    fn limits(&self) -> impl Future<Output = Result<ChainLimits, ChainError>> + Send;
    /// `nonce_status` view: whether a nonce was spent by an intent that executed (and which).
    fn nonce_status(&self, account: &str, nonce: &Nonce) -> impl Future<Output = Result<NonceStatus, ChainError>> + Send;
    /// `simulate_intents` view on the intents contract, on the latest (optimistic) state: a
    /// deposit the user just made is visible at once.
    fn simulate(&self, batch: &[SignedIntent]) -> impl Future<Output = Result<SimulationReport, ChainError>> + Send;
    /// The relayer's main access key (the one the client was made for).
    fn access_key(&self) -> impl Future<Output = Result<AccessKeyState, ChainError>> + Send;
    /// Another access key of the relayer account (a key of the pool that keeps several
    /// transactions in flight, each with its own nonce).
    fn access_key_of(&self, public_key: &near_crypto::PublicKey) -> impl Future<Output = Result<AccessKeyState, ChainError>> + Send;
    /// Sends a signed transaction and waits until it is final (or the node times out).
    fn send_tx(&self, tx: &SignedTransaction) -> impl Future<Output = Result<TxOutcome, ChainError>> + Send;
    /// The outcome of a transaction sent earlier; `None` when the chain does not know it.
    fn tx_status(&self, tx_hash: CryptoHash) -> impl Future<Output = Result<Option<TxOutcome>, ChainError>> + Send;
}

/// [`ChainClient`] over NEAR JSON-RPC with `near-jsonrpc-client`.
#[derive(Clone)]
pub struct RpcChainClient {
    client: JsonRpcClient,
    contract: AccountId,
    signer_id: AccountId,
    public_key: near_crypto::PublicKey,
}

impl RpcChainClient {
    pub fn new(rpc_url: &str, contract: AccountId, signer_id: AccountId, public_key: near_crypto::PublicKey) -> Self {
        RpcChainClient { client: JsonRpcClient::connect(rpc_url), contract, signer_id, public_key }
    }
}

/// Sorts a JSON-RPC failure into retry or not; `handler` maps the method's own error.
fn classify<E: std::fmt::Debug>(e: JsonRpcError<E>, handler: impl FnOnce(E) -> ChainError) -> ChainError {
    match e {
        JsonRpcError::TransportError(t) => ChainError::Transient(t.to_string()),
        JsonRpcError::ServerError(JsonRpcServerError::HandlerError(h)) => handler(h),
        JsonRpcError::ServerError(JsonRpcServerError::InternalError { info }) => {
            ChainError::Transient(format!("internal error: {info:?}"))
        }
        JsonRpcError::ServerError(JsonRpcServerError::ResponseStatusError(s)) => match s {
            JsonRpcServerResponseStatusError::TooManyRequests
            | JsonRpcServerResponseStatusError::TimeoutError
            | JsonRpcServerResponseStatusError::ServiceUnavailable => ChainError::Transient(s.to_string()),
            JsonRpcServerResponseStatusError::Unexpected { status } if status.is_server_error() => {
                ChainError::Transient(status.to_string())
            }
            other => ChainError::Rejected(other.to_string()),
        },
        JsonRpcError::ServerError(other) => ChainError::Rejected(format!("{other:?}")),
    }
}

/// Sorts nearcore's transaction errors: who can fix it, and whether waiting helps.
pub fn tx_error(e: RpcTransactionError) -> ChainError {
    use InvalidTxError::*;
    match e {
        RpcTransactionError::InvalidTransaction { context } => match context {
            InvalidNonce { ak_nonce, .. } => ChainError::InvalidNonce { ak_nonce },
            Expired => ChainError::Expired,
            NonceTooLarge { .. } => ChainError::NonceTooLarge,
            ShardCongested { .. } | ShardStuck { .. } | StorageError(_) => ChainError::Transient(format!("{context:?}")),
            CostOverflow | ActionsValidation(_) | TransactionSizeExceeded { .. } | InvalidReceiverId { .. } => {
                ChainError::TxInvalid(format!("{context:?}"))
            }
            InvalidAccessKeyError(_)
            | InvalidSignerId { .. }
            | SignerDoesNotExist { .. }
            | InvalidSignature
            | NotEnoughBalance { .. }
            | LackBalanceForState { .. }
            | InvalidChain
            | InvalidTransactionVersion
            | InvalidNonceIndex { .. }
            | NotEnoughGasKeyBalance { .. }
            | NotEnoughBalanceForDeposit { .. } => ChainError::Relayer(format!("{context:?}")),
        },
        RpcTransactionError::UnknownTransaction { .. } => ChainError::Rejected("unknown transaction".into()),
        other => ChainError::Transient(other.to_string()),
    }
}

/// Reads a final outcome: the contract's return value (intent hashes) or its panic.
pub fn outcome_of(tx_hash: CryptoHash, response: Option<FinalExecutionOutcomeViewEnum>) -> TxOutcome {
    let view = match response {
        Some(FinalExecutionOutcomeViewEnum::FinalExecutionOutcome(v)) => v,
        Some(FinalExecutionOutcomeViewEnum::FinalExecutionOutcomeWithReceipt(v)) => v.final_outcome,
        None => return TxOutcome::Pending { tx_hash },
    };
    match view.status {
        FinalExecutionStatus::SuccessValue(bytes) => match serde_json::from_slice::<Vec<IntentHash>>(&bytes) {
            Ok(intent_hashes) => TxOutcome::Executed { tx_hash, intent_hashes },
            // Applied, but the return value is not what the ABI says: report it as executed
            // with no hashes rather than pretend it failed (the state did change).
            Err(_) => TxOutcome::Executed { tx_hash, intent_hashes: vec![] },
        },
        FinalExecutionStatus::Failure(error) => {
            let message = match &error {
                TxExecutionError::ActionError(a) => match &a.kind {
                    ActionErrorKind::FunctionCallError(FunctionCallError::ExecutionError(m)) => m.clone(),
                    other => format!("{other:?}"),
                },
                other => format!("{other:?}"),
            };
            TxOutcome::Failed { tx_hash, failure: BatchFailure::find_in(&message), message }
        }
        FinalExecutionStatus::NotStarted | FinalExecutionStatus::Started => TxOutcome::Pending { tx_hash },
    }
}

impl RpcChainClient {
    /// Calls a view of the intents contract on the latest (optimistic) state and decodes its JSON.
    async fn view<T: serde::de::DeserializeOwned>(&self, method: &str, args: serde_json::Value) -> Result<T, ChainError> {
        let args = serde_json::to_vec(&args).map_err(|e| ChainError::Rejected(e.to_string()))?;
        let request = methods::query::RpcQueryRequest {
            // Optimistic, not final: the state a transaction sent now will run on. A final view
            // lags by a couple of blocks and misses a deposit made a moment ago.
            block_reference: BlockReference::Finality(Finality::None),
            request: QueryRequest::CallFunction {
                account_id: self.contract.clone(),
                method_name: method.to_owned(),
                args: FunctionArgs::from(args),
            },
        };
        let response = self.client.call(request).await.map_err(|e| {
            classify(e, |h| match h {
                near_jsonrpc_primitives::types::query::RpcQueryError::NoSyncedBlocks
                | near_jsonrpc_primitives::types::query::RpcQueryError::UnavailableShard { .. }
                | near_jsonrpc_primitives::types::query::RpcQueryError::InternalError { .. } => {
                    ChainError::Transient(h.to_string())
                }
                other => ChainError::Rejected(other.to_string()),
            })
        })?;
        match response.kind {
            QueryResponseKind::CallResult(result) => serde_json::from_slice(&result.result)
                .map_err(|e| ChainError::Rejected(format!("{method} returned an unexpected shape: {e}"))),
            _ => Err(ChainError::Rejected(format!("{method}: not a call result"))),
        }
    }
}

impl ChainClient for RpcChainClient {
    async fn simulate(&self, batch: &[SignedIntent]) -> Result<SimulationReport, ChainError> {
        // v2: the simulation charges storage to, and pays fees to, the caller: us.
        self.view(abi_methods::SIMULATE_INTENTS, serde_json::json!({ "signed": batch, "caller_id": self.signer_id })).await
    }

    async fn nonce_status(&self, account: &str, nonce: &Nonce) -> Result<NonceStatus, ChainError> {
        self.view(abi_methods::NONCE_STATUS, serde_json::json!({ "account_id": account, "nonce": nonce })).await
    }

    async fn limits(&self) -> Result<ChainLimits, ChainError> {
        let request = methods::any::<Result<serde_json::Value, serde_json::Value>>(
            "EXPERIMENTAL_protocol_config",
            serde_json::json!({ "finality": "final" }),
        );
        let config = self.client.call(request).await.map_err(|e| classify(e, |h| ChainError::Transient(h.to_string())))?;
        ChainLimits::from_protocol_config(&config)
            .ok_or_else(|| ChainError::Rejected("EXPERIMENTAL_protocol_config without runtime_config.wasm_config.limit_config".into()))
    }

    async fn access_key(&self) -> Result<AccessKeyState, ChainError> {
        self.access_key_of(&self.public_key).await
    }

    async fn access_key_of(&self, public_key: &near_crypto::PublicKey) -> Result<AccessKeyState, ChainError> {
        let request = methods::query::RpcQueryRequest {
            block_reference: BlockReference::Finality(Finality::Final),
            request: QueryRequest::ViewAccessKey { account_id: self.signer_id.clone(), public_key: public_key.clone() },
        };
        let response = self.client.call(request).await.map_err(|e| {
            classify(e, |h| match h {
                near_jsonrpc_primitives::types::query::RpcQueryError::UnknownAccessKey { .. }
                | near_jsonrpc_primitives::types::query::RpcQueryError::UnknownAccount { .. } => {
                    ChainError::Relayer(h.to_string())
                }
                other => ChainError::Transient(other.to_string()),
            })
        })?;
        match response.kind {
            QueryResponseKind::AccessKey(key) => Ok(AccessKeyState { nonce: key.nonce, block_hash: response.block_hash }),
            _ => Err(ChainError::Rejected("view_access_key: not an access key".into())),
        }
    }

    async fn send_tx(&self, tx: &SignedTransaction) -> Result<TxOutcome, ChainError> {
        let tx_hash = tx.get_hash();
        let request = methods::send_tx::RpcSendTransactionRequest {
            signed_transaction: tx.clone(),
            wait_until: TxExecutionStatus::Final,
        };
        match self.client.call(request).await {
            Ok(response) => Ok(outcome_of(tx_hash, response.final_execution_outcome)),
            Err(JsonRpcError::ServerError(JsonRpcServerError::HandlerError(RpcTransactionError::TimeoutError(_)))) => {
                // The node accepted it but did not see it final in time.
                Ok(TxOutcome::Pending { tx_hash })
            }
            Err(e) => Err(classify(e, tx_error)),
        }
    }

    async fn tx_status(&self, tx_hash: CryptoHash) -> Result<Option<TxOutcome>, ChainError> {
        let request = methods::tx::RpcTransactionStatusRequest {
            transaction_info: TransactionInfo::TransactionId { tx_hash, sender_account_id: self.signer_id.clone() },
            wait_until: TxExecutionStatus::Final,
        };
        match self.client.call(request).await {
            Ok(response) => Ok(Some(outcome_of(tx_hash, response.final_execution_outcome))),
            Err(JsonRpcError::ServerError(JsonRpcServerError::HandlerError(RpcTransactionError::UnknownTransaction { .. }))) => {
                Ok(None)
            }
            Err(JsonRpcError::ServerError(JsonRpcServerError::HandlerError(RpcTransactionError::TimeoutError(_)))) => {
                Ok(Some(TxOutcome::Pending { tx_hash }))
            }
            Err(e) => Err(classify(e, tx_error)),
        }
    }
}
