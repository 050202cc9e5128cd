//! The offline queue: one [`Record`] per signed intent, keyed by its intent hash (so queueing the
//! same intent twice is one record, and re-sending it is idempotent everywhere), moved through
//! queued → sent → executed | failed by [`Record::apply`]. The queue never forgets a record on its
//! own: only the user's explicit discard removes one.

use crate::words::{explain, Problem};
use outpost_protocol::nep413::Payload;
use outpost_protocol::validate::decode_intent;
use outpost_protocol::{DalekCrypto, IntentHash, SignedIntent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a record stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Signed and stored; waiting for connectivity or a retry.
    Queued,
    /// A channel accepted it (a relayer answered 202, or a peer took the gossip message).
    Sent { via: String, at_ms: u64 },
    /// Settled on chain (nonce seen used, or a relayer reported it), with the tx hash when known.
    Executed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tx_hash: Option<String>,
        at_ms: u64,
    },
    /// Will never settle. `code` is a protocol code (or `CANCELLED`), `reason` is for people.
    Failed {
        code: String,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tx_hash: Option<String>,
        at_ms: u64,
    },
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sent { .. } => "sent",
            State::Executed { .. } => "executed",
            State::Failed { .. } => "failed",
        }
    }
    pub fn is_final(&self) -> bool {
        matches!(self, State::Executed { .. } | State::Failed { .. })
    }
}

/// What happened to a record. Applying an event is idempotent: the same event twice changes
/// nothing the second time, and nothing moves a final record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A channel accepted the intent.
    Accepted { via: String },
    /// A send attempt failed for a reason that may pass (offline, timeout, 5xx). `maybe_delivered`
    /// when the request may have reached the other side before failing.
    SendFailed { reason: String, maybe_delivered: bool },
    /// A channel refused the intent for good (a relayer's 400 with a protocol code).
    Rejected { code: String, reason: String },
    /// The relayer no longer knows the intent (restarted without it): send it again.
    Lost,
    Executed { tx_hash: Option<String> },
    ChainFailed { code: String, reason: String, tx_hash: Option<String> },
    /// The deadline passed and the nonce was never used.
    Expired,
    /// The user's cancellation of this intent settled: its nonce is burned.
    CancelSettled,
}

/// One queued intent. The `SignedIntent` is kept verbatim: it is what every channel sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The intent hash (base58): the record's key in IndexedDB and the relayer's id.
    pub id: String,
    pub signed: SignedIntent,
    pub signer_id: String,
    pub summary: String,
    pub deadline_ns: u64,
    pub state: State,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Failed send attempts since the last success, for backoff.
    pub attempts: u32,
    /// Not before this time (ms) will the sync loop try again.
    pub next_attempt_ms: u64,
    /// Some attempt may have delivered it: discarding is then unsafe (cancel instead).
    #[serde(default)]
    pub maybe_delivered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The cancellation record that burns this intent's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// For a cancellation record: the record it cancels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancels: Option<String>,
}

/// The intent hash of a signed intent, as text.
pub fn intent_id(signed: &SignedIntent) -> String {
    Payload::of(signed).hash(&DalekCrypto).to_string()
}

impl Record {
    /// A new queued record. The message must decode (we only queue intents we signed or checked).
    pub fn new(signed: SignedIntent, summary: String, now_ms: u64) -> Result<Record, Problem> {
        let intent = decode_intent(&signed.message).map_err(|e| Problem::new(explain(&e)))?;
        Ok(Record {
            id: intent_id(&signed),
            signer_id: intent.signer_id.to_string(),
            deadline_ns: intent.deadline.0,
            signed,
            summary,
            state: State::Queued,
            created_ms: now_ms,
            updated_ms: now_ms,
            attempts: 0,
            next_attempt_ms: now_ms,
            maybe_delivered: false,
            last_error: None,
            cancelled_by: None,
            cancels: None,
        })
    }

    pub fn hash(&self) -> Option<IntentHash> {
        self.id.parse().ok()
    }

    /// Applies `event` at `now_ms` with `backoff_ms` for failed attempts; returns whether the
    /// record changed (and so must be written back).
    pub fn apply(&mut self, event: Event, now_ms: u64, backoff_ms: u64) -> bool {
        if self.state.is_final() {
            return false;
        }
        let before = self.clone();
        match event {
            Event::Accepted { via } => {
                if let State::Queued = self.state {
                    self.state = State::Sent { via, at_ms: now_ms };
                    self.next_attempt_ms = now_ms;
                }
                self.attempts = 0;
                self.last_error = None;
                self.maybe_delivered = true;
            }
            Event::SendFailed { reason, maybe_delivered } => {
                self.attempts = self.attempts.saturating_add(1);
                self.next_attempt_ms = now_ms.saturating_add(backoff_ms);
                self.last_error = Some(reason);
                self.maybe_delivered |= maybe_delivered;
            }
            Event::Rejected { code, reason } => {
                self.state = State::Failed { code, reason, tx_hash: None, at_ms: now_ms };
            }
            Event::Lost => {
                if let State::Sent { .. } = self.state {
                    self.state = State::Queued;
                    self.next_attempt_ms = now_ms;
                }
            }
            Event::Executed { tx_hash } => self.state = State::Executed { tx_hash, at_ms: now_ms },
            Event::ChainFailed { code, reason, tx_hash } => {
                self.state = State::Failed { code, reason, tx_hash, at_ms: now_ms }
            }
            Event::Expired => {
                self.state = State::Failed {
                    code: "DEADLINE_EXPIRED".into(),
                    reason: "the deadline passed before any relayer settled it".into(),
                    tx_hash: None,
                    at_ms: now_ms,
                }
            }
            Event::CancelSettled => {
                self.state = State::Failed {
                    code: "CANCELLED".into(),
                    reason: "cancelled by you: its nonce was burned on chain".into(),
                    tx_hash: None,
                    at_ms: now_ms,
                }
            }
        }
        // Timestamps alone do not make a change worth writing.
        let mut probe = before.clone();
        probe.updated_ms = self.updated_ms;
        if probe == *self {
            return false;
        }
        self.updated_ms = now_ms;
        true
    }

    /// Queued, not cancelled, and its retry time has come.
    pub fn due(&self, now_ms: u64) -> bool {
        matches!(self.state, State::Queued) && self.cancelled_by.is_none() && self.next_attempt_ms <= now_ms
    }
}

/// All records, by id. Operations return the records to persist; the caller writes them and only
/// then shows the result (see [`crate::sync`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Queue {
    pub records: BTreeMap<String, Record>,
}

/// Why the user cannot do what they asked with a record.
pub fn refuse(text: &str) -> Problem {
    Problem::new(text)
}

impl Queue {
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Queue {
        Queue { records: records.into_iter().map(|r| (r.id.clone(), r)).collect() }
    }

    /// Adds a record unless one with the same intent hash exists (then returns the existing one:
    /// queueing the same signed intent twice is harmless).
    pub fn insert(&mut self, record: Record) -> (Record, bool) {
        if let Some(existing) = self.records.get(&record.id) {
            return (existing.clone(), false);
        }
        self.records.insert(record.id.clone(), record.clone());
        (record, true)
    }

    /// Checks that `id` may be discarded: still queued and never possibly delivered.
    pub fn check_discard(&self, id: &str) -> Result<(), Problem> {
        let r = self.records.get(id).ok_or_else(|| refuse("this intent is no longer in the queue"))?;
        match r.state {
            State::Queued if r.maybe_delivered => Err(refuse(
                "an earlier send attempt may have reached a relayer, so deleting it here would not stop it; cancel it instead",
            )),
            State::Queued => Ok(()),
            State::Sent { .. } => Err(refuse("it was already sent; cancel it instead")),
            _ if r.state.is_final() => Ok(()),
            _ => Ok(()),
        }
    }

    /// Checks that `id` may be cancelled: not final and not already being cancelled.
    pub fn check_cancel(&self, id: &str) -> Result<&Record, Problem> {
        let r = self.records.get(id).ok_or_else(|| refuse("this intent is no longer in the queue"))?;
        if r.state.is_final() {
            return Err(refuse(&format!("it is already {}", r.state.name())));
        }
        if r.cancels.is_some() {
            return Err(refuse("this is a cancellation itself"));
        }
        if r.cancelled_by.is_some() {
            return Err(refuse("a cancellation is already queued for it"));
        }
        Ok(r)
    }

    /// Links a signed cancellation to the record it cancels; returns both records to persist.
    pub fn link_cancellation(&mut self, original_id: &str, mut cancel: Record, now_ms: u64) -> Result<[Record; 2], Problem> {
        self.check_cancel(original_id)?;
        cancel.cancels = Some(original_id.to_owned());
        let original = self.records.get_mut(original_id).expect("checked above");
        original.cancelled_by = Some(cancel.id.clone());
        original.updated_ms = now_ms;
        let original = original.clone();
        self.records.insert(cancel.id.clone(), cancel.clone());
        Ok([original, cancel])
    }

    /// Counts by state name, for the status bar and tests.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for r in self.records.values() {
            *m.entry(r.state.name()).or_insert(0) += 1;
        }
        m
    }

    /// Newest first, for display.
    pub fn newest_first(&self) -> Vec<&Record> {
        let mut v: Vec<&Record> = self.records.values().collect();
        v.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{signed_transfer, NOW_MS};

    fn record(n: u8) -> Record {
        Record::new(signed_transfer(n), format!("t{n}"), NOW_MS).unwrap()
    }

    #[test]
    fn happy_path_queued_sent_executed() {
        let mut r = record(1);
        assert_eq!(r.state, State::Queued);
        assert!(r.due(NOW_MS));
        assert!(r.apply(Event::Accepted { via: "relayer".into() }, NOW_MS + 1, 0));
        assert_eq!(r.state, State::Sent { via: "relayer".into(), at_ms: NOW_MS + 1 });
        assert!(!r.due(NOW_MS + 10));
        assert!(r.apply(Event::Executed { tx_hash: Some("TX".into()) }, NOW_MS + 2, 0));
        assert_eq!(r.state, State::Executed { tx_hash: Some("TX".into()), at_ms: NOW_MS + 2 });
        // Final: nothing moves it any more.
        for e in [Event::Lost, Event::Expired, Event::Accepted { via: "x".into() }, Event::CancelSettled] {
            assert!(!r.apply(e, NOW_MS + 3, 0));
        }
        assert_eq!(r.state.name(), "executed");
    }

    #[test]
    fn events_are_idempotent() {
        let mut r = record(2);
        assert!(r.apply(Event::Accepted { via: "relayer".into() }, NOW_MS, 0));
        let snapshot = r.clone();
        // Sending again (a second channel, or a user's "send again") changes nothing.
        assert!(!r.apply(Event::Accepted { via: "relayer".into() }, NOW_MS + 5, 0));
        assert!(!r.apply(Event::Accepted { via: "p2p".into() }, NOW_MS + 6, 0));
        assert_eq!(r, snapshot);
        let mut q = Queue::default();
        assert!(q.insert(record(3)).1);
        assert!(!q.insert(record(3)).1, "same signed intent, same record");
        assert_eq!(q.records.len(), 1);
    }

    #[test]
    fn failures_back_off_and_remember_possible_delivery() {
        let mut r = record(4);
        assert!(r.apply(Event::SendFailed { reason: "offline".into(), maybe_delivered: false }, NOW_MS, 1000));
        assert_eq!((r.attempts, r.next_attempt_ms), (1, NOW_MS + 1000));
        assert!(!r.due(NOW_MS + 999) && r.due(NOW_MS + 1000));
        let q = Queue::from_records([r.clone()]);
        assert!(q.check_discard(&r.id).is_ok());
        assert!(r.apply(Event::SendFailed { reason: "timeout".into(), maybe_delivered: true }, NOW_MS, 2000));
        let q = Queue::from_records([r.clone()]);
        assert!(q.check_discard(&r.id).unwrap_err().0.contains("cancel it instead"));
        assert!(r.apply(Event::Rejected { code: "NONCE_USED".into(), reason: "x".into() }, NOW_MS, 0));
        assert_eq!(r.state.name(), "failed");
    }

    #[test]
    fn lost_records_go_back_to_the_queue() {
        let mut r = record(5);
        assert!(!r.apply(Event::Lost, NOW_MS, 0), "a queued record is not lost");
        r.apply(Event::Accepted { via: "relayer".into() }, NOW_MS, 0);
        assert!(r.apply(Event::Lost, NOW_MS + 1, 0));
        assert_eq!(r.state, State::Queued);
        assert!(r.due(NOW_MS + 1));
    }

    #[test]
    fn cancel_and_discard_rules() {
        let mut q = Queue::default();
        let a = record(6);
        let id = a.id.clone();
        q.insert(a);
        let cancel = record(7);
        let [orig, c] = q.link_cancellation(&id, cancel, NOW_MS).unwrap();
        assert_eq!(orig.cancelled_by.as_deref(), Some(c.id.as_str()));
        assert_eq!(c.cancels.as_deref(), Some(id.as_str()));
        // A cancelled record is not sent any more; a second cancel is refused.
        assert!(!q.records[&id].due(NOW_MS + 1));
        assert!(q.check_cancel(&id).unwrap_err().0.contains("already queued"));
        assert!(q.check_cancel(&c.id).unwrap_err().0.contains("cancellation itself"));
        let mut sent = record(8);
        sent.apply(Event::Accepted { via: "relayer".into() }, NOW_MS, 0);
        let sid = sent.id.clone();
        q.insert(sent);
        assert!(q.check_discard(&sid).unwrap_err().0.contains("already sent"));
        assert!(q.check_cancel(&sid).is_ok());
        assert!(q.check_discard("nope").is_err());
        let mut orig = q.records[&id].clone();
        assert!(orig.apply(Event::CancelSettled, NOW_MS, 0));
        assert!(matches!(&orig.state, State::Failed { code, .. } if code == "CANCELLED"));
    }

    #[test]
    fn records_round_trip_as_json() {
        let mut r = record(9);
        r.apply(Event::ChainFailed { code: "INSUFFICIENT_BALANCE".into(), reason: "low".into(), tx_hash: Some("H".into()) }, NOW_MS, 0);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""state":"failed""#), "{json}");
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
    }
}
