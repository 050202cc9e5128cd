//! Intents for tests and benchmarks: valid ones signed by an implicit account's own key, and the
//! invalid kinds a node must reject. Not used by the node itself.

use crate::validate::now_ns;
use outpost_protocol::{Action, Amount, Deadline, Intent, Nonce, SecretKey, SignedIntent, TokenId};

pub const CHAIN: &str = "localnet";
pub const CONTRACT: &str = "intents.outpost.test.near";
const SECOND: i128 = 1_000_000_000;

/// The signing key of test user `n` (its implicit account needs no key registration).
pub fn user_key(n: u8) -> SecretKey {
    SecretKey::from_seed([n.wrapping_add(1); 32])
}

/// A v2 nonce: expires with the intent's deadline, unique per `n`.
fn nonce(n: u64, intent: &Intent) -> Nonce {
    let mut random = [0u8; 24];
    random[..8].copy_from_slice(&n.to_le_bytes());
    random[23] = 0xAB;
    Nonce::new(intent.deadline.0, random)
}

fn intent(key: &SecretKey, deadline_offset_s: i64, actions: Vec<Action>) -> Intent {
    let deadline = (now_ns() as i128 + deadline_offset_s as i128 * SECOND).max(0) as u64;
    Intent { signer_id: key.public_key().implicit_account_id(), deadline: Deadline(deadline), actions, fee: None }
}

fn transfer(n: u64) -> Action {
    Action::Transfer {
        token: TokenId::Near,
        amount: Amount(1 + n as u128),
        receiver_id: "bob.test.near".parse().expect("account id"),
        memo: None,
    }
}

/// Intent number `n`: a transfer, valid for an hour, unique nonce per `n`.
pub fn valid_intent(n: u64) -> SignedIntent {
    intent_for(crate::testkit::CONTRACT, n, 3600)
}

/// Intent `n` signed for `recipient`, with its deadline `deadline_offset_s` from now.
pub fn intent_for(recipient: &str, n: u64, deadline_offset_s: i64) -> SignedIntent {
    let key = user_key((n % 200) as u8);
    let intent = intent(&key, deadline_offset_s, vec![transfer(n)]);
    key.sign_intent(&intent, nonce(n, &intent), recipient)
}

/// Intent `n` with a withdrawal (costs more gas in the relayer's budget).
pub fn withdraw_intent(n: u64) -> SignedIntent {
    let key = user_key((n % 200) as u8);
    let action = Action::Withdraw {
        token: TokenId::Near,
        amount: Amount(1 + n as u128),
        receiver_id: "bob.test.near".parse().expect("account id"),
        memo: None,
    };
    let intent = intent(&key, 3600, vec![action]);
    key.sign_intent(&intent, nonce(n, &intent), CONTRACT)
}

/// [`valid_intent`] with one signature byte flipped.
pub fn forged_intent(n: u64) -> SignedIntent {
    forge(&valid_intent(n))
}

/// `signed` with one signature byte flipped: same payload, so the same intent hash.
pub fn forge(signed: &SignedIntent) -> SignedIntent {
    let mut s = signed.clone();
    s.signature.0[0] ^= 0x01;
    s
}

/// A swap offer by user `n` (nonce `n`): its balance of NEAR changes by `near` and of a NEP-141
/// token by `token` (negative gives). Deadline an hour away.
pub fn swap_offer(n: u64, near: i128, token: i128) -> SignedIntent {
    use outpost_protocol::SignedAmount;
    let key = user_key((n % 200) as u8);
    let other = TokenId::Nep141("token.outpost.test.near".parse().expect("account id"));
    let diff = [(TokenId::Near, SignedAmount(near)), (other, SignedAmount(token))].into();
    let intent = intent(&key, 3600, vec![Action::TokenDiff { diff }]);
    key.sign_intent(&intent, nonce(n, &intent), CONTRACT)
}

/// Two offers that match: user `a` gives `near` yoctoNEAR for `token` units, user `b` the reverse.
pub fn swap_pair(a: u64, b: u64, near: i128, token: i128) -> [SignedIntent; 2] {
    [swap_offer(a, -near, token), swap_offer(b, near, -token)]
}
