//! The settlement engine: `Engine<S: Storage, C: Crypto, I: Inspector>`. It runs identically on
//! chain and natively; `execute` and `simulate` are the same run with different inspectors:
//! [`Abort`] stops at the first failing item (the batch then changes nothing), [`Report`] rolls the
//! item back and goes on, recording each verdict.
//!
//! Per item, in DESIGN.md order: stateless rules (`outpost_protocol::verify_signed_intent`:
//! size, weak key, signature, decode, recipient, deadline and nonce expiry, fee, actions), then
//! the key belongs to the signer, then the nonce is unused (and is recorded with its expiry), then
//! the fee moves from the signer to the caller, then the actions apply in order. After all items:
//! at most `MAX_WITHDRAWALS_PER_BATCH` withdrawals, the swap offers net to zero per token, the
//! caller's ledger NEAR pays the storage the batch adds (v2: no deposit needed), and the events
//! fit NEAR's log limit.

use crate::ledger::Ledger;
use crate::storage::{Changes, Overlay, Storage};
use outpost_protocol::abi::{BalanceChange, BatchFailure, ItemOutcome, ItemResult, EVENT_STANDARD, EVENT_VERSION};
use outpost_protocol::error::{ErrorCode, IntentError};
use outpost_protocol::limits::GAS_PER_WITHDRAWAL;
use outpost_protocol::validate::{check_batch_size, check_batch_withdrawals, check_diffs_balanced, check_expiry_horizon};
use outpost_protocol::{
    verify_signed_intent, AccountId, Action, Crypto, IntentHash, Nonce, SignedAmount, SignedIntent, TokenId,
};
use outpost_protocol::json::{push_array, push_display, ObjectWriter};
use std::collections::BTreeMap;

/// NEAR allows 16 KiB of logs per receipt; the batch's events get this much, the rest is headroom
/// for the token contract's and callbacks' own lines.
pub const MAX_EVENT_LOG_BYTES: usize = 15 * 1024;

/// What the engine needs to know about the chain and the call.
#[derive(Clone, Debug)]
pub struct ChainEnv {
    /// This contract's account id: every intent's `recipient` must equal it.
    pub contract_id: String,
    /// Block timestamp, ns.
    pub now_ns: u64,
    /// Who calls `execute_intents`: receives the fees, pays the storage from its ledger NEAR.
    pub caller: AccountId,
    /// yoctoNEAR attached to the call: credited to the caller's ledger NEAR before it pays.
    pub attached: u128,
    /// yoctoNEAR per storage byte.
    pub storage_byte_cost: u128,
}

/// The gas model `simulate_intents` reports per item (a view cannot read the gas it uses, and a
/// simulation does different work anyway). Upper bounds from the VM gas report (protocols 85 and
/// 88), checked by the tier-1 tests: executing with the reported gas always suffices.
pub mod gas {
    const TGAS: u64 = 1_000_000_000_000;
    /// Signature check, hashing, nonce record, event entry.
    pub const PER_INTENT: u64 = TGAS;
    /// Decoding and hashing the signed message.
    pub const PER_MESSAGE_BYTE: u64 = 1_000_000_000;
    /// A ledger read and write or two.
    pub const PER_ACTION: u64 = 3 * TGAS / 10;
    /// Each token of a swap offer, each cancelled nonce: a read and a write.
    pub const PER_RECORD: u64 = TGAS / 4;
    /// The call itself: loading the contract, reading the arguments, the event log.
    pub const PER_BATCH: u64 = 3 * TGAS;
}

/// What an item costs the caller: prepaid gas and storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItemCost {
    /// Gas by the [`gas`] model, plus `GAS_PER_WITHDRAWAL` per withdrawal.
    pub gas: u64,
    /// Storage bytes the item adds (negative: frees).
    pub storage_bytes: i64,
    /// yoctoNEAR the caller pays for it: storage, plus 1 per NEP-141 withdrawal.
    pub cost: i128,
}

/// An item that passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutedIntent {
    pub intent_hash: IntentHash,
    pub signer_id: AccountId,
    pub nonce: Nonce,
    pub actions: Vec<&'static str>,
}

/// Ledger balance taken out by a `withdraw` action; the contract sends it and refunds it in a
/// callback if the transfer fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub account_id: AccountId,
    pub token: TokenId,
    pub amount: u128,
    pub receiver_id: AccountId,
    pub memo: Option<String>,
}

/// Decides what a failing item does to the batch, and sees every verdict.
pub trait Inspector {
    /// An item passed; `changes` are its balance changes per (account, token).
    fn on_executed(&mut self, index: u32, item: &ExecutedIntent, changes: &[BalanceDelta], cost: ItemCost);
    /// Returns true to abort the whole batch, false to roll the item back and go on.
    fn on_failed(&mut self, index: u32, item: Option<&ExecutedIntent>, error: &IntentError) -> bool;
    /// A batch-wide rule failed. Returns true to abort.
    fn on_batch_failed(&mut self, error: &IntentError) -> bool;
}

/// `execute_intents`: all or nothing.
#[derive(Default)]
pub struct Abort;

impl Inspector for Abort {
    fn on_executed(&mut self, _: u32, _: &ExecutedIntent, _: &[BalanceDelta], _: ItemCost) {}
    fn on_failed(&mut self, _: u32, _: Option<&ExecutedIntent>, _: &IntentError) -> bool {
        true
    }
    fn on_batch_failed(&mut self, _: &IntentError) -> bool {
        true
    }
}

/// A balance change: (account, token) and a signed amount.
pub type BalanceDelta = ((AccountId, TokenId), i128);

/// `simulate_intents`: every item's verdict and the net balance changes of the passing ones
/// (kept only here, so `execute_intents` spends no gas on them).
#[derive(Default)]
pub struct Report {
    pub outcomes: Vec<ItemOutcome>,
    pub balance_changes: BTreeMap<(AccountId, TokenId), i128>,
}

impl Report {
    pub fn balance_change_list(&self) -> Vec<BalanceChange> {
        self.balance_changes
            .iter()
            .filter(|(_, d)| **d != 0)
            .map(|((account_id, token), delta)| BalanceChange {
                account_id: account_id.clone(),
                token: token.clone(),
                delta: SignedAmount(*delta),
            })
            .collect()
    }
}

impl Inspector for Report {
    fn on_executed(&mut self, index: u32, item: &ExecutedIntent, changes: &[BalanceDelta], cost: ItemCost) {
        for (key, delta) in changes {
            let total = self.balance_changes.entry(key.clone()).or_insert(0);
            // Reports saturate beyond i128; balances themselves are exact u128.
            *total = total.saturating_add(*delta);
        }
        self.outcomes.push(ItemOutcome {
            index,
            intent_hash: Some(item.intent_hash),
            signer_id: Some(item.signer_id.clone()),
            nonce: Some(item.nonce),
            result: ItemResult::Ok,
            gas: cost.gas,
            storage_bytes: cost.storage_bytes,
            storage_cost: SignedAmount(cost.cost),
        });
    }
    fn on_failed(&mut self, index: u32, item: Option<&ExecutedIntent>, error: &IntentError) -> bool {
        self.outcomes.push(ItemOutcome {
            index,
            intent_hash: item.map(|i| i.intent_hash),
            signer_id: item.map(|i| i.signer_id.clone()),
            nonce: item.map(|i| i.nonce),
            result: ItemResult::from(error),
            gas: 0,
            storage_bytes: 0,
            storage_cost: SignedAmount(0),
        });
        false
    }
    fn on_batch_failed(&mut self, _: &IntentError) -> bool {
        false
    }
}

/// What a batch did (execute: to be committed; simulate: what it would do).
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub executed: Vec<ExecutedIntent>,
    pub withdrawals: Vec<Withdrawal>,
    /// Net storage bytes the batch adds (including the caller's own new records).
    pub storage_bytes: i64,
    /// yoctoNEAR taken from the caller's ledger NEAR after the attached deposit was credited to
    /// it: storage plus 1 per NEP-141 withdrawal (negative: credited for freed storage).
    pub caller_charge: i128,
    /// NEP-297 log lines (`EVENT_JSON:...`), at most [`MAX_EVENT_LOG_BYTES`] in all.
    pub events: Vec<String>,
    /// The executed intents' hashes as a JSON array (`execute_intents` returns it; the `executed`
    /// event embeds it), so each hash is base58-encoded once.
    pub hashes_json: String,
    /// A batch-wide failure (only simulate returns an outcome with one).
    pub batch_error: Option<IntentError>,
}

impl BatchOutcome {
    /// NEP-141 withdrawals: each needs 1 yoctoNEAR attached to `ft_transfer`, paid by the caller.
    pub fn nep141_withdrawals(&self) -> u128 {
        self.withdrawals.iter().filter(|w| matches!(w.token, TokenId::Nep141(_))).count() as u128
    }
}

/// One batch over one storage.
pub struct Engine<'a, S: Storage, C: Crypto, I: Inspector> {
    ledger: Ledger<Overlay<'a, S>>,
    crypto: C,
    env: ChainEnv,
    pub inspector: I,
}

impl<'a, S: Storage, C: Crypto, I: Inspector> Engine<'a, S, C, I> {
    pub fn new(storage: &'a S, crypto: C, env: ChainEnv, inspector: I) -> Self {
        Engine { ledger: Ledger(Overlay::new(storage)), crypto, env, inspector }
    }

    /// Execute: intents' nonces are not read but checked when the batch commits (see
    /// `Overlay`'s `write_new`), where the storage supports it.
    pub fn deferring_new_checks(mut self) -> Self {
        self.ledger.0.defer_new_checks();
        self
    }

    /// Runs a batch. Items that could not even be decoded come in as `Err`. On success returns
    /// the outcome and the storage changes to apply; on an aborted item or a batch-wide failure
    /// (execute), `Err`. Simulate returns `Ok` with the batch failure in `batch_error`.
    pub fn run(mut self, items: Vec<Result<SignedIntent, IntentError>>) -> Result<(BatchOutcome, Changes, I), BatchFailure> {
        let mut out = BatchOutcome::default();
        if let Err(e) = check_batch_size(items.len()) {
            return self.batch_failure(out, e);
        }
        let mut diffs: Vec<BTreeMap<TokenId, SignedAmount>> = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let index = index as u32;
            let checkpoint = self.ledger.0.checkpoint();
            let mut effects = ItemEffects::default();
            let result = item.and_then(|signed| self.apply(&signed, &mut effects));
            match result {
                Ok(executed) => {
                    let storage_bytes = self.ledger.0.bytes_delta() - checkpoint.bytes_delta();
                    let nep141 = effects.withdrawals.iter().filter(|w| matches!(w.token, TokenId::Nep141(_))).count();
                    let cost = ItemCost {
                        gas: effects.gas + effects.withdrawals.len() as u64 * GAS_PER_WITHDRAWAL,
                        storage_bytes,
                        cost: i128::from(storage_bytes) * self.env.storage_byte_cost as i128 + nep141 as i128,
                    };
                    self.inspector.on_executed(index, &executed, &effects.changes, cost);
                    diffs.extend(effects.diffs);
                    out.withdrawals.extend(effects.withdrawals);
                    out.executed.push(executed);
                }
                Err(error) => {
                    if self.inspector.on_failed(index, effects.identity.as_ref(), &error) {
                        return Err(BatchFailure::Item { index, error });
                    }
                    self.ledger.0.rollback(checkpoint);
                }
            }
        }
        if let Err(e) = check_batch_withdrawals(out.withdrawals.len()) {
            return self.batch_failure(out, e);
        }
        if let Err(e) = check_diffs_balanced(diffs.iter()) {
            return self.batch_failure(out, e);
        }
        match self.settle_caller(out.nep141_withdrawals()) {
            Ok(charge) => out.caller_charge = charge,
            Err(e) => return self.batch_failure(out, e),
        }
        // Written once, embedded as is in the event and returned by the contract.
        push_array(&mut out.hashes_json, &out.executed, |o, e| push_display(o, e.intent_hash));
        out.events = vec![executed_event(&self.env, out.caller_charge, &out.hashes_json)];
        let log_bytes: usize = out.events.iter().map(String::len).sum();
        if log_bytes > MAX_EVENT_LOG_BYTES {
            let e = IntentError::new(
                ErrorCode::EventsTooLarge,
                format!("{} intents make {log_bytes} bytes of events, at most {MAX_EVENT_LOG_BYTES}", out.executed.len()),
            );
            return self.batch_failure(out, e);
        }
        out.storage_bytes = self.ledger.0.bytes_delta();
        Ok((out, self.ledger.0.into_changes(), self.inspector))
    }

    /// v2 storage payment: the attached deposit is credited to the caller's ledger NEAR, which then
    /// pays the storage the whole batch added (its own new records included) and 1 yocto per
    /// NEP-141 withdrawal. Freed storage is credited back only into an existing NEAR record (a
    /// new record would cost more than most frees return).
    fn settle_caller(&mut self, nep141_withdrawals: u128) -> Result<i128, IntentError> {
        let caller = self.env.caller.clone();
        if self.env.attached > 0 {
            self.ledger.credit(&caller, &TokenId::Near, self.env.attached)?;
        }
        let bytes = self.ledger.0.bytes_delta();
        let byte_cost = self.env.storage_byte_cost;
        if bytes > 0 || nep141_withdrawals > 0 {
            let due = (bytes.max(0) as u128).saturating_mul(byte_cost).saturating_add(nep141_withdrawals);
            let freed = (bytes.min(0).unsigned_abs() as u128).saturating_mul(byte_cost);
            let net = due.saturating_sub(freed);
            let have = self.ledger.balance(&caller, &TokenId::Near);
            if have < net {
                return Err(IntentError::new(
                    ErrorCode::InsufficientStorageDeposit,
                    format!(
                        "the batch costs the caller {net} yoctoNEAR ({bytes} bytes of storage, {nep141_withdrawals} yocto for ft_transfer); {caller} has {have} in the ledger: call `deposit` first"
                    ),
                ));
            }
            if net > 0 {
                self.ledger.debit(&caller, &TokenId::Near, net)?;
            }
            return Ok(net as i128);
        }
        let freed = (bytes.unsigned_abs() as u128).saturating_mul(byte_cost);
        if freed > 0 && self.ledger.has_record(&caller, &TokenId::Near) {
            self.ledger.credit(&caller, &TokenId::Near, freed)?;
            return Ok(-(freed as i128));
        }
        Ok(0)
    }

    /// Execute aborts; simulate reports the failure and nothing would change.
    fn batch_failure(mut self, mut out: BatchOutcome, error: IntentError) -> Result<(BatchOutcome, Changes, I), BatchFailure> {
        if self.inspector.on_batch_failed(&error) {
            return Err(BatchFailure::Batch(error));
        }
        out.batch_error = Some(error);
        out.storage_bytes = 0;
        out.caller_charge = 0;
        out.events.clear();
        Ok((out, Changes::default(), self.inspector))
    }

    fn apply(&mut self, signed: &SignedIntent, fx: &mut ItemEffects) -> Result<ExecutedIntent, IntentError> {
        let verified = verify_signed_intent(&self.crypto, signed, &self.env.contract_id, self.env.now_ns)?;
        let signer = verified.intent.signer_id.clone();
        let executed = ExecutedIntent {
            intent_hash: verified.hash,
            signer_id: signer.clone(),
            nonce: verified.nonce,
            actions: verified.intent.actions.iter().map(Action::kind).collect(),
        };
        fx.identity = Some(executed.clone());
        fx.gas = gas::PER_INTENT
            + signed.message.len() as u64 * gas::PER_MESSAGE_BYTE
            + verified.intent.actions.iter().map(|a| match a {
                Action::TokenDiff { diff } => gas::PER_ACTION + diff.len() as u64 * gas::PER_RECORD,
                Action::InvalidateNonces { nonces } => gas::PER_ACTION + nonces.len() as u64 * gas::PER_RECORD,
                _ => gas::PER_ACTION,
            }).sum::<u64>()
            + if verified.intent.fee.is_some() { gas::PER_ACTION } else { 0 };
        if !self.ledger.can_sign(&signer, &verified.public_key) {
            return Err(IntentError::new(
                ErrorCode::KeyNotAuthorized,
                format!("{} may not sign for {signer}", verified.public_key),
            ));
        }
        self.ledger.use_nonce(&signer, &verified.nonce, verified.nonce.expiry_ns(), Some(&verified.hash))?;
        if let Some(fee) = &verified.intent.fee {
            // The relayer's pay, agreed by the signer; a direct submitter pays itself (no change).
            let caller = self.env.caller.clone();
            self.ledger
                .debit(&signer, &fee.token, fee.amount.0)
                .map_err(|e| IntentError::new(e.code, format!("fee: {}", e.detail)))?;
            self.ledger.credit(&caller, &fee.token, fee.amount.0)?;
            fx.change(&signer, &fee.token, fee.amount.0, false);
            fx.change(&caller, &fee.token, fee.amount.0, true);
        }
        for (i, action) in verified.intent.actions.into_iter().enumerate() {
            let kind = action.kind();
            self.apply_action(&signer, action, fx)
                .map_err(|e| IntentError::new(e.code, format!("action {i} ({kind}): {}", e.detail)))?;
        }
        Ok(executed)
    }

    fn apply_action(&mut self, signer: &AccountId, action: Action, fx: &mut ItemEffects) -> Result<(), IntentError> {
        match action {
            Action::Transfer { token, amount, receiver_id, .. } => {
                self.ledger.debit(signer, &token, amount.0)?;
                self.ledger.credit(&receiver_id, &token, amount.0)?;
                fx.change(signer, &token, amount.0, false);
                fx.change(&receiver_id, &token, amount.0, true);
            }
            Action::Withdraw { token, amount, receiver_id, memo } => {
                self.ledger.debit(signer, &token, amount.0)?;
                fx.change(signer, &token, amount.0, false);
                fx.withdrawals.push(Withdrawal {
                    account_id: signer.clone(),
                    token,
                    amount: amount.0,
                    receiver_id,
                    memo,
                });
            }
            Action::TokenDiff { diff } => {
                for (token, delta) in &diff {
                    let magnitude = delta.0.unsigned_abs();
                    if delta.0 < 0 {
                        self.ledger.debit(signer, token, magnitude)?;
                    } else {
                        self.ledger.credit(signer, token, magnitude)?;
                    }
                    fx.change(signer, token, magnitude, delta.0 > 0);
                }
                fx.diffs.push(diff);
            }
            Action::AddPublicKey { public_key } => self.ledger.add_key(signer, public_key)?,
            Action::RemovePublicKey { public_key } => self.ledger.remove_key(signer, &public_key)?,
            Action::InvalidateNonces { nonces } => {
                for nonce in nonces {
                    // A cancelled nonce is kept until its own expiry (plus the grace period).
                    // Cancelling an expired nonce (it can never execute) or an already used or
                    // cancelled one is a no-op, so a retried cancellation does not fail.
                    let expiry = nonce.expiry_ns();
                    check_expiry_horizon(expiry, self.env.now_ns)?;
                    if expiry >= self.env.now_ns && self.ledger.nonce_expiry(signer, &nonce).is_none() {
                        self.ledger.use_nonce(signer, &nonce, expiry, None)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// What one item did, merged into the batch only if the item passes.
#[derive(Default)]
struct ItemEffects {
    identity: Option<ExecutedIntent>,
    gas: u64,
    changes: Vec<BalanceDelta>,
    diffs: Vec<BTreeMap<TokenId, SignedAmount>>,
    withdrawals: Vec<Withdrawal>,
}

impl ItemEffects {
    fn change(&mut self, account: &AccountId, token: &TokenId, amount: u128, credit: bool) {
        let magnitude = i128::try_from(amount).unwrap_or(i128::MAX);
        self.changes.push(((account.clone(), token.clone()), if credit { magnitude } else { -magnitude }));
    }
}

/// A NEP-297 log line: `EVENT_JSON:{"standard":"outpost","version":..,"event":..,"data":<data>}`,
/// `data` being JSON already.
pub fn event_line(event: &str, data: &str) -> String {
    let mut out = String::from("EVENT_JSON:");
    ObjectWriter::new(&mut out).str("standard", EVENT_STANDARD).str("version", EVENT_VERSION).str("event", event).key("data").push_str(data);
    out.push('}');
    out
}

/// The batch's one event line, `executed`:
/// `{"by": caller, "att": attached yocto, "chg": yocto charged to the caller's ledger NEAR
/// (negative: credited), "h": [intent hash, ...]}`. A batch executes whole, so `h[k]` is the hash
/// of the k-th item of the call's `signed` argument, whose message names its signer and actions:
/// with the arguments this accounts for every balance change the batch makes. The signer is not
/// repeated here: a 64-hex implicit signer beside its hash takes 113 bytes, and at most 139 such
/// pairs fit NEAR's 16 KiB of logs; a hash alone takes 47, so 320 intents fit.
fn executed_event(env: &ChainEnv, charge: i128, h: &str) -> String {
    let mut data = String::new();
    ObjectWriter::new(&mut data).display("by", &env.caller).display("att", env.attached).display("chg", charge).key("h").push_str(h);
    data.push('}');
    event_line("executed", &data)
}

/// `[{"account_id", "token", "amount", "by"?, "st"?}]`: a credit, and who paid a new record's
/// storage (`st` yoctoNEAR from `by`'s ledger NEAR) when one was made.
pub fn balance_event(event: &str, account: &AccountId, token: &TokenId, amount: u128, paid: Option<(&AccountId, u128)>) -> String {
    let mut data = String::from("[");
    let mut o = ObjectWriter::new(&mut data);
    o.display("account_id", account).display("token", token).display("amount", amount);
    if let Some((by, st)) = paid {
        o.display("by", by).display("st", st);
    }
    o.end();
    data.push(']');
    event_line(event, &data)
}
