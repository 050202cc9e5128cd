//! Differential tests: the hand JSON reader (`outpost_protocol::json`, what the contract, the
//! node and the dApp use to parse a signed message) against serde_json + serde derive (what
//! decoded these shapes before). Valid intents of every action kind must decode to the same
//! value; mutated inputs (truncation, escapes, surrogates, unknown and repeated fields, wrong
//! types, numbers for strings, huge numbers, whitespace, trailing garbage) must get the same
//! verdict. The writer must produce serde_json's bytes.

use outpost_protocol::abi::{self, BalanceChange, ContractConfig, ItemOutcome, ItemResult, NonceStatus, SimulationReport};
use outpost_protocol::json::{self, fuzz};
use outpost_protocol::*;
use proptest::prelude::*;

fn account() -> impl Strategy<Value = AccountId> {
    prop_oneof![
        Just("alice.near".to_string()),
        Just("bob.testnet".to_string()),
        Just("a-b_c.x.near".to_string()),
        any::<[u8; 32]>().prop_map(|k| PublicKey(k).implicit_account_id().to_string()),
        "[a-z0-9]{2,10}(\\.[a-z0-9]{1,6}){0,2}",
    ]
    .prop_map(|s| s.parse().unwrap())
}

fn token() -> impl Strategy<Value = TokenId> {
    prop_oneof![Just(TokenId::Near), account().prop_map(TokenId::Nep141)]
}

/// Any text, control characters, quotes, backslashes and non-BMP characters included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[\"\\\\\\x00-\\x1f a-z/é😀]{0,12}"]
}

fn action() -> impl Strategy<Value = Action> {
    let key = any::<[u8; 32]>().prop_map(PublicKey);
    prop_oneof![
        (token(), any::<u128>(), account(), proptest::option::of(text()))
            .prop_map(|(token, a, receiver_id, memo)| Action::Transfer { token, amount: Amount(a), receiver_id, memo }),
        (token(), any::<u128>(), account(), proptest::option::of(text()))
            .prop_map(|(token, a, receiver_id, memo)| Action::Withdraw { token, amount: Amount(a), receiver_id, memo }),
        proptest::collection::btree_map(token(), any::<i128>().prop_map(SignedAmount), 0..4).prop_map(|diff| Action::TokenDiff { diff }),
        key.clone().prop_map(|public_key| Action::AddPublicKey { public_key }),
        key.prop_map(|public_key| Action::RemovePublicKey { public_key }),
        proptest::collection::vec(any::<[u8; 32]>().prop_map(Nonce), 0..4).prop_map(|nonces| Action::InvalidateNonces { nonces }),
    ]
}

fn intent() -> impl Strategy<Value = Intent> {
    (account(), any::<u64>(), proptest::collection::vec(action(), 0..4), proptest::option::of((token(), any::<u128>())))
        .prop_map(|(signer_id, d, actions, fee)| Intent {
            signer_id,
            deadline: Deadline(d),
            actions,
            fee: fee.map(|(token, a)| Fee { token, amount: Amount(a) }),
        })
}

fn signed_intent() -> impl Strategy<Value = SignedIntent> {
    (intent(), any::<[u8; 32]>(), text(), proptest::option::of(text()), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<bool>()).prop_map(
        |(intent, nonce, recipient, callback_url, key, sig, message_as_text)| SignedIntent {
            // Either a real intent's JSON or any text: the envelope does not parse the message.
            message: if message_as_text { recipient.clone() } else { serde_json::to_string(&intent).unwrap() },
            nonce: Nonce(nonce),
            recipient,
            callback_url,
            public_key: PublicKey(key),
            signature: Signature([sig, sig].concat().try_into().unwrap()),
        },
    )
}

fn ops() -> impl Strategy<Value = Vec<(u8, u16, u16)>> {
    proptest::collection::vec(any::<(u8, u16, u16)>(), 1..4)
}

/// The hand reader's verdict equals serde's; when both accept, the values are equal.
fn same_intent_verdict(bytes: &[u8]) -> Result<(), TestCaseError> {
    let hand = json::from_slice(bytes, json::intent);
    let serde = serde_json::from_slice::<Intent>(bytes);
    match (&hand, &serde) {
        (Ok(h), Ok(s)) => prop_assert_eq!(h, s),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "verdicts differ on {:?}: hand {:?}, serde {:?}", String::from_utf8_lossy(bytes), hand, serde),
    }
    // The public entry point every component uses agrees (it takes the message as text).
    if let Ok(text) = std::str::from_utf8(bytes) {
        prop_assert_eq!(validate::decode_intent(text).is_ok(), hand.is_ok());
    }
    Ok(())
}

fn same_signed_verdict(bytes: &[u8]) -> Result<(), TestCaseError> {
    let hand = json::decode_signed_intent(bytes);
    let serde = serde_json::from_slice::<SignedIntent>(bytes);
    match (&hand, &serde) {
        (Ok(h), Ok(s)) => prop_assert_eq!(h, s),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "verdicts differ on {:?}: hand {:?}, serde {:?}", String::from_utf8_lossy(bytes), hand, serde),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn valid_intents_decode_as_serde_does(i in intent(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&i) } else { serde_json::to_string(&i) }.unwrap();
        prop_assert_eq!(json::decode_intent(&text).unwrap(), i);
    }

    #[test]
    fn mutated_intents_get_serde_verdicts(i in intent(), ops in ops(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&i) } else { serde_json::to_string(&i) }.unwrap();
        same_intent_verdict(&fuzz::mutate(text.as_bytes(), &ops))?;
    }

    #[test]
    fn valid_signed_intents_decode_as_serde_does(s in signed_intent()) {
        let text = serde_json::to_vec(&s).unwrap();
        prop_assert_eq!(json::decode_signed_intent(&text).unwrap(), s);
    }

    #[test]
    fn mutated_signed_intents_get_serde_verdicts(s in signed_intent(), ops in ops()) {
        let text = serde_json::to_vec(&s).unwrap();
        same_signed_verdict(&fuzz::mutate(&text, &ops))?;
    }

    #[test]
    fn arbitrary_bytes_get_serde_verdicts(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        same_intent_verdict(&bytes)?;
        same_signed_verdict(&bytes)?;
    }

    #[test]
    fn skipped_values_get_serde_verdicts(i in intent(), ops in ops()) {
        // Any JSON value, skipped as serde_json's `IgnoredAny` skips it (unknown fields of the
        // contract's arguments).
        let text = fuzz::mutate(serde_json::to_string(&i).unwrap().as_bytes(), &ops);
        let hand = json::from_slice(&text, |r| r.skip());
        let serde = serde_json::from_slice::<serde::de::IgnoredAny>(&text);
        prop_assert_eq!(hand.is_ok(), serde.is_ok(), "{:?}: {:?} {:?}", String::from_utf8_lossy(&text), hand, serde);
    }

    #[test]
    fn strings_get_serde_verdicts(s in text(), ops in ops()) {
        let text = fuzz::mutate(serde_json::to_string(&s).unwrap().as_bytes(), &ops);
        let hand = json::from_slice(&text, |r| r.str().map(|c| c.into_owned()));
        let serde = serde_json::from_slice::<String>(&text);
        prop_assert_eq!(hand.as_ref().ok(), serde.as_ref().ok(), "{:?}: {:?} {:?}", String::from_utf8_lossy(&text), hand, serde);
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does(s in text()) {
        let mut out = String::new();
        json::push_str(&mut out, &s);
        prop_assert_eq!(&out, &serde_json::to_string(&s).unwrap());
        // And read back.
        prop_assert_eq!(json::from_slice(out.as_bytes(), |r| r.str().map(|c| c.into_owned())).unwrap(), s);
    }

    #[test]
    fn results_are_written_as_serde_json_does(
        outcomes in proptest::collection::vec((any::<u32>(), any::<Option<[u8; 32]>>(), proptest::option::of(account()), any::<Option<[u8; 32]>>(), proptest::option::of((text(), text())), any::<u64>(), any::<i64>(), any::<i128>()), 0..4),
        changes in proptest::collection::vec((account(), token(), any::<i128>()), 0..3),
        batch_error in proptest::option::of(proptest::option::of((text(), text()))),
        charge in any::<i128>(), gas in any::<u64>(), hash in any::<[u8; 32]>(), cfg in (account(), any::<bool>(), any::<u64>(), any::<u32>(), any::<u128>()),
    ) {
        let result = |f: Option<(String, String)>| f.map_or(ItemResult::Ok, |(code, detail)| ItemResult::Failed { code, detail });
        let report = SimulationReport {
            outcomes: outcomes.into_iter().map(|(index, h, signer_id, n, r, gas, storage_bytes, cost)| ItemOutcome {
                index, intent_hash: h.map(IntentHash), signer_id, nonce: n.map(Nonce), result: result(r), gas, storage_bytes, storage_cost: SignedAmount(cost),
            }).collect(),
            balance_changes: changes.into_iter().map(|(account_id, token, d)| BalanceChange { account_id, token, delta: SignedAmount(d) }).collect(),
            batch_error: batch_error.map(result),
            caller_charge: SignedAmount(charge),
            gas,
        };
        prop_assert_eq!(abi::write::simulation_report(&report), serde_json::to_string(&report).unwrap());
        for status in [NonceStatus::Unused, NonceStatus::Cancelled, NonceStatus::Executed { intent_hash: IntentHash(hash) }] {
            prop_assert_eq!(abi::write::nonce_status(&status), serde_json::to_string(&status).unwrap());
        }
        let config = ContractConfig {
            owner_id: cfg.0, paused: cfg.1, max_deadline_horizon_ns: Deadline(cfg.2), max_batch_size: cfg.3,
            storage_byte_cost: Amount(cfg.4), nonce_prune_grace_ns: Deadline(cfg.2 / 3), max_withdrawals_per_intent: cfg.3 / 7, max_withdrawals_per_batch: cfg.3 / 5,
        };
        prop_assert_eq!(abi::write::contract_config(&config), serde_json::to_string(&config).unwrap());
        prop_assert_eq!(abi::write::display(Amount(cfg.4)), serde_json::to_string(&Amount(cfg.4)).unwrap());
    }
}

/// Hand-picked cases, each with serde's verdict checked too (a failing case here names itself).
#[test]
fn edge_cases_match_serde() {
    let key = PublicKey([7; 32]);
    let base = |extra: &str| format!(r#"{{"signer_id":"alice.near","deadline":"5","actions":[{{"type":"add_public_key","public_key":"{key}"}}]{extra}}}"#);
    let cases: Vec<String> = vec![
        base(""),
        base(",\"fee\":null"),
        base(",\"fee\":null,\"fee\":null"),
        base(",\"deadline\":\"5\""),
        base(",\"extra\":1"),
        base(",").to_string(),
        format!("{} ", base("")),
        format!("{}x", base("")),
        format!("{},", base("")),
        format!(" \t\r\n{}", base("")),
        base("").replace("\"deadline\":\"5\"", "\"deadline\":5"),
        base("").replace("\"deadline\":\"5\"", "\"deadline\":\"+5\""),
        base("").replace("\"deadline\":\"5\"", "\"deadline\":\"18446744073709551616\""),
        base("").replace("\"deadline\":\"5\"", "\"deadline\":null"),
        base("").replace("signer_id", "sig\\u006eer_id"),
        base("").replace("alice", "\\u0061lice"),
        base("").replace("alice", "\\ud800lice"),
        base("").replace("alice", "\\udc00lice"),
        base("").replace("alice", "\\ud83d\\ude00lice"),
        base("").replace("add_public_key", "remove_public_key"),
        base("").replace("add_public_key", "ADD_PUBLIC_KEY"),
        base("").replace("\"type\":\"add_public_key\",", "\"type\":\"add_public_key\",\"memo\":null,\"token\":null,"),
        base("").replace("\"type\":\"add_public_key\",", "\"type\":\"add_public_key\",\"memo\":\"x\","),
        base("").replace("\"type\":\"add_public_key\",", "\"type\":\"add_public_key\",\"memo\":null,\"memo\":null,"),
        base("").replace("\"type\":\"add_public_key\",", ""),
        r#"{"signer_id":"a.near","deadline":"1","actions":[{"type":"token_diff","diff":{"near":"-1","near":"2","nep141:t.near":"-3"}}]}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[{"type":"token_diff","diff":{"near":1}}]}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[{"type":"invalidate_nonces","nonces":[]}],"fee":{"token":"near","amount":"0"}}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[],"fee":{"token":"near","amount":"1","x":1}}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[1]}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[],}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[,]}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[]}}"#.into(),
        r#"{"signer_id":"a.near","deadline":"1","actions":[]/**/}"#.into(),
        "{\"signer_id\":\"a.n\u{1}ear\",\"deadline\":\"1\",\"actions\":[]}".into(),
        "{\"signer_id\":\"a.near\",\"deadline\":\"1\",\"actions\":[]}\u{0}".into(),
        "".into(),
        "null".into(),
        "{}".into(),
    ];
    for case in &cases {
        let hand = json::from_slice(case.as_bytes(), json::intent);
        let serde = serde_json::from_slice::<Intent>(case.as_bytes());
        assert_eq!(hand.is_ok(), serde.is_ok(), "{case}: hand {hand:?}, serde {serde:?}");
        if let (Ok(h), Ok(s)) = (&hand, &serde) {
            assert_eq!(h, s, "{case}");
        }
    }
    // Skipped values nest without limit and without recursion (serde_json's `IgnoredAny` too).
    let deep = format!("{{\"signed\":[],\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let mut r = json::Reader::new(deep.as_bytes());
    r.fields(false, &mut |r, k| if k == "signed" { r.skip().map(|_| true) } else { Ok(false) }).unwrap();
}

/// The deliberate differences (see `json`'s module docs): serde derive also reads a struct from
/// a JSON array of its fields and a unit variant from `{"variant": null}`; the hand reader does
/// not, on every target, so no component accepts these spellings.
#[test]
fn serde_data_model_spellings_are_refused_on_purpose() {
    let array_form = r#"["alice.near","5",[{"type":"remove_public_key","public_key":"ed25519:11111111111111111111111111111111"}]]"#;
    assert!(serde_json::from_str::<Intent>(array_form).is_ok());
    assert!(validate::decode_intent(array_form).is_err());
    let variant_object = r#"{"signer_id":"alice.near","deadline":"5","actions":[{"type":{"remove_public_key":null},"public_key":"ed25519:11111111111111111111111111111111"}]}"#;
    assert!(serde_json::from_str::<Intent>(variant_object).is_ok());
    assert!(validate::decode_intent(variant_object).is_err());
}
