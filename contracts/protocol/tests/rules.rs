//! Each rule rejects what it should, with its code; valid input passes.

use outpost_protocol::gossip::{intents_topic, GossipMessage, IntentStatus};
use outpost_protocol::limits::*;
use outpost_protocol::validate::*;
use outpost_protocol::*;
use std::collections::BTreeMap;
use std::str::FromStr;

const CONTRACT: &str = "intents.outpost.testnet";
const NOW: u64 = 1_800_000_000_000_000_000;
const HOUR: u64 = 3_600_000_000_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed([n; 32])
}
fn acc(s: &str) -> AccountId {
    s.parse().unwrap()
}
fn token() -> TokenId {
    TokenId::from_str("nep141:token.outpost.testnet").unwrap()
}
fn transfer(amount: u128, to: &str) -> Action {
    Action::Transfer { token: token(), amount: Amount(amount), receiver_id: acc(to), memo: None }
}
fn intent(actions: Vec<Action>) -> Intent {
    Intent { signer_id: acc("alice.testnet"), deadline: Deadline(NOW + HOUR), actions, fee: None }
}
/// A v2 nonce that expires with the intent.
fn nonce(i: &Intent, n: u8) -> Nonce {
    Nonce::new(i.deadline.0, [n; 24])
}
fn signed(i: &Intent) -> SignedIntent {
    key(1).sign_intent(i, nonce(i, 7), CONTRACT)
}
fn verify(s: &SignedIntent) -> Result<VerifiedIntent, IntentError> {
    verify_signed_intent(&DalekCrypto, s, CONTRACT, NOW)
}
fn code(r: Result<impl std::fmt::Debug, IntentError>) -> ErrorCode {
    r.expect_err("expected a rejection").code
}

#[test]
fn valid_intent_verifies() {
    let i = intent(vec![transfer(5, "bob.testnet")]);
    let v = verify(&signed(&i)).unwrap();
    assert_eq!(v.intent, i);
    assert_eq!(v.public_key, key(1).public_key());
    assert!(!v.signed_by_implicit_key());
}

#[test]
fn signature_rules() {
    let s = signed(&intent(vec![transfer(5, "bob.testnet")]));
    // Signed by another key than the one claimed.
    let mut other = s.clone();
    other.public_key = key(2).public_key();
    assert_eq!(code(verify(&other)), ErrorCode::SignatureInvalid);
    // Message changed after signing.
    let mut changed = s.clone();
    changed.message = changed.message.replace("\"5\"", "\"6\"");
    assert_eq!(code(verify(&changed)), ErrorCode::SignatureInvalid);
    // Garbage signature bytes, including the high bits nearcore rejects outright.
    let mut garbage = s.clone();
    garbage.signature = Signature([0xff; 64]);
    assert_eq!(code(verify(&garbage)), ErrorCode::SignatureInvalid);
    // A public key that is not a curve point.
    let mut not_a_point = s;
    not_a_point.public_key = PublicKey([0xff; 32]);
    assert_eq!(code(verify(&not_a_point)), ErrorCode::SignatureInvalid);
}

#[test]
fn recipient_rule() {
    let i = intent(vec![transfer(5, "bob.testnet")]);
    let s = key(1).sign_intent(&i, nonce(&i, 7), "other.testnet");
    assert_eq!(code(verify(&s)), ErrorCode::WrongRecipient);
}

#[test]
fn deadline_rules() {
    let mut i = intent(vec![transfer(5, "bob.testnet")]);
    i.deadline = Deadline(NOW - 1);
    assert_eq!(code(verify(&signed(&i))), ErrorCode::DeadlineExpired);
    i.deadline = Deadline(NOW + MAX_DEADLINE_HORIZON_NS + 1);
    assert_eq!(code(verify(&signed(&i))), ErrorCode::DeadlineTooFar);
    // Both edges are inclusive.
    assert!(check_deadline(NOW, NOW).is_ok());
    assert!(check_deadline(NOW + MAX_DEADLINE_HORIZON_NS, NOW).is_ok());
    assert_eq!(code(check_deadline(0, u64::MAX)), ErrorCode::DeadlineExpired);
}

#[test]
fn size_rules() {
    let mut s = signed(&intent(vec![transfer(5, "bob.testnet")]));
    s.message = " ".repeat(MAX_MESSAGE_BYTES + 1);
    assert_eq!(code(verify(&s)), ErrorCode::MessageTooLarge);
    let s = key(1).sign_message("x".into(), Nonce::new(NOW + HOUR, [1; 24]), CONTRACT, Some("u".repeat(MAX_CALLBACK_URL_BYTES + 1)));
    assert_eq!(code(verify(&s)), ErrorCode::CallbackUrlTooLong);
}

#[test]
fn malformed_messages_are_rejected_after_the_signature() {
    for message in [
        "",
        "not json",
        "{}",
        r#"{"signer_id":"alice.testnet","deadline":"1","actions":[],"extra":1}"#,
        r#"{"signer_id":"Not Valid","deadline":"1","actions":[]}"#,
        r#"{"signer_id":"alice.testnet","deadline":1,"actions":[]}"#,
        r#"{"signer_id":"alice.testnet","deadline":"1","actions":[{"type":"mint"}]}"#,
        r#"{"signer_id":"alice.testnet","deadline":"1","actions":[{"type":"transfer","token":"near","amount":"-1","receiver_id":"b.testnet"}]}"#,
        r#"{"signer_id":"alice.testnet","deadline":"1","actions":[{"type":"transfer","token":"near","amount":"340282366920938463463374607431768211456","receiver_id":"b.testnet"}]}"#,
        r#"{"signer_id":"alice.testnet","deadline":"1","actions":[{"type":"transfer","token":"btc","amount":"1","receiver_id":"b.testnet"}]}"#,
    ] {
        let s = key(1).sign_message(message.into(), Nonce::new(NOW + HOUR, [1; 24]), CONTRACT, None);
        assert_eq!(code(verify(&s)), ErrorCode::MessageMalformed, "{message}");
    }
}

#[test]
fn action_rules() {
    let cases: Vec<(Vec<Action>, ErrorCode)> = vec![
        (vec![], ErrorCode::NoActions),
        (vec![transfer(1, "bob.testnet"); MAX_ACTIONS_PER_INTENT + 1], ErrorCode::TooManyActions),
        (vec![transfer(0, "bob.testnet")], ErrorCode::ZeroAmount),
        (vec![transfer(1, "alice.testnet")], ErrorCode::SelfTransfer),
        (
            vec![Action::Transfer { token: TokenId::Near, amount: Amount(1), receiver_id: acc("bob.testnet"), memo: Some("m".repeat(MAX_MEMO_BYTES + 1)) }],
            ErrorCode::MemoTooLong,
        ),
        (
            vec![Action::Withdraw { token: TokenId::Near, amount: Amount(0), receiver_id: acc("alice.testnet"), memo: None }],
            ErrorCode::ZeroAmount,
        ),
        (vec![Action::TokenDiff { diff: BTreeMap::new() }], ErrorCode::EmptyTokenDiff),
        (vec![Action::TokenDiff { diff: BTreeMap::from([(TokenId::Near, SignedAmount(-5))]) }], ErrorCode::TokenDiffOneSided),
        (vec![Action::TokenDiff { diff: BTreeMap::from([(TokenId::Near, SignedAmount(5))]) }], ErrorCode::TokenDiffOneSided),
        (
            vec![Action::TokenDiff { diff: BTreeMap::from([(TokenId::Near, SignedAmount(0)), (token(), SignedAmount(1))]) }],
            ErrorCode::ZeroAmount,
        ),
        (
            vec![Action::TokenDiff {
                diff: (0..=MAX_TOKENS_PER_DIFF as i128)
                    .map(|n| (TokenId::from_str(&format!("nep141:t{n}.testnet")).unwrap(), SignedAmount(if n == 0 { -1 } else { n })))
                    .collect(),
            }],
            ErrorCode::TooManyTokens,
        ),
        (vec![Action::InvalidateNonces { nonces: vec![] }], ErrorCode::NoNonces),
        (vec![Action::InvalidateNonces { nonces: vec![Nonce::new(NOW, [0; 24]); MAX_NONCES_PER_INVALIDATION + 1] }], ErrorCode::TooManyNonces),
    ];
    for (actions, expected) in cases {
        let i = intent(actions.clone());
        assert_eq!(code(validate_intent(&i, NOW)), expected, "{actions:?}");
        // The same verdict through the signed path.
        assert_eq!(code(verify(&signed(&i))), expected, "{actions:?}");
    }
    // Withdrawing to yourself is the normal case, not a self-transfer.
    let ok = intent(vec![Action::Withdraw { token: TokenId::Near, amount: Amount(1), receiver_id: acc("alice.testnet"), memo: None }]);
    assert!(validate_intent(&ok, NOW).is_ok());
}

#[test]
fn batch_rules() {
    assert_eq!(code(check_batch_size(0)), ErrorCode::BatchEmpty);
    assert_eq!(code(check_batch_size(MAX_BATCH_SIZE + 1)), ErrorCode::BatchTooLarge);
    assert!(check_batch_size(MAX_BATCH_SIZE).is_ok());

    let a = BTreeMap::from([(TokenId::Near, SignedAmount(-10)), (token(), SignedAmount(3))]);
    let b = BTreeMap::from([(TokenId::Near, SignedAmount(10)), (token(), SignedAmount(-3))]);
    let c = BTreeMap::from([(TokenId::Near, SignedAmount(9)), (token(), SignedAmount(-3))]);
    assert!(check_diffs_balanced([&a, &b]).is_ok());
    let err = check_diffs_balanced([&a, &c]).unwrap_err();
    assert_eq!(err.code, ErrorCode::DiffNotBalanced);
    assert!(err.detail.contains("near is off by -1"), "{err}");
    let big = BTreeMap::from([(TokenId::Near, SignedAmount(i128::MAX))]);
    assert_eq!(code(check_diffs_balanced([&big, &big])), ErrorCode::DiffNotBalanced);
}

#[test]
fn text_forms_reject_bad_input() {
    assert_eq!(code(PublicKey::from_str("ed25519:")), ErrorCode::InvalidPublicKey);
    assert_eq!(code(PublicKey::from_str("secp256k1:abc")), ErrorCode::InvalidPublicKey);
    assert_eq!(code(PublicKey::from_str("ed25519:0OIl")), ErrorCode::InvalidPublicKey);
    assert_eq!(code(PublicKey::from_str(&format!("ed25519:{}", bs58::encode([1u8; 33]).into_string()))), ErrorCode::InvalidPublicKey);
    assert_eq!(code(Signature::from_str("ed25519:abc")), ErrorCode::InvalidSignatureEncoding);
    assert_eq!(code(SecretKey::from_str("ed25519:abc")), ErrorCode::InvalidSecretKey);
    let mut mismatched = [1u8; 64];
    mismatched[32..].copy_from_slice(&key(2).public_key().0);
    assert_eq!(code(SecretKey::from_str(&format!("ed25519:{}", bs58::encode(mismatched).into_string()))), ErrorCode::InvalidSecretKey);
    assert_eq!(code(Nonce::from_str("AAAA")), ErrorCode::InvalidNonce);
    assert_eq!(code(Nonce::from_str("!!")), ErrorCode::InvalidNonce);
    for bad in ["", "+1", " 1", "1e3", "1.0", "0x10", "340282366920938463463374607431768211456"] {
        assert_eq!(code(Amount::from_str(bad)), ErrorCode::InvalidAmount, "{bad:?}");
    }
    assert_eq!(Amount::from_str("340282366920938463463374607431768211455").unwrap().0, u128::MAX);
    assert_eq!(SignedAmount::from_str("-170141183460469231731687303715884105728").unwrap().0, i128::MIN);
    assert_eq!(code(SignedAmount::from_str("170141183460469231731687303715884105728")), ErrorCode::InvalidAmount);
    assert_eq!(code(SignedAmount::from_str("--1")), ErrorCode::InvalidAmount);
    assert_eq!(code(TokenId::from_str("nep141:")), ErrorCode::InvalidAccountId);
    assert_eq!(code(TokenId::from_str("NEAR")), ErrorCode::InvalidToken);
    assert_eq!(code(text::parse_account_id("Bob")), ErrorCode::InvalidAccountId);
    assert_eq!(code(Deadline::from_str("soon")), ErrorCode::InvalidDeadline);
}

#[test]
fn implicit_accounts() {
    let pk = key(3).public_key();
    let account = pk.implicit_account_id();
    assert_eq!(account.as_str().len(), 64);
    assert_eq!(PublicKey::of_implicit_account(&account), Some(pk));
    assert_eq!(PublicKey::of_implicit_account(&acc("alice.testnet")), None);
    // 64 characters but not hex: a named account, not implicit.
    assert_eq!(PublicKey::of_implicit_account(&acc(&"g".repeat(64))), None);

    let i = Intent { signer_id: account, deadline: Deadline(NOW + HOUR), actions: vec![transfer(1, "bob.testnet")], fee: None };
    assert!(verify(&key(3).sign_intent(&i, nonce(&i, 0), CONTRACT)).unwrap().signed_by_implicit_key());
    assert!(!verify(&key(4).sign_intent(&i, nonce(&i, 0), CONTRACT)).unwrap().signed_by_implicit_key());
}

#[test]
fn error_codes_are_unique_and_round_trip() {
    let mut seen = std::collections::HashSet::new();
    for code in ErrorCode::ALL {
        assert!(seen.insert(code.as_str()), "duplicate {code}");
        assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        assert!(!code.description().is_empty());
    }
    let e = IntentError::new(ErrorCode::NonceUsed, "nonce abc");
    assert_eq!(IntentError::parse(&e.to_string()), Some(e));
    assert_eq!(IntentError::parse("SOMETHING_ELSE: x"), None);
}

#[test]
fn gossip_envelope() {
    let s = signed(&intent(vec![transfer(5, "bob.testnet")]));
    let msg = GossipMessage::Intent { intent: s.clone() };
    assert_eq!(GossipMessage::decode(&msg.encode()).unwrap(), msg);
    let status = GossipMessage::Status {
        intent_hash: verify(&s).unwrap().hash,
        status: IntentStatus::Failed { code: "NONCE_USED".into(), reason: "x".into() },
    };
    assert_eq!(GossipMessage::decode(&status.encode()).unwrap(), status);
    assert_eq!(GossipMessage::decode(&vec![b' '; MAX_GOSSIP_MESSAGE_BYTES + 1]).unwrap_err().code, ErrorCode::MessageTooLarge);
    assert_eq!(GossipMessage::decode(b"{\"kind\":\"intent\"}").unwrap_err().code, ErrorCode::MessageMalformed);
    assert_eq!(intents_topic("testnet", CONTRACT), "outpost/testnet/intents.outpost.testnet/intents/1");
}

#[test]
fn json_shape_is_stable() {
    // The wire format other implementations (wallets, JS) produce; changing it breaks them.
    let i = Intent {
        signer_id: acc("alice.testnet"),
        deadline: Deadline(5),
        actions: vec![
            Action::Transfer { token: TokenId::Near, amount: Amount(1), receiver_id: acc("bob.testnet"), memo: Some("hi".into()) },
            Action::TokenDiff { diff: BTreeMap::from([(TokenId::Near, SignedAmount(-2)), (token(), SignedAmount(3))]) },
            Action::InvalidateNonces { nonces: vec![Nonce([0; 32])] },
        ],
        fee: None,
    };
    let json = serde_json::to_string(&i).unwrap();
    assert_eq!(
        json,
        r#"{"signer_id":"alice.testnet","deadline":"5","actions":[{"type":"transfer","token":"near","amount":"1","receiver_id":"bob.testnet","memo":"hi"},{"type":"token_diff","diff":{"near":"-2","nep141:token.outpost.testnet":"3"}},{"type":"invalidate_nonces","nonces":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}]}"#
    );
    assert_eq!(serde_json::from_str::<Intent>(&json).unwrap(), i);
}

#[test]
fn batch_failures_format_and_parse() {
    use outpost_protocol::abi::BatchFailure;
    let item = BatchFailure::Item { index: 3, error: IntentError::new(ErrorCode::NonceUsed, "nonce abc= of alice.testnet") };
    assert_eq!(item.to_string(), "intent #3: NONCE_USED: nonce abc= of alice.testnet");
    assert_eq!(BatchFailure::find_in(&item.to_string()), Some(item.clone()));
    // As nearcore's RPC reports it.
    let rpc = format!("{{\"ActionError\":{{\"kind\":{{\"FunctionCallError\":{{\"ExecutionError\":\"Smart contract panicked: {item}\"}}}}}}}}");
    assert_eq!(BatchFailure::find_in(&rpc), Some(item));
    let batch = BatchFailure::Batch(IntentError::new(ErrorCode::DiffNotBalanced, "near is off by 1"));
    assert_eq!(BatchFailure::find_in(&batch.to_string()), Some(batch));
    assert_eq!(BatchFailure::find_in("Smart contract panicked: something else"), None);
}

#[test]
fn actions_decode_strictly() {
    let ok = r#"{"type":"withdraw","token":"near","amount":"5","receiver_id":"a.testnet"}"#;
    assert!(matches!(serde_json::from_str::<Action>(ok).unwrap(), Action::Withdraw { memo: None, .. }));
    for (bad, why) in [
        (r#"{"type":"transfer","token":"near","amount":"5"}"#, "transfer needs `receiver_id`"),
        (r#"{"type":"token_diff","diff":{},"memo":"x"}"#, "`memo` is not a field of token_diff"),
        (r#"{"type":"add_public_key"}"#, "add_public_key needs `public_key`"),
        (r#"{"type":"transfer","token":"near","amount":"5","receiver_id":"a.testnet","extra":1}"#, "unknown field `extra`"),
        (r#"{"token":"near"}"#, "missing field `type`"),
        (r#"{"type":"mint"}"#, "unknown variant `mint`"),
    ] {
        let err = serde_json::from_str::<Action>(bad).unwrap_err().to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
}

/// A relayer ends an intent only on a failure no later state can cure (issue: a payment made
/// right after its deposit was failed for good on one stale simulation).
#[test]
fn only_incurable_failures_are_final() {
    use outpost_protocol::error::Retry;
    use outpost_protocol::ErrorCode::*;
    for code in [SignatureInvalid, WrongRecipient, DeadlineExpired, MessageMalformed, ZeroAmount, SelfTransfer] {
        assert_eq!(code.retry(), Retry::Never, "{code}");
    }
    for code in [InsufficientBalance, KeyNotAuthorized, Paused, InsufficientStorageDeposit, DeadlineTooFar, DiffNotBalanced] {
        assert_eq!(code.retry(), Retry::Later, "{code}");
    }
    assert_eq!(NonceUsed.retry(), Retry::CheckNonce, "a spent nonce may mean it executed");
}
