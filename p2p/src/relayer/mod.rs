//! Relayer mode (DESIGN.md §6): collect valid intents, `simulate_intents`, drop what fails, batch
//! the rest within the gas limit, sign `execute_intents` with the relayer's own key, and announce
//! how each intent ended on the status topic.
//!
//! One batch is in flight at a time: the access key's nonces must be used in order, and batches
//! are large enough (up to 300 TGas) that parallel submission would buy little.
//!
//! Only the chain's word ends an intent, and only a word no later state can change: a check
//! that fails for now (no balance yet, key not registered yet, paused) keeps the intent pending
//! and re-checked with back-off until its deadline ([`ErrorCode::retry`]); a spent nonce is
//! looked up (`nonce_status`) to tell "executed" from "cancelled". Errors of the relayer's own
//! account or key halt submissions, keep every intent, and show on `/health` and in metrics.

pub mod chain;
pub mod store;

use crate::metrics::RelayerMetrics;
use crate::validate::now_ns;
use chain::{AccessKeyState, ChainClient, ChainError, ChainLimits, TxOutcome};
use near_primitives::action::{Action as TxAction, FunctionCallAction};
use near_primitives::hash::CryptoHash;
use near_primitives::transaction::{SignedTransaction, Transaction, TransactionV0};
use near_primitives::types::{AccountId, Gas};
use outpost_protocol::abi::{methods, BatchFailure, ItemResult, NonceStatus};
use outpost_protocol::error::Retry;
use outpost_protocol::gossip::IntentStatus;
use outpost_protocol::limits::MAX_BATCH_SIZE;
use outpost_protocol::{Action, ErrorCode, IntentHash, SignedIntent};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use store::{Record, State, Store, StoreError, Waiting};
use tokio::sync::mpsc;

pub const TGAS: u64 = 1_000_000_000_000;

/// Gas budget per batch, before the contract's simulation gives each item's gas (the relayer then
/// attaches the simulated total plus a tenth). Defaults: the contract's own model for a transfer
/// (about 1.5 TGas reported, 0.67 TGas burnt, see `target/reports/intents-gas.md`) rounded up,
/// `GAS_PER_WITHDRAWAL` more for a withdrawal, and the 1 PGas a call may prepay since protocol 83.
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
        GasConfig {
            per_intent: 2 * TGAS,
            per_withdraw_intent: outpost_protocol::limits::GAS_PER_WITHDRAWAL,
            max_batch_gas: outpost_protocol::limits::MAX_BATCH_GAS,
            max_batch_items: MAX_BATCH_SIZE,
        }
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
    /// More access keys of `signer_id` (function-call keys for `execute_intents` suffice): each
    /// carries its own batch with its own nonce, so up to `1 + extra_keys.len()` transactions are
    /// in flight at once. A key the chain does not know is left out (with a warning).
    pub extra_keys: Vec<near_crypto::SecretKey>,
    pub contract: AccountId,
    pub gas: GasConfig,
    pub retry: RetryConfig,
    /// How long to gather intents after the first arrives, so batches fill up.
    pub batch_delay: Duration,
    /// How long to wait for a transaction to become final before asking again.
    pub status_poll: Duration,
    /// Back-off for an intent that failed a check a later state may cure: doubles from the
    /// first to the second value, and ends at the intent's deadline.
    pub recheck: (Duration, Duration),
    /// Back-off while the relayer's own account or key cannot submit (doubling, up to the cap).
    pub halt_backoff: (Duration, Duration),
    /// Intents whose deadline is closer than this go into no new batch: a transaction takes a
    /// few blocks, and one item expiring on the way reverts the whole batch.
    pub deadline_margin: Duration,
    /// How long a round waits for a sent transaction to be final before leaving it to the next
    /// rounds (which re-broadcast it, unchanged, while the chain does not know it).
    pub final_wait: Duration,
    /// How long ended intents are kept (their statuses answered, re-gossiped copies ignored).
    pub done_retention: Duration,
    /// How long an intent whose signer cannot pay its fee is kept after it arrived (a deposit
    /// may be landing); then it is released: this relayer keeps what pays it.
    pub fee_patience: Duration,
}

/// How often ended intents older than `done_retention` are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

impl RelayerConfig {
    pub fn new(signer_id: AccountId, secret_key: near_crypto::SecretKey, contract: AccountId) -> Self {
        RelayerConfig {
            signer_id,
            secret_key,
            extra_keys: Vec::new(),
            contract,
            gas: GasConfig::default(),
            retry: RetryConfig::default(),
            batch_delay: Duration::from_millis(500),
            status_poll: Duration::from_secs(2),
            recheck: (Duration::from_secs(1), Duration::from_secs(60)),
            halt_backoff: (Duration::from_secs(30), Duration::from_secs(300)),
            deadline_margin: Duration::from_secs(60),
            final_wait: Duration::from_secs(60),
            done_retention: Duration::from_secs(3 * 24 * 3600),
            fee_patience: Duration::from_secs(120),
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

/// Why the relayer is not submitting, for `/health` and intents' statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// `RELAYER_KEY_REJECTED` (its account or key cannot submit) or `RPC_REJECTED`.
    pub code: &'static str,
    pub detail: String,
    pub since_ns: u64,
    /// When submission is tried again.
    pub retry_at_ns: u64,
    halts: u32,
}

/// The relayer's health, shared with the HTTP API.
#[derive(Clone, Debug, Default)]
pub struct Health(Arc<std::sync::Mutex<Option<Halt>>>);

impl Health {
    pub fn halted(&self) -> Option<Halt> {
        self.0.lock().expect("health").clone()
    }
}

pub struct Relayer<C, S> {
    config: RelayerConfig,
    chain: C,
    store: Arc<Store>,
    status: S,
    metrics: Option<RelayerMetrics>,
    health: Health,
    /// The access keys batches go out on, each with the next nonce to use (refreshed from the
    /// chain when unknown or rejected). The first is the main key.
    lanes: Vec<Lane>,
    /// Whether the extra keys were checked against the chain yet.
    lanes_checked: bool,
    /// After a batch failed as a whole: the smallest set of intents known to hold a culprit.
    /// Batches then take half of it at a time (a binary search), until the culprit is alone and
    /// ends; everything else goes through meanwhile.
    suspects: Vec<IntentHash>,
    next_prune_ns: u64,
    /// The chain's per-call limits, once read; until then the configured gas cap stands.
    chain_limits: Option<ChainLimits>,
    next_limits_check_ns: u64,
}

/// The relayer's extra access keys, derived from its main key so that one key file is all an
/// operator keeps: key `i` (1-based, after the main key) is ed25519 from the seed
/// `outpost relayer key <i> <main secret key>`. Each must be added to the relayer account before
/// use (`outpost-node --print-relayer-keys` prints them and the near-cli commands).
pub fn derived_keys(main: &near_crypto::SecretKey, count: usize) -> Vec<near_crypto::SecretKey> {
    (1..count).map(|i| near_crypto::SecretKey::from_seed(near_crypto::KeyType::ED25519, &format!("outpost relayer key {i} {main}"))).collect()
}

/// One access key of the relayer account and its nonce: one transaction in flight at a time.
struct Lane {
    key: near_crypto::SecretKey,
    next_nonce: Option<u64>,
}

/// Which lane a signer's intents go out on: always the same one, so two batches in flight never
/// spend one signer's balance twice (a stable FNV-1a of the account id).
fn lane_of(signer: &str, lanes: usize) -> usize {
    let hash = signer.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash % lanes.max(1) as u64) as usize
}

/// What to do with an intent that failed a check, by the chain's word.
enum Verdict {
    /// It can never pass: end it as failed.
    Fail(Waiting),
    /// A later state may cure it: keep it pending, re-check after a back-off.
    NotNow(Waiting),
}

fn why(code: ErrorCode, detail: impl Into<String>) -> Waiting {
    Waiting { code: code.as_str().to_owned(), detail: detail.into() }
}

fn failed(code: &str, reason: impl Into<String>) -> IntentStatus {
    IntentStatus::Failed { code: code.to_owned(), reason: reason.into() }
}

impl<C: ChainClient, S: StatusSink> Relayer<C, S> {
    pub fn new(config: RelayerConfig, chain: C, store: Arc<Store>, status: S) -> Self {
        let lanes = std::iter::once(&config.secret_key).chain(&config.extra_keys).map(|key| Lane { key: key.clone(), next_nonce: None }).collect();
        Relayer { config, chain, store, status, metrics: None, health: Health::default(), lanes, lanes_checked: false, suspects: Vec::new(), next_prune_ns: 0, chain_limits: None, next_limits_check_ns: 0 }
    }

    /// Reports halts into `health` (the HTTP API serves it).
    pub fn with_health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// The relayer's health, to serve on the HTTP API.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    pub fn with_metrics(mut self, metrics: RelayerMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The configuration, to tune a running relayer (tests, operators' tools).
    pub fn config_mut(&mut self) -> &mut RelayerConfig {
        &mut self.config
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
                other => {
                    if let (Err(e), Some(m)) = (&other, &self.metrics) {
                        let kind = if e.is_permanent() { "permanent" } else { "transient" };
                        m.rpc_errors.get_or_create(&vec![("kind".into(), kind.into())]).inc();
                    }
                    return other;
                }
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
                    let writer_store = store.clone();
                    // redb commits fsync: keep them off the async workers.
                    let added = tokio::task::spawn_blocking(move || {
                        let store = writer_store;
                        let added = store.add_pending(&items, now_ns());
                        (added, store.active_count())
                    })
                    .await
                    .map_err(|e| RelayerError::Store(StoreError(e.to_string())))?;
                    let (added, active) = (added.0?, added.1);
                    tracing::debug!(added, "intents queued for settlement");
                    if let (Some(m), Ok(n)) = (&metrics, active) {
                        m.pending.set(n as i64);
                        for (reason, count) in store.refused() {
                            m.refused.get_or_create(&vec![("reason".into(), reason.into())]).set(count as i64);
                        }
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

    /// Settles what was sent earlier and is not known final (after a restart, a lost response,
    /// or a wait that ran out) by asking the chain. A transaction the chain does not know is
    /// re-broadcast as it was signed (same hash, so it lands at most once); only when the chain
    /// refuses that copy for good (its block hash expired, its nonce taken) are its intents
    /// pending again, to be signed anew. Returns how many intents ended.
    pub async fn recover(&mut self) -> Result<usize, RelayerError> {
        let mut ended = 0;
        type Sent = (Vec<IntentHash>, Vec<SignedIntent>, Option<String>);
        let mut by_tx: std::collections::BTreeMap<String, Sent> = Default::default();
        for (hash, record) in self.store.submitted()? {
            if let State::Submitted { tx_hash, signed_tx } = record.state {
                let (hashes, signed, tx) = by_tx.entry(tx_hash).or_default();
                hashes.push(hash);
                signed.push(record.signed);
                if tx.is_none() {
                    *tx = signed_tx;
                }
            }
        }
        for (tx_hash, (hashes, signed, signed_tx)) in by_tx {
            let parsed: CryptoHash = tx_hash.parse().map_err(|_| StoreError(format!("bad tx hash {tx_hash}")))?;
            let outcome = match self.retry("tx_status", || self.chain.tx_status(parsed)).await? {
                Some(outcome) => outcome,
                None => match signed_tx.as_deref().map(decode_tx) {
                    Some(Ok(tx)) => {
                        tracing::info!(%tx_hash, "transaction unknown to the chain; re-broadcasting it unchanged");
                        match self.retry("send_tx", || self.chain.send_tx(&tx)).await {
                            Ok(outcome) => outcome,
                            Err(ChainError::Transient(e)) => {
                                tracing::warn!(%tx_hash, error = %e, "re-broadcast failed; trying again next round");
                                continue;
                            }
                            Err(e) => {
                                // Expired block hash, nonce taken by another transaction: this
                                // copy can never land, so signing the intents anew is safe.
                                tracing::info!(%tx_hash, error = %e, "the unknown transaction can no longer land; its intents are pending again");
                                let changes: Vec<_> = hashes.iter().map(|h| (*h, State::Pending, false)).collect();
                                self.store.update(&changes)?;
                                if !matches!(e, ChainError::Expired | ChainError::InvalidNonce { .. } | ChainError::NonceTooLarge) {
                                    return Err(e.into());
                                }
                                continue;
                            }
                        }
                    }
                    _ => {
                        tracing::info!(%tx_hash, "transaction unknown to the chain and not kept; its intents are pending again");
                        let changes: Vec<_> = hashes.iter().map(|h| (*h, State::Pending, false)).collect();
                        self.store.update(&changes)?;
                        continue;
                    }
                },
            };
            ended += self.apply_outcome(&hashes, &signed, outcome).await?;
        }
        Ok(ended)
    }

    /// One round: drop expired intents, simulate a batch, submit what passes, record outcomes.
    /// Returns the number of intents settled (executed or failed) in this round. A permanent
    /// error of the relayer's own account, key or RPC halts submission (see [`Health`]).
    pub async fn settle_once(&mut self) -> Result<usize, RelayerError> {
        let now = now_ns();
        let halted = self.health.halted().is_some_and(|h| now < h.retry_at_ns);
        let result = if halted { self.expire_pending(now).await } else { self.settle_round(now).await };
        match &result {
            Err(RelayerError::Chain(e @ (ChainError::Relayer(_) | ChainError::Rejected(_)))) => self.halt(e),
            Ok(_) if !halted => self.resume(),
            _ => {}
        }
        result
    }

    /// Caps batches at what one call may prepay on this chain (1 PGas since protocol 83, 300 TGas
    /// before), read once from `EXPERIMENTAL_protocol_config`. An RPC that does not serve it leaves
    /// the configured cap (`--max-batch-tgas`) and is asked again a minute later.
    async fn read_chain_limits(&mut self, now: u64) {
        if self.chain_limits.is_some() || now < self.next_limits_check_ns {
            return;
        }
        match self.chain.limits().await {
            Ok(limits) => {
                let configured = self.config.gas.max_batch_gas;
                self.config.gas.max_batch_gas = configured.min(limits.max_gas_per_call);
                tracing::info!(
                    chain_max_tgas = limits.max_gas_per_call / TGAS,
                    configured_tgas = configured / TGAS,
                    max_log_bytes = limits.max_log_bytes,
                    "chain limits read; batches prepay at most {} TGas",
                    self.config.gas.max_batch_gas / TGAS
                );
                self.chain_limits = Some(limits);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the chain's limits (EXPERIMENTAL_protocol_config); keeping --max-batch-tgas");
                self.next_limits_check_ns = now.saturating_add(60_000_000_000);
            }
        }
    }

    /// Leaves out the extra keys the chain does not know (not added yet, or removed), once; the
    /// main key's problems halt the relayer instead (see `settle_once`).
    async fn check_lanes(&mut self) {
        if self.lanes_checked || self.lanes.len() < 2 {
            return;
        }
        let mut known = vec![true; self.lanes.len()];
        for (i, lane) in self.lanes.iter().enumerate().skip(1) {
            match self.chain.access_key_of(&lane.key.public_key()).await {
                Ok(_) => {}
                Err(ChainError::Relayer(e)) => {
                    tracing::warn!(public_key = %lane.key.public_key(), error = %e, "an extra relayer key is not on the account; it is left out");
                    known[i] = false;
                }
                // Ask again next round.
                Err(_) => return,
            }
        }
        let mut flags = known.into_iter();
        self.lanes.retain(|_| flags.next().unwrap_or(true));
        tracing::info!(keys = self.lanes.len(), "relayer keys: up to this many transactions in flight");
        self.lanes_checked = true;
    }

    /// How many access keys batches go out on (transactions in flight at most).
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// The chain's per-call limits, once read.
    pub fn chain_limits(&self) -> Option<ChainLimits> {
        self.chain_limits
    }

    /// The gas cap batches use now: the configured one, lowered to the chain's.
    pub fn max_batch_gas(&self) -> u64 {
        self.config.gas.max_batch_gas
    }

    fn halt(&self, e: &ChainError) {
        let now = now_ns();
        let mut health = self.health.0.lock().expect("health");
        let halts = health.as_ref().map_or(0, |h| h.halts) + 1;
        let (first, cap) = self.config.halt_backoff;
        let wait = first.saturating_mul(1 << (halts - 1).min(16)).min(cap);
        let code = if matches!(e, ChainError::Relayer(_)) { "RELAYER_KEY_REJECTED" } else { "RPC_REJECTED" };
        if health.is_none() {
            // Once per halt, not once per try: an operator reads this and acts.
            tracing::error!(code, error = %e, retry_in_s = wait.as_secs(), "the relayer cannot submit; intents are kept until it can");
        }
        let since_ns = health.as_ref().map_or(now, |h| h.since_ns);
        *health = Some(Halt { code, detail: e.to_string(), since_ns, retry_at_ns: now + wait.as_nanos() as u64, halts });
        if let Some(m) = &self.metrics {
            m.halted.set(1);
        }
    }

    fn resume(&self) {
        if self.health.0.lock().expect("health").take().is_some() {
            tracing::info!("the relayer submits again");
        }
        if let Some(m) = &self.metrics {
            m.halted.set(0);
        }
    }

    /// Ends pending intents whose deadline has passed (by the chain's word: one that executed
    /// elsewhere is recorded as executed) and returns those due for a batch now: not waiting out
    /// a back-off, and not so close to their deadline that the batch could fail on them.
    async fn take_due(&mut self, now: u64, settled: &mut usize) -> Result<Vec<(IntentHash, Record)>, RelayerError> {
        for hash in self.store.expired(now) {
            if let Some(record) = self.store.record(&hash)? {
                *settled += self.expire(hash, &record).await?;
            }
        }
        if now >= self.next_prune_ns {
            let cutoff = now.saturating_sub(self.config.done_retention.as_nanos() as u64);
            let pruned = self.store.prune_done(cutoff)?;
            tracing::debug!(pruned, "ended intents pruned");
            self.next_prune_ns = now + PRUNE_EVERY.as_nanos() as u64;
        }
        // A window of the oldest due intents is enough to fill a batch and find swap pairs; a
        // flood of pending intents costs a round no more than that.
        let window = self.config.gas.max_batch_items.saturating_mul(4);
        Ok(self.store.due(now, now.saturating_add(self.config.deadline_margin.as_nanos() as u64), window)?)
    }

    /// The deadline of a pending intent passed. Another relayer may have executed it in time, so
    /// the nonce decides: executed by it, or failed as expired. Returns 1 when it ended.
    async fn expire(&mut self, hash: IntentHash, record: &Record) -> Result<usize, RelayerError> {
        let why = match &record.waiting_for {
            Some(w) => format!("the deadline passed while waiting for: {}: {}", w.code, w.detail),
            None => "the deadline passed before settlement".to_owned(),
        };
        let why = match self.nonce_verdict(hash, &record.signed).await {
            Ok(None) => {
                self.store.update(&[(hash, State::Executed { tx_hash: None }, false)])?;
                self.count_intent("executed_elsewhere");
                return Ok(1);
            }
            Ok(Some(_)) => why,
            // Could not ask: try again next round rather than guess.
            Err(ChainError::Transient(e)) => {
                tracing::warn!(%hash, error = %e, "cannot check an expired intent's nonce yet");
                return Ok(0);
            }
            // A contract without `nonce_status`: say what is known.
            Err(e) => format!("{why} (its nonce could not be checked: {e})"),
        };
        self.end(hash, failed(ErrorCode::DeadlineExpired.as_str(), why), None).await?;
        Ok(1)
    }

    async fn expire_pending(&mut self, now: u64) -> Result<usize, RelayerError> {
        let mut settled = 0;
        self.take_due(now, &mut settled).await?;
        Ok(settled)
    }

    async fn settle_round(&mut self, now: u64) -> Result<usize, RelayerError> {
        self.read_chain_limits(now).await;
        self.check_lanes().await;
        // First resolve batches sent earlier whose outcome we never saw (crash, lost response).
        let mut settled = self.recover().await?;
        let due = self.take_due(now, &mut settled).await?;
        // Swap offers settle only with their counterparts: matched pairs join the batch, the
        // rest wait aside (with back-off) instead of holding the batch's front.
        let swaps: Vec<_> = due.iter().filter(|(_, r)| is_swap(&r.signed)).cloned().collect();
        let (matched, unmatched) = match_swaps(swaps);
        for (hash, record) in &unmatched {
            let waiting = why(ErrorCode::DiffNotBalanced, "no matching swap offer yet");
            self.defer(*hash, record.deferrals, waiting)?;
        }
        // The store's order stands (paying intents first, then the low-priority pool, each oldest
        // first); unmatched offers are left out.
        let matched: std::collections::HashSet<IntentHash> = matched.into_iter().map(|(h, _)| h).collect();
        let mut candidates: Vec<_> = due.into_iter().filter(|(h, r)| !is_swap(&r.signed) || matched.contains(h)).collect();
        if !self.suspects.is_empty() {
            let suspects: Vec<_> = candidates.iter().filter(|(h, _)| self.suspects.contains(h)).cloned().collect();
            if suspects.is_empty() {
                // They ended or are not due: nothing left to search.
                self.suspects.clear();
            } else {
                let half = if suspects.len() > 1 { suspects.len() / 2 } else { 1 };
                candidates = suspects.into_iter().take(half).collect();
            }
        }
        if candidates.is_empty() {
            return Ok(settled);
        }
        // One batch per lane (access key), each from its own signers; swap pairs and a culprit
        // search go on the first lane alone.
        let lanes = if self.suspects.is_empty() { self.lanes.len() } else { 1 };
        let mut per_lane: Vec<Vec<(IntentHash, Record)>> = vec![Vec::new(); lanes];
        for (hash, record) in candidates {
            let lane = match lanes {
                1 => 0,
                _ if is_swap(&record.signed) => 0,
                _ => outpost_protocol::validate::decode_intent(&record.signed.message).map_or(0, |i| lane_of(i.signer_id.as_str(), lanes)),
            };
            per_lane[lane].push((hash, record));
        }
        let mut batches = Vec::new();
        for (lane, candidates) in per_lane.into_iter().enumerate() {
            if candidates.is_empty() {
                continue;
            }
            let (chosen, _) = self.config.gas.take_batch(&candidates, |(_, r)| &r.signed);
            let batch: Vec<(IntentHash, SignedIntent)> = chosen.iter().map(|(h, r)| (*h, r.signed.clone())).collect();
            if let Some((batch, gas)) = self.simulate_until_clean(batch, &mut settled).await? {
                batches.push((lane, batch, gas));
            }
            if !self.suspects.is_empty() {
                // This lane's batch failed as a whole and a culprit search started: it takes
                // the next rounds alone.
                break;
            }
        }
        // Every batch is in flight at once, one per key; their outcomes are applied in order.
        let mut lanes = std::mem::take(&mut self.lanes);
        let sent = {
            let this = &*self;
            let mut lane_refs: Vec<Option<&mut Lane>> = lanes.iter_mut().map(Some).collect();
            let sends = batches.into_iter().map(|(index, batch, gas)| {
                let lane = lane_refs[index].take().expect("one batch per lane");
                let hashes: Vec<IntentHash> = batch.iter().map(|(h, _)| *h).collect();
                let signed: Vec<SignedIntent> = batch.into_iter().map(|(_, s)| s).collect();
                async move {
                    let outcome = this.submit(lane, &hashes, &signed, gas).await;
                    (index, hashes, signed, outcome)
                }
            });
            futures::future::join_all(sends).await
        };
        self.lanes = std::mem::take(&mut lanes);
        let mut first_error = None;
        let mut lost_lanes = Vec::new();
        for (index, hashes, signed, outcome) in sent {
            match outcome {
                // An extra key the account no longer has (removed while running): its batch is
                // pending again (see `submit`) and the key is left out; only the main key halts.
                Err(RelayerError::Chain(ChainError::Relayer(e))) if index > 0 => {
                    tracing::warn!(error = %e, "an extra relayer key was refused; it is left out");
                    lost_lanes.push(index);
                    let changes: Vec<_> = hashes.iter().map(|h| (*h, State::Pending, false)).collect();
                    self.store.update(&changes)?;
                }
                // The node refused the transaction itself (too large, too much gas): the batch's
                // fault, so it is split like a batch that failed on chain.
                Err(RelayerError::Chain(ChainError::TxInvalid(detail))) => {
                    let batch: Vec<_> = hashes.iter().copied().zip(signed).collect();
                    settled += self.batch_failed(&batch, Waiting { code: "TX_INVALID".into(), detail }, None).await?;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
                Ok(outcome) => settled += self.apply_outcome(&hashes, &signed, outcome).await?,
            }
        }
        lost_lanes.sort_unstable();
        for index in lost_lanes.into_iter().rev() {
            self.lanes.remove(index);
        }
        self.update_pending_gauge();
        match first_error {
            Some(e) => Err(e),
            None => Ok(settled),
        }
    }

    /// Simulates until the whole batch passes: each round takes out the failing items, and the
    /// gas to attach comes from a simulation of exactly the batch to submit. `None` when nothing
    /// is left to send (every item ended or waits, or the batch failed as a whole).
    async fn simulate_until_clean(
        &mut self,
        mut batch: Vec<(IntentHash, SignedIntent)>,
        settled: &mut usize,
    ) -> Result<Option<(Vec<(IntentHash, SignedIntent)>, u64)>, RelayerError> {
        let report = loop {
            if batch.is_empty() {
                return Ok(None);
            }
            let signed: Vec<SignedIntent> = batch.iter().map(|(_, s)| s.clone()).collect();
            let report = self.retry("simulate_intents", || self.chain.simulate(&signed)).await?;
            let mut keep = Vec::new();
            for (i, (hash, s)) in batch.iter().enumerate() {
                match report.outcomes.iter().find(|o| o.index as usize == i).map(|o| &o.result) {
                    Some(ItemResult::Ok) => keep.push((*hash, s.clone())),
                    Some(ItemResult::Failed { code, detail }) => {
                        let error = Waiting { code: code.clone(), detail: detail.clone() };
                        *settled += self.judge(*hash, s, error, None).await?;
                    }
                    // The contract reported no verdict for this item: it waits for a later round.
                    None => {}
                }
            }
            let dropped_some = keep.len() != batch.len();
            batch = keep;
            match report.batch_error {
                None if !dropped_some => break report,
                None => continue,
                Some(ItemResult::Failed { code, .. }) if code == ErrorCode::DiffNotBalanced.as_str() => {
                    // A pair split by the gas cut, or offers that match only with an item that
                    // just failed: the swaps wait for a later round, the rest goes now.
                    batch.retain(|(_, s)| !is_swap(s));
                }
                Some(ItemResult::Failed { code, detail }) => {
                    *settled += self.batch_failed(&batch, Waiting { code, detail }, None).await?;
                    return Ok(None);
                }
                Some(ItemResult::Ok) => break report,
            }
        };
        // The contract's own per-item figures when it gives them (with a tenth more: the cost
        // model is checked against the VM, a real node adds receipt costs), else our estimate.
        let gas = match report.gas {
            0 => batch.iter().map(|(_, s)| self.config.gas.gas_of(s)).sum(),
            g => g.saturating_add(g / 10),
        }
        .min(self.config.gas.max_batch_gas);
        Ok(Some((batch, gas)))
    }

    /// A batch failed as a whole, not on one named item (its events or gas too large, ...).
    /// States the whole ledger may yet change (paused, the relayer's own storage balance) make
    /// every item wait; otherwise the batch is halved until the culprit is alone, and a culprit
    /// alone ends. Returns how many intents ended.
    async fn batch_failed(&mut self, batch: &[(IntentHash, SignedIntent)], error: Waiting, tx_hash: Option<CryptoHash>) -> Result<usize, RelayerError> {
        let code = ErrorCode::parse(&error.code);
        if matches!(code, Some(ErrorCode::Paused | ErrorCode::InsufficientStorageDeposit)) {
            tracing::warn!(code = %error.code, detail = %error.detail, "the batch cannot settle now; its intents wait");
            for (hash, _) in batch {
                let deferrals = self.store.record(hash)?.map_or(0, |r| r.deferrals);
                self.defer(*hash, deferrals, error.clone())?;
            }
            return Ok(0);
        }
        if let [(hash, _)] = batch {
            tracing::warn!(%hash, code = %error.code, "an intent alone fails its batch; it ends");
            self.suspects.clear();
            self.end(*hash, failed(&error.code, error.detail), tx_hash).await?;
            return Ok(1);
        }
        tracing::warn!(items = batch.len(), code = %error.code, "batch failed as a whole; searching it for the culprit");
        self.suspects = batch.iter().map(|(h, _)| *h).collect();
        let changes: Vec<_> = batch.iter().map(|(h, _)| (*h, State::Pending, true)).collect();
        self.store.update(&changes)?;
        Ok(0)
    }

    fn defer(&self, hash: IntentHash, deferrals: u32, waiting: Waiting) -> Result<(), RelayerError> {
        let (first, cap) = self.config.recheck;
        let wait = first.saturating_mul(1 << deferrals.min(16)).min(cap);
        tracing::debug!(%hash, code = %waiting.code, wait_ms = wait.as_millis() as u64, "not settleable now; will check again");
        self.store.defer(&[(hash, now_ns() + wait.as_nanos() as u64, waiting)])?;
        Ok(())
    }

    /// Decides what a failed check means for an intent (see [`ErrorCode::retry`]) and records
    /// it. Returns 1 when the intent ended.
    async fn judge(&mut self, hash: IntentHash, signed: &SignedIntent, error: Waiting, tx_hash: Option<CryptoHash>) -> Result<usize, RelayerError> {
        // A code this relayer does not know is never a reason to end an intent.
        let retry = ErrorCode::parse(&error.code).map_or(Retry::Later, ErrorCode::retry);
        let verdict = match retry {
            Retry::Never => Verdict::Fail(error),
            Retry::Later => Verdict::NotNow(error),
            Retry::CheckNonce => match self.nonce_verdict(hash, signed).await {
                Ok(Some(v)) => v,
                Ok(None) => {
                    // The chain says this very intent executed, in a transaction someone else
                    // sent: record it; the sender announces it with its transaction.
                    self.store.update(&[(hash, State::Executed { tx_hash: None }, false)])?;
                    self.count_intent("executed_elsewhere");
                    return Ok(1);
                }
                // Unknown (an old contract without `nonce_status`, or RPC trouble): not a verdict.
                Err(e) => {
                    tracing::warn!(%hash, error = %e, "cannot tell whether a used nonce executed this intent");
                    Verdict::NotNow(error)
                }
            },
        };
        match verdict {
            Verdict::Fail(e) => {
                self.end(hash, failed(&e.code, e.detail), tx_hash).await?;
                Ok(1)
            }
            Verdict::NotNow(waiting) => {
                let record = self.store.record(&hash)?;
                // The contract charges the fee before the actions, naming it: a signer that
                // still cannot pay it after `fee_patience` is not worth holding.
                let unpaid = waiting.code == ErrorCode::InsufficientBalance.as_str() && waiting.detail.starts_with("fee:");
                let patience = self.config.fee_patience.as_nanos() as u64;
                if unpaid && record.as_ref().is_some_and(|r| now_ns().saturating_sub(r.received_ns) > patience) {
                    tracing::debug!(%hash, "released: its signer cannot pay its fee");
                    self.store.release(&hash)?;
                    self.count_intent("released");
                    return Ok(0);
                }
                self.defer(hash, record.map_or(0, |r| r.deferrals), waiting)?;
                Ok(0)
            }
        }
    }

    /// The nonce of `signed` is spent. `Ok(None)`: by this intent, which executed. `Ok(Some)`:
    /// the verdict when it was spent otherwise (or, in a race, is not spent after all).
    async fn nonce_verdict(&self, hash: IntentHash, signed: &SignedIntent) -> Result<Option<Verdict>, ChainError> {
        let signer = match outpost_protocol::validate::decode_intent(&signed.message) {
            Ok(intent) => intent.signer_id,
            Err(e) => return Ok(Some(Verdict::Fail(why(e.code, e.detail)))),
        };
        let status = self.retry("nonce_status", || self.chain.nonce_status(signer.as_str(), &signed.nonce)).await?;
        Ok(match status {
            NonceStatus::Executed { intent_hash } if intent_hash == hash => None,
            NonceStatus::Executed { intent_hash } => Some(Verdict::Fail(why(
                ErrorCode::NonceUsed,
                format!("nonce {} of {signer} was spent by another intent ({intent_hash})", signed.nonce),
            ))),
            NonceStatus::Cancelled => {
                Some(Verdict::Fail(why(ErrorCode::NonceUsed, format!("nonce {} was cancelled by {signer}", signed.nonce))))
            }
            // Spent in a state the view does not see yet: look again later.
            NonceStatus::Unused => Some(Verdict::NotNow(why(ErrorCode::NonceUsed, "the nonce's state is settling"))),
        })
    }

    /// `execute_intents` with no deposit (v2: storage is charged to the relayer's NEAR in the
    /// ledger), so a function-call access key limited to that method can sign it.
    fn build_tx(&self, secret_key: &near_crypto::SecretKey, key: AccessKeyState, nonce: u64, args: &[u8], gas: u64) -> SignedTransaction {
        let tx = Transaction::V0(TransactionV0 {
            signer_id: self.config.signer_id.clone(),
            public_key: secret_key.public_key(),
            nonce,
            receiver_id: self.config.contract.clone(),
            block_hash: key.block_hash,
            actions: vec![TxAction::FunctionCall(Box::new(FunctionCallAction {
                method_name: methods::EXECUTE_INTENTS.to_owned(),
                args: args.to_vec(),
                gas: Gas::from_gas(gas),
                deposit: near_primitives::types::Balance::from_yoctonear(0),
            }))],
        });
        let (hash, _) = tx.get_hash_and_size();
        SignedTransaction::new(secret_key.sign(hash.as_ref()), tx)
    }

    /// A store write (an fsync) on the blocking pool: batches on other keys go on meanwhile.
    async fn update_off_thread(&self, changes: Vec<(IntentHash, State, bool)>) -> Result<(), StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.update(&changes)).await.map_err(|e| StoreError(e.to_string()))?
    }

    /// Signs and sends one `execute_intents`, handling nonce and expiry errors by re-signing.
    /// The batch is marked submitted under each transaction hash before that transaction is sent.
    async fn submit(&self, lane: &mut Lane, hashes: &[IntentHash], signed: &[SignedIntent], gas: u64) -> Result<TxOutcome, RelayerError> {
        let args = serde_json::to_vec(&serde_json::json!({ "signed": signed })).map_err(|e| StoreError(e.to_string()))?;
        let mut resigns = 0;
        let public_key = lane.key.public_key();
        loop {
            let key = self.retry("view_access_key", || self.chain.access_key_of(&public_key)).await?;
            let nonce = lane.next_nonce.filter(|n| *n > key.nonce).unwrap_or(key.nonce + 1);
            let tx = self.build_tx(&lane.key, key, nonce, &args, gas);
            let tx_hash = tx.get_hash();
            // The signed transaction is kept once, with the batch's first intent (`recover` takes
            // it from any of them): a copy per intent made each write the batch size squared.
            let with_tx = State::Submitted { tx_hash: tx_hash.to_string(), signed_tx: Some(encode_tx(&tx)) };
            let without = State::Submitted { tx_hash: tx_hash.to_string(), signed_tx: None };
            let changes: Vec<_> = hashes.iter().enumerate().map(|(i, h)| (*h, if i == 0 { with_tx.clone() } else { without.clone() }, false)).collect();
            self.update_off_thread(changes).await?;
            tracing::info!(%tx_hash, intents = hashes.len(), gas, nonce, "submitting execute_intents");
            // Re-sending the same signed transaction is idempotent (same hash), so transient
            // errors retry it as is.
            match self.retry("send_tx", || self.chain.send_tx(&tx)).await {
                Ok(TxOutcome::Pending { tx_hash }) => {
                    lane.next_nonce = Some(nonce + 1);
                    return Ok(self.wait_final(tx_hash).await?);
                }
                Ok(outcome) => {
                    lane.next_nonce = Some(nonce + 1);
                    return Ok(outcome);
                }
                Err(ChainError::InvalidNonce { ak_nonce }) if resigns < 5 => {
                    tracing::warn!(ak_nonce, "nonce rejected; re-signing");
                    lane.next_nonce = Some(ak_nonce + 1);
                    resigns += 1;
                }
                Err(ChainError::Expired) if resigns < 5 => {
                    tracing::warn!("block hash expired; re-signing with a fresh one");
                    resigns += 1;
                }
                Err(ChainError::NonceTooLarge) if resigns < 5 => {
                    tracing::warn!("nonce too large; re-signing with the access key's");
                    lane.next_nonce = None;
                    resigns += 1;
                }
                Err(e @ ChainError::Transient(_)) => {
                    // It may have reached the chain: the batch stays submitted, and the next
                    // round asks for its status before anything is sent again.
                    lane.next_nonce = None;
                    return Err(e.into());
                }
                Err(e) => {
                    // Refused outright, so it never ran: the intents are pending again. Only a
                    // fault of the batch counts as an attempt; the relayer's own (its key, its
                    // balance) halts it instead (see `settle_once`).
                    lane.next_nonce = None;
                    let bump = matches!(e, ChainError::TxInvalid(_));
                    let changes: Vec<_> = hashes.iter().map(|h| (*h, State::Pending, bump)).collect();
                    self.update_off_thread(changes).await?;
                    return Err(e.into());
                }
            }
        }
    }

    /// Polls until the transaction is final, for at most `final_wait`; then `Pending`, and later
    /// rounds ask again (see [`Relayer::recover`]). A dropped transaction never stalls the relayer.
    async fn wait_final(&self, tx_hash: CryptoHash) -> Result<TxOutcome, ChainError> {
        let until = tokio::time::Instant::now() + self.config.final_wait;
        loop {
            match self.retry("tx_status", || self.chain.tx_status(tx_hash)).await? {
                Some(TxOutcome::Pending { .. }) | None if tokio::time::Instant::now() < until => {
                    tokio::time::sleep(self.config.status_poll).await
                }
                Some(TxOutcome::Pending { .. }) | None => return Ok(TxOutcome::Pending { tx_hash }),
                Some(outcome) => return Ok(outcome),
            }
        }
    }

    /// Records a final outcome and announces it. Returns how many intents ended.
    async fn apply_outcome(&mut self, hashes: &[IntentHash], signed: &[SignedIntent], outcome: TxOutcome) -> Result<usize, RelayerError> {
        let count = |outcome: &str| {
            if let Some(m) = &self.metrics {
                m.batches.get_or_create(&vec![("outcome".into(), outcome.into())]).inc();
            }
        };
        match outcome {
            TxOutcome::Executed { tx_hash, .. } => {
                count("executed");
                // The culprit is among the suspects that did not just pass.
                self.suspects.retain(|h| !hashes.contains(h));
                for hash in hashes {
                    self.end(*hash, IntentStatus::Executed { tx_hash: tx_hash.to_string() }, Some(tx_hash)).await?;
                }
                Ok(hashes.len())
            }
            TxOutcome::Failed { tx_hash, failure: Some(BatchFailure::Item { index, error }), .. }
                if (index as usize) < hashes.len() && signed.len() == hashes.len() =>
            {
                count("item_failed");
                // The batch is atomic: only the named item failed; the others never ran. The
                // culprit is judged like a failed simulation: the state may yet allow it.
                let culprit = hashes[index as usize];
                let others: Vec<_> = hashes.iter().filter(|h| **h != culprit).map(|h| (*h, State::Pending, false)).collect();
                self.store.update(&others)?;
                let error = why(error.code, error.detail);
                self.judge(culprit, &signed[index as usize], error, Some(tx_hash)).await
            }
            TxOutcome::Failed { tx_hash, failure, message } => {
                count("batch_failed");
                tracing::warn!(%tx_hash, ?failure, %message, "batch failed as a whole");
                let error = match failure {
                    Some(BatchFailure::Batch(e) | BatchFailure::Item { error: e, .. }) => why(e.code, e.detail),
                    // Out of gas, a receipt error: no code of ours.
                    None => Waiting { code: "EXECUTION_FAILED".into(), detail: message },
                };
                let batch: Vec<(IntentHash, SignedIntent)> = hashes.iter().copied().zip(signed.iter().cloned()).collect();
                self.batch_failed(&batch, error, Some(tx_hash)).await
            }
            TxOutcome::Pending { tx_hash } => {
                // Not final within `final_wait`: the intents stay submitted under this
                // transaction, and the next rounds ask again.
                tracing::info!(%tx_hash, "transaction not final yet; checking it in later rounds");
                Ok(0)
            }
        }
    }

    async fn end(&self, hash: IntentHash, status: IntentStatus, tx_hash: Option<CryptoHash>) -> Result<(), RelayerError> {
        let state = match &status {
            IntentStatus::Executed { tx_hash } => State::Executed { tx_hash: Some(tx_hash.clone()) },
            IntentStatus::Failed { code, reason } => {
                State::Failed { code: code.clone(), reason: reason.clone(), tx_hash: tx_hash.map(|h| h.to_string()) }
            }
        };
        self.store.update(&[(hash, state, false)])?;
        self.count_intent(if matches!(status, IntentStatus::Executed { .. }) { "executed" } else { "failed" });
        self.status.publish(hash, status).await;
        Ok(())
    }

    fn count_intent(&self, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.intents.get_or_create(&vec![("outcome".into(), outcome.into())]).inc();
        }
    }
}

fn encode_tx(tx: &SignedTransaction) -> String {
    use base64::Engine as _;
    // Serialising a transaction into a Vec cannot fail.
    base64::engine::general_purpose::STANDARD.encode(near_primitives::borsh::to_vec(tx).expect("borsh"))
}

fn decode_tx(text: &str) -> Result<SignedTransaction, StoreError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| StoreError(format!("stored transaction: {e}")))?;
    near_primitives::borsh::from_slice(&bytes).map_err(|e| StoreError(format!("stored transaction: {e}")))
}

/// Pairs swap offers whose diffs cancel exactly (A gives what B takes and takes what B gives),
/// oldest first. Returns the matched offers and the rest.
fn match_swaps(offers: Vec<(IntentHash, Record)>) -> (Vec<(IntentHash, Record)>, Vec<(IntentHash, Record)>) {
    let diff_of = |r: &Record| -> Option<std::collections::BTreeMap<outpost_protocol::TokenId, i128>> {
        let intent = outpost_protocol::validate::decode_intent(&r.signed.message).ok()?;
        let mut total = std::collections::BTreeMap::new();
        for action in intent.actions {
            if let Action::TokenDiff { diff } = action {
                for (token, amount) in diff {
                    let t = total.entry(token).or_insert(0i128);
                    *t = t.checked_add(amount.0)?;
                }
            }
        }
        Some(total)
    };
    let diffs: Vec<_> = offers.iter().map(|(_, r)| diff_of(r)).collect();
    let mut taken = vec![false; offers.len()];
    for i in 0..offers.len() {
        if taken[i] {
            continue;
        }
        let Some(a) = &diffs[i] else { continue };
        let counterpart = (i + 1..offers.len()).find(|&j| {
            !taken[j]
                && diffs[j].as_ref().is_some_and(|b| a.len() == b.len() && a.iter().all(|(t, v)| b.get(t).and_then(|w| w.checked_add(*v)) == Some(0)))
        });
        if let Some(j) = counterpart {
            taken[i] = true;
            taken[j] = true;
        }
    }
    let (mut matched, mut rest) = (Vec::new(), Vec::new());
    for (offer, t) in offers.into_iter().zip(taken) {
        if t { matched.push(offer) } else { rest.push(offer) }
    }
    (matched, rest)
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
        // The default fills the contract's largest batch with transfers (2 TGas each, 1 PGas).
        let gas = GasConfig::default();
        let plain: Vec<SignedIntent> = (0..400).map(valid_intent).collect();
        let (batch, total) = gas.take_batch(&plain, |s| s);
        assert_eq!((batch.len(), total), (MAX_BATCH_SIZE, MAX_BATCH_SIZE as u64 * 2 * TGAS));
        // A 300 TGas cap (a chain before protocol 83): 150 fit.
        let capped = GasConfig { max_batch_gas: 300 * TGAS, ..GasConfig::default() };
        let (batch, total) = capped.take_batch(&plain, |s| s);
        assert_eq!((batch.len(), total), (150, 300 * TGAS));
        // A withdrawal costs 27 TGas: 11 of them fit in 300.
        let withdrawals: Vec<SignedIntent> = (0..20).map(withdraw_intent).collect();
        let (batch, total) = capped.take_batch(&withdrawals, |s| s);
        assert_eq!((batch.len(), total), (11, 297 * TGAS));
        // Mixed: stops at the first item that does not fit, keeping arrival order.
        let mixed: Vec<SignedIntent> = vec![withdraw_intent(1), valid_intent(2), withdraw_intent(3)];
        let small = GasConfig { max_batch_gas: 31 * TGAS, ..GasConfig::default() };
        assert_eq!(small.take_batch(&mixed, |s| s).0.len(), 2);
        // An intent larger than the cap still goes out alone instead of blocking the queue.
        let tiny = GasConfig { max_batch_gas: TGAS, ..GasConfig::default() };
        assert_eq!(tiny.take_batch(&plain, |s| s).0.len(), 1);
    }
}
