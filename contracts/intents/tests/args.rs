//! Differential tests of the contract's argument decoders (`outpost_intents::args`, hand JSON)
//! against what decoded them before: near-sdk's generated `Input` structs (serde derive, unknown
//! fields ignored) through serde_json, and for the batch methods the old two-pass reader (all
//! items at once, then item by item through `RawValue` to name a malformed one). Valid and
//! mutated arguments must get the same verdict and the same values. Also the JSON the contract
//! writes for other contracts (`ft_transfer`, `on_withdraw`) and for logs.

use outpost_intents::args;
use outpost_protocol::json::fuzz;
use outpost_protocol::*;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// near-sdk's `json_types::U128`: a string parsed by `u128::from_str`.
#[derive(Debug, PartialEq)]
struct U128(u128);
impl<'de> Deserialize<'de> for U128 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map(U128).map_err(serde::de::Error::custom)
    }
}

// The `Input` structs near-sdk's `#[near]` generated for each method.
#[derive(Deserialize)]
struct OwnerArg {
    owner_id: AccountId,
}
#[derive(Deserialize)]
struct KeyArg {
    public_key: PublicKey,
}
#[derive(Deserialize)]
struct AccountArg {
    account_id: AccountId,
}
#[derive(Deserialize)]
struct DepositArg {
    receiver_id: Option<AccountId>,
}
#[derive(Deserialize)]
struct BalanceArg {
    account_id: AccountId,
    token: TokenId,
}
#[derive(Deserialize)]
struct BalancesArg {
    account_id: AccountId,
    tokens: Vec<TokenId>,
}
#[derive(Deserialize)]
struct NonceArg {
    account_id: AccountId,
    nonce: Nonce,
}
#[derive(Deserialize)]
struct PruneArg {
    nonces: Vec<(AccountId, Nonce)>,
}
#[derive(Deserialize)]
struct FtOnTransferArg {
    sender_id: AccountId,
    amount: U128,
    msg: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositMsg {
    receiver_id: AccountId,
}
#[derive(Deserialize)]
struct OnWithdrawArg {
    account_id: AccountId,
    token: TokenId,
    amount: U128,
    receiver_id: AccountId,
}
/// The old `BatchArgs<I>`.
#[derive(Deserialize)]
struct OldBatch<I> {
    signed: Vec<I>,
    #[serde(default)]
    caller_id: Option<AccountId>,
    #[serde(default)]
    attached: Option<Amount>,
}

type Items = Vec<Option<SignedIntent>>;

/// The old `read_batch_args`: one pass; if it fails, items one by one through `RawValue`.
fn old_batch(input: &[u8]) -> Option<(Items, Option<AccountId>, Option<Amount>)> {
    if let Ok(a) = serde_json::from_slice::<OldBatch<SignedIntent>>(input) {
        return Some((a.signed.into_iter().map(Some).collect(), a.caller_id, a.attached));
    }
    let a = serde_json::from_slice::<OldBatch<Box<RawValue>>>(input).ok()?;
    let items = a.signed.iter().map(|raw| serde_json::from_slice(raw.get().as_bytes()).ok()).collect();
    Some((items, a.caller_id, a.attached))
}

fn new_batch(input: &[u8]) -> Option<(Items, Option<AccountId>, Option<Amount>)> {
    let a = args::batch(input).ok()?;
    Some((a.signed.into_iter().map(Result::ok).collect(), a.caller_id, a.attached))
}

fn account() -> impl Strategy<Value = AccountId> {
    prop_oneof![
        Just("alice.near".to_string()),
        any::<[u8; 32]>().prop_map(|k| PublicKey(k).implicit_account_id().to_string()),
        "[a-z0-9]{2,8}\\.near",
    ]
    .prop_map(|s| s.parse().unwrap())
}

fn token() -> impl Strategy<Value = TokenId> {
    prop_oneof![Just(TokenId::Near), account().prop_map(TokenId::Nep141)]
}

fn signed() -> impl Strategy<Value = SignedIntent> {
    (account(), any::<u64>(), any::<[u8; 32]>(), any::<[u8; 32]>(), proptest::option::of("[ -~]{0,8}"), any::<u128>()).prop_map(|(signer, d, nonce, key, cb, amount)| {
        let intent = Intent {
            signer_id: signer.clone(),
            deadline: Deadline(d),
            actions: vec![Action::Transfer { token: TokenId::Near, amount: Amount(amount), receiver_id: signer, memo: None }],
            fee: None,
        };
        SignedIntent {
            message: serde_json::to_string(&intent).unwrap(),
            nonce: Nonce(nonce),
            recipient: "intents.near".into(),
            callback_url: cb,
            public_key: PublicKey(key),
            signature: Signature([7; 64]),
        }
    })
}

fn ops() -> impl Strategy<Value = Vec<(u8, u16, u16)>> {
    proptest::collection::vec(any::<(u8, u16, u16)>(), 1..4)
}

/// Same verdict and, when accepted, the same value.
fn same<T: PartialEq + core::fmt::Debug, U: core::fmt::Debug>(input: &[u8], hand: Result<T, U>, serde: Option<T>) -> Result<(), TestCaseError> {
    prop_assert_eq!(hand.as_ref().ok(), serde.as_ref(), "{:?}: hand {:?}", String::from_utf8_lossy(input), hand);
    Ok(())
}

/// Every argument decoder on one input, each against its serde reference.
fn all_decoders_agree(input: &[u8]) -> Result<(), TestCaseError> {
    same(input, args::one::<AccountId>(input, "owner_id"), serde_json::from_slice::<OwnerArg>(input).ok().map(|a| a.owner_id))?;
    same(input, args::one::<AccountId>(input, "account_id"), serde_json::from_slice::<AccountArg>(input).ok().map(|a| a.account_id))?;
    same(input, args::one::<PublicKey>(input, "public_key"), serde_json::from_slice::<KeyArg>(input).ok().map(|a| a.public_key))?;
    same(input, args::deposit(input), serde_json::from_slice::<DepositArg>(input).ok().map(|a| a.receiver_id))?;
    same(input, args::account_and::<TokenId>(input, "token"), serde_json::from_slice::<BalanceArg>(input).ok().map(|a| (a.account_id, a.token)))?;
    same(input, args::account_and::<Nonce>(input, "nonce"), serde_json::from_slice::<NonceArg>(input).ok().map(|a| (a.account_id, a.nonce)))?;
    same(input, args::balances(input), serde_json::from_slice::<BalancesArg>(input).ok().map(|a| (a.account_id, a.tokens)))?;
    same(input, args::prune(input), serde_json::from_slice::<PruneArg>(input).ok().map(|a| a.nonces))?;
    same(input, args::ft_on_transfer(input), serde_json::from_slice::<FtOnTransferArg>(input).ok().map(|a| (a.sender_id, a.amount.0, a.msg)))?;
    same(input, args::deposit_msg(input), serde_json::from_slice::<DepositMsg>(input).ok().map(|a| a.receiver_id))?;
    same(
        input,
        args::on_withdraw(input).map(|a| (a.account_id, a.token, a.amount, a.receiver_id)),
        serde_json::from_slice::<OnWithdrawArg>(input).ok().map(|a| (a.account_id, a.token, a.amount.0, a.receiver_id)),
    )?;
    prop_assert_eq!(new_batch(input), old_batch(input), "{:?}", String::from_utf8_lossy(input));
    Ok(())
}

#[derive(Debug, Serialize)]
struct AnyArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receiver_id: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<PublicKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<TokenId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<Vec<TokenId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<Nonce>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonces: Option<Vec<(AccountId, Nonce)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender_id: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<Vec<SignedIntent>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller_id: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attached: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    other: Option<serde_json::Value>,
}

fn any_args() -> impl Strategy<Value = AnyArgs> {
    use proptest::option::of as o;
    (
        (o(account()), o(account()), o(account()), o(any::<[u8; 32]>().prop_map(PublicKey)), o(token()), o(proptest::collection::vec(token(), 0..3))),
        (
            o(any::<[u8; 32]>().prop_map(Nonce)),
            o(proptest::collection::vec((account(), any::<[u8; 32]>().prop_map(Nonce)), 0..3)),
            o(account()),
            o(prop_oneof![any::<u128>().prop_map(|a| a.to_string()), "[+0-9a ]{0,5}".prop_map(String::from)]),
            o(prop_oneof![Just(String::new()), account().prop_map(|a| format!("{{\"receiver_id\":\"{a}\"}}")), any::<String>()]),
        ),
        (o(proptest::collection::vec(signed(), 0..3)), o(account()), o(any::<u128>().prop_map(Amount)), o(Just(serde_json::json!({"x": [1, null, {"y": "\u{1}"}]})))),
    )
        .prop_map(|((owner_id, account_id, receiver_id, public_key, token, tokens), (nonce, nonces, sender_id, amount, msg), (signed, caller_id, attached, other))| AnyArgs {
            owner_id, account_id, receiver_id, public_key, token, tokens, nonce, nonces, sender_id, amount, msg, signed, caller_id, attached, other,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn arguments_decode_as_near_sdk_did(a in any_args()) {
        all_decoders_agree(&serde_json::to_vec(&a).unwrap())?;
    }

    #[test]
    fn mutated_arguments_get_the_same_verdicts(a in any_args(), ops in ops()) {
        all_decoders_agree(&fuzz::mutate(&serde_json::to_vec(&a).unwrap(), &ops))?;
    }

    #[test]
    fn batches_with_malformed_items_name_the_same_items(items in proptest::collection::vec((signed(), ops(), any::<bool>()), 1..4), caller in account()) {
        // Some items garbled (each on its own), the envelope intact: per-item verdicts match.
        let parts: Vec<String> = items.iter().map(|(s, ops, garble)| {
            let text = serde_json::to_vec(s).unwrap();
            String::from_utf8_lossy(&if *garble { fuzz::mutate(&text, ops) } else { text }).into_owned()
        }).collect();
        let input = format!("{{\"caller_id\":\"{caller}\",\"signed\":[{}]}}", parts.join(","));
        prop_assert_eq!(new_batch(input.as_bytes()), old_batch(input.as_bytes()), "{}", input);
    }
}

#[test]
fn outgoing_arguments_and_events_are_what_near_sdk_and_serde_wrote() {
    let bob: AccountId = "bob.near".parse().unwrap();
    let token = TokenId::Nep141("t.near".parse().unwrap());
    // near-sdk's `ext` serialised a struct of the parameters in order (`memo` null when absent).
    assert_eq!(args::ft_transfer_json(&bob, 5, None), r#"{"receiver_id":"bob.near","amount":"5","memo":null}"#);
    assert_eq!(args::ft_transfer_json(&bob, 5, Some("a\"\n")), r#"{"receiver_id":"bob.near","amount":"5","memo":"a\"\n"}"#);
    assert_eq!(
        args::on_withdraw_json(&bob, &token, 7, &bob),
        r#"{"account_id":"bob.near","token":"nep141:t.near","amount":"7","receiver_id":"bob.near"}"#
    );
    let parsed = args::on_withdraw(args::on_withdraw_json(&bob, &token, 7, &bob).as_bytes()).unwrap();
    assert_eq!((parsed.account_id, parsed.token, parsed.amount), (bob.clone(), token.clone(), 7));
    assert_eq!(args::keys_json(&[PublicKey([0; 32])]), r#"["ed25519:11111111111111111111111111111111"]"#);
    assert_eq!(args::keys_json(&[]), "[]");
    // Event lines, as the serde structs wrote them (NEP-297, standard outpost 2.1.0).
    assert_eq!(
        outpost_intents::engine::balance_event("deposit", &bob, &token, 9, Some((&bob, 3))),
        r#"EVENT_JSON:{"standard":"outpost","version":"2.1.0","event":"deposit","data":[{"account_id":"bob.near","token":"nep141:t.near","amount":"9","by":"bob.near","st":"3"}]}"#
    );
    assert_eq!(
        outpost_intents::engine::balance_event("withdraw_refund", &bob, &TokenId::Near, 9, None),
        r#"EVENT_JSON:{"standard":"outpost","version":"2.1.0","event":"withdraw_refund","data":[{"account_id":"bob.near","token":"near","amount":"9"}]}"#
    );
}

#[test]
fn edge_cases_get_the_same_verdicts() {
    let nonce = Nonce([3; 32]);
    let cases: Vec<Vec<u8>> = [
        format!(r#"{{"nonces":[["a.near","{nonce}"]]}}"#),
        format!(r#"{{"nonces":[["a.near","{nonce}","x"]]}}"#),
        format!(r#"{{"nonces":[["a.near","{nonce}",]]}}"#),
        r#"{"nonces":[["a.near"]]}"#.into(),
        r#"{"nonces":[[]]}"#.into(),
        r#"{"nonces":[]}"#.into(),
        r#"{"nonces":null}"#.into(),
        r#"{"sender_id":"a.near","amount":"+5","msg":""}"#.into(),
        r#"{"sender_id":"a.near","amount":"007","msg":""}"#.into(),
        r#"{"sender_id":"a.near","amount":" 5","msg":""}"#.into(),
        r#"{"sender_id":"a.near","amount":"340282366920938463463374607431768211456","msg":""}"#.into(),
        r#"{"sender_id":"a.near","amount":5,"msg":""}"#.into(),
        r#"{"sender_id":"a.near","amount":"5","msg":null}"#.into(),
        r#"{"receiver_id":"b.near","x":{"y":[1e5,-0.5,"\u00e9",null,true]}}"#.into(),
        r#"{"receiver_id":"b.near","receiver_id":"b.near"}"#.into(),
        r#"{"receiver_id":null}"#.into(),
        "{}".into(),
        "".into(),
        "null".into(),
        "[]".into(),
        r#"{"signed":[5,{"message":"x"},null,[],{}]}"#.into(),
        r#"{"signed":[],"caller_id":"r.near","attached":"1"}"#.into(),
        r#"{"signed":[],"caller_id":null,"attached":null}"#.into(),
        r#"{"signed":[],"attached":1}"#.into(),
        r#"{"signed":[{}],"signed":[]}"#.into(),
        r#"{"signed":[{"message":"#.into(),
        r#"{"signed":[01]}"#.into(),
        r#"{"signed":[{"a":"\ud800"}]}"#.into(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([b"{\"signed\":[{\"message\":\"\xff\"}]}".to_vec(), b"{\"signed\":[],\"x\":\"\xff\"}".to_vec()])
    .collect();
    for case in &cases {
        all_decoders_agree(case).unwrap();
    }
}

/// The deliberate difference (see `outpost_protocol::json`): serde derive also read an argument
/// struct from a JSON array of its fields in order; no caller sends that, and the hand decoders
/// take objects only.
#[test]
fn arguments_as_arrays_are_refused_on_purpose() {
    assert!(serde_json::from_slice::<OwnerArg>(br#"["o.near"]"#).is_ok());
    assert!(args::one::<AccountId>(br#"["o.near"]"#, "owner_id").is_err());
    assert!(old_batch(b"[[]]").is_some());
    assert!(new_batch(b"[[]]").is_none());
}
