//! Outpost's intents ledger (DESIGN.md §2). The settlement logic is plain Rust over a storage
//! trait ([`engine`], [`ledger`], [`storage`]) and runs natively in tests; `contract` is the thin
//! near-sdk shell, compiled for wasm32 only. Every operation here computes the storage bytes it
//! adds, so the contract can charge them to whoever the README says pays.

pub mod engine;
pub mod ledger;
pub mod storage;

#[cfg(target_arch = "wasm32")]
mod contract;

use engine::{Abort, BatchOutcome, ChainEnv, Engine, Report, Withdrawal};
use ledger::Ledger;
use outpost_protocol::abi::{BatchFailure, ItemResult, SimulationReport};
use outpost_protocol::error::{ErrorCode, IntentError};
use outpost_protocol::{AccountId, Amount, Crypto, PublicKey, SignedIntent, TokenId};
use serde::Serialize;
use storage::{Overlay, Storage};

/// Runs and commits a batch: all items pass and every change is written, or nothing is.
pub fn execute<S: Storage>(
    storage: &mut S,
    crypto: impl Crypto,
    env: ChainEnv,
    items: Vec<Result<SignedIntent, IntentError>>,
) -> Result<BatchOutcome, BatchFailure> {
    let (outcome, changes, _) = Engine::new(&*storage, crypto, env, Abort).run(items)?;
    changes.apply_to(storage);
    Ok(outcome)
}

/// The same run without writing: every item's verdict, the balance changes and the deposit a
/// caller must attach to execute exactly the passing items.
pub fn simulate<S: Storage>(
    storage: &S,
    crypto: impl Crypto,
    env: ChainEnv,
    items: Vec<Result<SignedIntent, IntentError>>,
    storage_byte_cost: u128,
) -> SimulationReport {
    let (outcome, _, report) = match Engine::new(storage, crypto, env, Report::default()).run(items) {
        Ok(done) => done,
        // Report never aborts.
        Err(failure) => unreachable!("simulation aborted: {failure}"),
    };
    SimulationReport {
        balance_changes: report.balance_change_list(),
        outcomes: report.outcomes,
        batch_error: outcome.batch_error.as_ref().map(ItemResult::from),
        storage_deposit_needed: Amount(execute_deposit_needed(&outcome, storage_byte_cost)),
    }
}

/// yoctoNEAR `execute_intents` must be attached: the storage the batch adds, plus 1 yocto for
/// each NEP-141 withdrawal (`ft_transfer` requires it).
pub fn execute_deposit_needed(outcome: &BatchOutcome, storage_byte_cost: u128) -> u128 {
    storage_cost(outcome.storage_bytes, storage_byte_cost).saturating_add(outcome.nep141_withdrawals())
}

/// yoctoNEAR for `bytes` of new storage (nothing for freed storage).
pub fn storage_cost(bytes: i64, storage_byte_cost: u128) -> u128 {
    u128::from(bytes.max(0) as u64).saturating_mul(storage_byte_cost)
}

#[derive(Serialize)]
struct BalanceEvent<'a> {
    account_id: &'a AccountId,
    token: &'a TokenId,
    #[serde(serialize_with = "amount_str")]
    amount: u128,
}

fn amount_str<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
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
/// paid from the receiver's NEAR in the ledger (`ft_on_transfer` carries no NEAR to pay with).
/// All or nothing: on error nothing is written, so the caller can refund the tokens.
pub fn receive_tokens<S: Storage>(
    storage: &mut S,
    receiver: &AccountId,
    token: &TokenId,
    amount: u128,
    storage_byte_cost: u128,
) -> Result<Credit, IntentError> {
    if amount == 0 {
        return Err(ErrorCode::ZeroAmount.into());
    }
    let mut ledger = Ledger(Overlay::new(&*storage));
    ledger.credit(receiver, token, amount)?;
    let cost = storage_cost(ledger.0.bytes_delta(), storage_byte_cost);
    if cost > 0 {
        ledger.debit(receiver, &TokenId::Near, cost).map_err(|_| {
            IntentError::new(
                ErrorCode::InsufficientStorageDeposit,
                format!("{receiver} needs {cost} yoctoNEAR in the ledger (call `deposit`) to hold a new token"),
            )
        })?;
    }
    let storage_bytes = ledger.0.bytes_delta();
    ledger.0.into_changes().apply_to(storage);
    Ok(Credit {
        storage_bytes,
        event: engine::event_line("deposit", [BalanceEvent { account_id: receiver, token, amount }]),
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
        event: engine::event_line(event, [BalanceEvent { account_id: account, token, amount }]),
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

pub fn remove_public_key<S: Storage>(storage: &mut S, account: &AccountId, key: &PublicKey) -> Result<(), IntentError> {
    Ledger(storage).remove_key(account, key)
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
