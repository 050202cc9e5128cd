//! The relayer's durable state in redb: every intent it has taken on, until it ends. Each change
//! is one ACID transaction (fsync on commit), so `kill -9` at any point loses nothing: intents are
//! written before they are acknowledged, and a batch is marked submitted (with its transaction
//! hash) before the transaction is sent, so a restart asks the chain what became of it.
//!
//! Rounds do not re-read the store: an in-memory index of the active intents (arrival, back-off,
//! deadline, pending or submitted) is loaded once and kept in step with every write, so a round
//! reads only the records it batches. Ended intents are kept `done` for a while (so statuses can
//! be asked for and re-gossiped copies are not taken again), then pruned.

use outpost_protocol::{IntentHash, SignedIntent, TokenId};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Intents not yet ended: pending or submitted. Key: intent hash; value: JSON [`Record`].
const ACTIVE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("active");
/// Intents that ended. Key: intent hash; value: JSON [`State`].
const DONE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("done");

/// Where an intent is in the relayer's hands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Pending,
    /// Sent in a transaction (or about to be). `signed_tx` (base64 borsh) is kept so that a
    /// transaction the chain does not know yet is re-broadcast as it is, never re-signed while
    /// it could still land.
    Submitted {
        tx_hash: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signed_tx: Option<String>,
    },
    /// `tx_hash` is absent when the chain says the intent executed in a transaction this relayer
    /// did not send (another relayer's, found through `nonce_status`).
    Executed { #[serde(default)] tx_hash: Option<String> },
    Failed { code: String, reason: String, #[serde(default, skip_serializing_if = "Option::is_none")] tx_hash: Option<String> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub signed: SignedIntent,
    pub state: State,
    /// Batches this intent was part of that failed for a reason not its own.
    pub attempts: u32,
    /// Arrival order (ns), so older intents go first.
    pub received_ns: u64,
    /// Not tried again before this time (ns): it failed a check a later chain state may cure.
    #[serde(default)]
    pub not_before_ns: u64,
    /// Times a check failed with a curable error (drives the back-off).
    #[serde(default)]
    pub deferrals: u32,
    /// The last curable failure, shown as the reason an intent is still pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<Waiting>,
}

/// Why a pending intent is waiting: the code and detail of the check it last failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub code: String,
    pub detail: String,
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "relayer store: {}", self.0)
    }
}
impl std::error::Error for StoreError {}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// An active record as stored, when there is one.
fn read_record(table: &impl ReadableTable<&'static [u8], &'static [u8]>, key: &[u8]) -> Result<Option<Record>, StoreError> {
    table.get(key).map_err(err)?.map(|v| serde_json::from_slice(v.value()).map_err(err)).transpose()
}

/// What this relayer agrees to hold (DESIGN.md §6: relayers keep what pays them). Gossip admits
/// any well-signed intent, including floods from fresh zero-balance keys, so a relayer bounds its
/// store: intents that offer less than its fee go to a small low-priority pool, and no signer
/// holds more than a few places. The signer's ability to pay is what `simulate_intents` (a view)
/// says; an intent whose fee cannot be paid waits a little (a deposit may be landing) and is then
/// released (see `RelayerConfig::fee_patience`).
#[derive(Clone, Debug)]
pub struct HoldPolicy {
    /// The fee an intent must offer to join the main pool: a token and its least amount.
    /// `None`: every intent is in the main pool.
    pub min_fee: Option<(TokenId, u128)>,
    /// Intents offering less (or nothing) held at once, at most; batched after paying ones.
    pub free_pool: usize,
    /// Pending intents of one signer, at most.
    pub per_signer: usize,
    /// Pending intents in all, at most.
    pub max_pending: usize,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        HoldPolicy { min_fee: Some((TokenId::Near, 1)), free_pool: 1_000, per_signer: 16, max_pending: 100_000 }
    }
}

impl HoldPolicy {
    /// No bounds (tests of other behaviour).
    pub fn unbounded() -> Self {
        HoldPolicy { min_fee: None, free_pool: usize::MAX, per_signer: usize::MAX, max_pending: usize::MAX }
    }

    fn pays(&self, intent: Option<&outpost_protocol::Intent>) -> bool {
        match (&self.min_fee, intent.and_then(|i| i.fee.as_ref())) {
            (None, _) => true,
            (Some((token, least)), Some(fee)) => fee.token == *token && fee.amount.0 >= *least,
            (Some(_), None) => false,
        }
    }
}

/// What a round needs to know of an active intent without reading its record.
#[derive(Clone, Debug)]
struct Meta {
    received_ns: u64,
    not_before_ns: u64,
    /// `u64::MAX` when the message does not decode (simulation will say why).
    deadline_ns: u64,
    pending: bool,
    signer: String,
    /// In the low-priority pool: it offers less than the relayer's fee.
    free: bool,
}

impl Meta {
    fn of(record: &Record, policy: &HoldPolicy) -> Meta {
        let intent = outpost_protocol::validate::decode_intent(&record.signed.message).ok();
        Meta {
            received_ns: record.received_ns,
            not_before_ns: record.not_before_ns,
            deadline_ns: intent.as_ref().map_or(u64::MAX, |i| i.deadline.0),
            pending: record.state == State::Pending,
            signer: intent.as_ref().map(|i| i.signer_id.to_string()).unwrap_or_default(),
            free: !policy.pays(intent.as_ref()),
        }
    }
}

/// The in-memory index: active intents, and the counts admission bounds.
#[derive(Default)]
struct Index {
    metas: std::collections::HashMap<IntentHash, Meta>,
    per_signer: std::collections::HashMap<String, usize>,
    free: usize,
}

impl Index {
    fn insert(&mut self, hash: IntentHash, meta: Meta) {
        self.remove(&hash);
        *self.per_signer.entry(meta.signer.clone()).or_default() += 1;
        self.free += usize::from(meta.free);
        self.metas.insert(hash, meta);
    }

    fn remove(&mut self, hash: &IntentHash) {
        if let Some(old) = self.metas.remove(hash) {
            self.free -= usize::from(old.free);
            if let Some(n) = self.per_signer.get_mut(&old.signer) {
                *n -= 1;
                if *n == 0 {
                    self.per_signer.remove(&old.signer);
                }
            }
        }
    }

    /// Why `meta` may not join, if it may not.
    fn refuses(&self, meta: &Meta, policy: &HoldPolicy) -> Option<&'static str> {
        if self.metas.len() >= policy.max_pending {
            Some("full")
        } else if self.per_signer.get(&meta.signer).copied().unwrap_or(0) >= policy.per_signer {
            Some("per_signer")
        } else if meta.free && self.free >= policy.free_pool {
            Some("free_pool_full")
        } else {
            None
        }
    }
}

/// An ended intent and when it ended (for pruning).
#[derive(Serialize, Deserialize)]
struct Done {
    #[serde(flatten)]
    state: State,
    #[serde(default)]
    ended_ns: u64,
}

pub struct Store {
    db: Database,
    index: std::sync::Mutex<Index>,
    policy: HoldPolicy,
    /// Intents refused by admission since start, by reason.
    refused: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Store {
    /// Opens (or creates) the store with the default [`HoldPolicy`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, HoldPolicy::default())
    }

    pub fn open_with(path: &Path, policy: HoldPolicy) -> Result<Store, StoreError> {
        let db = Database::create(path).map_err(err)?;
        // Create the tables once so readers never see them missing.
        let tx = db.begin_write().map_err(err)?;
        tx.open_table(ACTIVE).map_err(err)?;
        tx.open_table(DONE).map_err(err)?;
        tx.commit().map_err(err)?;
        let store = Store { db, index: Default::default(), policy, refused: Default::default() };
        let mut index = Index::default();
        for (h, r) in store.active()? {
            index.insert(h, Meta::of(&r, &store.policy));
        }
        *store.index.lock().expect("index") = index;
        Ok(store)
    }

    /// Intents refused by admission since start, by reason (`full`, `per_signer`,
    /// `free_pool_full`).
    pub fn refused(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.refused.lock().expect("refused").clone()
    }

    /// Stops holding an active intent (not an ending: the chain said nothing); returns whether
    /// it was held.
    pub fn release(&self, hash: &IntentHash) -> Result<bool, StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        let removed = tx.open_table(ACTIVE).map_err(err)?.remove(hash.0.as_slice()).map_err(err)?.is_some();
        tx.commit().map_err(err)?;
        self.index.lock().expect("index").remove(hash);
        Ok(removed)
    }

    /// Adds new intents as pending, skipping ones already known and those [`HoldPolicy`]
    /// refuses. Returns how many were added.
    pub fn add_pending(&self, intents: &[(IntentHash, SignedIntent)], now_ns: u64) -> Result<usize, StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        let mut added = 0;
        let mut metas = Vec::new();
        // Held for the whole write, so concurrent writers cannot both take the last places.
        let mut index = self.index.lock().expect("index");
        {
            let mut active = tx.open_table(ACTIVE).map_err(err)?;
            let done = tx.open_table(DONE).map_err(err)?;
            for (i, (hash, signed)) in intents.iter().enumerate() {
                if active.get(hash.0.as_slice()).map_err(err)?.is_some() || done.get(hash.0.as_slice()).map_err(err)?.is_some() {
                    continue;
                }
                let record = Record {
                    signed: signed.clone(),
                    state: State::Pending,
                    attempts: 0,
                    received_ns: now_ns + i as u64,
                    not_before_ns: 0,
                    deferrals: 0,
                    waiting_for: None,
                };
                let meta = Meta::of(&record, &self.policy);
                if let Some(reason) = index.refuses(&meta, &self.policy) {
                    *self.refused.lock().expect("refused").entry(reason).or_default() += 1;
                    continue;
                }
                active.insert(hash.0.as_slice(), serde_json::to_vec(&record).map_err(err)?.as_slice()).map_err(err)?;
                index.insert(*hash, meta.clone());
                metas.push(*hash);
                added += 1;
            }
        }
        if let Err(e) = tx.commit() {
            for hash in &metas {
                index.remove(hash);
            }
            return Err(err(e));
        }
        Ok(added)
    }

    /// Active intents whose deadline is before `now_ns`.
    pub fn expired(&self, now_ns: u64) -> Vec<IntentHash> {
        let index = self.index.lock().expect("index");
        index.metas.iter().filter(|(_, m)| m.pending && m.deadline_ns < now_ns).map(|(h, _)| *h).collect()
    }

    /// Up to `limit` pending intents due for a batch at `now_ns`, oldest first: not waiting out
    /// a back-off, and with a deadline no earlier than `earliest_deadline_ns`. Reads only their
    /// records.
    pub fn due(&self, now_ns: u64, earliest_deadline_ns: u64, limit: usize) -> Result<Vec<(IntentHash, Record)>, StoreError> {
        // Paying intents first, each class oldest first.
        let mut due: Vec<(bool, u64, IntentHash)> = {
            let index = self.index.lock().expect("index");
            index
                .metas
                .iter()
                .filter(|(_, m)| m.pending && m.not_before_ns <= now_ns && m.deadline_ns >= earliest_deadline_ns)
                .map(|(h, m)| (m.free, m.received_ns, *h))
                .collect()
        };
        due.sort_unstable();
        due.truncate(limit);
        let tx = self.db.begin_read().map_err(err)?;
        let table = tx.open_table(ACTIVE).map_err(err)?;
        let mut out = Vec::with_capacity(due.len());
        for (_, _, hash) in due {
            if let Some(v) = table.get(hash.0.as_slice()).map_err(err)? {
                out.push((hash, serde_json::from_slice(v.value()).map_err(err)?));
            }
        }
        Ok(out)
    }

    /// Active intents sent in a transaction not known final, with their records.
    pub fn submitted(&self) -> Result<Vec<(IntentHash, Record)>, StoreError> {
        let hashes: Vec<IntentHash> = self.index.lock().expect("index").metas.iter().filter(|(_, m)| !m.pending).map(|(h, _)| *h).collect();
        let mut out = Vec::with_capacity(hashes.len());
        for hash in hashes {
            if let Some(record) = self.record(&hash)? {
                out.push((hash, record));
            }
        }
        Ok(out)
    }

    /// Deletes ended intents that ended before `cutoff_ns`; returns how many.
    pub fn prune_done(&self, cutoff_ns: u64) -> Result<usize, StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        let pruned;
        {
            let mut done = tx.open_table(DONE).map_err(err)?;
            let mut old = Vec::new();
            for row in done.iter().map_err(err)? {
                let (k, v) = row.map_err(err)?;
                let ended = serde_json::from_slice::<Done>(v.value()).map(|d| d.ended_ns).unwrap_or(0);
                if ended < cutoff_ns {
                    old.push(k.value().to_vec());
                }
            }
            for key in &old {
                done.remove(key.as_slice()).map_err(err)?;
            }
            pruned = old.len();
        }
        tx.commit().map_err(err)?;
        Ok(pruned)
    }

    /// Ended intents kept.
    pub fn done_count(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        tx.open_table(DONE).map_err(err)?.len().map_err(err)
    }

    /// Every active record, oldest first.
    pub fn active(&self) -> Result<Vec<(IntentHash, Record)>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let table = tx.open_table(ACTIVE).map_err(err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(err)? {
            let (k, v) = row.map_err(err)?;
            let hash = IntentHash(k.value().try_into().map_err(|_| StoreError("bad key length".into()))?);
            let record: Record = serde_json::from_slice(v.value()).map_err(err)?;
            out.push((hash, record));
        }
        out.sort_by_key(|(_, r)| r.received_ns);
        Ok(out)
    }

    /// The full record of an active intent.
    pub fn record(&self, hash: &IntentHash) -> Result<Option<Record>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let table = tx.open_table(ACTIVE).map_err(err)?;
        let row = table.get(hash.0.as_slice()).map_err(err)?;
        row.map(|v| serde_json::from_slice(v.value()).map_err(err)).transpose()
    }

    /// Keeps intents pending but not before `not_before_ns`, noting why (one transaction).
    pub fn defer(&self, items: &[(IntentHash, u64, Waiting)]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        let mut metas = Vec::new();
        {
            let mut active = tx.open_table(ACTIVE).map_err(err)?;
            for (hash, not_before_ns, waiting) in items {
                let key = hash.0.as_slice();
                let Some(record) = read_record(&active, key)? else { continue };
                let record = Record {
                    state: State::Pending,
                    not_before_ns: *not_before_ns,
                    deferrals: record.deferrals.saturating_add(1),
                    waiting_for: Some(waiting.clone()),
                    ..record
                };
                active.insert(key, serde_json::to_vec(&record).map_err(err)?.as_slice()).map_err(err)?;
                metas.push((*hash, Meta::of(&record, &self.policy)));
            }
        }
        tx.commit().map_err(err)?;
        let mut index = self.index.lock().expect("index");
        for (hash, meta) in metas {
            index.insert(hash, meta);
        }
        Ok(())
    }

    pub fn pending(&self) -> Result<Vec<(IntentHash, Record)>, StoreError> {
        Ok(self.active()?.into_iter().filter(|(_, r)| r.state == State::Pending).collect())
    }

    pub fn pending_count(&self) -> Result<usize, StoreError> {
        Ok(self.index.lock().expect("index").metas.values().filter(|m| m.pending).count())
    }

    pub fn active_count(&self) -> Result<u64, StoreError> {
        Ok(self.index.lock().expect("index").metas.len() as u64)
    }

    /// The state of an intent this relayer knows, if any.
    pub fn state(&self, hash: &IntentHash) -> Result<Option<State>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        if let Some(v) = tx.open_table(DONE).map_err(err)?.get(hash.0.as_slice()).map_err(err)? {
            return Ok(Some(serde_json::from_slice::<Done>(v.value()).map_err(err)?.state));
        }
        if let Some(v) = tx.open_table(ACTIVE).map_err(err)?.get(hash.0.as_slice()).map_err(err)? {
            let record: Record = serde_json::from_slice(v.value()).map_err(err)?;
            return Ok(Some(record.state));
        }
        Ok(None)
    }

    /// Applies several changes atomically: `(hash, Some(state))` for active intents changing
    /// state (ended states move them to DONE), `bump` adds one attempt.
    pub fn update(&self, changes: &[(IntentHash, State, bool)]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        let (mut metas, mut ended) = (Vec::new(), Vec::new());
        let now = crate::validate::now_ns();
        {
            let mut active = tx.open_table(ACTIVE).map_err(err)?;
            let mut done = tx.open_table(DONE).map_err(err)?;
            for (hash, state, bump) in changes {
                let key = hash.0.as_slice();
                let Some(record) = read_record(&active, key)? else { continue };
                match state {
                    State::Executed { .. } | State::Failed { .. } => {
                        active.remove(key).map_err(err)?;
                        let record = Done { state: state.clone(), ended_ns: now };
                        done.insert(key, serde_json::to_vec(&record).map_err(err)?.as_slice()).map_err(err)?;
                        ended.push(*hash);
                    }
                    _ => {
                        let record = Record { state: state.clone(), attempts: record.attempts + u32::from(*bump), ..record };
                        active.insert(key, serde_json::to_vec(&record).map_err(err)?.as_slice()).map_err(err)?;
                        metas.push((*hash, Meta::of(&record, &self.policy)));
                    }
                }
            }
        }
        tx.commit().map_err(err)?;
        let mut index = self.index.lock().expect("index");
        for hash in ended {
            index.remove(&hash);
        }
        for (hash, meta) in metas {
            index.insert(hash, meta);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::valid_intent;
    use outpost_protocol::nep413::Payload;
    use outpost_protocol::DalekCrypto;

    fn item(n: u64) -> (IntentHash, SignedIntent) {
        let s = valid_intent(n);
        (Payload::of(&s).hash(&DalekCrypto), s)
    }

    #[test]
    fn survives_reopen_and_moves_ended_intents_out_of_active() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relayer.redb");
        let (a, b, c) = (item(1), item(2), item(3));
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.add_pending(&[a.clone(), b.clone(), c.clone()], 100).unwrap(), 3);
            assert_eq!(store.add_pending(&[a.clone()], 200).unwrap(), 0, "known intents are not added twice");
            store.update(&[(b.0, State::Submitted { tx_hash: "T".into(), signed_tx: None }, false)]).unwrap();
            store.update(&[(c.0, State::Executed { tx_hash: Some("T2".into()) }, false)]).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let pending: Vec<IntentHash> = store.pending().unwrap().into_iter().map(|(h, _)| h).collect();
        assert_eq!(pending, vec![a.0]);
        assert_eq!(store.state(&b.0).unwrap(), Some(State::Submitted { tx_hash: "T".into(), signed_tx: None }));
        assert_eq!(store.state(&c.0).unwrap(), Some(State::Executed { tx_hash: Some("T2".into()) }));
        assert_eq!(store.active_count().unwrap(), 2);
        assert_eq!(store.add_pending(&[c.clone()], 300).unwrap(), 0, "ended intents are not taken again");
    }

    #[test]
    fn the_hold_policy_bounds_the_free_pool_and_each_signer_and_batches_payers_first() {
        use outpost_protocol::{Action, Amount, Deadline, Fee, Intent, Nonce, SecretKey};
        let intent = |seed: u8, n: u8, fee: Option<u128>| {
            let key = SecretKey::from_seed([seed; 32]);
            let deadline = crate::validate::now_ns() + 3_600_000_000_000;
            let intent = Intent {
                signer_id: key.public_key().implicit_account_id(),
                deadline: Deadline(deadline),
                actions: vec![Action::Transfer { token: TokenId::Near, amount: Amount(1), receiver_id: "bob.test.near".parse().unwrap() , memo: None }],
                fee: fee.map(|a| Fee { token: TokenId::Near, amount: Amount(a) }),
            };
            let s = key.sign_intent(&intent, Nonce::new(deadline, [n; 24]), crate::testkit::CONTRACT);
            (Payload::of(&s).hash(&DalekCrypto), s)
        };
        let dir = tempfile::tempdir().unwrap();
        let policy = HoldPolicy { min_fee: Some((TokenId::Near, 5)), free_pool: 3, per_signer: 2, max_pending: 100 };
        let store = Store::open_with(&dir.path().join("relayer.redb"), policy).unwrap();
        // Four unpaid (one below the fee) from four signers: the pool holds three.
        let free: Vec<_> = vec![intent(1, 0, None), intent(2, 0, Some(4)), intent(3, 0, None), intent(4, 0, None)];
        assert_eq!(store.add_pending(&free, 100).unwrap(), 3);
        // One signer paying: two places, however much it sends.
        let paid: Vec<_> = (0..5).map(|n| intent(9, n, Some(5))).collect();
        assert_eq!(store.add_pending(&paid, 200).unwrap(), 2);
        assert_eq!(store.refused(), [("free_pool_full", 1), ("per_signer", 3)].into_iter().collect());
        // Payers go first, though they came later.
        let now = crate::validate::now_ns();
        let due: Vec<IntentHash> = store.due(now, now, 10).unwrap().into_iter().map(|(h, _)| h).collect();
        assert_eq!(&due[..2], &[paid[0].0, paid[1].0]);
        // A place freed is a place again.
        assert!(store.release(&paid[0].0).unwrap());
        assert_eq!(store.add_pending(&paid[2..3], 300).unwrap(), 1);
    }

    #[test]
    fn rounds_read_only_what_is_due_and_ended_intents_are_pruned_after_a_while() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("relayer.redb")).unwrap();
        let items: Vec<_> = (1..=5).map(item).collect();
        store.add_pending(&items, 1_000).unwrap();
        let now = crate::validate::now_ns();
        // One waits out a back-off, one is submitted, one ended.
        let waiting = Waiting { code: "INSUFFICIENT_BALANCE".into(), detail: String::new() };
        store.defer(&[(items[0].0, now + 60_000_000_000, waiting)]).unwrap();
        store.update(&[(items[1].0, State::Submitted { tx_hash: "T".into(), signed_tx: None }, false)]).unwrap();
        store.update(&[(items[2].0, State::Executed { tx_hash: Some("T0".into()) }, false)]).unwrap();
        let due: Vec<IntentHash> = store.due(now, now, 10).unwrap().into_iter().map(|(h, _)| h).collect();
        assert_eq!(due, vec![items[3].0, items[4].0], "oldest first, only the due ones");
        assert_eq!(store.due(now, now, 1).unwrap().len(), 1, "limited");
        assert!(store.due(now, u64::MAX, 10).unwrap().is_empty(), "too close to their deadline");
        assert_eq!(store.submitted().unwrap().len(), 1);
        assert!(store.expired(now).is_empty());
        assert_eq!(store.expired(u64::MAX).len(), 3, "pending ones past their deadline");
        assert_eq!((store.active_count().unwrap(), store.pending_count().unwrap()), (4, 3));
        // The index survives a reopen.
        drop(store);
        let store = Store::open(&dir.path().join("relayer.redb")).unwrap();
        assert_eq!(store.due(now, now, 10).unwrap().len(), 2);
        // Pruning: ended before the cutoff goes, the status with it; later ones stay.
        assert_eq!(store.prune_done(now).unwrap(), 0);
        assert_eq!(store.prune_done(u64::MAX).unwrap(), 1);
        assert_eq!(store.state(&items[2].0).unwrap(), None);
        assert_eq!(store.done_count().unwrap(), 0);
    }
}
