//! JSON shapes of the intents contract's ABI that other components read: the result of
//! `simulate_intents`, the contract config view, and the NEP-297 event names. Method names and
//! arguments are listed in `contracts/intents/README.md`.

use crate::error::{ErrorCode, IntentError};
use crate::text::{IntentHash, Nonce, SignedAmount, TokenId};
use near_account_id::AccountId;
use serde::{Deserialize, Serialize};

/// NEP-297 `standard` of the intents contract's events.
pub const EVENT_STANDARD: &str = "outpost";
/// 2.0.0: one `executed` line per batch (v2, see the intents README); 2.1.0: it lists the intents'
/// hashes only, in the order of the call's arguments (which name each signer).
pub const EVENT_VERSION: &str = "2.1.0";

/// Contract method names the relayer and the dApp call.
pub mod methods {
    pub const EXECUTE_INTENTS: &str = "execute_intents";
    pub const SIMULATE_INTENTS: &str = "simulate_intents";
    pub const IS_NONCE_USED: &str = "is_nonce_used";
    pub const GET_BALANCE: &str = "get_balance";
    pub const GET_BALANCES: &str = "get_balances";
    pub const PUBLIC_KEYS_OF: &str = "public_keys_of";
    pub const CONFIG: &str = "config";
    pub const NONCE_STATUS: &str = "nonce_status";
    pub const DEPOSIT: &str = "deposit";
    pub const ADD_PUBLIC_KEY: &str = "add_public_key";
    pub const PRUNE_NONCES: &str = "prune_nonces";
}

/// `nonce_status(account_id, nonce)`: what became of one of an account's nonces. It tells an
/// intent that executed from one whose nonce was spent by another intent or cancelled, which
/// `NONCE_USED` alone cannot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum NonceStatus {
    /// Not used (or pruned after its expiry, when no intent with it can execute any more).
    Unused,
    /// Used by the intent with this hash, which executed.
    Executed { intent_hash: IntentHash },
    /// Cancelled by `invalidate_nonces`.
    Cancelled,
}

/// The verdict on one item, with a stable code when it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemResult {
    Ok,
    Failed { code: String, detail: String },
}

impl From<&IntentError> for ItemResult {
    fn from(e: &IntentError) -> Self {
        ItemResult::Failed { code: e.code.as_str().to_owned(), detail: e.detail.clone() }
    }
}

impl ItemResult {
    pub fn is_ok(&self) -> bool {
        matches!(self, ItemResult::Ok)
    }
    /// The error code, when it parses as one of ours.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ItemResult::Ok => None,
            ItemResult::Failed { code, .. } => ErrorCode::parse(code),
        }
    }
}

/// One item of a simulated batch. `intent_hash`/`signer_id`/`nonce` are absent when the item
/// could not be decoded far enough to know them.
///
/// v2: what the item costs whoever calls `execute_intents`, so a relayer can weigh it against
/// the item's fee: `gas` (prepaid gas it needs, an upper bound from the contract's gas model,
/// including `limits::GAS_PER_WITHDRAWAL` per withdrawal), `storage_bytes` it adds (negative: frees) and
/// `storage_cost` in yoctoNEAR, charged to the caller's NEAR in the ledger, which also pays 1
/// yocto per NEP-141 withdrawal (included). Zero for failed items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcome {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_hash: Option<IntentHash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_id: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Nonce>,
    pub result: ItemResult,
    #[serde(default)]
    pub gas: u64,
    #[serde(default)]
    pub storage_bytes: i64,
    #[serde(default)]
    pub storage_cost: SignedAmount,
}

/// A net balance change the simulated batch would make (only items that passed count).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceChange {
    pub account_id: AccountId,
    pub token: TokenId,
    pub delta: SignedAmount,
}

/// What `simulate_intents(signed, caller_id)` returns. Items are checked in order against a
/// scratch copy of the ledger, each seeing the effects of the passing items before it, and a
/// failing item does not stop the rest (unlike `execute_intents`, which is all or nothing).
/// `batch_error` holds a batch-wide failure (size, unbalanced swap offers, too many withdrawals,
/// too much gas, or the caller's ledger NEAR cannot pay `caller_charge`). A relayer submits
/// exactly the passing items when `batch_error` is empty, with no deposit and at least `gas`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationReport {
    pub outcomes: Vec<ItemOutcome>,
    /// Includes the fees the caller receives and what `caller_charge` takes from its NEAR.
    pub balance_changes: Vec<BalanceChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_error: Option<ItemResult>,
    /// yoctoNEAR `execute_intents` takes from the caller's NEAR in the ledger (storage the passing
    /// items add, plus 1 per NEP-141 withdrawal; negative when the batch frees storage). No
    /// deposit needs to be attached.
    pub caller_charge: SignedAmount,
    /// Prepaid gas to attach: the passing items' `gas` plus the call's own overhead.
    pub gas: u64,
}

/// The `config` view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractConfig {
    pub owner_id: AccountId,
    pub paused: bool,
    pub max_deadline_horizon_ns: crate::text::Deadline,
    pub max_batch_size: u32,
    /// yoctoNEAR per byte of storage (what `execute_intents` charges the caller's ledger NEAR).
    pub storage_byte_cost: crate::text::Amount,
    /// A used or cancelled nonce may be pruned this long after its expiry.
    pub nonce_prune_grace_ns: crate::text::Deadline,
    pub max_withdrawals_per_intent: u32,
    pub max_withdrawals_per_batch: u32,
}

/// Where a failed `execute_intents` went wrong: one item (by index) or the batch as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchFailure {
    Item { index: u32, error: IntentError },
    Batch(IntentError),
}

impl core::fmt::Display for BatchFailure {
    /// The contract's panic message: `intent #3: NONCE_USED: ...` or `batch: DIFF_NOT_BALANCED: ...`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BatchFailure::Item { index, error } => write!(f, "intent #{index}: {error}"),
            BatchFailure::Batch(error) => write!(f, "batch: {error}"),
        }
    }
}

impl BatchFailure {
    /// Finds a batch failure inside a contract panic message (RPC wraps it in more text).
    pub fn find_in(text: &str) -> Option<BatchFailure> {
        if let Some(at) = text.find("intent #") {
            let rest = &text[at + "intent #".len()..];
            let (index, rest) = rest.split_once(": ")?;
            let error = IntentError::parse(trim_rpc_suffix(rest))?;
            return Some(BatchFailure::Item { index: index.parse().ok()?, error });
        }
        let at = text.find("batch: ")?;
        IntentError::parse(trim_rpc_suffix(&text[at + "batch: ".len()..])).map(BatchFailure::Batch)
    }
}

/// RPC error texts quote the panic message and may append `"` or `}`; details never contain them.
fn trim_rpc_suffix(s: &str) -> &str {
    s.split(['"', '}']).next().unwrap_or(s).trim_end()
}

/// The relayer's HTTP API (`p2p/` serves it, the dApp calls it): `POST /intents` with one
/// `SignedIntent` answers 202 [`RelayAccepted`] or 4xx [`RelayRefusal`]; `GET /intents/{hash}`
/// answers [`RelayStatus`] (404 with a [`RelayRefusal`] when unknown).
pub mod relay {
    use crate::text::IntentHash;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RelayAccepted {
        /// The NEP-413 hash: the id both sides track the intent by.
        pub intent_hash: IntentHash,
        /// `published`, `queued` (no peer yet), `duplicate`, or `not_held` (gossiped, but this
        /// relayer will not settle it: its fee is below the relayer's and its pools are full).
        #[serde(default)]
        pub outcome: String,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RelayRefusal {
        /// An `ErrorCode` text, or a relayer condition such as `UNAVAILABLE`.
        pub code: String,
        #[serde(default)]
        pub detail: String,
    }

    /// Where an intent stands at this relayer.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum RelayState {
        /// Held, or submitted and awaiting its outcome.
        Pending,
        Executed,
        Failed,
    }

    /// `GET /health`: 200 with `ok`, or 503 with `halted` and why (the relayer's own account or
    /// key cannot submit; intents it holds stay pending until it can).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RelayHealth {
        /// `ok` or `halted`.
        pub status: String,
        /// Whether this node settles intents at all.
        pub relayer: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub detail: Option<String>,
    }

    /// `GET /intents/{hash}`. A pending intent may carry `code`/`reason`: what it waits for (a
    /// check a later state may cure, or the relayer being halted).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RelayStatus {
        pub intent_hash: IntentHash,
        pub status: RelayState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tx_hash: Option<String>,
        /// The account that signed `tx_hash` (this relayer's): the RPC's `tx` method needs it, so
        /// a client can read the receipts' `executed` event itself instead of trusting the report.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sender_account_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reason: Option<String>,
    }
}

/// The contract's result JSON, written by hand (`crate::json`), byte for byte what serde_json
/// writes for these types (tests compare them), so the contract carries no serde_json.
pub mod write {
    use super::*;
    use crate::json::{push_array, push_display, ObjectWriter};

    pub fn item_result(out: &mut String, r: &ItemResult) {
        let mut o = ObjectWriter::new(out);
        match r {
            ItemResult::Ok => o.str("status", "ok"),
            ItemResult::Failed { code, detail } => o.str("status", "failed").str("code", code).str("detail", detail),
        }
        .end();
    }

    pub fn simulation_report(r: &SimulationReport) -> String {
        let mut out = String::new();
        let mut o = ObjectWriter::new(&mut out);
        push_array(o.key("outcomes"), &r.outcomes, |out, i| {
            let mut o = ObjectWriter::new(out);
            o.raw("index", i.index);
            if let Some(h) = &i.intent_hash {
                o.display("intent_hash", h);
            }
            if let Some(s) = &i.signer_id {
                o.display("signer_id", s);
            }
            if let Some(n) = &i.nonce {
                o.display("nonce", n);
            }
            item_result(o.key("result"), &i.result);
            o.raw("gas", i.gas).raw("storage_bytes", i.storage_bytes).display("storage_cost", i.storage_cost).end();
        });
        push_array(o.key("balance_changes"), &r.balance_changes, |out, c| {
            ObjectWriter::new(out).display("account_id", &c.account_id).display("token", &c.token).display("delta", c.delta).end();
        });
        if let Some(e) = &r.batch_error {
            item_result(o.key("batch_error"), e);
        }
        o.display("caller_charge", r.caller_charge).raw("gas", r.gas).end();
        out
    }

    pub fn nonce_status(s: &NonceStatus) -> String {
        let mut out = String::new();
        let mut o = ObjectWriter::new(&mut out);
        match s {
            NonceStatus::Unused => o.str("state", "unused"),
            NonceStatus::Executed { intent_hash } => o.str("state", "executed").display("intent_hash", intent_hash),
            NonceStatus::Cancelled => o.str("state", "cancelled"),
        }
        .end();
        out
    }

    pub fn contract_config(c: &ContractConfig) -> String {
        let mut out = String::new();
        ObjectWriter::new(&mut out)
            .display("owner_id", &c.owner_id)
            .raw("paused", c.paused)
            .display("max_deadline_horizon_ns", c.max_deadline_horizon_ns)
            .raw("max_batch_size", c.max_batch_size)
            .display("storage_byte_cost", c.storage_byte_cost)
            .display("nonce_prune_grace_ns", c.nonce_prune_grace_ns)
            .raw("max_withdrawals_per_intent", c.max_withdrawals_per_intent)
            .raw("max_withdrawals_per_batch", c.max_withdrawals_per_batch)
            .end();
        out
    }

    /// A JSON string of a `Display` value (`get_balance`'s amount, a key, ...).
    pub fn display(v: impl core::fmt::Display) -> String {
        let mut out = String::new();
        push_display(&mut out, v);
        out
    }
}
