//! Outpost's intents ledger (DESIGN.md §2). The settlement logic is plain Rust over a storage
//! trait ([`engine`], [`ledger`], [`storage`]) and runs natively in tests; `contract` is the thin
//! near-sdk shell, compiled for wasm32 only. Every operation here computes the storage bytes it
//! adds or frees, so it charges or credits whoever the README says pays (v2: the batch caller, the
//! depositor, the pruner; never the contract, never a receiver).

pub mod args;
pub mod engine;
pub mod ledger;
pub mod storage;

#[cfg(target_arch = "wasm32")]
mod contract;

use engine::{Abort, BatchOutcome, ChainEnv, Engine, Report, Withdrawal};
use ledger::Ledger;
use outpost_protocol::abi::{BatchFailure, ItemResult, SimulationReport};
use outpost_protocol::error::{ErrorCode, IntentError};
use outpost_protocol::limits::MAX_BATCH_GAS;
use outpost_protocol::{AccountId, Crypto, Nonce, PublicKey, SignedAmount, SignedIntent, TokenId};
use storage::{Overlay, Storage};

/// Runs and commits a batch: all items pass and every change is written, or nothing is. The
/// caller named in `env` gets the fees and pays the storage from its ledger NEAR.
pub fn execute<S: Storage>(
    storage: &mut S,
    crypto: impl Crypto,
    env: ChainEnv,
    items: Vec<Result<SignedIntent, IntentError>>,
) -> Result<BatchOutcome, BatchFailure> {
    let (outcome, changes, _) = Engine::new(&*storage, crypto, env, Abort).deferring_new_checks().run(items)?;
    if let Err(key) = changes.try_apply_to(storage) {
        // Only an intent's own nonce is assumed new: it was spent after the simulation.
        let found = outcome.executed.iter().position(|e| ledger::nonce_key(&e.signer_id, &e.nonce) == key);
        let error = IntentError::new(ErrorCode::NonceUsed, "the nonce was spent by another transaction since this batch was simulated");
        return Err(match found {
            Some(index) => BatchFailure::Item { index: index as u32, error },
            None => BatchFailure::Batch(error),
        });
    }
    Ok(outcome)
}

/// The same run without writing: every item's verdict and cost, the balance changes (fees and the
/// caller's charge included), and a batch error when the passing items could not execute
/// together (including when they need more than `MAX_BATCH_GAS`).
pub fn simulate<S: Storage>(
    storage: &S,
    crypto: impl Crypto,
    env: ChainEnv,
    items: Vec<Result<SignedIntent, IntentError>>,
) -> SimulationReport {
    let caller = env.caller.clone();
    let attached = env.attached;
    let (outcome, _, mut report) = match Engine::new(storage, crypto, env, Report::default()).run(items) {
        Ok(done) => done,
        // Report never aborts.
        Err(failure) => unreachable!("simulation aborted: {failure}"),
    };
    if outcome.batch_error.is_none() {
        let near = report.balance_changes.entry((caller, TokenId::Near)).or_insert(0);
        *near = near.saturating_add(attached as i128).saturating_sub(outcome.caller_charge);
    }
    let gas = report.outcomes.iter().fold(engine::gas::PER_BATCH, |sum, o| sum.saturating_add(o.gas));
    let batch_error = match &outcome.batch_error {
        Some(e) => Some(ItemResult::from(e)),
        None if gas > MAX_BATCH_GAS => Some(ItemResult::from(&IntentError::new(
            ErrorCode::BatchGasTooHigh,
            format!("the items need {gas} gas, at most {MAX_BATCH_GAS}"),
        ))),
        None => None,
    };
    SimulationReport {
        balance_changes: report.balance_change_list(),
        outcomes: report.outcomes,
        batch_error,
        caller_charge: SignedAmount(outcome.caller_charge),
        gas,
    }
}

/// yoctoNEAR for `bytes` of new storage (nothing for freed storage).
pub fn storage_cost(bytes: i64, storage_byte_cost: u128) -> u128 {
    u128::from(bytes.max(0) as u64).saturating_mul(storage_byte_cost)
}

/// A credit made outside a batch (a deposit, a refund), with its storage bytes and event.
#[derive(Debug, PartialEq, Eq)]
pub struct Credit {
    /// Storage bytes the credit adds (a first balance record for the pair).
    pub storage_bytes: i64,
    pub event: String,
}

/// Credits `amount` of `token` to `account` (a deposit).
pub fn deposit<S: Storage>(storage: &mut S, account: &AccountId, token: &TokenId, amount: u128) -> Result<Credit, IntentError> {
    if amount == 0 {
        return Err(ErrorCode::ZeroAmount.into());
    }
    credit(storage, account, token, amount, "deposit")
}

/// A NEP-141 deposit: credits `amount` of `token` to `receiver`. A first record for that token is
/// paid by the depositor (`payer`, from its NEAR in the ledger), never by the receiver: otherwise
/// anyone could drain a victim's NEAR by sending it dust of many tokens. `payer` is `None` when
/// the depositor cannot be trusted to be who the token claims (see the contract), and then only a
/// receiver that already has a record can be credited. All or nothing: on error nothing is
/// written, so the caller refunds the tokens.
pub fn receive_tokens<S: Storage>(
    storage: &mut S,
    receiver: &AccountId,
    token: &TokenId,
    amount: u128,
    payer: Option<&AccountId>,
    storage_byte_cost: u128,
) -> Result<Credit, IntentError> {
    if amount == 0 {
        return Err(ErrorCode::ZeroAmount.into());
    }
    let mut ledger = Ledger(Overlay::new(&*storage));
    ledger.credit(receiver, token, amount)?;
    let cost = storage_cost(ledger.0.bytes_delta(), storage_byte_cost);
    let mut paid_by = None;
    if cost > 0 {
        let payer = payer.ok_or_else(|| {
            IntentError::new(
                ErrorCode::InsufficientStorageDeposit,
                format!("{receiver} has no {token} record and the sender did not sign this transaction, so nobody pays its storage"),
            )
        })?;
        ledger.debit(payer, &TokenId::Near, cost).map_err(|_| {
            IntentError::new(
                ErrorCode::InsufficientStorageDeposit,
                format!("{payer} needs {cost} yoctoNEAR in the ledger (call `deposit`) to pay for {receiver}'s new {token} record"),
            )
        })?;
        paid_by = Some(payer);
    }
    let storage_bytes = ledger.0.bytes_delta();
    ledger.0.into_changes().apply_to(storage);
    Ok(Credit {
        storage_bytes,
        event: engine::balance_event("deposit", receiver, token, amount, paid_by.map(|by| (by, cost))),
    })
}

/// Storage bytes crediting `account` would add (0 when it already has a record for `token`).
pub fn credit_storage_bytes<S: Storage>(storage: &S, account: &AccountId, token: &TokenId) -> i64 {
    let mut probe = Ledger(Overlay::new(storage));
    // Crediting zero writes the record without changing a balance: exactly what a credit costs.
    let _ = probe.credit(account, token, 0);
    probe.0.bytes_delta()
}

/// Puts back a withdrawal whose transfer failed. Its record still exists (zero balances are
/// kept), so this needs no storage; it credits even while paused, refunds must always land.
pub fn refund_withdrawal<S: Storage>(storage: &mut S, w: &Withdrawal) -> Result<Credit, IntentError> {
    credit(storage, &w.account_id, &w.token, w.amount, "withdraw_refund")
}

fn credit<S: Storage>(storage: &mut S, account: &AccountId, token: &TokenId, amount: u128, event: &str) -> Result<Credit, IntentError> {
    let mut overlay = Ledger(Overlay::new(&*storage));
    overlay.credit(account, token, amount)?;
    let storage_bytes = overlay.0.bytes_delta();
    overlay.0.into_changes().apply_to(storage);
    Ok(Credit {
        storage_bytes,
        event: engine::balance_event(event, account, token, amount, None),
    })
}

/// Registers a key for `account` by direct call; returns the storage bytes added.
pub fn add_public_key<S: Storage>(storage: &mut S, account: &AccountId, key: PublicKey) -> Result<i64, IntentError> {
    let mut overlay = Ledger(Overlay::new(&*storage));
    overlay.add_key(account, key)?;
    let bytes = overlay.0.bytes_delta();
    overlay.0.into_changes().apply_to(storage);
    Ok(bytes)
}

/// Storage freed outside a batch (pruning, a key removed by direct call) and who got it.
#[derive(Debug, PartialEq, Eq)]
pub struct Freed {
    /// Records deleted.
    pub count: u32,
    /// Bytes freed.
    pub bytes: u64,
    /// yoctoNEAR credited to the account that freed them (0 without a NEAR record in the ledger:
    /// a new record would cost more than most frees return).
    pub credited: u128,
    pub event: String,
}

/// Removes one of `account`'s keys by direct call; the freed storage goes to `account`.
pub fn remove_public_key<S: Storage>(storage: &mut S, account: &AccountId, key: &PublicKey, storage_byte_cost: u128) -> Result<Freed, IntentError> {
    let mut ledger = Ledger(Overlay::new(&*storage));
    ledger.remove_key(account, key)?;
    let (changes, freed) = finish_free(ledger, account, 1, storage_byte_cost);
    changes.apply_to(storage);
    Ok(freed)
}

/// Deletes the used or cancelled nonces among `nonces` whose expiry plus the grace period has
/// passed; the freed storage goes to `pruner`.
pub fn prune_nonces<S: Storage>(storage: &mut S, pruner: &AccountId, nonces: &[(AccountId, Nonce)], now_ns: u64, storage_byte_cost: u128) -> Freed {
    let mut ledger = Ledger(Overlay::new(&*storage));
    let count = nonces.iter().filter(|(account, nonce)| ledger.prune_nonce(account, nonce, now_ns)).count() as u32;
    let (changes, freed) = finish_free(ledger, pruner, count, storage_byte_cost);
    changes.apply_to(storage);
    freed
}

fn finish_free<S: Storage>(mut ledger: Ledger<Overlay<'_, S>>, to: &AccountId, count: u32, storage_byte_cost: u128) -> (storage::Changes, Freed) {
    let bytes = ledger.0.bytes_delta().min(0).unsigned_abs();
    let mut credited = 0;
    if bytes > 0 && ledger.has_record(to, &TokenId::Near) {
        credited = u128::from(bytes).saturating_mul(storage_byte_cost);
        // Cannot overflow in practice: freed storage was paid into the contract's own balance.
        if ledger.credit(to, &TokenId::Near, credited).is_err() {
            credited = 0;
        }
    }
    // `{"by", "n", "bytes", "credit"}`
    let mut data = String::new();
    outpost_protocol::json::ObjectWriter::new(&mut data).display("by", to).raw("n", count).raw("bytes", bytes).display("credit", credited).end();
    let event = engine::event_line("storage_freed", &data);
    (ledger.0.into_changes(), Freed { count, bytes, credited, event })
}

impl<S: Storage> Storage for &mut S {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        (**self).read(key)
    }
    fn write(&mut self, key: &[u8], value: &[u8]) {
        (**self).write(key, value)
    }
    fn remove(&mut self, key: &[u8]) {
        (**self).remove(key)
    }
}
