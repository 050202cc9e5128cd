//! History beside the queue: payments this page saw made *to* the user's accounts, and the
//! deposits it made through the wallet. What the user sent is the queue's records.
//!
//! There is no indexer to ask, so "received" means: intents the page's gossip node saw (every
//! relayer gossips what it settles) that transfer to one of the user's accounts. A payment that
//! settled while no page of the user's was on the mesh is not listed; the ledger balance stays
//! the truth. Like a sent record, a received one is called settled only on chain evidence: the
//! payer's nonce spent by this very intent (`nonce_status`), and failed only when the chain shows
//! it can no longer execute.
//!
//! A received payment is a queue [`Record`] (queued = pending, then executed or failed), so it is
//! stored with the code the queue already has: a serde type of its own costs the page several KB.

use crate::compose::{format_units, short, Decimals};
use crate::queue::{Event, Record, State};
use outpost_protocol::abi::NonceStatus;
use outpost_protocol::limits::NONCE_PRUNE_GRACE_NS;
use outpost_protocol::validate::decode_intent;
use outpost_protocol::{AccountId, Action, ErrorCode, SignedIntent, TokenId};

/// Entries kept per list: the oldest settled ones go first.
pub const KEEP: usize = 100;
/// After its deadline a payment still in flight may land (a relayer submitted it just before):
/// an unused nonce says "expired" only this long after (ms).
pub const DEADLINE_GRACE_MS: u64 = 120_000;

/// A deposit into the ledger this page sent through the wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub tx_hash: String,
    pub account: AccountId,
    pub token: TokenId,
    pub amount: u128,
    pub at_ms: u64,
}

impl Deposit {
    /// One stored line: `tx account token amount at_ms` (no field holds a space).
    fn line(&self) -> String {
        format!("{} {} {} {} {}", self.tx_hash, self.account, self.token, self.amount, self.at_ms)
    }

    fn parse(line: &str) -> Option<Deposit> {
        let mut f = line.split(' ');
        let d = Deposit {
            tx_hash: f.next().filter(|t| !t.is_empty())?.to_owned(),
            account: f.next()?.parse().ok()?,
            token: f.next()?.parse().ok()?,
            amount: f.next()?.parse().ok()?,
            at_ms: f.next()?.parse().ok()?,
        };
        f.next().is_none().then_some(d)
    }
}

/// Both lists, newest last. Stored per intents contract (localStorage): the received records as
/// JSON, the deposits as lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub received: Vec<Record>,
    pub deposits: Vec<Deposit>,
}

impl History {
    /// A stored history. What does not read is left out (it is a convenience: the chain and the
    /// queue hold what matters).
    pub fn load(received: Option<&str>, deposits: Option<&str>) -> History {
        History {
            received: received.and_then(|j| serde_json::from_slice(j.as_bytes()).ok()).unwrap_or_default(),
            deposits: deposits.map(|t| t.lines().filter_map(Deposit::parse).collect()).unwrap_or_default(),
        }
    }

    pub fn received_json(&self) -> String {
        serde_json::to_string(&self.received).unwrap_or_default()
    }

    pub fn deposits_text(&self) -> String {
        self.deposits.iter().map(Deposit::line).collect::<Vec<_>>().join("\n")
    }

    /// Records `signed` (already verified by the gossip node) when it transfers to one of `mine`
    /// and is not the user's own (those are in the queue). Returns whether it was added.
    pub fn observe(&mut self, signed: &SignedIntent, mine: &[AccountId], decimals: &dyn Decimals, now_ms: u64) -> bool {
        let Ok(intent) = decode_intent(&signed.message) else { return false };
        if mine.contains(&intent.signer_id) {
            return false;
        }
        let credits: Vec<String> = intent
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Transfer { token, amount, receiver_id, memo } if mine.contains(receiver_id) => Some(format!(
                    "{} {} to {receiver_id}{}",
                    format_units(amount.0, decimals.decimals(token)),
                    short(token),
                    memo.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
                )),
                _ => None,
            })
            .collect();
        if credits.is_empty() {
            return false;
        }
        let Ok(record) = Record::new(signed.clone(), credits.join(", "), now_ms) else { return false };
        if self.received.iter().any(|r| r.id == record.id) {
            return false;
        }
        self.received.push(record);
        trim(&mut self.received, |r| r.state.is_final());
        true
    }

    /// The payments still waiting for the chain's word (a `NonceOracle` reads each one's nonce).
    pub fn unsettled(&self) -> Vec<Record> {
        self.received.iter().filter(|r| !r.state.is_final()).cloned().collect()
    }

    /// Applies what `nonce_status` said of payment `id`'s nonce. Returns whether it changed.
    pub fn settle(&mut self, id: &str, status: &NonceStatus, now_ms: u64) -> bool {
        let Some(r) = self.received.iter_mut().find(|r| r.id == id) else { return false };
        let now_ns = now_ms.saturating_mul(1_000_000);
        let failed = |reason: &str| Event::ChainFailed { code: ErrorCode::NonceUsed.as_str().into(), reason: reason.into(), tx_hash: None };
        let event = match status {
            NonceStatus::Executed { intent_hash } if intent_hash.to_string() == r.id => Event::Executed { tx_hash: None },
            NonceStatus::Executed { .. } => failed("the payer spent its nonce on another intent"),
            NonceStatus::Cancelled => failed("the payer cancelled it"),
            // Past the point where the contract may prune the nonce's record, "unused" proves
            // nothing: it stays pending rather than be called expired when it may have settled.
            NonceStatus::Unused
                if r.deadline_ns.saturating_add(DEADLINE_GRACE_MS * 1_000_000) < now_ns
                    && r.signed.nonce.expiry_ns().saturating_add(NONCE_PRUNE_GRACE_NS) >= now_ns =>
            {
                Event::Expired
            }
            NonceStatus::Unused => return false,
        };
        r.apply(event, now_ms, 0)
    }

    /// Records a deposit the wallet sent.
    pub fn deposited(&mut self, deposit: Deposit) -> bool {
        let new = !self.deposits.iter().any(|d| d.tx_hash == deposit.tx_hash);
        if new {
            self.deposits.push(deposit);
            trim(&mut self.deposits, |_| true);
        }
        new
    }
}

/// How a received record reads: pending, executed, failed.
pub fn received_state(r: &Record) -> &'static str {
    match r.state {
        State::Queued | State::Sent { .. } => "pending",
        _ => r.state.name(),
    }
}

/// Keeps at most [`KEEP`] entries, dropping the oldest that `droppable` allows first, then the
/// oldest of all.
fn trim<T>(list: &mut Vec<T>, droppable: impl Fn(&T) -> bool) {
    while list.len() > KEEP {
        let i = list.iter().position(&droppable).unwrap_or(0);
        list.remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::intent_id;
    use crate::testutil::{key, CONTRACT, NOW_MS};
    use outpost_protocol::{Amount, Deadline, Intent, Nonce};

    fn acct(s: &str) -> AccountId {
        s.parse().unwrap()
    }

    fn near_decimals(_: &TokenId) -> u8 {
        24
    }

    /// An intent from `from` with the given actions; `n` makes its nonce unique. (Signatures were
    /// checked by the gossip node before the history sees an intent.)
    fn paying(n: u8, from: &str, actions: Vec<Action>) -> SignedIntent {
        let intent = Intent { signer_id: acct(from), deadline: Deadline(NOW_MS * 1_000_000 + 600_000_000_000), actions, fee: None };
        key().sign_intent(&intent, Nonce::new(intent.deadline.0, [n; 24]), CONTRACT)
    }

    fn transfer(to: &str, yocto: u128) -> Action {
        Action::Transfer { token: TokenId::Near, amount: Amount(yocto), receiver_id: acct(to), memo: Some("rent".into()) }
    }

    fn observe(h: &mut History, signed: &SignedIntent, mine: &[AccountId]) -> bool {
        h.observe(signed, mine, &near_decimals, NOW_MS)
    }

    #[test]
    fn only_others_payments_to_my_accounts_are_kept_once() {
        let mine = [acct("carol.near"), acct("c0ffee.near")];
        let mut h = History::default();
        let pays_me = paying(1, "dave.near", vec![transfer("bob.near", 5), transfer("carol.near", 7 * 10u128.pow(23)), transfer("c0ffee.near", 9)]);
        assert!(observe(&mut h, &pays_me, &mine));
        assert!(!observe(&mut h, &pays_me, &mine), "the same intent, gossiped again, is one entry");
        assert!(!observe(&mut h, &paying(2, "dave.near", vec![transfer("bob.near", 5)]), &mine), "not to me");
        assert!(!observe(&mut h, &paying(3, "carol.near", vec![transfer("c0ffee.near", 5)]), &mine), "my own: in the queue");
        let mut garbled = pays_me.clone();
        garbled.message = "{".into();
        assert!(!observe(&mut h, &garbled, &mine));
        let r = &h.received[0];
        assert_eq!((r.signer_id.as_str(), received_state(r), r.id.clone()), ("dave.near", "pending", intent_id(&pays_me)));
        assert_eq!(r.summary, "0.7 NEAR to carol.near (rent), 0.000000000000000000000009 NEAR to c0ffee.near (rent)");
        let stored = History::load(Some(&h.received_json()), Some(&h.deposits_text()));
        assert_eq!(stored, h, "it survives storage");
        assert_eq!(History::load(Some("not json"), Some("a b")), History::default(), "what does not read is left out");
    }

    #[test]
    fn settled_only_by_the_chain() {
        let mine = [acct("carol.near")];
        let mut h = History::default();
        for n in 1..=4 {
            observe(&mut h, &paying(n, "dave.near", vec![transfer("carol.near", n.into())]), &mine);
        }
        let ids: Vec<String> = h.received.iter().map(|r| r.id.clone()).collect();
        let hash = |id: &str| id.parse().unwrap();
        // Unused before the deadline (and its grace): still on its way.
        let deadline_ms = h.received[0].deadline_ns / 1_000_000;
        assert!(!h.settle(&ids[0], &NonceStatus::Unused, deadline_ms + DEADLINE_GRACE_MS));
        assert_eq!(h.unsettled().len(), 4);
        assert_eq!(h.unsettled()[0], h.received[0]);
        assert!(h.settle(&ids[0], &NonceStatus::Executed { intent_hash: hash(&ids[0]) }, NOW_MS));
        assert!(h.settle(&ids[1], &NonceStatus::Executed { intent_hash: hash(&ids[0]) }, NOW_MS));
        assert!(h.settle(&ids[2], &NonceStatus::Cancelled, NOW_MS));
        assert!(h.settle(&ids[3], &NonceStatus::Unused, deadline_ms + DEADLINE_GRACE_MS + 1));
        let states: Vec<(&str, String)> = h.received.iter().map(|r| (received_state(r), match &r.state { State::Failed { reason, .. } => reason.clone(), _ => String::new() })).collect();
        assert_eq!(states[0].0, "executed");
        assert!(states[1].0 == "failed" && states[1].1.contains("another intent"), "{states:?}");
        assert!(states[2].0 == "failed" && states[2].1.contains("cancelled"), "{states:?}");
        assert!(states[3].0 == "failed" && states[3].1.contains("deadline"), "{states:?}");
        assert!(h.unsettled().is_empty());
        assert!(!h.settle(&ids[0], &NonceStatus::Cancelled, NOW_MS), "a settled entry does not move");
        // Past the nonce record's pruning an unused read is no evidence.
        let mut late = History::default();
        observe(&mut late, &paying(9, "dave.near", vec![transfer("carol.near", 1)]), &mine);
        let r = &late.received[0];
        let pruned_ms = (r.signed.nonce.expiry_ns() + NONCE_PRUNE_GRACE_NS) / 1_000_000 + 1;
        let id = r.id.clone();
        assert!(!late.settle(&id, &NonceStatus::Unused, pruned_ms));
        assert_eq!(late.unsettled().len(), 1);
    }

    #[test]
    fn lists_stay_bounded_dropping_settled_entries_first() {
        let mine = [acct("carol.near")];
        let mut h = History::default();
        let first = paying(0, "dave.near", vec![transfer("carol.near", 1)]);
        observe(&mut h, &first, &mine);
        let second = paying(1, "dave.near", vec![transfer("carol.near", 1)]);
        observe(&mut h, &second, &mine);
        let settled = intent_id(&second);
        h.settle(&settled, &NonceStatus::Executed { intent_hash: settled.parse().unwrap() }, NOW_MS);
        for n in 2..(KEEP as u8 + 1) {
            observe(&mut h, &paying(n, "dave.near", vec![transfer("carol.near", 1)]), &mine);
        }
        assert_eq!(h.received.len(), KEEP);
        assert!(h.received.iter().all(|r| r.id != settled), "the settled one went first");
        assert_eq!(h.received[0].id, intent_id(&first), "the oldest pending one stays");
        let deposit = |n: usize| Deposit { tx_hash: format!("T{n}"), account: acct("carol.near"), token: "nep141:usdc.near".parse().unwrap(), amount: 10u128.pow(30), at_ms: n as u64 };
        for n in 0..(KEEP + 3) {
            assert!(h.deposited(deposit(n)));
        }
        assert!(!h.deposited(deposit(KEEP + 2)), "one transaction, one entry");
        assert_eq!(h.deposits.len(), KEEP);
        assert_eq!(h.deposits[0].tx_hash, "T3");
        let stored = History::load(None, Some(&h.deposits_text()));
        assert_eq!(stored.deposits, h.deposits);
        assert_eq!(History::load(None, Some("T1 carol.near near 5 1 extra\nT2 carol.near near 5 1")).deposits.len(), 1);
    }
}
