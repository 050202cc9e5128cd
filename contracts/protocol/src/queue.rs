//! The offline queue's record, the one shape a queued intent has wherever it is stored (the dApp
//! keeps it in IndexedDB as this JSON): one [`Record`] per signed intent, keyed by its intent hash
//! (so queueing the same intent twice is one record, and re-sending it is idempotent everywhere),
//! moved through queued → sent → executed | failed by [`Record::apply`].

use crate::nep413::Payload;
use crate::validate::decode_intent;
use crate::{DalekCrypto, IntentError, IntentHash, SignedIntent};
use serde::{Deserialize, Serialize};

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
    /// No channel holds it any more (a relayer restarted without it), or none has vouched for it
    /// for a while (gossip only): offer it again.
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
    pub fn new(signed: SignedIntent, summary: String, now_ms: u64) -> Result<Record, IntentError> {
        let intent = decode_intent(&signed.message)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Amount, Deadline, Intent, Nonce, SecretKey, TokenId};

    const NOW_MS: u64 = 1_800_000_000_000;

    fn record(n: u8) -> Record {
        let k = SecretKey::from_seed([42; 32]);
        let deadline = NOW_MS * 1_000_000 + 3_600_000_000_000;
        let intent = Intent {
            signer_id: k.public_key().implicit_account_id(),
            deadline: Deadline(deadline),
            fee: None,
            actions: vec![Action::Transfer {
                token: TokenId::Near,
                amount: Amount(u128::from(n) + 1),
                receiver_id: "bob.testnet".parse().unwrap(),
                memo: None,
            }],
        };
        Record::new(k.sign_intent(&intent, Nonce::new(deadline, [n; 24]), "intents.test.near"), format!("t{n}"), NOW_MS).unwrap()
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
    }

    #[test]
    fn failures_back_off_and_remember_possible_delivery() {
        let mut r = record(4);
        assert!(r.apply(Event::SendFailed { reason: "offline".into(), maybe_delivered: false }, NOW_MS, 1000));
        assert_eq!((r.attempts, r.next_attempt_ms, r.maybe_delivered), (1, NOW_MS + 1000, false));
        assert!(!r.due(NOW_MS + 999) && r.due(NOW_MS + 1000));
        assert!(r.apply(Event::SendFailed { reason: "timeout".into(), maybe_delivered: true }, NOW_MS, 2000));
        assert!(r.maybe_delivered, "one possible delivery is remembered for good");
        assert!(r.apply(Event::SendFailed { reason: "offline".into(), maybe_delivered: false }, NOW_MS, 4000));
        assert!(r.maybe_delivered);
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
    fn settled_cancellation_and_expiry_fail_with_their_codes() {
        let mut r = record(6);
        assert!(r.apply(Event::CancelSettled, NOW_MS, 0));
        assert!(matches!(&r.state, State::Failed { code, .. } if code == "CANCELLED"));
        let mut r = record(7);
        assert!(r.apply(Event::Expired, NOW_MS, 0));
        assert!(matches!(&r.state, State::Failed { code, .. } if code == "DEADLINE_EXPIRED"));
    }

    #[test]
    fn a_message_that_does_not_decode_is_not_queued() {
        let mut signed = record(8).signed;
        signed.message = "{}".into();
        assert!(Record::new(signed, "x".into(), NOW_MS).is_err());
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
