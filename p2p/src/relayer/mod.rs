//! Relayer mode (DESIGN.md §6): collect valid intents, `simulate_intents`, drop what fails, batch
//! the rest within the gas limit, sign `execute_intents` with the relayer's own key, and announce
//! how each intent ended on the status topic.
//!
//! One batch is in flight at a time: the access key's nonces must be used in order, and batches
//! are large enough (up to 300 TGas) that parallel submission would buy little.

pub mod chain;
pub mod store;

use crate::metrics::RelayerMetrics;
use crate::validate::now_ns;
use chain::{AccessKeyState, ChainClient, ChainError, TxOutcome};
use near_primitives::action::{Action as TxAction, FunctionCallAction};
use near_primitives::hash::CryptoHash;
use near_primitives::transaction::{SignedTransaction, Transaction, TransactionV0};
use near_primitives::types::{AccountId, Gas};
use outpost_protocol::abi::{methods, BatchFailure, ItemResult};
use outpost_protocol::gossip::IntentStatus;
use outpost_protocol::limits::MAX_BATCH_SIZE;
use outpost_protocol::{Action, ErrorCode, IntentHash, SignedIntent};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use store::{Record, State, Store, StoreError};
use tokio::sync::mpsc;

pub const TGAS: u64 = 1_000_000_000_000;

/// Gas budget per batch (per-intent costs are not measured yet, so they are configuration).
#[derive(Clone, Debug)]
pub struct GasConfig {
    pub per_intent: u64,
    /// Extra for an intent with at least one `withdraw` (it schedules a cross-contract call).
    pub per_withdraw_intent: u64,
    /// Prepaid gas of one transaction.
    pub max_batch_gas: u64,
    pub max_batch_items: usize,
}

impl Default for GasConfig {
    fn default() -> Self {
        GasConfig { per_intent: 5 * TGAS, per_withdraw_intent: 20 * TGAS, max_batch_gas: 300 * TGAS, max_batch_items: MAX_BATCH_SIZE }
    }
}

impl GasConfig {
    /// Gas reserved for one intent; its message was verified before it reached the relayer, but
    /// it is parsed again here and an unparsable one costs the base amount (simulation drops it).
    pub fn gas_of(&self, signed: &SignedIntent) -> u64 {
        let withdraws = outpost_protocol::validate::decode_intent(&signed.message)
            .map(|i| i.actions.iter().any(|a| matches!(a, Action::Withdraw { .. })))
            .unwrap_or(false);
        self.per_intent + if withdraws { self.per_withdraw_intent } else { 0 }
    }

    /// The longest prefix of `items` (oldest first) that fits the gas and item limits, with its
    /// total gas. An intent too large on its own would never fit; it is returned alone so its
    /// simulation/transaction fails visibly instead of blocking the queue.
    pub fn take_batch<'a, T>(&self, items: &'a [T], intent: impl Fn(&T) -> &SignedIntent) -> (&'a [T], u64) {
        let mut gas = 0u64;
        let mut n = 0;
        for item in items.iter().take(self.max_batch_items) {
            let g = self.gas_of(intent(item));
            if n > 0 && gas + g > self.max_batch_gas {
                break;
            }
            gas += g;
            n += 1;
        }
        (&items[..n], gas)
    }
}

#[derive(Clone, Debug)]
pub struct RetryConfig {
    pub attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { attempts: 8, initial_backoff: Duration::from_millis(250), max_backoff: Duration::from_secs(10) }
    }
}

#[derive(Clone, Debug)]
pub struct RelayerConfig {
    pub signer_id: AccountId,
    pub secret_key: near_crypto::SecretKey,
    pub contract: AccountId,
    pub gas: GasConfig,
    pub retry: RetryConfig,
    /// Batches that fail for reasons not an intent's own (out of gas, RPC rejected) before the
    /// intents in it are given up on.
    pub max_attempts: u32,
    /// How long to gather intents after the first arrives, so batches fill up.
    pub batch_delay: Duration,
    /// How long to wait for a transaction to become final before asking again.
    pub status_poll: Duration,
}

impl RelayerConfig {
    pub fn new(signer_id: AccountId, secret_key: near_crypto::SecretKey, contract: AccountId) -> Self {
        RelayerConfig {
            signer_id,
            secret_key,
            contract,
            gas: GasConfig::default(),
            retry: RetryConfig::default(),
            max_attempts: 3,
            batch_delay: Duration::from_millis(500),
            status_poll: Duration::from_secs(2),
        }
    }
}

#[derive(Debug)]
pub enum RelayerError {
    Store(StoreError),
    Chain(ChainError),
}

impl std::fmt::Display for RelayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelayerError::Store(e) => write!(f, "{e}"),
            RelayerError::Chain(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for RelayerError {}
impl From<StoreError> for RelayerError {
    fn from(e: StoreError) -> Self {
        RelayerError::Store(e)
    }
}
impl From<ChainError> for RelayerError {
    fn from(e: ChainError) -> Self {
        RelayerError::Chain(e)
    }
}

/// Where outcomes go (the node's status topic; tests collect them).
pub trait StatusSink: Send + Sync + 'static {
    fn publish(&self, intent_hash: IntentHash, status: IntentStatus) -> impl Future<Output = ()> + Send;
}

impl StatusSink for crate::node::NodeHandle {
    async fn publish(&self, intent_hash: IntentHash, status: IntentStatus) {
        if let Err(e) = self.publish_status(intent_hash, status).await {
            tracing::warn!(%intent_hash, error = %e, "cannot publish status");
        }
    }
}

/// Outcomes collected in memory (tests, or a relayer without a node).
#[derive(Clone, Default)]
pub struct StatusLog(pub Arc<std::sync::Mutex<Vec<(IntentHash, IntentStatus)>>>);

impl StatusSink for StatusLog {
    async fn publish(&self, intent_hash: IntentHash, status: IntentStatus) {
        self.0.lock().expect("status log").push((intent_hash, status));
    }
}

pub struct Relayer<C, S> {
    config: RelayerConfig,
    chain: C,
    store: Arc<Store>,
    status: S,
    metrics: Option<RelayerMetrics>,
    /// The next nonce to use; refreshed from the chain when unknown or rejected.
    next_nonce: Option<u64>,
}

fn failed(code: &str, reason: impl Into<String>) -> IntentStatus {
    IntentStatus::Failed { code: code.to_owned(), reason: reason.into() }
}

impl<C: ChainClient, S: StatusSink> Relayer<C, S> {
    pub fn new(config: RelayerConfig, chain: C, store: Arc<Store>, status: S) -> Self {
        Relayer { config, chain, store, status, metrics: None, next_nonce: None }
    }

    pub fn with_metrics(mut self, metrics: RelayerMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Calls `f` until it succeeds or fails for a reason retrying cannot fix.
    async fn retry<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T, ChainError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ChainError>>,
    {
        let mut backoff = self.config.retry.initial_backoff;
        let mut attempt = 1;
        loop {
            match f().await {
                Err(ChainError::Transient(e)) if attempt < self.config.retry.attempts => {
                    tracing::warn!(what, attempt, error = %e, "transient RPC error; retrying");
                    if let Some(m) = &self.metrics {
                        m.rpc_retries.inc();
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.retry.max_backoff);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Takes intents from the node and settles them until `intake` closes and nothing is left.
    /// A separate task persists arrivals at once, so a slow settlement round (waiting for a
    /// transaction to be final) never stalls the node that feeds the intake.
    pub async fn run(mut self, mut intake: mpsc::Receiver<(IntentHash, Arc<SignedIntent>)>) -> Result<(), RelayerError> {
        let arrived = Arc::new(tokio::sync::Notify::new());
        let writer = {
            let (store, arrived, metrics) = (self.store.clone(), arrived.clone(), self.metrics.clone());
            tokio::spawn(async move {
                while let Some(first) = intake.recv().await {
                    let mut items = vec![(first.0, (*first.1).clone())];
                    while let Ok((h, s)) = intake.try_recv() {
                        items.push((h, (*s).clone()));
                    }
                    let store = store.clone();
                    // redb commits fsync: keep them off the async workers.
                    let added = tokio::task::spawn_blocking(move || {
                        let added = store.add_pending(&items, now_ns());
                        (added, store.active_count())
                    })
                    .await
                    .map_err(|e| RelayerError::Store(StoreError(e.to_string())))?;
                    let (added, active) = (added.0?, added.1);
                    tracing::debug!(added, "intents queued for settlement");
                    if let (Some(m), Ok(n)) = (&metrics, active) {
                        m.pending.set(n as i64);
                    }
                    arrived.notify_one();
                }
                Ok::<(), RelayerError>(())
            })
        };
        loop {
            // Read "finished" before the count: a write the writer made before finishing is then
            // always counted.
            let intake_closed = writer.is_finished();
            if self.store.active_count()? == 0 {
                if intake_closed {
                    return match writer.await {
                        Ok(r) => r,
                        Err(e) => Err(RelayerError::Store(StoreError(e.to_string()))),
                    };
                }
                // Wake on the next arrival, or now and then to notice the intake closing.
                let _ = tokio::time::timeout(Duration::from_millis(200), arrived.notified()).await;
                continue;
            }
            // Let a batch fill up.
            tokio::time::sleep(self.config.batch_delay).await;
            if let Err(e) = self.settle_once().await {
                tracing::error!(error = %e, "settlement round failed; will retry");
                tokio::time::sleep(self.config.retry.max_backoff).await;
            }
        }
    }

    fn update_pending_gauge(&self) {
        if let (Some(m), Ok(n)) = (&self.metrics, self.store.active_count()) {
            m.pending.set(n as i64);
        }
    }

    /// After a restart: settle what was submitted before the crash by asking the chain.
    /// Returns how many intents ended.
    pub async fn recover(&mut self) -> Result<usize, RelayerError> {
        let mut ended = 0;
        let mut by_tx: std::collections::BTreeMap<String, Vec<IntentHash>> = Default::default();
        for (hash, record) in self.store.active()? {
            if let State::Submitted { tx_hash } = record.state {
                by_tx.entry(tx_hash).or_default().push(hash);
            }
        }
        for (tx_hash, hashes) in by_tx {
            let parsed: CryptoHash = tx_hash.parse().map_err(|_| StoreError(format!("bad tx hash {tx_hash}")))?;
            let outcome = self.retry("tx_status", || self.chain.tx_status(parsed)).await?;
            match outcome {
                Some(TxOutcome::Pending { .. }) => {
                    // Still in flight: wait for it like a fresh submission.
                    let outcome = self.wait_final(parsed).await?;
                    ended += self.apply_outcome(&hashes, outcome).await?;
                }
                Some(outcome) => ended += self.apply_outcome(&hashes, outcome).await?,
                None => {
                    tracing::info!(%tx_hash, "transaction unknown to the chain; its intents are pending again");
                    let changes: Vec<_> = hashes.iter().map(|h| (*h, State::Pending, false)).collect();
                    self.store.update(&changes)?;
                }
            }
        }
        Ok(ended)
    }

    /// One round: drop expired intents, simulate a batch, submit what passes, record outcomes.
    /// Returns the number of intents settled (executed or failed) in this round.
    pub async fn settle_once(&mut self) -> Result<usize, RelayerError> {
        // First resolve batches sent earlier whose outcome we never saw (crash, lost response).
        let mut settled = self.recover().await?;
        let now = now_ns();
        let mut pending: Vec<(IntentHash, Record)> = Vec::new();
        for (hash, record) in self.store.pending()? {
            let expired = outpost_protocol::validate::decode_intent(&record.signed.message)
                .map(|i| i.deadline.0 < now)
                .unwrap_or(false);
            if expired {
                self.end(hash, failed(ErrorCode::DeadlineExpired.as_str(), "the deadline passed before settlement"), None).await?;
                settled += 1;
            } else {
                pending.push((hash, record));
            }
        }
        if pending.is_empty() {
            return Ok(settled);
        }
        let (candidates, _) = self.config.gas.take_batch(&pending, |(_, r)| &r.signed);
        let mut batch: Vec<(IntentHash, SignedIntent)> = candidates.iter().map(|(h, r)| (*h, r.signed.clone())).collect();

        // Simulate until the whole batch passes: each round drops the failing items, and the
        // deposit must come from a simulation of exactly the batch we submit.
        let mut deferred: Vec<IntentHash> = Vec::new();
        let deposit = loop {
            if batch.is_empty() {
                return Ok(settled);
            }
            let signed: Vec<SignedIntent> = batch.iter().map(|(_, s)| s.clone()).collect();
            let report = self.retry("simulate_intents", || self.chain.simulate(&signed)).await?;
            let mut keep = Vec::new();
            for (i, (hash, s)) in batch.iter().enumerate() {
                match report.outcomes.iter().find(|o| o.index as usize == i).map(|o| &o.result) {
                    Some(ItemResult::Ok) => keep.push((*hash, s.clone())),
                    Some(ItemResult::Failed { code, detail }) => {
                        self.end(*hash, failed(code, detail.clone()), None).await?;
                        settled += 1;
                    }
                    // The contract reported no verdict for this item: try it again next round.
                    None => deferred.push(*hash),
                }
            }
            let dropped_some = keep.len() != batch.len();
            batch = keep;
            match report.batch_error {
                // v2: execute_intents takes no deposit (the relayer's ledger NEAR pays storage).
                None if !dropped_some => break 0,
                None => continue,
                Some(ItemResult::Failed { code, .. }) if code == ErrorCode::DiffNotBalanced.as_str() => {
                    // Swap offers without their counterpart yet: leave them pending for a later
                    // batch and settle the rest now.
                    let (swaps, rest): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(_, s)| is_swap(s));
                    deferred.extend(swaps.iter().map(|(h, _)| *h));
                    batch = rest;
                }
                Some(other) => {
                    tracing::warn!(?other, "simulation reports a batch error; retrying later");
                    let changes: Vec<_> = batch.iter().map(|(h, _)| (*h, State::Pending, true)).collect();
                    self.store.update(&changes)?;
                    return Ok(settled);
                }
            }
        };
        if !deferred.is_empty() {
            tracing::debug!(n = deferred.len(), "intents deferred to a later batch");
        }
        let gas: u64 = batch.iter().map(|(_, s)| self.config.gas.gas_of(s)).sum();
        let hashes: Vec<IntentHash> = batch.iter().map(|(h, _)| *h).collect();
        let signed: Vec<SignedIntent> = batch.into_iter().map(|(_, s)| s).collect();
        let outcome = self.submit(&hashes, &signed, gas, deposit).await?;
        settled += self.apply_outcome(&hashes, outcome).await?;
        self.update_pending_gauge();
        Ok(settled)
    }

    fn build_tx(&self, key: AccessKeyState, nonce: u64, args: &[u8], gas: u64, deposit: u128) -> SignedTransaction {
        let tx = Transaction::V0(TransactionV0 {
            signer_id: self.config.signer_id.clone(),
            public_key: self.config.secret_key.public_key(),
            nonce,
            receiver_id: self.config.contract.clone(),
            block_hash: key.block_hash,
            actions: vec![TxAction::FunctionCall(Box::new(FunctionCallAction {
                method_name: methods::EXECUTE_INTENTS.to_owned(),
                args: args.to_vec(),
                gas: Gas::from_gas(gas),
                deposit: near_primitives::types::Balance::from_yoctonear(deposit),
            }))],
        });
        let (hash, _) = tx.get_hash_and_size();
        SignedTransaction::new(self.config.secret_key.sign(hash.as_ref()), tx)
    }

    /// Signs and sends one `execute_intents`, handling nonce and expiry errors by re-signing.
    /// The batch is marked submitted under each transaction hash before that transaction is sent.
    async fn submit(&mut self, hashes: &[IntentHash], signed: &[SignedIntent], gas: u64, deposit: u128) -> Result<TxOutcome, RelayerError> {
        let args = serde_json::to_vec(&serde_json::json!({ "signed": signed })).map_err(|e| StoreError(e.to_string()))?;
        let mut resigns = 0;
        loop {
            let key = self.retry("view_access_key", || self.chain.access_key()).await?;
            let nonce = self.next_nonce.filter(|n| *n > key.nonce).unwrap_or(key.nonce + 1);
            let tx = self.build_tx(key, nonce, &args, gas, deposit);
            let tx_hash = tx.get_hash();
            let changes: Vec<_> = hashes.iter().map(|h| (*h, State::Submitted { tx_hash: tx_hash.to_string() }, false)).collect();
            self.store.update(&changes)?;
            tracing::info!(%tx_hash, intents = hashes.len(), gas, deposit, nonce, "submitting execute_intents");
            // Re-sending the same signed transaction is idempotent (same hash), so transient
            // errors retry it as is.
            match self.retry("send_tx", || self.chain.send_tx(&tx)).await {
                Ok(TxOutcome::Pending { tx_hash }) => {
                    self.next_nonce = Some(nonce + 1);
                    return Ok(self.wait_final(tx_hash).await?);
                }
                Ok(outcome) => {
                    self.next_nonce = Some(nonce + 1);
                    return Ok(outcome);
                }
                Err(ChainError::InvalidNonce { ak_nonce }) if resigns < 5 => {
                    tracing::warn!(ak_nonce, "nonce rejected; re-signing");
                    self.next_nonce = Some(ak_nonce + 1);
                    resigns += 1;
                }
                Err(ChainError::Expired) if resigns < 5 => {
                    tracing::warn!("block hash expired; re-signing with a fresh one");
                    resigns += 1;
                }
                Err(e @ ChainError::Transient(_)) => {
                    // It may have reached the chain: the batch stays submitted, and the next
                    // round asks for its status before anything is sent again.
                    self.next_nonce = None;
                    return Err(e.into());
                }
                Err(e) => {
                    // Refused outright: the intents are pending again.
                    self.next_nonce = None;
                    let changes: Vec<_> = hashes.iter().map(|h| (*h, State::Pending, true)).collect();
                    self.store.update(&changes)?;
                    return Err(e.into());
                }
            }
        }
    }

    async fn wait_final(&self, tx_hash: CryptoHash) -> Result<TxOutcome, ChainError> {
        loop {
            match self.retry("tx_status", || self.chain.tx_status(tx_hash)).await? {
                Some(TxOutcome::Pending { .. }) | None => tokio::time::sleep(self.config.status_poll).await,
                Some(outcome) => return Ok(outcome),
            }
        }
    }

    /// Records a final outcome and announces it. Returns how many intents ended.
    async fn apply_outcome(&mut self, hashes: &[IntentHash], outcome: TxOutcome) -> Result<usize, RelayerError> {
        let count = |outcome: &str| {
            if let Some(m) = &self.metrics {
                m.batches.get_or_create(&vec![("outcome".into(), outcome.into())]).inc();
            }
        };
        match outcome {
            TxOutcome::Executed { tx_hash, .. } => {
                count("executed");
                for hash in hashes {
                    self.end(*hash, IntentStatus::Executed { tx_hash: tx_hash.to_string() }, Some(tx_hash)).await?;
                }
                Ok(hashes.len())
            }
            TxOutcome::Failed { tx_hash, failure: Some(BatchFailure::Item { index, error }), .. } if (index as usize) < hashes.len() => {
                count("item_failed");
                // The batch is atomic: only the named item failed; the others never ran.
                let culprit = hashes[index as usize];
                self.end(culprit, failed(error.code.as_str(), error.detail), Some(tx_hash)).await?;
                let others: Vec<_> = hashes.iter().filter(|h| **h != culprit).map(|h| (*h, State::Pending, false)).collect();
                self.store.update(&others)?;
                Ok(1)
            }
            TxOutcome::Failed { tx_hash, failure, message } => {
                count("batch_failed");
                tracing::warn!(%tx_hash, ?failure, %message, "batch failed as a whole");
                self.retry_or_give_up(hashes, &message, Some(tx_hash)).await
            }
            TxOutcome::Pending { tx_hash } => {
                let outcome = self.wait_final(tx_hash).await?;
                Box::pin(self.apply_outcome(hashes, outcome)).await
            }
        }
    }

    /// Puts intents back as pending, one attempt more; gives up on those out of attempts.
    async fn retry_or_give_up(&mut self, hashes: &[IntentHash], message: &str, tx_hash: Option<CryptoHash>) -> Result<usize, RelayerError> {
        let records: std::collections::HashMap<IntentHash, Record> = self.store.active()?.into_iter().collect();
        let mut ended = 0;
        let mut again = Vec::new();
        for hash in hashes {
            let attempts = records.get(hash).map(|r| r.attempts + 1).unwrap_or(u32::MAX);
            if attempts >= self.config.max_attempts {
                self.end(*hash, failed("RELAYER_GAVE_UP", format!("after {attempts} failed batches: {message}")), tx_hash).await?;
                ended += 1;
            } else {
                again.push((*hash, State::Pending, true));
            }
        }
        self.store.update(&again)?;
        Ok(ended)
    }

    async fn end(&self, hash: IntentHash, status: IntentStatus, tx_hash: Option<CryptoHash>) -> Result<(), RelayerError> {
        let state = match &status {
            IntentStatus::Executed { tx_hash } => State::Executed { tx_hash: tx_hash.clone() },
            IntentStatus::Failed { code, reason } => {
                State::Failed { code: code.clone(), reason: reason.clone(), tx_hash: tx_hash.map(|h| h.to_string()) }
            }
        };
        self.store.update(&[(hash, state, false)])?;
        if let Some(m) = &self.metrics {
            let outcome = if matches!(status, IntentStatus::Executed { .. }) { "executed" } else { "failed" };
            m.intents.get_or_create(&vec![("outcome".into(), outcome.into())]).inc();
        }
        self.status.publish(hash, status).await;
        Ok(())
    }
}

fn is_swap(signed: &SignedIntent) -> bool {
    outpost_protocol::validate::decode_intent(&signed.message)
        .map(|i| i.actions.iter().any(|a| matches!(a, Action::TokenDiff { .. })))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{valid_intent, withdraw_intent};

    #[test]
    fn batches_fill_up_to_the_gas_cap_and_the_item_cap() {
        let gas = GasConfig::default();
        // 5 TGas each: 60 fit in 300 TGas.
        let plain: Vec<SignedIntent> = (0..100).map(valid_intent).collect();
        let (batch, total) = gas.take_batch(&plain, |s| s);
        assert_eq!((batch.len(), total), (60, 300 * TGAS));
        // A withdrawal costs 25 TGas: 12 of them fit.
        let withdrawals: Vec<SignedIntent> = (0..20).map(withdraw_intent).collect();
        let (batch, total) = gas.take_batch(&withdrawals, |s| s);
        assert_eq!((batch.len(), total), (12, 300 * TGAS));
        // Mixed: stops at the first item that does not fit, keeping arrival order.
        let mixed: Vec<SignedIntent> = vec![withdraw_intent(1), valid_intent(2), withdraw_intent(3)];
        let small = GasConfig { max_batch_gas: 31 * TGAS, ..GasConfig::default() };
        assert_eq!(small.take_batch(&mixed, |s| s).0.len(), 2);
        // The item cap applies when gas would allow more.
        let cheap = GasConfig { per_intent: TGAS / 10, ..GasConfig::default() };
        let many: Vec<SignedIntent> = (0..300).map(valid_intent).collect();
        assert_eq!(cheap.take_batch(&many, |s| s).0.len(), MAX_BATCH_SIZE);
        // An intent larger than the cap still goes out alone instead of blocking the queue.
        let tiny = GasConfig { max_batch_gas: TGAS, ..GasConfig::default() };
        assert_eq!(tiny.take_batch(&plain, |s| s).0.len(), 1);
    }
}
