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
}

/// One step of an intent. JSON: `{"type": "transfer", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
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
