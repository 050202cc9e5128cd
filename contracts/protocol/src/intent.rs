//! The intent model (DESIGN.md §2–3). JSON is the wire format everywhere: the signed `message` is
//! the JSON of an [`Intent`], and [`SignedIntent`] is what `execute_intents` takes, what peers
//! gossip and what the dApp queues.

use crate::text::{Amount, Deadline, Nonce, PublicKey, Signature, SignedAmount, TokenId};
use near_account_id::AccountId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a user signs: who, until when, and what to do. Actions apply in order, all or nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub signer_id: AccountId,
    /// Block timestamp (ns) after which the intent is void.
    pub deadline: Deadline,
    pub actions: Vec<Action>,
    /// v2: paid from the signer's ledger to whoever calls `execute_intents` (the relayer).
    /// Absent in v1-shaped messages, which still parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Fee>,
}

impl Intent {
    /// The NEP-413 `message` that signs this intent: its JSON. The one place an intent becomes the
    /// text a key or a wallet signs.
    pub fn to_message(&self) -> String {
        // Serialising our own types to JSON cannot fail (string keys, no floats).
        serde_json::to_string(self).expect("intent JSON")
    }
}

/// A relayer fee: `amount` of `token` from the signer's balance in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub token: TokenId,
    pub amount: Amount,
}

/// One step of an intent. JSON: `{"type": "transfer", ...}`.
///
/// Decoding goes through [`WireAction`] rather than serde's internally-tagged enum support, which
/// buffers every field (and drags float formatting into the contract): 25 KB of wasm saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "WireAction")]
pub enum Action {
    /// Move ledger balance to another account inside the contract.
    Transfer {
        token: TokenId,
        amount: Amount,
        receiver_id: AccountId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memo: Option<String>,
    },
    /// Take ledger balance out: `ft_transfer` for a NEP-141 token, a plain transfer for NEAR.
    Withdraw {
        token: TokenId,
        amount: Amount,
        receiver_id: AccountId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memo: Option<String>,
    },
    /// A swap offer: the signer's balance changes by each amount (negative gives). The batch's
    /// diffs over all signers must net to zero per token.
    TokenDiff { diff: BTreeMap<TokenId, SignedAmount> },
    /// Let another key sign for this account.
    AddPublicKey { public_key: PublicKey },
    /// Stop a key from signing for this account.
    RemovePublicKey { public_key: PublicKey },
    /// Cancel signed-but-unsettled intents by burning their nonces.
    InvalidateNonces { nonces: Vec<Nonce> },
}

/// The flat JSON form of an action: every field any action has, plus `type`.
/// `crate::json` fills the same struct and calls the same `TryFrom`, so both decoders agree on
/// which fields each action type takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireAction {
    #[serde(rename = "type")]
    pub(crate) kind: ActionKind,
    pub(crate) token: Option<TokenId>,
    pub(crate) amount: Option<Amount>,
    pub(crate) receiver_id: Option<AccountId>,
    pub(crate) memo: Option<String>,
    pub(crate) diff: Option<BTreeMap<TokenId, SignedAmount>>,
    pub(crate) public_key: Option<PublicKey>,
    pub(crate) nonces: Option<Vec<Nonce>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ActionKind {
    Transfer,
    Withdraw,
    TokenDiff,
    AddPublicKey,
    RemovePublicKey,
    InvalidateNonces,
}

impl ActionKind {
    /// The `type` names, as serde's `rename_all = "snake_case"` spells them.
    pub(crate) fn from_name(name: &str) -> Option<ActionKind> {
        Some(match name {
            "transfer" => ActionKind::Transfer,
            "withdraw" => ActionKind::Withdraw,
            "token_diff" => ActionKind::TokenDiff,
            "add_public_key" => ActionKind::AddPublicKey,
            "remove_public_key" => ActionKind::RemovePublicKey,
            "invalidate_nonces" => ActionKind::InvalidateNonces,
            _ => return None,
        })
    }
}

impl TryFrom<WireAction> for Action {
    type Error = String;

    fn try_from(w: WireAction) -> Result<Self, String> {
        fn need<T>(v: Option<T>, field: &str, kind: &str) -> Result<T, String> {
            v.ok_or_else(|| format!("{kind} needs `{field}`"))
        }
        // Fields that belong to other action types are an error, as unknown fields are.
        let present = [
            ("token", w.token.is_some()),
            ("amount", w.amount.is_some()),
            ("receiver_id", w.receiver_id.is_some()),
            ("memo", w.memo.is_some()),
            ("diff", w.diff.is_some()),
            ("public_key", w.public_key.is_some()),
            ("nonces", w.nonces.is_some()),
        ];
        let (kind, allowed): (&str, &[&str]) = match w.kind {
            ActionKind::Transfer => ("transfer", &["token", "amount", "receiver_id", "memo"]),
            ActionKind::Withdraw => ("withdraw", &["token", "amount", "receiver_id", "memo"]),
            ActionKind::TokenDiff => ("token_diff", &["diff"]),
            ActionKind::AddPublicKey => ("add_public_key", &["public_key"]),
            ActionKind::RemovePublicKey => ("remove_public_key", &["public_key"]),
            ActionKind::InvalidateNonces => ("invalidate_nonces", &["nonces"]),
        };
        if let Some((field, _)) = present.iter().find(|(f, p)| *p && !allowed.contains(f)) {
            return Err(format!("`{field}` is not a field of {kind}"));
        }
        Ok(match w.kind {
            ActionKind::Transfer => Action::Transfer {
                token: need(w.token, "token", kind)?,
                amount: need(w.amount, "amount", kind)?,
                receiver_id: need(w.receiver_id, "receiver_id", kind)?,
                memo: w.memo,
            },
            ActionKind::Withdraw => Action::Withdraw {
                token: need(w.token, "token", kind)?,
                amount: need(w.amount, "amount", kind)?,
                receiver_id: need(w.receiver_id, "receiver_id", kind)?,
                memo: w.memo,
            },
            ActionKind::TokenDiff => Action::TokenDiff { diff: need(w.diff, "diff", kind)? },
            ActionKind::AddPublicKey => Action::AddPublicKey { public_key: need(w.public_key, "public_key", kind)? },
            ActionKind::RemovePublicKey => Action::RemovePublicKey { public_key: need(w.public_key, "public_key", kind)? },
            ActionKind::InvalidateNonces => Action::InvalidateNonces { nonces: need(w.nonces, "nonces", kind)? },
        })
    }
}

impl Action {
    /// The action's name as in JSON (`transfer`, `token_diff`, ...), for events and UI.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Transfer { .. } => "transfer",
            Action::Withdraw { .. } => "withdraw",
            Action::TokenDiff { .. } => "token_diff",
            Action::AddPublicKey { .. } => "add_public_key",
            Action::RemovePublicKey { .. } => "remove_public_key",
            Action::InvalidateNonces { .. } => "invalidate_nonces",
        }
    }
}

/// A NEP-413 signed message carrying an intent: the payload fields, the key and the signature.
/// Byte-compatible with near-api-js `signNep413Message` and NEAR wallets' `signMessage`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedIntent {
    /// The JSON of an [`Intent`], exactly as signed (never re-serialised: the hash is over these bytes).
    pub message: String,
    pub nonce: Nonce,
    /// The intents contract the signer meant; checked against the executing contract.
    pub recipient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    pub public_key: PublicKey,
    pub signature: Signature,
}
