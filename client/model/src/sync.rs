//! The sync loop's logic: which records to send or poll, through which channels, and how long to
//! wait after a failure. I/O sits behind three small traits so the browser plugs in fetch and
//! IndexedDB, and native tests plug in fakes (including crashes and 50+ connectivity flaps).
//!
//! Rule: a transition is written to the [`Store`] first and applied in memory only after the
//! write succeeded, so what the UI shows is never ahead of what survives a reload.

use crate::queue::{Event, Queue, Record, State};
use crate::words::Problem;
use outpost_protocol::abi::NonceStatus;
use outpost_protocol::{ErrorCode, SignedIntent};

/// What a channel said to a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Accepted,
    /// Refused for good, with the protocol code when there is one.
    Rejected { code: String, reason: String },
    /// Not now (offline, timeout, server error). `maybe_delivered`: the request may have arrived.
    Unavailable { reason: String, maybe_delivered: bool },
}

/// What a channel knows about an intent it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelStatus {
    Pending,
    /// `sender`: the account that signed `tx_hash` (the relayer's), which the RPC's `tx` method
    /// needs to find the transaction.
    Executed { tx_hash: Option<String>, sender: Option<String> },
    Failed { code: String, reason: String, tx_hash: Option<String> },
    /// It does not know the intent (never got it, or lost it).
    Unknown,
}

/// A way to get intents to a relayer: the relayer's HTTP endpoint, or the browser libp2p node.
/// Sends must be idempotent per intent hash (both relayer and gossip dedup by it).
#[allow(async_fn_in_trait)] // used single-threaded in the browser; no Send bound wanted
pub trait Channel {
    fn name(&self) -> &str;
    async fn send(&self, signed: &SignedIntent, id: &str) -> SendOutcome;
    /// `Err` when the channel cannot answer now. `Unknown` is an answer ("I do not have it") that
    /// can send a record again, so a channel that merely heard nothing (gossip) answers `Err`.
    async fn status(&self, id: &str) -> Result<ChannelStatus, String>;
}

/// Reads the chain: what became of this record's nonce (`nonce_status` view over RPC): unused,
/// spent by an intent that executed (which one), or cancelled.
#[allow(async_fn_in_trait)]
pub trait NonceOracle {
    async fn nonce_status(&self, record: &Record) -> Result<NonceStatus, String>;
    /// Whether transaction `tx_hash`, signed by `sender`, has a successful receipt of the intents
    /// contract whose `executed` event lists intent `id` (`tx` RPC). The proof for when the
    /// nonce's record may be pruned; after that long, only an archival node may still answer.
    async fn executed_in_tx(&self, tx_hash: &str, sender: &str, id: &str) -> Result<bool, String>;
}

/// Durable storage of records. `put` writes all given records in one transaction.
#[allow(async_fn_in_trait)]
pub trait Store {
    async fn put(&self, records: &[Record]) -> Result<(), Problem>;
}

/// Retry and poll timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub base_ms: u64,
    pub max_ms: u64,
    /// How often sent records are polled for their outcome.
    pub poll_ms: u64,
    /// How long after its deadline a possibly-delivered record is given before it counts as
    /// expired (relayers may have submitted it just before the deadline).
    pub expiry_grace_ms: u64,
    /// A sent record that no channel can confirm holding (gossip reached some peer, but no
    /// relayer has answered for it) is offered again this often: a peer may have dropped it, and
    /// a repeat is a no-op for everyone who has it (dedup by intent hash).
    pub reoffer_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { base_ms: 1_000, max_ms: 60_000, poll_ms: 5_000, expiry_grace_ms: 120_000, reoffer_ms: 60_000 }
    }
}

impl Policy {
    /// Exponential backoff (base · 2^(attempts−1), capped) with ±25% jitter derived from the
    /// record id, so many records that failed together do not retry in lockstep.
    pub fn backoff_ms(&self, attempts: u32, id: &str) -> u64 {
        let exp = attempts.saturating_sub(1).min(32);
        let raw = self.base_ms.saturating_mul(1u64 << exp).min(self.max_ms);
        // FNV-1a over id and attempt: cheap, deterministic, and good enough to spread retries.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id.bytes().chain(attempts.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let quarter = raw / 4;
        raw - quarter + if quarter == 0 { 0 } else { h % (2 * quarter + 1) }
    }

    /// When the loop should next wake up for this queue (ms), or `None` when nothing is pending.
    pub fn next_wake(&self, queue: &Queue, now_ms: u64) -> Option<u64> {
        queue
            .records
            .values()
            .filter_map(|r| match r.state {
                State::Queued if r.cancelled_by.is_none() => Some(r.next_attempt_ms.max(now_ms)),
                State::Queued | State::Sent { .. } => Some(now_ms + self.poll_ms),
                _ => None,
            })
            .min()
    }
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub failed_attempts: usize,
    pub rejected: usize,
    pub executed: usize,
    pub chain_failed: usize,
    pub requeued: usize,
    pub expired: usize,
    /// The store refused a write: the pass stopped there (nothing after it was shown).
    pub store_error: Option<String>,
}

/// Writes one transition durably, then applies it in memory.
async fn commit(queue: &mut Queue, store: &impl Store, id: &str, event: Event, now_ms: u64, backoff: u64) -> Result<bool, Problem> {
    let Some(current) = queue.records.get(id) else { return Ok(false) };
    let mut next = current.clone();
    if !next.apply(event, now_ms, backoff) {
        return Ok(false);
    }
    store.put(std::slice::from_ref(&next)).await?;
    queue.records.insert(id.to_owned(), next);
    Ok(true)
}

/// One pass: when online, offer every due record to the channels (see [`offer`]), then poll what
/// was sent. Offline, it does nothing: the
/// records simply wait, and nothing counts as a failed attempt.
/// `contract` is the network's intents contract: only records signed for it are sent or polled
/// here (a record keeps the network it was signed for, and waits while another is selected).
pub async fn sync_once<C: Channel, O: NonceOracle>(
    queue: &mut Queue,
    store: &impl Store,
    contract: &str,
    channels: &[C],
    oracle: Option<&O>,
    policy: &Policy,
    now_ms: u64,
    online: bool,
) -> Report {
    let mut report = Report::default();
    if !online {
        return report;
    }
    if let Err(e) = send_due(queue, store, contract, channels, policy, now_ms, &mut report).await {
        report.store_error = Some(e.0);
        return report;
    }
    if let Err(e) = poll(queue, store, contract, channels, oracle, policy, now_ms, &mut report).await {
        report.store_error = Some(e.0);
    }
    report
}

/// Only the sending half of [`sync_once`] (the browser polls less often than it sends).
pub async fn send_pass<C: Channel>(queue: &mut Queue, store: &impl Store, contract: &str, channels: &[C], policy: &Policy, now_ms: u64) -> Report {
    let mut report = Report::default();
    if let Err(e) = send_due(queue, store, contract, channels, policy, now_ms, &mut report).await {
        report.store_error = Some(e.0);
    }
    report
}

/// Only the polling half of [`sync_once`].
pub async fn poll_pass<C: Channel, O: NonceOracle>(
    queue: &mut Queue,
    store: &impl Store,
    contract: &str,
    channels: &[C],
    oracle: Option<&O>,
    policy: &Policy,
    now_ms: u64,
) -> Report {
    let mut report = Report::default();
    if let Err(e) = poll(queue, store, contract, channels, oracle, policy, now_ms, &mut report).await {
        report.store_error = Some(e.0);
    }
    report
}

/// A [`NonceOracle`] for when there is no chain to ask.
pub struct NoOracle;
impl NonceOracle for NoOracle {
    async fn nonce_status(&self, _: &Record) -> Result<NonceStatus, String> {
        Err("no RPC".into())
    }
    async fn executed_in_tx(&self, _: &str, _: &str, _: &str) -> Result<bool, String> {
        Err("no RPC".into())
    }
}

/// Connectivity came back: queued records are retried at once instead of waiting out a backoff
/// that offline-time failures grew. Returns the records to persist.
pub fn retry_now(queue: &mut Queue, now_ms: u64) -> Vec<Record> {
    let mut changed = Vec::new();
    for r in queue.records.values_mut() {
        if matches!(r.state, State::Queued) && r.next_attempt_ms > now_ms {
            r.next_attempt_ms = now_ms;
            changed.push(r.clone());
        }
    }
    changed
}

impl Report {
    /// Whether the pass changed anything the UI shows.
    pub fn changed(&self) -> bool {
        self.sent + self.failed_attempts + self.rejected + self.executed + self.chain_failed + self.requeued + self.expired > 0
    }
}

fn now_ns(now_ms: u64) -> u64 {
    now_ms.saturating_mul(1_000_000)
}

async fn send_due<C: Channel>(
    queue: &mut Queue,
    store: &impl Store,
    contract: &str,
    channels: &[C],
    policy: &Policy,
    now_ms: u64,
    report: &mut Report,
) -> Result<(), Problem> {
    let due: Vec<String> = queue.records.values().filter(|r| r.signed.recipient == contract && r.due(now_ms)).map(|r| r.id.clone()).collect();
    for id in due {
        let record = queue.records[&id].clone();
        // Past its deadline, no relayer can use it any more. Never delivered: it failed. Maybe
        // delivered: it may have settled in time, and a send now would only be refused as
        // expired, so polling (chain, relayers, grace period) decides instead.
        if record.deadline_ns < now_ns(now_ms) {
            if !record.maybe_delivered && commit(queue, store, &id, Event::Expired, now_ms, 0).await? {
                report.expired += 1;
            }
            continue;
        }
        if channels.is_empty() {
            continue;
        }
        let event = offer(channels, &record.signed, &id).await;
        let backoff = match event {
            Event::SendFailed { .. } => policy.backoff_ms(record.attempts + 1, &id),
            _ => 0,
        };
        let counter = match &event {
            Event::Accepted { .. } => &mut report.sent,
            Event::Rejected { .. } => &mut report.rejected,
            _ => &mut report.failed_attempts,
        };
        if commit(queue, store, &id, event, now_ms, backoff).await? {
            *counter += 1;
        }
    }
    Ok(())
}

/// Offers one intent to every channel ("gossip and/or relayer": both dedup by intent hash, and a
/// relayer that is not on the gossip mesh still gets it). Any acceptance makes it sent (named after
/// the first channel that took it); otherwise a refusal is final; otherwise the attempt failed.
async fn offer<C: Channel>(channels: &[C], signed: &SignedIntent, id: &str) -> Event {
    let mut accepted: Option<String> = None;
    let mut rejected = None;
    let mut reasons = Vec::new();
    let mut maybe_delivered = false;
    for channel in channels {
        match channel.send(signed, id).await {
            SendOutcome::Accepted => {
                accepted.get_or_insert_with(|| channel.name().to_owned());
            }
            SendOutcome::Rejected { code, reason } => {
                rejected.get_or_insert(Event::Rejected { code, reason });
            }
            SendOutcome::Unavailable { reason, maybe_delivered: m } => {
                maybe_delivered |= m;
                reasons.push(format!("{}: {reason}", channel.name()));
            }
        }
    }
    match (accepted, rejected) {
        (Some(via), _) => Event::Accepted { via },
        (None, Some(rejected)) => rejected,
        (None, None) => Event::SendFailed { reason: reasons.join("; "), maybe_delivered },
    }
}

#[allow(clippy::too_many_arguments)]
async fn poll<C: Channel, O: NonceOracle>(
    queue: &mut Queue,
    store: &impl Store,
    contract: &str,
    channels: &[C],
    oracle: Option<&O>,
    policy: &Policy,
    now_ms: u64,
    report: &mut Report,
) -> Result<(), Problem> {
    let pending: Vec<String> = queue
        .records
        .values()
        .filter(|r| r.signed.recipient == contract)
        .filter(|r| matches!(r.state, State::Sent { .. }) || (matches!(r.state, State::Queued) && r.maybe_delivered))
        .map(|r| r.id.clone())
        .collect();
    for id in pending {
        let record = queue.records[&id].clone();
        let (reported, any_knows, all_unknown) = ask(channels, &id).await;
        // The contract may prune a nonce record NONCE_PRUNE_GRACE_NS after the nonce's expiry: an
        // "unused" read after that is no evidence, so never conclude "expired" from it (an
        // executed payment must never show failed); only a transaction's events can then prove it.
        let chain_read_is_evidence = record
            .signed
            .nonce
            .expiry_ns()
            .saturating_add(outpost_protocol::limits::NONCE_PRUNE_GRACE_NS)
            >= now_ns(now_ms);
        let chain = match oracle {
            Some(oracle) if chain_read_is_evidence => Some(oracle.nonce_status(&record).await),
            _ => None,
        };
        // Past that point a relayer's report, even unproven, means someone still holds the
        // intent's story: the record is neither called lost nor offered again.
        let any_knows = any_knows || (!chain_read_is_evidence && reported.is_some());
        let mut event = match (oracle, chain_read_is_evidence) {
            (Some(oracle), false) => past_the_nonce_record(oracle, &id, reported).await,
            _ => judge(&record, chain.as_ref(), reported.map(Reported::into_event)),
        };
        if event.is_none() && !any_knows {
            // Expired only when the chain, if there is one to ask, was read and shows the nonce
            // unused: an unreadable chain proves nothing.
            let chain_says_unused = matches!(chain, None | Some(Ok(NonceStatus::Unused)));
            if record.deadline_ns.saturating_add(policy.expiry_grace_ms * 1_000_000) < now_ns(now_ms) && chain_read_is_evidence && chain_says_unused {
                event = Some(Event::Expired);
            } else if let (State::Sent { at_ms, .. }, None) = (&record.state, &record.cancelled_by) {
                // Every channel that answered has lost it, or none can vouch for it for a while.
                if all_unknown || now_ms.saturating_sub(*at_ms) >= policy.reoffer_ms {
                    event = Some(Event::Lost);
                }
            }
        }
        let Some(event) = event else { continue };
        let counter = match &event {
            Event::Executed { .. } => &mut report.executed,
            Event::ChainFailed { .. } => &mut report.chain_failed,
            Event::Lost => &mut report.requeued,
            _ => &mut report.expired,
        };
        let executed = matches!(event, Event::Executed { .. });
        if commit(queue, store, &id, event, now_ms, 0).await? {
            *counter += 1;
            // A settled cancellation burns the original's nonce: the original is over.
            if executed {
                if let Some(original) = queue.records[&id].cancels.clone() {
                    commit(queue, store, &original, Event::CancelSettled, now_ms, 0).await?;
                }
            }
        }
    }
    Ok(())
}

/// Asks every channel about `id` until one knows the outcome. Returns that outcome, whether some
/// channel still has it pending, and whether the channels that could answer all said "unknown"
/// (at least one answered; a channel that errored does not count, so a flaky relayer never causes
/// a resend storm).
/// What a sent record's state is, by the chain's word when it can be read: "executed" only when
/// the nonce was spent by this very intent, "failed" when it was spent by another intent or
/// cancelled. A relayer's report is then a hint: its "executed" waits for the chain to show it
/// (its tx hash is kept), and its "failed" counts only for a failure no later state can cure
/// (two relayers racing: the slower one reports `NONCE_USED` for an intent that executed).
/// Without an RPC to ask, the relayers' word stands (there is nothing else to know). Past the
/// point where the contract may prune the nonce's record, see [`past_the_nonce_record`].
fn judge(record: &Record, chain: Option<&Result<NonceStatus, String>>, reported: Option<Event>) -> Option<Event> {
    let reported_tx = match &reported {
        Some(Event::Executed { tx_hash }) => tx_hash.clone(),
        _ => None,
    };
    match chain {
        None => reported,
        Some(Ok(NonceStatus::Executed { intent_hash })) if intent_hash.to_string() == record.id => Some(Event::Executed { tx_hash: reported_tx }),
        Some(Ok(NonceStatus::Executed { intent_hash })) => Some(Event::ChainFailed {
            code: ErrorCode::NonceUsed.as_str().into(),
            reason: format!("its nonce was spent by another intent ({intent_hash}): this one can never execute"),
            tx_hash: None,
        }),
        // Our own cancellation settles the original through its record (`CancelSettled`).
        Some(Ok(NonceStatus::Cancelled)) if record.cancelled_by.is_some() => None,
        Some(Ok(NonceStatus::Cancelled)) => Some(Event::ChainFailed {
            code: ErrorCode::NonceUsed.as_str().into(),
            reason: "its nonce was cancelled: it can never execute".into(),
            tx_hash: None,
        }),
        Some(Ok(NonceStatus::Unused)) => match reported {
            Some(Event::ChainFailed { code, reason, tx_hash })
                if ErrorCode::parse(&code).is_some_and(|c| c.retry() == outpost_protocol::error::Retry::Never) =>
            {
                Some(Event::ChainFailed { code, reason, tx_hash })
            }
            _ => None,
        },
        // The chain cannot be read now: nothing is concluded.
        Some(Err(_)) => None,
    }
}

/// Past the point where the contract may have pruned the nonce's record, `nonce_status` proves
/// nothing either way. What remains is the transaction a relayer names: "executed" only when its
/// receipts' `executed` event lists this intent. A report without a transaction to check, a
/// transaction that does not list it, and any "failed" (the intent may have executed through
/// another relayer) prove nothing: the record waits as it is, never shown settled on a hint.
async fn past_the_nonce_record<O: NonceOracle>(oracle: &O, id: &str, reported: Option<Reported>) -> Option<Event> {
    match reported {
        Some(Reported::Executed { tx_hash: Some(tx), sender: Some(sender) }) => {
            matches!(oracle.executed_in_tx(&tx, &sender, id).await, Ok(true)).then_some(Event::Executed { tx_hash: Some(tx) })
        }
        _ => None,
    }
}

/// A channel's word on an intent's outcome.
enum Reported {
    Executed { tx_hash: Option<String>, sender: Option<String> },
    Failed { code: String, reason: String, tx_hash: Option<String> },
}

impl Reported {
    fn into_event(self) -> Event {
        match self {
            Reported::Executed { tx_hash, .. } => Event::Executed { tx_hash },
            Reported::Failed { code, reason, tx_hash } => Event::ChainFailed { code, reason, tx_hash },
        }
    }
}

async fn ask<C: Channel>(channels: &[C], id: &str) -> (Option<Reported>, bool, bool) {
    let (mut pending, mut unknown) = (false, false);
    for channel in channels {
        match channel.status(id).await {
            Ok(ChannelStatus::Executed { tx_hash, sender }) => return (Some(Reported::Executed { tx_hash, sender }), false, false),
            Ok(ChannelStatus::Failed { code, reason, tx_hash }) => {
                return (Some(Reported::Failed { code, reason, tx_hash }), false, false)
            }
            Ok(ChannelStatus::Pending) => pending = true,
            Ok(ChannelStatus::Unknown) => unknown = true,
            Err(_) => {}
        }
    }
    (None, pending, unknown && !pending)
}

/// Runs a future to completion on this thread (native tests and tools; the browser uses its own
/// executor). The fakes here never return `Pending`, so a no-op waker is enough.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Records a new signed intent: durable first, then in memory. Returns the record as stored and
/// whether it is new (queueing the same intent twice returns the existing record).
pub async fn enqueue(queue: &mut Queue, store: &impl Store, record: Record) -> Result<(Record, bool), Problem> {
    if let Some(existing) = queue.records.get(&record.id) {
        return Ok((existing.clone(), false));
    }
    store.put(std::slice::from_ref(&record)).await?;
    Ok(queue.insert(record))
}
