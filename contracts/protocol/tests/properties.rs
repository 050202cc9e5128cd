//! Property tests: arbitrary input never panics the rules, text forms round-trip, and a signature
//! holds exactly for the bytes that were signed.

use outpost_protocol::gossip::GossipMessage;
use outpost_protocol::validate::*;
use outpost_protocol::*;
use proptest::prelude::*;

const CONTRACT: &str = "intents.outpost.testnet";

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_messages_never_panic(message in ".{0,300}", nonce in any::<[u8; 32]>(), now in any::<u64>()) {
        let s = SecretKey::from_seed([9; 32]).sign_message(message, Nonce(nonce), CONTRACT, None);
        // Whatever the verdict, it is a value, not a panic.
        let _ = verify_signed_intent(&DalekCrypto, &s, CONTRACT, now);
    }

    #[test]
    fn arbitrary_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = GossipMessage::decode(&bytes);
        let _ = serde_json::from_slice::<SignedIntent>(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = decode_intent(text);
            let _ = text.parse::<PublicKey>();
            let _ = text.parse::<Amount>();
            let _ = text.parse::<SignedAmount>();
            let _ = text.parse::<TokenId>();
            let _ = text.parse::<Nonce>();
        }
    }

    #[test]
    fn amounts_round_trip(a in any::<u128>(), s in any::<i128>()) {
        prop_assert_eq!(Amount(a).to_string().parse::<Amount>().unwrap(), Amount(a));
        prop_assert_eq!(SignedAmount(s).to_string().parse::<SignedAmount>().unwrap(), SignedAmount(s));
    }

    #[test]
    fn keys_round_trip(seed in any::<[u8; 32]>(), nonce in any::<[u8; 32]>()) {
        let sk = SecretKey::from_seed(seed);
        prop_assert_eq!(sk.to_string().parse::<SecretKey>().unwrap().seed(), seed);
        let pk = sk.public_key();
        prop_assert_eq!(pk.to_string().parse::<PublicKey>().unwrap(), pk);
        prop_assert_eq!(PublicKey::of_implicit_account(&pk.implicit_account_id()), Some(pk));
        prop_assert_eq!(Nonce(nonce).to_string().parse::<Nonce>().unwrap(), Nonce(nonce));
    }

    #[test]
    fn signature_holds_only_for_signed_bytes(
        seed in any::<[u8; 32]>(),
        amount in 1u128..,
        flip in 0usize..64,
    ) {
        let sk = SecretKey::from_seed(seed);
        let intent = Intent {
            signer_id: sk.public_key().implicit_account_id(),
            deadline: Deadline(2_000),
            actions: vec![Action::Transfer { token: TokenId::Near, amount: Amount(amount), receiver_id: "bob.testnet".parse().unwrap(), memo: None }],
            fee: None,
        };
        let mut random = [0u8; 24];
        random.copy_from_slice(&seed[8..]);
        let s = sk.sign_intent(&intent, Nonce::new(2_000, random), CONTRACT);
        let v = verify_signed_intent(&DalekCrypto, &s, CONTRACT, 1_000).unwrap();
        prop_assert!(v.signed_by_implicit_key());
        let mut bad = s.clone();
        bad.signature.0[flip] ^= 1;
        prop_assert_eq!(verify_signed_intent(&DalekCrypto, &bad, CONTRACT, 1_000).unwrap_err().code, ErrorCode::SignatureInvalid);
    }
}
