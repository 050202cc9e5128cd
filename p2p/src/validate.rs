//! What a node checks before it forwards a gossip message (DESIGN.md §6). Every rule comes from
//! `outpost-protocol`; this module adds only what is about the network: duplicates by intent hash,
//! and which failures are the sender's fault (reject, its score falls) and which are not (ignore).

use outpost_protocol::gossip::{GossipMessage, IntentStatus};
use outpost_protocol::nep413::Payload;
use outpost_protocol::{verify_signed_intent, Crypto, DalekCrypto, ErrorCode, IntentError, IntentHash};
use crate::ratelimit::{RateLimit, TokenBucket};
use outpost_protocol::error::Retry;
use outpost_protocol::{SignedIntent, VerifiedIntent};
use std::collections::{HashSet, VecDeque};

/// How long after its deadline an intent is only ignored rather than rejected: an honest peer may
/// have forwarded it just before it expired, and clocks differ by a few seconds.
pub const DEFAULT_EXPIRY_GRACE_NS: u64 = 30_000_000_000;
/// Intent hashes remembered for duplicate detection (FIFO). About 40 bytes each.
pub const DEFAULT_SEEN_CAPACITY: usize = 200_000;
/// Intents one signer may publish through a node: a burst of 50, then 5 per second. Peer ids and
/// connections are cheap, signers' keys too, but each key's intents are bounded here.
pub const DEFAULT_SIGNER_LIMIT: RateLimit = RateLimit { per_second: 5.0, burst: 50.0 };
/// Signers tracked before buckets that refilled are forgotten (a full bucket equals a new one).
const SIGNER_BUCKETS: usize = 100_000;

/// The verdict on one gossip message, mapped onto gossipsub's `MessageAcceptance` by the node.
#[derive(Debug)]
pub enum Verdict {
    /// Valid and new: forward it and hand it to the application.
    Accept(Accepted),
    /// Not the sender's fault (a duplicate, just expired): drop it without penalty.
    Ignore(IgnoreReason),
    /// Invalid: drop it and penalise the peer that sent it.
    Reject(IntentError),
}

#[derive(Debug)]
pub enum Accepted {
    Intent { signed: Box<SignedIntent>, verified: Box<VerifiedIntent> },
    Status { intent_hash: IntentHash, status: IntentStatus },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreReason {
    /// An intent with this hash was already accepted.
    Duplicate,
    /// The deadline passed less than the grace period ago.
    JustExpired,
    /// The peer sent more than its rate allows (decided by the node, before validation).
    RateLimited,
    /// A status for an intent this node never accepted: nothing here to tell about.
    UnknownIntent,
    /// This node already forwarded a report of this kind for this intent.
    DuplicateStatus,
    /// The signer published more intents than its budget allows (checked after the signature,
    /// so nobody can spend another signer's budget).
    SignerRateLimited,
}

impl IgnoreReason {
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::Duplicate => "duplicate",
            IgnoreReason::JustExpired => "just_expired",
            IgnoreReason::RateLimited => "rate_limited",
            IgnoreReason::UnknownIntent => "unknown_intent",
            IgnoreReason::DuplicateStatus => "duplicate_status",
            IgnoreReason::SignerRateLimited => "signer_rate_limited",
        }
    }
}

/// A bounded set of intent hashes, oldest evicted first. Bounded so a flood of valid-but-distinct
/// intents cannot grow memory without limit.
#[derive(Debug)]
pub struct SeenSet {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
    capacity: usize,
}

impl SeenSet {
    pub fn new(capacity: usize) -> Self {
        SeenSet { set: HashSet::new(), order: VecDeque::new(), capacity: capacity.max(1) }
    }
    pub fn contains(&self, hash: &IntentHash) -> bool {
        self.set.contains(&hash.0)
    }
    /// Returns false when it was already there.
    pub fn insert(&mut self, hash: IntentHash) -> bool {
        if !self.set.insert(hash.0) {
            return false;
        }
        self.order.push_back(hash.0);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
    pub fn len(&self) -> usize {
        self.order.len()
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Validates gossip messages for one intents contract.
#[derive(Debug)]
pub struct Validator {
    recipient: String,
    seen: SeenSet,
    /// (intent, kind of report) already forwarded: at most one `executed` and one `failed` each.
    reported: SeenSet,
    expiry_grace_ns: u64,
    signer_limit: RateLimit,
    signers: std::collections::HashMap<outpost_protocol::AccountId, TokenBucket>,
}

impl Validator {
    /// `recipient` is the intents contract's account id (what intents must be signed for).
    pub fn new(recipient: impl Into<String>) -> Self {
        Validator {
            recipient: recipient.into(),
            seen: SeenSet::new(DEFAULT_SEEN_CAPACITY),
            reported: SeenSet::new(DEFAULT_SEEN_CAPACITY),
            expiry_grace_ns: DEFAULT_EXPIRY_GRACE_NS,
            signer_limit: DEFAULT_SIGNER_LIMIT,
            signers: Default::default(),
        }
    }

    pub fn with_seen_capacity(mut self, capacity: usize) -> Self {
        self.seen = SeenSet::new(capacity);
        self
    }

    pub fn with_signer_limit(mut self, limit: RateLimit) -> Self {
        self.signer_limit = limit;
        self
    }

    /// Takes one of `signer`'s intent tokens; false when its budget is spent.
    fn signer_may_publish(&mut self, signer: &outpost_protocol::AccountId, now_ns: u64) -> bool {
        let (limit, now_s) = (self.signer_limit, now_ns as f64 / 1e9);
        if self.signers.len() >= SIGNER_BUCKETS {
            self.signers.retain(|_, b| !b.is_full(limit, now_s));
        }
        self.signers.entry(signer.clone()).or_insert_with(|| TokenBucket::full(limit, now_s)).take(limit, now_s)
    }

    pub fn with_expiry_grace_ns(mut self, grace: u64) -> Self {
        self.expiry_grace_ns = grace;
        self
    }

    pub fn recipient(&self) -> &str {
        &self.recipient
    }

    /// True when an intent with this hash was accepted before.
    pub fn has_seen(&self, hash: &IntentHash) -> bool {
        self.seen.contains(hash)
    }

    /// Records an intent this node published itself (it never comes back through gossip), so
    /// reports about it are taken.
    pub fn mark_seen(&mut self, hash: IntentHash) {
        self.seen.insert(hash);
    }

    /// Checks raw gossip bytes: size limit and decoding first (GossipMessage::decode), then the
    /// intent rules. `now_ns` is wall-clock time in nanoseconds.
    pub fn check_bytes(&mut self, data: &[u8], now_ns: u64) -> Verdict {
        match GossipMessage::decode(data) {
            Err(e) => Verdict::Reject(e),
            Ok(GossipMessage::Intent { intent }) => self.check_intent(intent, now_ns),
            Ok(GossipMessage::Status { intent_hash, status }) => self.check_status(intent_hash, status),
        }
    }

    /// A relayer's report. It carries no user signature (gossipsub's strict signing names the
    /// relayer), and clients believe only the chain, so reports are hints; what a node forwards
    /// of them is bounded and plausible, without an RPC call per message:
    /// * only about intents this node accepted (others are ignored, not forwarded);
    /// * at most one `executed` and one `failed` per intent (further ones are ignored), so status
    ///   traffic is at most twice the intent traffic however many relayers race;
    /// * `executed` names a transaction hash in NEAR's form, and `failed` a code no later state
    ///   can cure: an honest relayer never announces "not now" as a failure, so such a report is
    ///   rejected and its sender's score falls.
    pub fn check_status(&mut self, intent_hash: IntentHash, status: IntentStatus) -> Verdict {
        let kind_bit = match &status {
            IntentStatus::Executed { tx_hash } => {
                let well_formed = outpost_protocol::base58::decode_into(tx_hash, &mut [0u8; 32]) == Ok(32);
                if !well_formed {
                    return Verdict::Reject(IntentError::new(ErrorCode::MessageMalformed, format!("tx_hash `{tx_hash}` is not a NEAR transaction hash")));
                }
                1
            }
            IntentStatus::Failed { code, .. } => {
                if let Some(c) = ErrorCode::parse(code).filter(|c| c.retry() == Retry::Later) {
                    return Verdict::Reject(IntentError::new(
                        c,
                        format!("reported as failed, but a later state may cure {c}: a relayer must wait for the chain's word"),
                    ));
                }
                2
            }
        };
        if !self.seen.contains(&intent_hash) {
            return Verdict::Ignore(IgnoreReason::UnknownIntent);
        }
        // A key per (intent, kind) in the same bounded set type: flip a bit of the hash.
        let mut key = intent_hash;
        key.0[0] ^= kind_bit;
        key.0[31] ^= 0x80;
        if !self.reported.insert(key) {
            return Verdict::Ignore(IgnoreReason::DuplicateStatus);
        }
        Verdict::Accept(Accepted::Status { intent_hash, status })
    }

    /// Checks one signed intent (also used for intents that arrive over HTTP).
    pub fn check_intent(&mut self, signed: SignedIntent, now_ns: u64) -> Verdict {
        self.check_intent_with(&DalekCrypto, signed, now_ns)
    }

    fn check_intent_with(&mut self, crypto: &impl Crypto, signed: SignedIntent, now_ns: u64) -> Verdict {
        // Duplicate check before the signature: a hash costs ~1 µs, a verification ~30 µs. Only
        // verified intents enter the set, so a forgery cannot shadow the real intent.
        let hash = Payload::of(&signed).hash(&DalekCrypto);
        if self.seen.contains(&hash) {
            return Verdict::Ignore(IgnoreReason::Duplicate);
        }
        match verify_signed_intent(crypto, &signed, &self.recipient, now_ns) {
            // Over budget: not remembered as seen, so the same intent is taken once the signer's
            // budget refills.
            Ok(verified) if !self.signer_may_publish(&verified.intent.signer_id, now_ns) => Verdict::Ignore(IgnoreReason::SignerRateLimited),
            Ok(verified) => {
                self.seen.insert(verified.hash);
                Verdict::Accept(Accepted::Intent { signed: Box::new(signed), verified: Box::new(verified) })
            }
            Err(e) if e.code == ErrorCode::DeadlineExpired && self.just_expired(&signed, now_ns) => {
                Verdict::Ignore(IgnoreReason::JustExpired)
            }
            Err(e) => Verdict::Reject(e),
        }
    }

    fn just_expired(&self, signed: &SignedIntent, now_ns: u64) -> bool {
        // Only reached after the signature passed, so parsing the deadline here is safe to trust.
        outpost_protocol::validate::decode_intent(&signed.message)
            .map(|i| now_ns.saturating_sub(i.deadline.0) <= self.expiry_grace_ns)
            .unwrap_or(false)
    }

    /// Validates many messages at once with ed25519 batch verification, giving the same verdicts
    /// as [`check_bytes`](Self::check_bytes) one by one. If the batch fails (some signature is
    /// bad) every item is verified alone, so one forgery costs the batch its speed-up, never its
    /// correctness.
    ///
    /// Caveat: dalek's batch equation is cofactored and its single `verify` is not, so for
    /// deliberately crafted small-order keys or signatures the two can disagree. The node uses the
    /// single path (the chain's verdict); this path is for bulk checks (benchmarks, relayer
    /// re-checks), where the contract re-verifies every signature anyway.
    pub fn check_batch(&mut self, messages: &[&[u8]], now_ns: u64) -> Vec<Verdict> {
        let mut verdicts: Vec<Option<Verdict>> = Vec::with_capacity(messages.len());
        let mut pending: Vec<(usize, SignedIntent, [u8; 32])> = Vec::new();
        for (i, data) in messages.iter().enumerate() {
            match GossipMessage::decode(data) {
                Err(e) => verdicts.push(Some(Verdict::Reject(e))),
                Ok(GossipMessage::Status { intent_hash, status }) => verdicts.push(Some(self.check_status(intent_hash, status))),
                Ok(GossipMessage::Intent { intent }) => match outpost_protocol::validate::check_sizes(&intent) {
                    // Oversized parts are rejected before any hashing, as in the single path.
                    Err(e) => verdicts.push(Some(Verdict::Reject(e))),
                    Ok(()) => {
                        let hash = Payload::of(&intent).hash(&DalekCrypto);
                        verdicts.push(None);
                        pending.push((i, intent, hash.0));
                    }
                },
            }
        }
        let batch_ok = !pending.is_empty() && batch_verify(pending.iter().map(|(_, s, h)| (s, h)));
        for (i, signed, _) in pending {
            let verdict = if batch_ok {
                self.check_intent_with(&Preverified, signed, now_ns)
            } else {
                self.check_intent(signed, now_ns)
            };
            verdicts[i] = Some(verdict);
        }
        verdicts.into_iter().map(|v| v.expect("every index filled")).collect()
    }
}

/// sha256 as usual, but signatures count as valid: used only after a batch verification passed.
struct Preverified;

impl Crypto for Preverified {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        DalekCrypto.sha256(data)
    }
    fn ed25519_verify(&self, _: &[u8; 64], _: &[u8], _: &[u8; 32]) -> bool {
        true
    }
}

/// Batch-verifies (signed intent, NEP-413 hash) pairs. Applies nearcore's pre-check on the
/// signature's top bits first so the batch never passes what the chain rejects outright.
fn batch_verify<'a>(items: impl Iterator<Item = (&'a SignedIntent, &'a [u8; 32])>) -> bool {
    let mut hashes: Vec<&[u8]> = Vec::new();
    let mut sigs = Vec::new();
    let mut keys = Vec::new();
    for (signed, hash) in items {
        if signed.signature.0[63] & 0b1110_0000 != 0 {
            return false;
        }
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&signed.public_key.0) else {
            return false;
        };
        hashes.push(hash.as_slice());
        sigs.push(ed25519_dalek::Signature::from_bytes(&signed.signature.0));
        keys.push(key);
    }
    ed25519_dalek::verify_batch(&hashes, &sigs, &keys).is_ok()
}

/// Wall-clock time in nanoseconds since the Unix epoch, on every target.
pub fn now_ns() -> u64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    }
    #[cfg(target_arch = "wasm32")]
    {
        (js_sys::Date::now() * 1_000_000.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn each_signer_publishes_within_its_budget_and_forgeries_cannot_spend_it() {
        let mut v = Validator::new(CONTRACT).with_signer_limit(RateLimit { per_second: 1.0, burst: 3.0 });
        let now = now_ns();
        // testkit: intents n and n + 200 share a signer.
        let same: Vec<SignedIntent> = (0..5).map(|i| valid_intent(7 + 200 * i)).collect();
        // Forgeries in the signer's name cost it nothing.
        for s in &same {
            assert!(matches!(v.check_intent(forge(s), now), Verdict::Reject(_)));
        }
        let verdicts: Vec<_> = same.iter().map(|s| v.check_intent(s.clone(), now)).collect();
        assert_eq!(verdicts.iter().filter(|v| matches!(v, Verdict::Accept(_))).count(), 3);
        assert!(matches!(verdicts[3], Verdict::Ignore(IgnoreReason::SignerRateLimited)));
        // Another signer is unaffected; the limited intent is taken once the budget refills.
        assert!(matches!(v.check_intent(valid_intent(8), now), Verdict::Accept(_)));
        assert!(matches!(v.check_intent(same[3].clone(), now + 1_500_000_000), Verdict::Accept(_)));
    }

    #[test]
    fn status_reports_are_bounded_and_plausible() {
        let mut v = Validator::new(CONTRACT);
        let signed = valid_intent(2);
        let h = Payload::of(&signed).hash(&DalekCrypto);
        let tx = "9wQ1nF3hcfDLnEPuMxJgi5yVmc3FMDwsD8Nr2N4mPXW6".to_owned();
        let status = |s: IntentStatus| GossipMessage::Status { intent_hash: h, status: s }.encode();
        let executed = status(IntentStatus::Executed { tx_hash: tx.clone() });
        assert!(matches!(v.check_bytes(&executed, now_ns()), Verdict::Ignore(IgnoreReason::UnknownIntent)), "about an intent never seen");
        v.check_intent(signed, now_ns());
        assert!(matches!(v.check_bytes(&executed, now_ns()), Verdict::Accept(Accepted::Status { .. })));
        let again = status(IntentStatus::Executed { tx_hash: "GZpLKs6pcHFGDmh1oVzjQLcnrAWX1UMtcuKaAfV3r6hK".into() });
        assert!(matches!(v.check_bytes(&again, now_ns()), Verdict::Ignore(IgnoreReason::DuplicateStatus)), "one executed report per intent");
        let failed = status(IntentStatus::Failed { code: "SIGNATURE_INVALID".into(), reason: String::new() });
        assert!(matches!(v.check_bytes(&failed, now_ns()), Verdict::Accept(_)), "and one failed report");
        assert!(matches!(v.check_bytes(&failed, now_ns()), Verdict::Ignore(IgnoreReason::DuplicateStatus)));
        // Lies an honest relayer never tells are the sender's fault.
        let not_now = status(IntentStatus::Failed { code: "INSUFFICIENT_BALANCE".into(), reason: String::new() });
        assert!(matches!(v.check_bytes(&not_now, now_ns()), Verdict::Reject(e) if e.code == ErrorCode::InsufficientBalance));
        let bad_tx = status(IntentStatus::Executed { tx_hash: "not-a-hash".into() });
        assert!(matches!(v.check_bytes(&bad_tx, now_ns()), Verdict::Reject(e) if e.code == ErrorCode::MessageMalformed));
        // What this node published itself counts as seen.
        let mine = Payload::of(&valid_intent(3)).hash(&DalekCrypto);
        v.mark_seen(mine);
        let about_mine = GossipMessage::Status { intent_hash: mine, status: IntentStatus::Executed { tx_hash: tx } }.encode();
        assert!(matches!(v.check_bytes(&about_mine, now_ns()), Verdict::Accept(_)));
    }

    #[test]
    fn accepts_a_valid_intent_once_then_ignores_duplicates() {
        let mut v = Validator::new(CONTRACT);
        let signed = valid_intent(1);
        let bytes = GossipMessage::Intent { intent: signed.clone() }.encode();
        assert!(matches!(v.check_bytes(&bytes, now_ns()), Verdict::Accept(Accepted::Intent { .. })));
        assert!(matches!(v.check_bytes(&bytes, now_ns()), Verdict::Ignore(IgnoreReason::Duplicate)));
        // Same intent, different JSON spacing: still the same intent hash.
        let spaced = serde_json::to_vec_pretty(&GossipMessage::Intent { intent: signed }).unwrap();
        assert!(matches!(v.check_bytes(&spaced, now_ns()), Verdict::Ignore(IgnoreReason::Duplicate)));
    }

    #[test]
    fn rejects_forged_wrong_recipient_expired_malformed_and_oversized() {
        let mut v = Validator::new(CONTRACT);
        let code = |v: &mut Validator, bytes: &[u8]| match v.check_bytes(bytes, now_ns()) {
            Verdict::Reject(e) => e.code,
            other => panic!("expected a rejection, got {other:?}"),
        };
        let genuine = valid_intent(2);
        let forged = GossipMessage::Intent { intent: forge(&genuine) }.encode();
        assert_eq!(code(&mut v, &forged), ErrorCode::SignatureInvalid);
        let other = GossipMessage::Intent { intent: intent_for("someone-else.near", 3, 60) }.encode();
        assert_eq!(code(&mut v, &other), ErrorCode::WrongRecipient);
        let expired = GossipMessage::Intent { intent: intent_for(CONTRACT, 4, -3600) }.encode();
        assert_eq!(code(&mut v, &expired), ErrorCode::DeadlineExpired);
        assert_eq!(code(&mut v, b"{not json"), ErrorCode::MessageMalformed);
        assert_eq!(code(&mut v, &vec![b' '; 9000]), ErrorCode::MessageTooLarge);
        // The forgery did not enter the seen set: the genuine intent with that payload still passes.
        let genuine = GossipMessage::Intent { intent: genuine }.encode();
        assert!(matches!(v.check_bytes(&genuine, now_ns()), Verdict::Accept(_)));
    }

    #[test]
    fn just_expired_is_ignored_not_rejected() {
        let mut v = Validator::new(CONTRACT);
        let bytes = GossipMessage::Intent { intent: intent_for(CONTRACT, 5, -5) }.encode();
        assert!(matches!(v.check_bytes(&bytes, now_ns()), Verdict::Ignore(IgnoreReason::JustExpired)));
    }

    #[test]
    fn batch_gives_the_same_verdicts_as_one_by_one() {
        let ten = valid_intent(10);
        let msgs: Vec<Vec<u8>> = vec![
            GossipMessage::Intent { intent: ten.clone() }.encode(),
            GossipMessage::Intent { intent: forged_intent(11) }.encode(),
            GossipMessage::Intent { intent: valid_intent(12) }.encode(),
            GossipMessage::Intent { intent: ten }.encode(),
            b"garbage".to_vec(),
        ];
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let summary = |vs: Vec<Verdict>| {
            vs.into_iter()
                .map(|v| match v {
                    Verdict::Accept(_) => "accept".to_string(),
                    Verdict::Ignore(r) => r.as_str().to_string(),
                    Verdict::Reject(e) => e.code.to_string(),
                })
                .collect::<Vec<_>>()
        };
        let batch = summary(Validator::new(CONTRACT).check_batch(&refs, now_ns()));
        let mut single = Validator::new(CONTRACT);
        let one_by_one = summary(refs.iter().map(|m| single.check_bytes(m, now_ns())).collect());
        assert_eq!(batch, one_by_one);
        assert_eq!(batch, ["accept", "SIGNATURE_INVALID", "accept", "duplicate", "MESSAGE_MALFORMED"]);
        // An all-valid batch takes the fast path and still accepts each once.
        let good: Vec<Vec<u8>> = (20..30).map(|i| GossipMessage::Intent { intent: valid_intent(i) }.encode()).collect();
        let refs: Vec<&[u8]> = good.iter().map(|m| m.as_slice()).collect();
        assert!(Validator::new(CONTRACT).check_batch(&refs, now_ns()).iter().all(|v| matches!(v, Verdict::Accept(_))));
    }

    #[test]
    fn seen_set_is_bounded() {
        let mut s = SeenSet::new(3);
        for i in 0..10u8 {
            assert!(s.insert(IntentHash([i; 32])));
        }
        assert_eq!(s.len(), 3);
        assert!(!s.contains(&IntentHash([0; 32])));
        assert!(s.contains(&IntentHash([9; 32])));
        assert!(!s.insert(IntentHash([9; 32])));
    }
}
