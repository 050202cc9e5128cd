//! The near-sdk shell around the engine (wasm32 only). Storage payment (v2, README "Who pays"):
//! `execute_intents` charges the caller's NEAR in the ledger (an attached deposit, if any, is
//! credited to it first), so a function-call access key can submit; `add_public_key` callers
//! attach their key's storage; `deposit` pays from the NEAR it brings; `ft_on_transfer` charges
//! the depositor's ledger NEAR for a receiver's new record. Freed storage goes to whoever frees it.
//! The contract never pays.

use crate::args::{self, BatchArgs};
use crate::engine::{ChainEnv, Withdrawal};
use crate::storage::Storage;
use crate::{ledger::Ledger, storage_cost};
use near_sdk::{env, near, require, Gas, GasWeight, NearToken, PanicOnDefault, Promise, PromiseError};
use outpost_protocol::abi::{write, BatchFailure, ContractConfig, NonceStatus};
use outpost_protocol::error::{ErrorCode, IntentError};
use outpost_protocol::json;
use outpost_protocol::limits::{
    MAX_BATCH_SIZE, MAX_DEADLINE_HORIZON_NS, MAX_WITHDRAWALS_PER_BATCH, MAX_WITHDRAWALS_PER_INTENT, NONCE_PRUNE_GRACE_NS,
};
use outpost_protocol::{AccountId, Amount, Crypto, Deadline, Nonce, PublicKey, TokenId};
use std::collections::BTreeMap;

const ONE_YOCTO: NearToken = NearToken::from_yoctonear(1);
const FT_TRANSFER_GAS: Gas = Gas::from_tgas(10);
const ON_WITHDRAW_GAS: Gas = Gas::from_tgas(5);
const MIGRATE_GAS: Gas = Gas::from_tgas(20);
/// Most nonces one `prune_nonces` call takes.
const MAX_PRUNE: usize = 256;

/// Contract storage through near-sdk's host functions.
struct NearStorage;

impl Storage for NearStorage {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        env::storage_read(key)
    }
    fn write(&mut self, key: &[u8], value: &[u8]) {
        env::storage_write(key, value);
    }
    fn remove(&mut self, key: &[u8]) {
        env::storage_remove(key);
    }
    fn write_new(&mut self, key: &[u8], value: &[u8]) -> bool {
        // `storage_write` reports whether it replaced a record; the caller then panics.
        !env::storage_write(key, value)
    }
    fn checks_new_on_write(&self) -> bool {
        true
    }
}

/// Hashing and signature checks as host functions: cheaper in gas and wasm size than in wasm.
struct HostCrypto;

impl Crypto for HostCrypto {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        env::sha256_array(data)
    }
    fn ed25519_verify(&self, signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> bool {
        env::ed25519_verify(signature, message, public_key)
    }
}

#[derive(PanicOnDefault)]
#[near(contract_state, contract_metadata(standard(standard = "nep297", version = "1.0.0")))]
pub struct Contract {
    owner_id: AccountId,
    paused: bool,
}

fn fail(e: impl std::fmt::Display) -> ! {
    env::panic_str(&e.to_string())
}

fn chain_env(caller: AccountId, attached: u128) -> ChainEnv {
    ChainEnv {
        contract_id: env::current_account_id().to_string(),
        now_ns: env::block_timestamp(),
        caller,
        attached,
        storage_byte_cost: byte_cost(),
    }
}

fn byte_cost() -> u128 {
    env::storage_byte_cost().as_yoctonear()
}

/// Reads `execute_intents`' / `simulate_intents`' arguments in one pass (`args::batch`); a
/// malformed item is reported with its index, anything else malformed fails the call.
fn read_batch_args() -> BatchArgs {
    let input = env::input().unwrap_or_default();
    args::batch(&input).unwrap_or_else(|e| fail(format!("Failed to deserialize input from JSON: {e}")))
}

/// A method's JSON arguments, decoded by `decode` (see `args`), failing as near-sdk's `#[near]`
/// does with the same messages. Methods take their arguments this way instead of through
/// near-sdk's serde_json path, which kept serde_json (a third of the wasm) in the contract.
fn read_args<T>(decode: impl FnOnce(&[u8]) -> json::Result<T>) -> T {
    let input = env::input().unwrap_or_else(|| env::panic_str("Expected input since method has arguments."));
    decode(&input).unwrap_or_else(|e| env::panic_str(&format!("Failed to deserialize input from JSON. Error: `{e}`")))
}

/// Returns JSON text as the call's result.
fn ret(json: &str) {
    env::value_return(json.as_bytes());
}

/// Takes `cost` out of `attached` and sends the rest back to the caller.
fn charge(attached: u128, cost: u128, what: &str) {
    if attached < cost {
        fail(IntentError::new(
            ErrorCode::InsufficientStorageDeposit,
            format!("{what} needs {cost} yoctoNEAR attached, got {attached}"),
        ));
    }
    if attached > cost {
        Promise::new(env::predecessor_account_id()).transfer(NearToken::from_yoctonear(attached - cost)).detach();
    }
}

#[near]
impl Contract {
    /// `{"owner_id"}`.
    #[init]
    pub fn new() -> Self {
        Contract { owner_id: read_args(|i| args::one(i, "owner_id")), paused: false }
    }

    /// Settles a batch of signed intents, all or nothing. Anyone may call, with no deposit (a
    /// function-call access key works): the caller's NEAR in the ledger pays the storage the batch
    /// adds and 1 yocto per NEP-141 withdrawal; an attached deposit is credited to it first. The
    /// caller receives the intents' fees. Arguments `{"signed": [SignedIntent, ...]}` (read by
    /// hand, see [`read_batch_args`]); returns the executed intents' hashes, as JSON.
    #[payable]
    pub fn execute_intents(&mut self) {
        if self.paused {
            fail(BatchFailure::Batch(ErrorCode::Paused.into()));
        }
        let usage_before = env::storage_usage();
        let env_ = chain_env(env::predecessor_account_id(), env::attached_deposit().as_yoctonear());
        let outcome = crate::execute(&mut NearStorage, HostCrypto, env_, read_batch_args().signed).unwrap_or_else(|f| fail(f));
        // The charge is the engine's byte count; storage must not have grown by more, or the
        // contract would be paying (tests check they are equal).
        let grown = env::storage_usage() as i64 - usage_before as i64;
        if grown > outcome.storage_bytes {
            fail(format!("storage grew by {grown} bytes, {} charged", outcome.storage_bytes));
        }
        for line in &outcome.events {
            env::log_str(line);
        }
        for w in outcome.withdrawals {
            send_withdrawal(w);
        }
        // The JSON the event already holds: each hash is encoded once.
        ret(&outcome.hashes_json);
    }

    /// The same checks and effects as `execute_intents` called by `caller_id` with `attached`
    /// yoctoNEAR (default none), written nowhere, with each item's gas and storage cost. Fails
    /// like `execute_intents` while paused. Arguments `{"signed": [...], "caller_id",
    /// "attached"?}`.
    pub fn simulate_intents(&self) {
        if self.paused {
            fail(BatchFailure::Batch(ErrorCode::Paused.into()));
        }
        let args = read_batch_args();
        let caller = args.caller_id.unwrap_or_else(|| fail("Failed to deserialize input from JSON: missing field `caller_id`"));
        let report = crate::simulate(&NearStorage, HostCrypto, chain_env(caller, args.attached.map_or(0, |a| a.0)), args.signed);
        ret(&write::simulation_report(&report));
    }

    /// NEP-141 receiver: credits `nep141:<calling token>` to `sender_id`, or to `receiver_id` when
    /// `msg` is `{"receiver_id": "..."}`. A receiver's first record for the token is paid from the
    /// sender's ledger NEAR, and only when the sender signed this transaction (a token contract,
    /// or anyone calling this directly, can name any `sender_id`). Returns the unused amount: all
    /// of it on any problem. Arguments `{"sender_id", "amount", "msg"}`; returns a `U128` string.
    pub fn ft_on_transfer(&mut self) {
        let (sender_id, amount, msg) = read_args(args::ft_on_transfer);
        let token = TokenId::Nep141(env::predecessor_account_id());
        let unused = match self.receive_tokens(sender_id, &token, amount, &msg) {
            Ok(()) => 0,
            Err(e) => {
                env::log_str(&format!("deposit refunded: {e}"));
                amount
            }
        };
        ret(&write::display(unused));
    }

    /// Credits the attached NEAR (less the storage of a first NEAR record) to `receiver_id`, or to
    /// the caller. Arguments `{"receiver_id"?}`.
    #[payable]
    pub fn deposit(&mut self) {
        let receiver_id = read_args(args::deposit);
        self.require_running();
        let receiver = receiver_id.unwrap_or_else(env::predecessor_account_id);
        let attached = env::attached_deposit().as_yoctonear();
        let cost = storage_cost(crate::credit_storage_bytes(&NearStorage, &receiver, &TokenId::Near), byte_cost());
        if attached <= cost {
            fail(IntentError::new(
                ErrorCode::InsufficientStorageDeposit,
                format!("a first deposit for {receiver} must exceed the {cost} yoctoNEAR its record's storage costs"),
            ));
        }
        let credit = crate::deposit(&mut NearStorage, &receiver, &TokenId::Near, attached - cost).unwrap_or_else(|e| fail(e));
        env::log_str(&credit.event);
    }

    /// Registers a key that may sign intents for the caller. Attach at least 1 yoctoNEAR and the
    /// key's storage; the rest comes back.
    #[payable]
    pub fn add_public_key(&mut self) {
        let public_key: PublicKey = read_args(|i| args::one(i, "public_key"));
        self.require_running();
        let attached = env::attached_deposit().as_yoctonear();
        require!(attached >= 1, "DEPOSIT_REQUIRED: attach at least 1 yoctoNEAR");
        let bytes = crate::add_public_key(&mut NearStorage, &env::predecessor_account_id(), public_key).unwrap_or_else(|e| fail(e));
        charge(attached, storage_cost(bytes, byte_cost()), "add_public_key");
    }

    /// Removes one of the caller's keys. Attach exactly 1 yoctoNEAR. The freed storage is
    /// credited to the caller's NEAR in the ledger (when it has a NEAR record).
    #[payable]
    pub fn remove_public_key(&mut self) {
        let public_key: PublicKey = read_args(|i| args::one(i, "public_key"));
        near_sdk::assert_one_yocto();
        let freed = crate::remove_public_key(&mut NearStorage, &env::predecessor_account_id(), &public_key, byte_cost())
            .unwrap_or_else(|e| fail(e));
        env::log_str(&freed.event);
    }

    /// Deletes used and cancelled nonces whose expiry plus `NONCE_PRUNE_GRACE_NS` has passed (a
    /// replay is then stopped by the expiry rule); others are left alone. Anyone may call; the
    /// freed storage is credited to the caller's NEAR in the ledger (when it has a NEAR record).
    /// Returns how many were deleted.
    pub fn prune_nonces(&mut self) {
        let nonces = read_args(args::prune);
        require!(nonces.len() <= MAX_PRUNE, "BATCH_TOO_LARGE: at most 256 nonces per call");
        let freed = crate::prune_nonces(&mut NearStorage, &env::predecessor_account_id(), &nonces, env::block_timestamp(), byte_cost());
        if freed.count > 0 {
            env::log_str(&freed.event);
        }
        ret(&freed.count.to_string());
    }

    /// Callback of a withdrawal: puts the balance back when the transfer failed. Private: only
    /// this contract's own promise may call it, so a refund happens at most once per withdrawal.
    /// Arguments `{"account_id", "token", "amount", "receiver_id"}`; returns whether the transfer
    /// went through.
    #[private]
    pub fn on_withdraw(&mut self) {
        let a = read_args(args::on_withdraw);
        // As near-sdk's `#[callback_result] Result<(), PromiseError>`: success is an empty result
        // (or JSON `null`).
        let result: Result<(), PromiseError> = env::promise_result_checked(0, usize::MAX).map(|data| {
            let mut r = json::Reader::new(&data);
            if !data.is_empty() && !(r.null().unwrap_or(false) && r.finish().is_ok()) {
                env::panic_str("Failed to deserialize callback using JSON. Error: `invalid type: expected unit`");
            }
        });
        if result.is_ok() {
            return ret("true");
        }
        let w = Withdrawal { account_id: a.account_id, token: a.token, amount: a.amount, receiver_id: a.receiver_id, memo: None };
        let credit = crate::refund_withdrawal(&mut NearStorage, &w).unwrap_or_else(|e| fail(e));
        env::log_str(&credit.event);
        ret("false");
    }

    // ---- views ----

    /// `{"account_id", "token"}` -> `"amount"`.
    pub fn get_balance(&self) {
        let (account_id, token): (AccountId, TokenId) = read_args(|i| args::account_and(i, "token"));
        ret(&write::display(Ledger(NearStorage).balance(&account_id, &token)));
    }

    /// `{"account_id", "tokens": [token]}` -> `{token: "amount"}` (keys in token order).
    pub fn get_balances(&self) {
        let (account_id, tokens) = read_args(args::balances);
        let ledger = Ledger(NearStorage);
        let mut balances = BTreeMap::new();
        for t in tokens {
            let amount = ledger.balance(&account_id, &t);
            balances.insert(t, amount);
        }
        let mut out = String::new();
        let mut o = json::ObjectWriter::new(&mut out);
        for (t, amount) in &balances {
            o.display(&t.to_string(), amount);
        }
        o.end();
        ret(&out);
    }

    /// `{"account_id", "nonce"}` -> bool.
    pub fn is_nonce_used(&self) {
        let (account_id, nonce): (AccountId, Nonce) = read_args(|i| args::account_and(i, "nonce"));
        ret(if Ledger(NearStorage).nonce_expiry(&account_id, &nonce).is_some() { "true" } else { "false" });
    }

    /// What became of a nonce: unused, used by the intent with this hash (which executed), or
    /// cancelled. Relayers and the dApp read it before calling an intent failed.
    pub fn nonce_status(&self) {
        let (account_id, nonce): (AccountId, Nonce) = read_args(|i| args::account_and(i, "nonce"));
        let status = match Ledger(NearStorage).nonce_record(&account_id, &nonce) {
            None => NonceStatus::Unused,
            Some((_, Some(intent_hash))) => NonceStatus::Executed { intent_hash },
            Some((_, None)) => NonceStatus::Cancelled,
        };
        ret(&write::nonce_status(&status));
    }

    /// Keys that may sign for `account_id`: its implicit key (if any) and the registered ones;
    /// never a weak key.
    pub fn public_keys_of(&self) {
        let account_id: AccountId = read_args(|i| args::one(i, "account_id"));
        let mut keys: Vec<PublicKey> = PublicKey::of_implicit_account(&account_id).into_iter().collect();
        keys.extend(Ledger(NearStorage).keys(&account_id));
        keys.retain(|k| !k.is_weak());
        ret(&args::keys_json(&keys));
    }

    pub fn config(&self) {
        ret(&write::contract_config(&ContractConfig {
            owner_id: self.owner_id.clone(),
            paused: self.paused,
            max_deadline_horizon_ns: Deadline(MAX_DEADLINE_HORIZON_NS),
            max_batch_size: MAX_BATCH_SIZE as u32,
            storage_byte_cost: Amount(byte_cost()),
            nonce_prune_grace_ns: Deadline(NONCE_PRUNE_GRACE_NS),
            max_withdrawals_per_intent: MAX_WITHDRAWALS_PER_INTENT as u32,
            max_withdrawals_per_batch: MAX_WITHDRAWALS_PER_BATCH as u32,
        }));
    }

    // ---- owner: pause, ownership, upgrade. None of these can move a balance. ----

    #[payable]
    pub fn pause(&mut self) {
        self.require_owner();
        self.paused = true;
        env::log_str("paused");
    }

    #[payable]
    pub fn unpause(&mut self) {
        self.require_owner();
        self.paused = false;
        env::log_str("unpaused");
    }

    /// `{"owner_id"}`.
    #[payable]
    pub fn set_owner(&mut self) {
        let owner_id = read_args(|i| args::one(i, "owner_id"));
        self.require_owner();
        self.owner_id = owner_id;
    }

    /// Runs after `upgrade` deploys new code: re-reads the state (add conversions here when the
    /// state layout changes; ledger records are raw keys and survive as they are).
    #[private]
    #[init(ignore_state)]
    pub fn migrate() -> Self {
        env::state_read().unwrap_or_else(|| fail("no state to migrate"))
    }
}

impl Contract {
    fn require_owner(&self) {
        near_sdk::assert_one_yocto();
        if env::predecessor_account_id() != self.owner_id {
            fail(IntentError::from(ErrorCode::NotOwner));
        }
    }

    fn require_running(&self) {
        if self.paused {
            fail(IntentError::from(ErrorCode::Paused));
        }
    }

    fn receive_tokens(&mut self, sender: AccountId, token: &TokenId, amount: u128, msg: &str) -> Result<(), IntentError> {
        if self.paused {
            return Err(ErrorCode::Paused.into());
        }
        let receiver = if msg.is_empty() {
            sender.clone()
        } else {
            args::deposit_msg(msg.as_bytes()).map_err(|e| IntentError::new(ErrorCode::MalformedDepositMessage, e.0))?
        };
        // Only the transaction's signer can be trusted to be the depositor.
        let payer = (sender == env::signer_account_id()).then_some(&sender);
        let credit = crate::receive_tokens(&mut NearStorage, &receiver, token, amount, payer, byte_cost())?;
        env::log_str(&credit.event);
        Ok(())
    }
}

fn send_withdrawal(w: Withdrawal) {
    // The calls near-sdk's `ext` builders made: static gas, unused gas shared by weight 1.
    let transfer = match &w.token {
        TokenId::Near => Promise::new(w.receiver_id.clone()).transfer(NearToken::from_yoctonear(w.amount)),
        TokenId::Nep141(token) => Promise::new(token.clone()).function_call_weight(
            "ft_transfer",
            args::ft_transfer_json(&w.receiver_id, w.amount, w.memo.as_deref()),
            ONE_YOCTO,
            FT_TRANSFER_GAS,
            GasWeight::default(),
        ),
    };
    let callback = Promise::new(env::current_account_id()).function_call_weight(
        "on_withdraw",
        args::on_withdraw_json(&w.account_id, &w.token, w.amount, &w.receiver_id),
        NearToken::from_yoctonear(0),
        ON_WITHDRAW_GAS,
        GasWeight::default(),
    );
    transfer.then(callback).detach();
}

/// Owner only, exactly 1 yoctoNEAR (like every owner call, so an owner's function-call access key
/// cannot replace the code): deploys the code given as the raw call input and calls `migrate`.
/// Raw input (not JSON) keeps a 200 KB upload cheap. Ledger balances are untouched by design;
/// owners should be a multisig or DAO, since new code could change that.
#[no_mangle]
pub extern "C" fn upgrade() {
    env::setup_panic_hook();
    near_sdk::assert_one_yocto();
    let contract: Contract = env::state_read().unwrap_or_else(|| fail("not initialized"));
    if env::predecessor_account_id() != contract.owner_id {
        fail(IntentError::from(ErrorCode::NotOwner));
    }
    let code = env::input().unwrap_or_else(|| fail("upgrade takes the new wasm as input"));
    Promise::new(env::current_account_id())
        .deploy_contract(code)
        .function_call("migrate", Vec::new(), NearToken::from_near(0), MIGRATE_GAS)
        .as_return()
        .detach();
}
