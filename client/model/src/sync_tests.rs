//! The sync loop against fakes: a store that can refuse writes (a crash mid-pass), a relayer
//! behind a connectivity switch, and a chain that knows used nonces.

use crate::compose::cancellation;
use crate::queue::{new_record, Queue, Record, State};
use crate::gossip::{GossipView, NodeEvent};
use crate::sync::*;
use crate::testutil::{key, signed_transfer, signed_transfer_until, CONTRACT, NOW_MS};
use crate::Problem;
use outpost_protocol::SignedIntent;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
struct MemStore {
    disk: RefCell<BTreeMap<String, Record>>,
    fail_next: Cell<bool>,
}

impl Store for MemStore {
    async fn put(&self, records: &[Record]) -> Result<(), Problem> {
        if self.fail_next.replace(false) {
            return Err(Problem::new("disk full"));
        }
        let mut d = self.disk.borrow_mut();
        for r in records {
            d.insert(r.id.clone(), r.clone());
        }
        Ok(())
    }
}

impl MemStore {
    /// What a reload after a crash would see.
    fn reload(&self) -> Queue {
        Queue::from_records(self.disk.borrow().values().cloned())
    }
}

#[derive(Default)]
struct Relayer {
    online: Cell<bool>,
    /// Every POST that arrived, duplicates included.
    posts: RefCell<Vec<String>>,
    status: RefCell<BTreeMap<String, ChannelStatus>>,
    reject: RefCell<BTreeSet<String>>,
    server_error: Cell<bool>,
}

impl Channel for Relayer {
    fn name(&self) -> &str {
        "relayer"
    }
    async fn send(&self, _signed: &SignedIntent, id: &str) -> SendOutcome {
        if !self.online.get() {
            return SendOutcome::Unavailable { reason: "offline".into(), maybe_delivered: false };
        }
        if self.server_error.get() {
            return SendOutcome::Unavailable { reason: "HTTP 503".into(), maybe_delivered: true };
        }
        self.posts.borrow_mut().push(id.to_owned());
        if self.reject.borrow().contains(id) {
            return SendOutcome::Rejected { code: "NONCE_USED".into(), reason: "used".into() };
        }
        self.status.borrow_mut().entry(id.to_owned()).or_insert(ChannelStatus::Pending);
        SendOutcome::Accepted
    }
    async fn status(&self, id: &str) -> Result<ChannelStatus, String> {
        if !self.online.get() {
            return Err("offline".into());
        }
        Ok(self.status.borrow().get(id).cloned().unwrap_or(ChannelStatus::Unknown))
    }
}

#[derive(Default)]
struct Chain {
    /// Records whose nonce an executed intent spent: by the record itself, or by the intent with
    /// the hash given in `spent_by`.
    used: RefCell<BTreeSet<String>>,
    spent_by: RefCell<BTreeMap<String, outpost_protocol::IntentHash>>,
    cancelled: RefCell<BTreeSet<String>>,
    down: Cell<bool>,
    /// Transactions an RPC node still has, by (hash, signer): the intent hashes their intents
    /// contract receipts' `executed` events list.
    txs: RefCell<BTreeMap<(String, String), Vec<String>>>,
    /// `nonce_status` reads made (past the pruning point there must be none).
    nonce_reads: Cell<usize>,
}

impl NonceOracle for Chain {
    async fn nonce_status(&self, record: &Record) -> Result<outpost_protocol::abi::NonceStatus, String> {
        use outpost_protocol::abi::NonceStatus;
        self.nonce_reads.set(self.nonce_reads.get() + 1);
        if self.down.get() {
            return Err("the RPC node is down".into());
        }
        if let Some(other) = self.spent_by.borrow().get(&record.id) {
            return Ok(NonceStatus::Executed { intent_hash: *other });
        }
        if self.cancelled.borrow().contains(&record.id) {
            return Ok(NonceStatus::Cancelled);
        }
        Ok(match self.used.borrow().contains(&record.id) {
            true => NonceStatus::Executed { intent_hash: record.id.parse().unwrap() },
            false => NonceStatus::Unused,
        })
    }
    async fn executed_in_tx(&self, tx_hash: &str, sender: &str, id: &str) -> Result<bool, String> {
        if self.down.get() {
            return Err("the RPC node is down".into());
        }
        match self.txs.borrow().get(&(tx_hash.to_owned(), sender.to_owned())) {
            Some(listed) => Ok(listed.iter().any(|h| h == id)),
            None => Err(format!("Transaction {tx_hash} doesn't exist")),
        }
    }
}

fn rec(n: u8) -> Record {
    new_record(signed_transfer(n), format!("t{n}"), NOW_MS).unwrap()
}

struct World {
    q: Queue,
    store: MemStore,
    relayer: [Relayer; 1],
    chain: Chain,
    policy: Policy,
}

impl World {
    fn new() -> World {
        World { q: Queue::default(), store: MemStore::default(), relayer: [Relayer::default()], chain: Chain::default(), policy: Policy::default() }
    }
    fn pass(&mut self, now: u64, online: bool) -> Report {
        block_on(sync_once(&mut self.q, &self.store, CONTRACT, &self.relayer, Some(&self.chain), &self.policy, now, online))
    }
    fn add(&mut self, r: Record) -> bool {
        block_on(enqueue(&mut self.q, &self.store, r)).unwrap().1
    }
    fn state(&self, id: &str) -> &'static str {
        self.q.records[id].state.name()
    }
}

#[test]
fn offline_waits_online_sends_then_executes() {
    let mut w = World::new();
    let r = rec(1);
    let id = r.id.clone();
    assert!(w.add(r));
    assert_eq!(w.store.disk.borrow().len(), 1, "written before it counts as queued");
    // Offline: nothing is tried, nothing counts as a failure.
    assert_eq!(w.pass(NOW_MS, false), Report::default());
    assert_eq!(w.q.records[&id].attempts, 0);
    w.relayer[0].online.set(true);
    assert_eq!(w.pass(NOW_MS + 1, true).sent, 1);
    assert_eq!(w.state(&id), "sent");
    assert_eq!(w.store.disk.borrow()[&id].state.name(), "sent");
    // Pending at the relayer: stays sent.
    assert_eq!(w.pass(NOW_MS + 2, true), Report::default());
    // The relayer says executed: a hint until the chain shows the nonce spent by this intent.
    w.relayer[0].status.borrow_mut().insert(id.clone(), ChannelStatus::Executed { tx_hash: Some("TX1".into()), sender: None });
    assert_eq!(w.pass(NOW_MS + 3, true), Report::default());
    assert_eq!(w.state(&id), "sent");
    w.chain.used.borrow_mut().insert(id.clone());
    assert_eq!(w.pass(NOW_MS + 4, true).executed, 1);
    assert_eq!(w.q.records[&id].state, State::Executed { tx_hash: Some("TX1".into()), at_ms: NOW_MS + 4 }, "with the relayer's tx hash");
    assert_eq!(*w.relayer[0].posts.borrow(), vec![id]);
}

#[test]
fn nonce_seen_used_on_chain_marks_executed() {
    let mut w = World::new();
    let r = rec(2);
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    w.pass(NOW_MS, true);
    w.chain.used.borrow_mut().insert(id.clone());
    assert_eq!(w.pass(NOW_MS + 1, true).executed, 1);
    assert_eq!(w.q.records[&id].state, State::Executed { tx_hash: None, at_ms: NOW_MS + 1 });
}

#[test]
fn server_errors_back_off_exponentially() {
    let mut w = World::new();
    let r = rec(3);
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    w.relayer[0].server_error.set(true);
    let mut now = NOW_MS;
    let mut waits = vec![];
    for _ in 0..10 {
        assert_eq!(w.pass(now, true).failed_attempts, 1);
        let next = w.q.records[&id].next_attempt_ms;
        waits.push(next - now);
        // Not due before its time: a pass in between does nothing.
        assert_eq!(w.pass(next - 1, true).failed_attempts, 0);
        now = next;
    }
    // ~1 s, 2 s, 4 s ... capped at 60 s, each within ±25%.
    for (i, wait) in waits.iter().enumerate() {
        let raw = (1000u64 << i).min(60_000);
        assert!(*wait >= raw - raw / 4 && *wait <= raw + raw / 4, "attempt {i}: {wait} vs {raw}");
    }
    assert!(w.q.records[&id].maybe_delivered, "a 503 may have been processed");
    assert!(w.q.check_discard(&id).is_err());
    w.relayer[0].server_error.set(false);
    assert_eq!(w.pass(now, true).sent, 1);
    assert_eq!(w.q.records[&id].attempts, 0);
}

#[test]
fn backoff_policy_bounds_and_spread() {
    let p = Policy::default();
    assert_eq!(p.backoff_ms(0, "a"), p.backoff_ms(0, "a"), "deterministic");
    let spread: BTreeSet<u64> = (0..20).map(|i| p.backoff_ms(5, &format!("id{i}"))).collect();
    assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
    for a in 0..100 {
        let b = p.backoff_ms(a, "x");
        assert!(b >= 750 && b <= 75_000, "{a}: {b}");
    }
    let mut q = Queue::default();
    assert_eq!(p.next_wake(&q, 5), None);
    q.insert(rec(4));
    assert_eq!(p.next_wake(&q, NOW_MS + 10), Some(NOW_MS + 10));
}

#[test]
fn a_failed_write_shows_nothing_and_is_retried() {
    let mut w = World::new();
    let r = rec(5);
    let id = r.id.clone();
    w.store.fail_next.set(true);
    assert!(block_on(enqueue(&mut w.q, &w.store, r.clone())).is_err());
    assert!(w.q.records.is_empty(), "not shown as queued when the write failed");
    w.add(r);
    w.relayer[0].online.set(true);
    // The relayer accepts, but the write of "sent" fails (as if the tab crashed right then).
    w.store.fail_next.set(true);
    let report = w.pass(NOW_MS, true);
    assert_eq!(report.store_error.as_deref(), Some("disk full"));
    assert_eq!(w.state(&id), "queued", "memory never runs ahead of the disk");
    // Next pass sends again (the relayer dedups by hash) and records it.
    assert_eq!(w.pass(NOW_MS + 1, true).sent, 1);
    assert_eq!(w.relayer[0].posts.borrow().len(), 2);
    assert_eq!(w.store.disk.borrow()[&id].state.name(), "sent");
}

#[test]
fn rejection_is_final_with_reason() {
    let mut w = World::new();
    let r = rec(6);
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    w.relayer[0].reject.borrow_mut().insert(id.clone());
    assert_eq!(w.pass(NOW_MS, true).rejected, 1);
    assert!(matches!(&w.q.records[&id].state, State::Failed { code, .. } if code == "NONCE_USED"));
    assert_eq!(w.pass(NOW_MS + 100_000, true), Report::default(), "never retried");
}

#[test]
fn a_relayer_that_forgot_gets_it_again() {
    let mut w = World::new();
    let r = rec(7);
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    w.pass(NOW_MS, true);
    w.relayer[0].status.borrow_mut().clear(); // relayer restarted without it
    assert_eq!(w.pass(NOW_MS + 1, true).requeued, 1);
    assert_eq!(w.state(&id), "queued");
    assert_eq!(w.pass(NOW_MS + 2, true).sent, 1);
    assert_eq!(*w.relayer[0].posts.borrow(), vec![id.clone(), id]);
}

#[test]
fn expired_intents_fail_instead_of_waiting_forever() {
    let mut w = World::new();
    let r = new_record(signed_transfer_until(8, NOW_MS * 1_000_000 + 1_000_000), "t".into(), NOW_MS).unwrap();
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    assert_eq!(w.pass(NOW_MS + 5, true).expired, 1);
    assert!(matches!(&w.q.records[&id].state, State::Failed { code, .. } if code == "DEADLINE_EXPIRED"));
    assert!(w.relayer[0].posts.borrow().is_empty());
}

#[test]
fn after_the_prune_grace_an_unused_nonce_is_no_evidence() {
    // Sent, then the device was offline for longer than the contract keeps nonce records: the
    // chain may have pruned the nonce of an executed intent, so it is not called expired.
    let mut w = World::new();
    let r = rec(11);
    let id = r.id.clone();
    let expiry_ms = r.signed.nonce.expiry_ns() / 1_000_000;
    w.add(r);
    w.relayer[0].online.set(true);
    assert_eq!(w.pass(NOW_MS, true).sent, 1);
    w.relayer[0].online.set(false);
    let grace_ms = outpost_protocol::limits::NONCE_PRUNE_GRACE_NS / 1_000_000;
    for later in [1, 2, 60_000] {
        assert_eq!(w.pass(expiry_ms + grace_ms + later, true).expired, 0);
        assert_ne!(w.state(&id), "failed");
    }
    // Within the grace period the same read is evidence.
    let mut w = World::new();
    let r = rec(12);
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    w.pass(NOW_MS, true);
    w.relayer[0].online.set(false);
    assert_eq!(w.pass(expiry_ms + w.policy.expiry_grace_ms + 1, true).expired, 1);
    assert_eq!(w.state(&id), "failed");
}

#[test]
fn past_the_nonce_records_pruning_the_record_is_found_only_in_events() {
    // Sent, then offline for longer than the contract keeps nonce records. Back online, the
    // relayer says "executed": only the transaction's `executed` event can prove it now.
    let mut w = World::new();
    let r = rec(13);
    let id = r.id.clone();
    let expiry_ms = r.signed.nonce.expiry_ns() / 1_000_000;
    w.add(r);
    w.relayer[0].online.set(true);
    assert_eq!(w.pass(NOW_MS, true).sent, 1);
    let late = expiry_ms + outpost_protocol::limits::NONCE_PRUNE_GRACE_NS / 1_000_000 + 1;
    let reads = w.chain.nonce_reads.get();
    let executed = |tx: &str, sender: Option<&str>| ChannelStatus::Executed { tx_hash: Some(tx.into()), sender: sender.map(Into::into) };
    let report = |w: &World, s: ChannelStatus| w.relayer[0].status.borrow_mut().insert(id.clone(), s);

    // A report that names no signer cannot be looked up: a hint, never shown as settled, and,
    // since someone holds it, not offered again either (however long it waits).
    report(&w, executed("T1", None));
    for later in [0, w.policy.reoffer_ms, 10 * w.policy.reoffer_ms] {
        assert_eq!(w.pass(late + later, true), Report::default());
        assert_eq!(w.state(&id), "sent");
    }
    // A "failed" proves nothing either: it may have executed through another relayer.
    report(&w, ChannelStatus::Failed { code: "NONCE_USED".into(), reason: "r".into(), tx_hash: None });
    assert_eq!(w.pass(late + 1, true), Report::default());
    assert_eq!(w.state(&id), "sent");
    // A transaction that the RPC no longer has (not an archival node), or whose event lists
    // other intents (a relayer naming the wrong one), proves nothing.
    report(&w, executed("T1", Some("relayer.near")));
    assert_eq!(w.pass(late + 2, true), Report::default());
    w.chain.txs.borrow_mut().insert(("T1".into(), "relayer.near".into()), vec![rec(14).id, rec(15).id]);
    assert_eq!(w.pass(late + 3, true), Report::default());
    assert_eq!(w.state(&id), "sent");
    // The transaction it names lists it in its event: executed, with that transaction.
    w.chain.txs.borrow_mut().insert(("T2".into(), "relayer.near".into()), vec![rec(14).id, id.clone()]);
    report(&w, executed("T2", Some("relayer.near")));
    w.chain.down.set(true);
    assert_eq!(w.pass(late + 4, true), Report::default(), "an unreadable chain proves nothing");
    w.chain.down.set(false);
    assert_eq!(w.pass(late + 5, true).executed, 1);
    assert_eq!(w.q.records[&id].state, State::Executed { tx_hash: Some("T2".into()), at_ms: late + 5 });
    assert_eq!(w.chain.nonce_reads.get(), reads, "no pruned nonce record was read as evidence");
    assert_eq!(w.store.reload(), w.q);
}

#[test]
fn a_maybe_delivered_intent_past_its_deadline_is_not_called_expired_by_a_send() {
    let mut w = World::new();
    let deadline_ns = NOW_MS * 1_000_000 + 1_000_000;
    let r = new_record(signed_transfer_until(9, deadline_ns), "t".into(), NOW_MS).unwrap();
    let id = r.id.clone();
    w.add(r);
    // The relayer answered 503: it may have the intent.
    w.relayer[0].online.set(true);
    w.relayer[0].server_error.set(true);
    assert_eq!(w.pass(NOW_MS, true).failed_attempts, 1);
    assert!(w.q.records[&id].maybe_delivered);
    // Past the deadline: not sent again (it would be refused as expired), not failed either...
    w.relayer[0].server_error.set(false);
    assert_eq!(w.pass(NOW_MS + 5, true), Report::default());
    assert_eq!(w.state(&id), "queued");
    assert!(w.relayer[0].posts.borrow().is_empty());
    // ...because the chain may say it settled in time.
    w.chain.used.borrow_mut().insert(id.clone());
    assert_eq!(w.pass(NOW_MS + 6, true).executed, 1);
    // Had it not, the grace period ends it.
    let r = new_record(signed_transfer_until(10, deadline_ns), "t".into(), NOW_MS).unwrap();
    let other = r.id.clone();
    w.add(r);
    w.relayer[0].server_error.set(true);
    w.pass(NOW_MS, true);
    w.relayer[0].server_error.set(false);
    assert_eq!(w.pass(NOW_MS + w.policy.expiry_grace_ms + 2, true).expired, 1);
    assert!(matches!(&w.q.records[&other].state, State::Failed { code, .. } if code == "DEADLINE_EXPIRED"));
}

#[test]
fn a_relayers_report_is_a_hint_and_the_chain_decides() {
    let mut w = World::new();
    let sent = |w: &mut World, n: u8| {
        let r = rec(n);
        let id = r.id.clone();
        w.add(r);
        w.relayer[0].online.set(true);
        assert_eq!(w.pass(NOW_MS, true).sent, 1);
        id
    };
    let failed = |code: &str| ChannelStatus::Failed { code: code.into(), reason: "r".into(), tx_hash: None };

    // Two relayers raced: the slower one reports NONCE_USED, the chain shows this very intent
    // spent the nonce. Executed, never failed (the user must not pay again).
    let raced = sent(&mut w, 60);
    w.relayer[0].status.borrow_mut().insert(raced.clone(), failed("NONCE_USED"));
    assert_eq!(w.pass(NOW_MS + 1, true), Report::default());
    assert_eq!(w.state(&raced), "sent");
    w.chain.used.borrow_mut().insert(raced.clone());
    assert_eq!(w.pass(NOW_MS + 2, true).executed, 1);

    // A failure no later state can cure is final at once (the dApp checked these before
    // sending, so it means a defect somewhere, but it is the truth about this intent).
    let forged = sent(&mut w, 61);
    w.relayer[0].status.borrow_mut().insert(forged.clone(), failed("SIGNATURE_INVALID"));
    assert_eq!(w.pass(NOW_MS + 3, true).chain_failed, 1);

    // A curable failure (no balance yet) is a hint: other relayers, or this one later, may still
    // settle it; past the deadline with the nonce unused on chain it expired.
    let broke = sent(&mut w, 62);
    w.relayer[0].status.borrow_mut().insert(broke.clone(), failed("INSUFFICIENT_BALANCE"));
    assert_eq!(w.pass(NOW_MS + 4, true), Report::default());
    let deadline_ms = w.q.records[&broke].deadline_ns / 1_000_000;
    let late = deadline_ms + w.policy.expiry_grace_ms + 1;
    // The chain cannot be read: nothing is concluded, not even past the deadline.
    w.chain.down.set(true);
    assert_eq!(w.pass(late, true).expired, 0);
    assert!(!matches!(w.state(&broke), "failed" | "executed"), "{}", w.state(&broke));
    w.chain.down.set(false);
    assert_eq!(w.pass(late + 1, true).expired, 1);
    assert!(matches!(&w.q.records[&broke].state, State::Failed { code, .. } if code == "DEADLINE_EXPIRED"));

    // Cancelled by someone else (from another device): it can never execute.
    let cancelled = sent(&mut w, 63);
    w.chain.cancelled.borrow_mut().insert(cancelled.clone());
    assert_eq!(w.pass(NOW_MS + 5, true).chain_failed, 1);
    assert!(matches!(&w.q.records[&cancelled].state, State::Failed { code, reason, .. } if code == "NONCE_USED" && reason.contains("cancelled")));
    assert_eq!(w.store.reload(), w.q, "disk and memory agree");
}

#[test]
fn a_record_is_sent_and_polled_only_on_the_network_it_was_signed_for() {
    let mut w = World::new();
    let r = rec(70);
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    // Another network is selected (its contract differs): the record waits, untouched, even past
    // its deadline, instead of being refused there as WRONG_RECIPIENT and failed for good.
    let elsewhere = |w: &mut World, now| block_on(sync_once(&mut w.q, &w.store, "intents.other.near", &w.relayer, Some(&w.chain), &w.policy, now, true));
    assert_eq!(elsewhere(&mut w, NOW_MS), Report::default());
    assert!(w.relayer[0].posts.borrow().is_empty());
    assert_eq!(w.state(&id), "queued");
    // Back on its network: sent, then settled by the chain's word.
    assert_eq!(w.pass(NOW_MS + 1, true).sent, 1);
    w.chain.used.borrow_mut().insert(id.clone());
    assert_eq!(elsewhere(&mut w, NOW_MS + 2), Report::default(), "not polled from another network");
    assert_eq!(w.state(&id), "sent");
    assert_eq!(w.pass(NOW_MS + 3, true).executed, 1);
    let deadline_ms = w.q.records[&id].deadline_ns / 1_000_000;
    let r = rec(71);
    let late = r.id.clone();
    w.add(r);
    assert_eq!(elsewhere(&mut w, deadline_ms + 1), Report::default());
    assert_eq!(w.state(&late), "queued", "its expiry is judged on its own network");
}

#[test]
fn cancellation_settles_the_original() {
    let mut w = World::new();
    let orig = rec(9);
    let oid = orig.id.clone();
    w.add(orig);
    w.relayer[0].online.set(true);
    w.pass(NOW_MS, true);
    let nonce = w.q.records[&oid].signed.nonce;
    let intent = cancellation(&key().public_key().implicit_account_id(), vec![nonce], NOW_MS * 1_000_000, 24).unwrap();
    let signed = key().sign_intent(&intent, outpost_protocol::Nonce::new(intent.deadline.0, [200; 24]), "intents.test.near");
    let cancel = new_record(signed, "cancel".into(), NOW_MS).unwrap();
    let cid = cancel.id.clone();
    let both = w.q.link_cancellation(&oid, cancel, NOW_MS).unwrap();
    block_on(w.store.put(&both)).unwrap();
    assert_eq!(w.pass(NOW_MS + 1, true).sent, 1);
    w.relayer[0].status.borrow_mut().insert(cid.clone(), ChannelStatus::Executed { tx_hash: Some("C".into()), sender: None });
    w.chain.used.borrow_mut().insert(cid.clone());
    // The original's nonce reads "cancelled" on chain; the cancellation's record settles it.
    w.chain.cancelled.borrow_mut().insert(oid.clone());
    w.pass(NOW_MS + 2, true);
    assert_eq!(w.state(&cid), "executed");
    assert!(matches!(&w.q.records[&oid].state, State::Failed { code, .. } if code == "CANCELLED"));
    assert_eq!(w.store.reload(), w.q, "disk and memory agree");
}

/// xorshift64*: a deterministic "random" schedule, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[test]
fn two_hundred_flaps_lose_and_duplicate_nothing() {
    let mut w = World::new();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut now = NOW_MS;
    let mut enqueued = BTreeSet::new();
    let mut n: u8 = 10;
    let mut crashes = 0;
    let mut failed_writes = 0;
    let flaps = 200;
    for _ in 0..flaps {
        let online = !w.relayer[0].online.get();
        w.relayer[0].online.set(online);
        for _ in 0..(rng.next() % 4) {
            if rng.chance(50) && n < 250 {
                let r = rec(n);
                n += 1;
                if block_on(enqueue(&mut w.q, &w.store, r.clone())).is_err() {
                    // The write was refused: the user saw an error, not "queued", and tries again.
                    assert!(!w.q.records.contains_key(&r.id));
                }
                enqueued.insert(r.id.clone());
                // Queueing the same intent again never makes a second record.
                w.add(r.clone());
                assert!(!w.add(r));
            }
            if rng.chance(15) {
                w.store.fail_next.set(true);
                failed_writes += 1;
            }
            now += rng.next() % 3_000;
            let report = w.pass(now, online);
            if report.store_error.is_some() {
                // The write failed, so nothing was shown; the store refuses no more writes.
                w.store.fail_next.set(false);
            }
            if rng.chance(10) {
                // Tab crash: memory is gone, the disk is all there is.
                w.q = w.store.reload();
                crashes += 1;
            }
            assert_eq!(w.store.reload().records.keys().collect::<Vec<_>>(), w.q.records.keys().collect::<Vec<_>>());
        }
    }
    // Settle: online until every record is sent (backoff at most 75 s).
    w.relayer[0].online.set(true);
    w.store.fail_next.set(false);
    for _ in 0..10 {
        now += 80_000;
        w.pass(now, true);
    }
    let disk = w.store.reload();
    let ids: BTreeSet<String> = disk.records.keys().cloned().collect();
    assert_eq!(ids, enqueued, "no record lost, none invented");
    assert!(disk.records.values().all(|r| r.state.name() == "sent"), "{:?}", disk.counts());
    let posted: BTreeSet<String> = w.relayer[0].posts.borrow().iter().cloned().collect();
    assert_eq!(posted, enqueued, "every intent reached the relayer");
    let resends = w.relayer[0].posts.borrow().len() - posted.len();
    eprintln!(
        "flaps: {flaps}, intents: {}, crashes: {crashes}, refused writes: {failed_writes}, idempotent resends: {resends}",
        enqueued.len()
    );
    assert!(enqueued.len() > 50);
}

#[test]
fn split_passes_and_retry_now() {
    let mut w = World::new();
    let r = rec(240);
    let id = r.id.clone();
    w.add(r);
    w.relayer[0].online.set(true);
    w.relayer[0].server_error.set(true);
    let rep = block_on(send_pass(&mut w.q, &w.store, CONTRACT, &w.relayer, &w.policy, NOW_MS));
    assert!(rep.changed() && rep.failed_attempts == 1);
    assert!(w.q.records[&id].next_attempt_ms > NOW_MS);
    let changed = retry_now(&mut w.q, NOW_MS + 1);
    assert_eq!(changed.len(), 1);
    assert!(w.q.records[&id].due(NOW_MS + 1));
    w.relayer[0].server_error.set(false);
    assert_eq!(block_on(send_pass(&mut w.q, &w.store, CONTRACT, &w.relayer, &w.policy, NOW_MS + 1)).sent, 1);
    w.relayer[0].status.borrow_mut().insert(id.clone(), ChannelStatus::Failed { code: "X".into(), reason: "y".into(), tx_hash: None });
    let rep = block_on(poll_pass(&mut w.q, &w.store, CONTRACT, &w.relayer, None::<&NoOracle>, &w.policy, NOW_MS + 2));
    assert_eq!(rep.chain_failed, 1);
    assert_eq!(w.state(&id), "failed");
}

/// The gossip channel as the app builds it over the browser node: [`GossipView`] decides, the
/// node only publishes (here: `deliver` says whether a peer takes it).
struct Gossip {
    view: RefCell<GossipView>,
    published: RefCell<Vec<String>>,
    deliver: Cell<bool>,
}

impl Channel for Gossip {
    fn name(&self) -> &str {
        "p2p"
    }
    async fn send(&self, _signed: &SignedIntent, id: &str) -> SendOutcome {
        if let Some(refused) = self.view.borrow().before_send() {
            return refused;
        }
        self.published.borrow_mut().push(id.to_owned());
        if self.deliver.get() {
            self.view.borrow_mut().apply(NodeEvent::Published { id: id.to_owned() });
        }
        self.view.borrow().after_publish(id)
    }
    async fn status(&self, id: &str) -> Result<ChannelStatus, String> {
        self.view.borrow().status(id)
    }
}

/// Gossip first, relayer second, as the app orders them.
enum Either {
    Gossip(Gossip),
    Relayer(Relayer),
}

impl Channel for Either {
    fn name(&self) -> &str {
        match self {
            Either::Gossip(c) => c.name(),
            Either::Relayer(c) => c.name(),
        }
    }
    async fn send(&self, signed: &SignedIntent, id: &str) -> SendOutcome {
        match self {
            Either::Gossip(c) => c.send(signed, id).await,
            Either::Relayer(c) => c.send(signed, id).await,
        }
    }
    async fn status(&self, id: &str) -> Result<ChannelStatus, String> {
        match self {
            Either::Gossip(c) => c.status(id).await,
            Either::Relayer(c) => c.status(id).await,
        }
    }
}

#[test]
fn gossip_and_relayer_together() {
    const PEER: &str = "12D3KooWRelayer";
    let peers = [format!("/ip4/127.0.0.1/tcp/4002/ws/p2p/{PEER}")];
    let channels = [
        Either::Gossip(Gossip { view: RefCell::new(GossipView::new(&peers)), published: RefCell::default(), deliver: Cell::new(true) }),
        Either::Relayer(Relayer::default()),
    ];
    let (Either::Gossip(gossip), Either::Relayer(relayer)) = (&channels[0], &channels[1]) else { unreachable!() };
    let (mut q, store, chain, policy) = (Queue::default(), MemStore::default(), Chain::default(), Policy::default());
    let pass = |q: &mut Queue, now| block_on(sync_once(q, &store, CONTRACT, &channels, Some(&chain), &policy, now, true));
    let r = rec(40);
    let id = r.id.clone();
    block_on(enqueue(&mut q, &store, r)).unwrap();

    // Neither can take it: one failed attempt naming both, safe to discard still.
    assert_eq!(pass(&mut q, NOW_MS).failed_attempts, 1);
    let last = q.records[&id].last_error.clone().unwrap();
    assert!(last.contains("p2p: no gossip peer connected") && last.contains("relayer: offline"), "{last}");
    assert!(!q.records[&id].maybe_delivered);

    // A peer subscribes; the relayer is still down: gossip alone makes it sent.
    gossip.view.borrow_mut().apply(NodeEvent::Connected { peer: PEER.into() });
    gossip.view.borrow_mut().apply(NodeEvent::PeerSubscribed { peer: PEER.into() });
    assert_eq!(pass(&mut q, NOW_MS + 60_000).sent, 1);
    assert_eq!(q.records[&id].state, State::Sent { via: "p2p".into(), at_ms: NOW_MS + 60_000 });
    // Gossip heard nothing yet and the relayer cannot be asked: no answer, so nothing moves.
    assert_eq!(pass(&mut q, NOW_MS + 60_001), Report::default());

    // The relayer is back but never heard of it (not on the mesh): sent again, to both.
    relayer.online.set(true);
    assert_eq!(pass(&mut q, NOW_MS + 60_002).requeued, 1);
    assert_eq!(pass(&mut q, NOW_MS + 60_003).sent, 1);
    assert_eq!(*relayer.posts.borrow(), vec![id.clone()]);
    assert_eq!(*gossip.published.borrow(), vec![id.clone(), id.clone()], "re-publishing is idempotent by hash");

    // A stranger's report is ignored; the configured relayer's report settles it (the app
    // watches the queue's unsettled records).
    gossip.view.borrow_mut().watch(q.records.keys().cloned());
    let report = |author: &str| NodeEvent::Status {
        id: id.clone(),
        status: outpost_protocol::gossip::IntentStatus::Failed { code: "NONCE_USED".into(), reason: String::new() },
        author: Some(author.into()),
    };
    gossip.view.borrow_mut().apply(report("12D3KooWStranger"));
    assert_eq!(pass(&mut q, NOW_MS + 60_004), Report::default());
    gossip.view.borrow_mut().apply(report(PEER));
    // Its NONCE_USED is a hint (a racing relayer says so of an intent that executed): the chain
    // decides, and it shows the nonce spent by another intent.
    assert_eq!(pass(&mut q, NOW_MS + 60_005), Report::default());
    chain.spent_by.borrow_mut().insert(id.clone(), outpost_protocol::IntentHash([9; 32]));
    assert_eq!(pass(&mut q, NOW_MS + 60_006).chain_failed, 1);
    assert!(matches!(&q.records[&id].state, State::Failed { code, .. } if code == "NONCE_USED"));

    // Accepted by one channel and refused by the other: it is out there, so it counts as sent.
    let r = rec(41);
    let id = r.id.clone();
    block_on(enqueue(&mut q, &store, r)).unwrap();
    relayer.reject.borrow_mut().insert(id.clone());
    assert_eq!(pass(&mut q, NOW_MS + 60_006).sent, 1);
    // Refused by the relayer and no peer takes it in time: final, with the relayer's reason.
    let r = rec(42);
    let id = r.id.clone();
    block_on(enqueue(&mut q, &store, r)).unwrap();
    relayer.reject.borrow_mut().insert(id.clone());
    gossip.deliver.set(false);
    assert_eq!(pass(&mut q, NOW_MS + 60_007).rejected, 1);
    assert!(matches!(&q.records[&id].state, State::Failed { code, .. } if code == "NONCE_USED"));
}

#[test]
fn unconfirmed_gossip_is_offered_again() {
    const PEER: &str = "12D3KooWRelayer";
    let peers = [format!("/ip4/127.0.0.1/tcp/4002/ws/p2p/{PEER}")];
    let gossip = [Gossip { view: RefCell::new(GossipView::new(&peers)), published: RefCell::default(), deliver: Cell::new(true) }];
    gossip[0].view.borrow_mut().apply(NodeEvent::PeerSubscribed { peer: PEER.into() });
    let (mut q, store, chain, policy) = (Queue::default(), MemStore::default(), Chain::default(), Policy::default());
    let pass = |q: &mut Queue, now| block_on(sync_once(q, &store, CONTRACT, &gossip, Some(&chain), &policy, now, true));
    let r = rec(50);
    let id = r.id.clone();
    block_on(enqueue(&mut q, &store, r)).unwrap();
    assert_eq!(pass(&mut q, NOW_MS).sent, 1);
    // Nobody vouches for it, but it is young: it waits.
    assert_eq!(pass(&mut q, NOW_MS + policy.reoffer_ms - 1), Report::default());
    // Still nobody after a while: gossiped again (a peer may have dropped it).
    assert_eq!(pass(&mut q, NOW_MS + policy.reoffer_ms).requeued, 1);
    assert_eq!(pass(&mut q, NOW_MS + policy.reoffer_ms + 1).sent, 1);
    assert_eq!(gossip[0].published.borrow().len(), 2);
    // The chain settles it: no more repeats.
    chain.used.borrow_mut().insert(id.clone());
    assert_eq!(pass(&mut q, NOW_MS + 3 * policy.reoffer_ms).executed, 1);
    assert_eq!(pass(&mut q, NOW_MS + 9 * policy.reoffer_ms), Report::default());
    assert_eq!(gossip[0].published.borrow().len(), 2);
}
