//! The ledger's records over raw [`Storage`]: balances per (account, token), registered keys per
//! account, used nonces per (account, nonce) with their deadline. Keys are short prefixes plus
//! borsh, so a record's size (what storage costs) is known off chain too.
//!
//! A used or cancelled nonce is stored with its expiry (v2: the nonce's own bytes 0..8; records
//! written by v1 hold the intent's deadline, or `u64::MAX` for a cancellation) and may be pruned
//! only once that expiry plus `NONCE_PRUNE_GRACE_NS` has passed.
//!
//! A balance record is kept when it reaches zero: a later credit (a deposit, or a refunded
//! withdrawal in a callback that has no deposit to pay with) then never needs new storage.

use crate::storage::Storage;
use borsh::BorshSerialize;
use outpost_protocol::error::{ErrorCode, IntentError};
use outpost_protocol::limits::NONCE_PRUNE_GRACE_NS;
use outpost_protocol::validate::check_key_not_weak;
use outpost_protocol::{AccountId, IntentHash, Nonce, PublicKey, TokenId};

/// Most keys a named account may register (bounds storage and the key list's size).
pub const MAX_KEYS_PER_ACCOUNT: usize = 16;

const BALANCE: u8 = b'b';
const KEYS: u8 = b'k';
const NONCE: u8 = b'n';

fn key(prefix: u8, parts: &[&dyn Fn(&mut Vec<u8>)]) -> Vec<u8> {
    // Room for the longest key (a 64-byte account id, a token, a nonce) without regrowing.
    let mut k = Vec::with_capacity(160);
    k.push(prefix);
    for part in parts {
        part(&mut k);
    }
    k
}

fn borsh_into<T: BorshSerialize>(value: &T) -> impl Fn(&mut Vec<u8>) + '_ {
    // Serialising into a Vec cannot fail.
    move |out| value.serialize(out).expect("borsh into a Vec")
}

pub fn balance_key(account: &AccountId, token: &TokenId) -> Vec<u8> {
    key(BALANCE, &[&borsh_into(account), &borsh_into(token)])
}
pub fn keys_key(account: &AccountId) -> Vec<u8> {
    key(KEYS, &[&borsh_into(account)])
}
pub fn nonce_key(account: &AccountId, nonce: &Nonce) -> Vec<u8> {
    key(NONCE, &[&borsh_into(account), &|out: &mut Vec<u8>| out.extend_from_slice(&nonce.0)])
}

/// Typed access to the ledger's records.
pub struct Ledger<S: Storage>(pub S);

impl<S: Storage> Ledger<S> {
    pub fn balance(&self, account: &AccountId, token: &TokenId) -> u128 {
        self.0
            .read(&balance_key(account, token))
            .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
            .map(u128::from_le_bytes)
            .unwrap_or(0)
    }

    /// True when a balance record exists (even at zero): crediting it then needs no storage.
    pub fn has_record(&self, account: &AccountId, token: &TokenId) -> bool {
        self.0.read(&balance_key(account, token)).is_some()
    }

    fn set_balance(&mut self, account: &AccountId, token: &TokenId, amount: u128) {
        self.0.write(&balance_key(account, token), &amount.to_le_bytes());
    }

    pub fn credit(&mut self, account: &AccountId, token: &TokenId, amount: u128) -> Result<(), IntentError> {
        let new = self.balance(account, token).checked_add(amount).ok_or_else(|| {
            IntentError::new(ErrorCode::BalanceOverflow, format!("{account} would hold more than u128 of {token}"))
        })?;
        self.set_balance(account, token, new);
        Ok(())
    }

    pub fn debit(&mut self, account: &AccountId, token: &TokenId, amount: u128) -> Result<(), IntentError> {
        let have = self.balance(account, token);
        let new = have.checked_sub(amount).ok_or_else(|| {
            IntentError::new(ErrorCode::InsufficientBalance, format!("{account} has {have} of {token}, needs {amount}"))
        })?;
        self.set_balance(account, token, new);
        Ok(())
    }

    /// Keys registered for `account` (an implicit account's own key is not stored).
    pub fn keys(&self, account: &AccountId) -> Vec<PublicKey> {
        self.0
            .read(&keys_key(account))
            .and_then(|v| borsh::from_slice::<Vec<PublicKey>>(&v).ok())
            .unwrap_or_default()
    }

    /// True when `key` may sign for `account`: the key an implicit account is named after, or a
    /// registered one; never a weak key (a v1 ledger may hold one).
    pub fn can_sign(&self, account: &AccountId, key: &PublicKey) -> bool {
        !key.is_weak() && (PublicKey::of_implicit_account(account) == Some(*key) || self.keys(account).contains(key))
    }

    pub fn add_key(&mut self, account: &AccountId, key: PublicKey) -> Result<(), IntentError> {
        check_key_not_weak(&key)?;
        let mut keys = self.keys(account);
        if keys.contains(&key) || PublicKey::of_implicit_account(account) == Some(key) {
            return Err(IntentError::new(ErrorCode::KeyAlreadyExists, format!("{key} already signs for {account}")));
        }
        if keys.len() >= MAX_KEYS_PER_ACCOUNT {
            return Err(IntentError::new(
                ErrorCode::TooManyKeys,
                format!("{account} has {MAX_KEYS_PER_ACCOUNT} keys, the most allowed"),
            ));
        }
        keys.push(key);
        self.0.write(&keys_key(account), &borsh::to_vec(&keys).expect("borsh"));
        Ok(())
    }

    pub fn remove_key(&mut self, account: &AccountId, key: &PublicKey) -> Result<(), IntentError> {
        if PublicKey::of_implicit_account(account) == Some(*key) {
            return Err(ErrorCode::ImplicitKeyFixed.into());
        }
        let mut keys = self.keys(account);
        let Some(at) = keys.iter().position(|k| k == key) else {
            return Err(IntentError::new(ErrorCode::KeyNotFound, format!("{key} is not registered for {account}")));
        };
        keys.remove(at);
        if keys.is_empty() {
            self.0.remove(&keys_key(account));
        } else {
            self.0.write(&keys_key(account), &borsh::to_vec(&keys).expect("borsh"));
        }
        Ok(())
    }

    /// The expiry a used or cancelled nonce was stored with, and the hash of the intent that used
    /// it (`None` for a cancellation); `None` when unused.
    pub fn nonce_record(&self, account: &AccountId, nonce: &Nonce) -> Option<(u64, Option<IntentHash>)> {
        let v = self.0.read(&nonce_key(account, nonce))?;
        let expiry = u64::from_le_bytes(v.get(..8)?.try_into().ok()?);
        let hash = v.get(8..40).and_then(|h| <[u8; 32]>::try_from(h).ok()).map(IntentHash);
        Some((expiry, hash))
    }

    /// The expiry a used or cancelled nonce was stored with, or `None` when unused.
    pub fn nonce_expiry(&self, account: &AccountId, nonce: &Nonce) -> Option<u64> {
        self.nonce_record(account, nonce).map(|(expiry, _)| expiry)
    }

    /// Spends a nonce: by the intent `used_by` (its hash is kept, 32 bytes, so `nonce_status` can
    /// tell an executed intent from a cancelled or different one), or by a cancellation (`None`).
    pub fn use_nonce(&mut self, account: &AccountId, nonce: &Nonce, expiry: u64, used_by: Option<&IntentHash>) -> Result<(), IntentError> {
        let mut value = expiry.to_le_bytes().to_vec();
        if let Some(hash) = used_by {
            value.extend_from_slice(&hash.0);
        }
        // An executing batch may check this at commit instead of reading now (`Overlay`).
        if !self.0.write_new(&nonce_key(account, nonce), &value) {
            return Err(IntentError::new(ErrorCode::NonceUsed, format!("nonce {nonce} of {account}")));
        }
        Ok(())
    }

    /// Deletes a used or cancelled nonce once its expiry plus the grace period is before `now`
    /// (never earlier: the record is the evidence that its intent executed); returns whether it did.
    pub fn prune_nonce(&mut self, account: &AccountId, nonce: &Nonce, now_ns: u64) -> bool {
        match self.nonce_expiry(account, nonce) {
            Some(expiry) if expiry.saturating_add(NONCE_PRUNE_GRACE_NS) < now_ns => {
                self.0.remove(&nonce_key(account, nonce));
                true
            }
            _ => false,
        }
    }
}
