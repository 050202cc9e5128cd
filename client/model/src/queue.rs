//! The offline queue: all [`Record`]s by intent hash, and the user's operations on them (discard,
//! cancel). The record and its state machine are the protocol crate's
//! (`outpost_protocol::queue`), the one definition of a queue record. The queue never forgets a
//! record on its own: only the user's explicit discard removes one.

use crate::words::{explain, Problem};
pub use outpost_protocol::queue::{intent_id, Event, Record, State};
use outpost_protocol::SignedIntent;
use std::collections::BTreeMap;

/// A new queued record, or why the intent cannot be queued, in words.
pub fn new_record(signed: SignedIntent, summary: String, now_ms: u64) -> Result<Record, Problem> {
    Record::new(signed, summary, now_ms).map_err(|e| Problem::new(explain(&e)))
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
        new_record(signed_transfer(n), format!("t{n}"), NOW_MS).unwrap()
    }

    #[test]
    fn the_same_signed_intent_is_one_record() {
        let mut q = Queue::default();
        assert!(q.insert(record(3)).1);
        assert!(!q.insert(record(3)).1, "same signed intent, same record");
        assert_eq!(q.records.len(), 1);
    }

    #[test]
    fn discard_only_while_nothing_may_have_been_delivered() {
        let mut r = record(4);
        assert!(r.apply(Event::SendFailed { reason: "offline".into(), maybe_delivered: false }, NOW_MS, 1000));
        let q = Queue::from_records([r.clone()]);
        assert!(q.check_discard(&r.id).is_ok());
        assert!(r.apply(Event::SendFailed { reason: "timeout".into(), maybe_delivered: true }, NOW_MS, 2000));
        let q = Queue::from_records([r.clone()]);
        assert!(q.check_discard(&r.id).unwrap_err().0.contains("cancel it instead"));
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
    }

    #[test]
    fn an_undecodable_message_is_explained() {
        let mut signed = signed_transfer(9);
        signed.message = "not json".into();
        let e = new_record(signed, "x".into(), NOW_MS).unwrap_err();
        assert!(!e.0.is_empty() && !e.0.contains("Error("), "{}", e.0);
    }
}
