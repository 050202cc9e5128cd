//! The stateless rules, shared by contract, dApp and p2p nodes. Stateful checks (the key is
//! registered, the nonce is unused, balances suffice) need the ledger and live in the contract;
//! their codes are still defined in [`crate::error`].
//!
//! Order (DESIGN.md §2): size → weak key → signature over the NEP-413 hash → decode → recipient →
//! deadline and nonce expiry → fee and action rules. Signature first means nothing unsigned is
//! ever parsed or reported in detail.

use crate::crypto::Crypto;
use crate::error::{reject, ErrorCode, IntentError};
use crate::intent::{Action, Intent, SignedIntent};
use crate::limits::*;
use crate::nep413::Payload;
use crate::text::{IntentHash, Nonce, PublicKey, SignedAmount, TokenId};
use near_account_id::AccountId;
use std::collections::BTreeMap;

/// A signed intent that passed every stateless rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIntent {
    pub intent: Intent,
    pub hash: IntentHash,
    pub nonce: Nonce,
    pub public_key: PublicKey,
}

impl VerifiedIntent {
    /// True when the signer is the ed25519 implicit account named after the signing key: such a
    /// key needs no registration. Any other key must be registered for the signer in the ledger.
    pub fn signed_by_implicit_key(&self) -> bool {
        PublicKey::of_implicit_account(&self.intent.signer_id) == Some(self.public_key)
    }
}

/// Checks a signed intent against every stateless rule; `recipient` is the executing contract's
/// account id and `now_ns` the current block timestamp.
pub fn verify_signed_intent(
    crypto: &impl Crypto,
    signed: &SignedIntent,
    recipient: &str,
    now_ns: u64,
) -> Result<VerifiedIntent, IntentError> {
    check_sizes(signed)?;
    // Before the signature: for a small-order key one signature verifies many messages.
    check_key_not_weak(&signed.public_key)?;
    let hash = Payload::of(signed).hash(crypto);
    if !crypto.ed25519_verify(&signed.signature.0, &hash.0, &signed.public_key.0) {
        return Err(reject(ErrorCode::SignatureInvalid, format!("not signed by {}", signed.public_key)));
    }
    let intent = decode_intent(&signed.message)?;
    if signed.recipient != recipient {
        return Err(reject(
            ErrorCode::WrongRecipient,
            format!("signed for `{}`, this is `{recipient}`", signed.recipient),
        ));
    }
    check_deadline(intent.deadline.0, now_ns)?;
    check_nonce_expiry(&signed.nonce, intent.deadline.0, now_ns)?;
    validate_fee(&intent)?;
    validate_actions(&intent)?;
    Ok(VerifiedIntent { intent, hash, nonce: signed.nonce, public_key: signed.public_key })
}

/// Size limits of the signed envelope (before any hashing or parsing).
pub fn check_sizes(signed: &SignedIntent) -> Result<(), IntentError> {
    if signed.message.len() > MAX_MESSAGE_BYTES {
        return Err(reject(
            ErrorCode::MessageTooLarge,
            format!("{} bytes, at most {MAX_MESSAGE_BYTES}", signed.message.len()),
        ));
    }
    match &signed.callback_url {
        Some(url) if url.len() > MAX_CALLBACK_URL_BYTES => Err(reject(
            ErrorCode::CallbackUrlTooLong,
            format!("{} bytes, at most {MAX_CALLBACK_URL_BYTES}", url.len()),
        )),
        _ => Ok(()),
    }
}

/// Parses the signed message as an [`Intent`], with the same reader on every target (contract,
/// node, dApp), so all of them accept and refuse exactly the same messages (`crate::json`).
pub fn decode_intent(message: &str) -> Result<Intent, IntentError> {
    crate::json::decode_intent(message)
}

/// Every rule a user can check before signing: deadline window, fee and actions. With the nonce
/// it will be signed with, also [`check_nonce_expiry`].
pub fn validate_intent(intent: &Intent, now_ns: u64) -> Result<(), IntentError> {
    check_deadline(intent.deadline.0, now_ns)?;
    validate_fee(intent)?;
    validate_actions(intent)
}

/// A small-order ("weak") key may not sign, be registered, or make an implicit account signable.
pub fn check_key_not_weak(key: &PublicKey) -> Result<(), IntentError> {
    if key.is_weak() {
        return Err(reject(ErrorCode::WeakPublicKey, format!("{key} is of small order")));
    }
    Ok(())
}

/// v2: the nonce's expiry (bytes 0..8) is not before the deadline and within the horizon. With
/// [`check_deadline`] this makes the intent valid only while both are in the future, and bounds
/// how long its nonce must be stored.
pub fn check_nonce_expiry(nonce: &Nonce, deadline_ns: u64, now_ns: u64) -> Result<(), IntentError> {
    let expiry = nonce.expiry_ns();
    if deadline_ns > expiry {
        return Err(reject(
            ErrorCode::DeadlineAfterNonceExpiry,
            format!("deadline {deadline_ns} is after the nonce's expiry {expiry}"),
        ));
    }
    check_expiry_horizon(expiry, now_ns)
}

/// A nonce's expiry is at most [`MAX_DEADLINE_HORIZON_NS`] after now (also for cancellations).
pub fn check_expiry_horizon(expiry_ns: u64, now_ns: u64) -> Result<(), IntentError> {
    if expiry_ns.saturating_sub(now_ns) > MAX_DEADLINE_HORIZON_NS {
        return Err(reject(
            ErrorCode::NonceExpiryTooFar,
            format!("nonce expiry {expiry_ns} is more than 30 days after now ({now_ns})"),
        ));
    }
    Ok(())
}

/// A fee, when present, is a positive amount.
pub fn validate_fee(intent: &Intent) -> Result<(), IntentError> {
    match &intent.fee {
        Some(fee) => check_amount(fee.amount.0).map_err(|e| IntentError::new(e.code, format!("fee: {}", e.detail))),
        None => Ok(()),
    }
}

/// The deadline has not passed and is within the horizon.
pub fn check_deadline(deadline_ns: u64, now_ns: u64) -> Result<(), IntentError> {
    if deadline_ns < now_ns {
        return Err(reject(
            ErrorCode::DeadlineExpired,
            format!("deadline {deadline_ns} is before now ({now_ns})"),
        ));
    }
    if deadline_ns - now_ns > MAX_DEADLINE_HORIZON_NS {
        return Err(reject(
            ErrorCode::DeadlineTooFar,
            format!("deadline {deadline_ns} is more than 30 days after now ({now_ns})"),
        ));
    }
    Ok(())
}

/// Rules on the actions alone. Errors name the action's index.
pub fn validate_actions(intent: &Intent) -> Result<(), IntentError> {
    if intent.actions.is_empty() {
        return Err(ErrorCode::NoActions.into());
    }
    if intent.actions.len() > MAX_ACTIONS_PER_INTENT {
        return Err(reject(
            ErrorCode::TooManyActions,
            format!("{} actions, at most {MAX_ACTIONS_PER_INTENT}", intent.actions.len()),
        ));
    }
    let withdrawals = intent.actions.iter().filter(|a| matches!(a, Action::Withdraw { .. })).count();
    if withdrawals > MAX_WITHDRAWALS_PER_INTENT {
        return Err(reject(
            ErrorCode::TooManyWithdrawals,
            format!("{withdrawals} withdrawals, at most {MAX_WITHDRAWALS_PER_INTENT} per intent"),
        ));
    }
    for (i, action) in intent.actions.iter().enumerate() {
        validate_action(&intent.signer_id, action)
            .map_err(|e| IntentError::new(e.code, format!("action {i} ({}): {}", action.kind(), e.detail)))?;
    }
    Ok(())
}

fn validate_action(signer: &AccountId, action: &Action) -> Result<(), IntentError> {
    match action {
        Action::Transfer { amount, receiver_id, memo, .. } => {
            check_amount(amount.0)?;
            check_memo(memo.as_deref())?;
            if receiver_id == signer {
                return Err(ErrorCode::SelfTransfer.into());
            }
            Ok(())
        }
        Action::Withdraw { amount, memo, .. } => {
            check_amount(amount.0)?;
            check_memo(memo.as_deref())
        }
        Action::TokenDiff { diff } => check_token_diff(diff),
        Action::AddPublicKey { public_key } => check_key_not_weak(public_key),
        Action::RemovePublicKey { .. } => Ok(()),
        Action::InvalidateNonces { nonces } => match nonces.len() {
            0 => Err(ErrorCode::NoNonces.into()),
            n if n > MAX_NONCES_PER_INVALIDATION => Err(reject(
                ErrorCode::TooManyNonces,
                format!("{n} nonces, at most {MAX_NONCES_PER_INVALIDATION}"),
            )),
            _ => Ok(()),
        },
    }
}

/// An amount a user may move: positive (the type already bounds it to u128).
pub fn check_amount(amount: u128) -> Result<(), IntentError> {
    if amount == 0 {
        return Err(ErrorCode::ZeroAmount.into());
    }
    Ok(())
}

pub fn check_memo(memo: Option<&str>) -> Result<(), IntentError> {
    match memo {
        Some(m) if m.len() > MAX_MEMO_BYTES => Err(reject(
            ErrorCode::MemoTooLong,
            format!("{} bytes, at most {MAX_MEMO_BYTES}", m.len()),
        )),
        _ => Ok(()),
    }
}

/// A swap offer names at most [`MAX_TOKENS_PER_DIFF`] tokens, none with zero, and both gives and
/// receives: a one-sided negative diff would hand tokens to whoever matches it.
pub fn check_token_diff(diff: &BTreeMap<TokenId, SignedAmount>) -> Result<(), IntentError> {
    if diff.is_empty() {
        return Err(ErrorCode::EmptyTokenDiff.into());
    }
    if diff.len() > MAX_TOKENS_PER_DIFF {
        return Err(reject(ErrorCode::TooManyTokens, format!("{} tokens, at most {MAX_TOKENS_PER_DIFF}", diff.len())));
    }
    if let Some((token, _)) = diff.iter().find(|(_, v)| v.0 == 0) {
        return Err(reject(ErrorCode::ZeroAmount, format!("{token} has amount 0")));
    }
    let gives = diff.values().any(|v| v.0 < 0);
    let receives = diff.values().any(|v| v.0 > 0);
    if !(gives && receives) {
        return Err(ErrorCode::TokenDiffOneSided.into());
    }
    Ok(())
}

/// The batch is non-empty and within [`MAX_BATCH_SIZE`].
pub fn check_batch_size(len: usize) -> Result<(), IntentError> {
    match len {
        0 => Err(ErrorCode::BatchEmpty.into()),
        n if n > MAX_BATCH_SIZE => Err(reject(ErrorCode::BatchTooLarge, format!("{n} intents, at most {MAX_BATCH_SIZE}"))),
        _ => Ok(()),
    }
}

/// At most [`MAX_WITHDRAWALS_PER_BATCH`] withdrawals in a batch (see `limits`).
pub fn check_batch_withdrawals(count: usize) -> Result<(), IntentError> {
    if count > MAX_WITHDRAWALS_PER_BATCH {
        return Err(reject(
            ErrorCode::TooManyWithdrawals,
            format!("{count} withdrawals in the batch, at most {MAX_WITHDRAWALS_PER_BATCH}"),
        ));
    }
    Ok(())
}

/// The swap offers of a batch net to zero per token, so settling them creates and destroys nothing.
pub fn check_diffs_balanced<'a>(
    diffs: impl IntoIterator<Item = &'a BTreeMap<TokenId, SignedAmount>>,
) -> Result<(), IntentError> {
    let mut totals: BTreeMap<&TokenId, i128> = BTreeMap::new();
    for diff in diffs {
        for (token, amount) in diff {
            let total = totals.entry(token).or_insert(0);
            *total = total
                .checked_add(amount.0)
                .ok_or_else(|| reject(ErrorCode::DiffNotBalanced, format!("{token}: the sum overflows")))?;
        }
    }
    match totals.iter().find(|(_, total)| **total != 0) {
        Some((token, total)) => Err(reject(ErrorCode::DiffNotBalanced, format!("{token} is off by {total}"))),
        None => Ok(()),
    }
}
