//! v2 rules: nonces carry their expiry, weak keys are refused, fees, base64 (wallet) signatures,
//! bounded withdrawals.

use base64::Engine as _;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use outpost_protocol::limits::*;
use outpost_protocol::validate::*;
use outpost_protocol::*;
use proptest::prelude::*;
use std::str::FromStr;

const CONTRACT: &str = "intents.outpost.testnet";
const NOW: u64 = 1_800_000_000_000_000_000;
const HOUR: u64 = 3_600_000_000_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed([n; 32])
}
fn transfer(amount: u128) -> Action {
    Action::Transfer { token: TokenId::Near, amount: Amount(amount), receiver_id: "bob.testnet".parse().unwrap(), memo: None }
}
fn intent(deadline: u64, actions: Vec<Action>) -> Intent {
    Intent { signer_id: key(1).public_key().implicit_account_id(), deadline: Deadline(deadline), actions, fee: None }
}
fn verify(s: &SignedIntent) -> Result<VerifiedIntent, IntentError> {
    verify_signed_intent(&DalekCrypto, s, CONTRACT, NOW)
}

#[test]
fn nonce_layout() {
    let n = Nonce::new(0x0102_0304_0506_0708, [9; 24]);
    assert_eq!(n.0[..8], [8, 7, 6, 5, 4, 3, 2, 1], "expiry is little-endian in bytes 0..8");
    assert_eq!(n.0[8..], [9; 24]);
    assert_eq!(n.expiry_ns(), 0x0102_0304_0506_0708);
}

#[test]
fn deadline_and_nonce_expiry() {
    let i = intent(NOW + HOUR, vec![transfer(1)]);
    // Expiry equal to the deadline, or later within the horizon: valid.
    for expiry in [NOW + HOUR, NOW + 2 * HOUR, NOW + MAX_DEADLINE_HORIZON_NS] {
        assert!(verify(&key(1).sign_intent(&i, Nonce::new(expiry, [1; 24]), CONTRACT)).is_ok(), "{expiry}");
    }
    // The deadline must not exceed the nonce's expiry.
    let early = key(1).sign_intent(&i, Nonce::new(NOW + HOUR - 1, [1; 24]), CONTRACT);
    assert_eq!(verify(&early).unwrap_err().code, ErrorCode::DeadlineAfterNonceExpiry);
    // A v1-style random nonce (expiry far in the future or in the past) is refused.
    let far = key(1).sign_intent(&i, Nonce([0xff; 32]), CONTRACT);
    assert_eq!(verify(&far).unwrap_err().code, ErrorCode::NonceExpiryTooFar);
    let random_past = key(1).sign_intent(&i, Nonce([7; 32]), CONTRACT);
    assert_eq!(verify(&random_past).unwrap_err().code, ErrorCode::DeadlineAfterNonceExpiry);
    let past = key(1).sign_intent(&i, Nonce::new(NOW - 1, [1; 24]), CONTRACT);
    assert_eq!(verify(&past).unwrap_err().code, ErrorCode::DeadlineAfterNonceExpiry);
    // Both in the past: the deadline rule speaks first.
    let old = intent(NOW - 2, vec![transfer(1)]);
    let s = key(1).sign_intent(&old, Nonce::new(NOW - 1, [1; 24]), CONTRACT);
    assert_eq!(verify(&s).unwrap_err().code, ErrorCode::DeadlineExpired);
    assert_eq!(check_expiry_horizon(NOW + MAX_DEADLINE_HORIZON_NS + 1, NOW).unwrap_err().code, ErrorCode::NonceExpiryTooFar);
    assert!(check_expiry_horizon(0, NOW).is_ok(), "an expired nonce is not too far");
}

/// The 8 small-order points: multiples of an order-8 point, which generates the whole 8-torsion.
fn torsion_encodings() -> Vec<[u8; 32]> {
    let order8 = CompressedEdwardsY([
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ])
    .decompress()
    .unwrap();
    assert!(order8.is_small_order() && (Scalar::from(4u8) * order8).compress() != (Scalar::from(0u8) * order8).compress());
    let points: Vec<[u8; 32]> = (0u8..8).map(|k| (Scalar::from(k) * order8).compress().0).collect();
    let distinct: std::collections::HashSet<_> = points.iter().collect();
    assert_eq!(distinct.len(), 8);
    points
}

#[test]
fn weak_keys_are_exactly_the_small_order_points() {
    for enc in torsion_encodings() {
        for sign in [0u8, 0x80] {
            let mut k = enc;
            k[31] |= sign;
            let pk = PublicKey(k);
            assert!(pk.is_weak(), "{pk}");
            // dalek agrees wherever it decodes the key.
            if let Ok(vk) = ed25519_dalek_key(&k) {
                assert!(vk, "dalek calls {pk} strong");
            }
        }
    }
    // Non-canonical encodings of 0 and 1 (y = p, p + 1) too.
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    assert!(PublicKey(p).is_weak());
    p[0] = 0xee;
    assert!(PublicKey(p).is_weak());
    // Ordinary keys are not weak.
    for n in 0..=255u8 {
        assert!(!key(n).public_key().is_weak());
    }
}

/// dalek's own verdict: `Ok(is_weak)` when the bytes decode as a point.
fn ed25519_dalek_key(k: &[u8; 32]) -> Result<bool, ()> {
    CompressedEdwardsY(*k).decompress().map(|p| p.is_small_order()).ok_or(())
}

proptest! {
    #[test]
    fn weak_check_agrees_with_dalek(k in any::<[u8; 32]>()) {
        if let Ok(weak) = ed25519_dalek_key(&k) {
            prop_assert_eq!(PublicKey(k).is_weak(), weak);
        }
    }
}

#[test]
fn weak_keys_never_sign_nor_register() {
    // For the identity key, the signature (R = identity, s = 0) verifies every message with a
    // cofactorless check: the contract must refuse it before the host function is asked.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = PublicKey(identity);
    let mut sig = [0u8; 64];
    sig[0] = 1;
    let i = Intent { signer_id: weak.implicit_account_id(), ..intent(NOW + HOUR, vec![transfer(1)]) };
    let message = serde_json::to_string(&i).unwrap();
    let forged = SignedIntent {
        message,
        nonce: Nonce::new(NOW + HOUR, [0; 24]),
        recipient: CONTRACT.into(),
        callback_url: None,
        public_key: weak,
        signature: Signature(sig),
    };
    assert_eq!(verify(&forged).unwrap_err().code, ErrorCode::WeakPublicKey);
    let add = intent(NOW + HOUR, vec![Action::AddPublicKey { public_key: PublicKey([0; 32]) }]);
    assert_eq!(validate_intent(&add, NOW).unwrap_err().code, ErrorCode::WeakPublicKey);
    assert_eq!(check_key_not_weak(&weak).unwrap_err().code, ErrorCode::WeakPublicKey);
}

#[test]
fn fees_are_optional_and_positive() {
    let v1 = r#"{"signer_id":"alice.testnet","deadline":"5","actions":[{"type":"transfer","token":"near","amount":"1","receiver_id":"bob.testnet"}]}"#;
    let i: Intent = serde_json::from_str(v1).unwrap();
    assert_eq!(i.fee, None);
    assert_eq!(serde_json::to_string(&i).unwrap(), v1, "no fee: the v1 shape");
    let with_fee = Intent { fee: Some(Fee { token: TokenId::Near, amount: Amount(7) }), ..i };
    let json = serde_json::to_string(&with_fee).unwrap();
    assert!(json.ends_with(r#","fee":{"token":"near","amount":"7"}}"#), "{json}");
    assert_eq!(serde_json::from_str::<Intent>(&json).unwrap(), with_fee);
    let zero = Intent { fee: Some(Fee { token: TokenId::Near, amount: Amount(0) }), ..intent(NOW + HOUR, vec![transfer(1)]) };
    assert_eq!(validate_intent(&zero, NOW).unwrap_err().code, ErrorCode::ZeroAmount);
    assert!(serde_json::from_str::<Intent>(&json.replace("\"amount\":\"7\"", "\"amount\":\"7\",\"x\":1")).is_err());
}

#[test]
fn wallet_base64_signatures_are_accepted() {
    let i = intent(NOW + HOUR, vec![transfer(1)]);
    let s = key(1).sign_intent(&i, Nonce::new(NOW + HOUR, [3; 24]), CONTRACT);
    let b64 = base64::engine::general_purpose::STANDARD.encode(s.signature.0);
    assert_eq!(Signature::from_str(&b64).unwrap(), s.signature);
    // A whole SignedIntent as a wallet's signMessage output gives it.
    let mut json = serde_json::to_value(&s).unwrap();
    json["signature"] = b64.clone().into();
    let parsed: SignedIntent = serde_json::from_value(json).unwrap();
    assert_eq!(parsed, s);
    assert!(verify(&parsed).is_ok());
    // It is written back in NEAR's form.
    assert!(parsed.signature.to_string().starts_with("ed25519:"));
    for bad in ["", "AAAA", "!!", &base64::engine::general_purpose::STANDARD.encode([1u8; 63])] {
        assert_eq!(Signature::from_str(bad).unwrap_err().code, ErrorCode::InvalidSignatureEncoding, "{bad:?}");
    }
}

#[test]
fn withdrawals_are_bounded() {
    let w = Action::Withdraw { token: TokenId::Near, amount: Amount(1), receiver_id: "bob.testnet".parse().unwrap(), memo: None };
    assert!(validate_intent(&intent(NOW + HOUR, vec![w.clone(); MAX_WITHDRAWALS_PER_INTENT]), NOW).is_ok());
    let bomb = intent(NOW + HOUR, vec![w; 16]);
    assert_eq!(validate_intent(&bomb, NOW).unwrap_err().code, ErrorCode::TooManyWithdrawals);
    assert!(check_batch_withdrawals(MAX_WITHDRAWALS_PER_BATCH).is_ok());
    assert_eq!(check_batch_withdrawals(MAX_WITHDRAWALS_PER_BATCH + 1).unwrap_err().code, ErrorCode::TooManyWithdrawals);
    // The limits keep the withdrawals' gas within a batch's budget with room for the rest.
    assert!(MAX_WITHDRAWALS_PER_BATCH as u64 * GAS_PER_WITHDRAWAL <= MAX_BATCH_GAS * 3 / 4);
}
