//! Fixtures for the model's tests.
use outpost_protocol::{Action, Amount, Deadline, Intent, Nonce, SecretKey, SignedIntent, TokenId};

/// 2027-01-15 in ms: tests use a fixed clock.
pub const NOW_MS: u64 = 1_800_000_000_000;

pub fn key() -> SecretKey {
    SecretKey::from_seed([42; 32])
}

/// A valid transfer signed by [`key`]'s implicit account; `n` makes it (and its nonce) unique.
pub fn signed_transfer(n: u8) -> SignedIntent {
    signed_transfer_until(n, NOW_MS * 1_000_000 + 3_600_000_000_000)
}

/// The intents contract test intents are signed for.
pub const CONTRACT: &str = "intents.test.near";

pub fn signed_transfer_until(n: u8, deadline_ns: u64) -> SignedIntent {
    let k = key();
    let intent = Intent {
        signer_id: k.public_key().implicit_account_id(),
        deadline: Deadline(deadline_ns),
        actions: vec![Action::Transfer {
            token: TokenId::Near,
            amount: Amount(u128::from(n) + 1),
            receiver_id: "bob.testnet".parse().unwrap(),
            memo: None,
        }],
        fee: None,
    };
    k.sign_intent(&intent, Nonce::new(deadline_ns, [n; 24]), CONTRACT)
}
