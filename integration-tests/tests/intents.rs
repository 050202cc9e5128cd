//! The built intents wasm in nearcore's VM, with intents signed natively through the protocol
//! crate: deposits, transfers, swaps, withdrawals (outgoing receipts and refunds), every
//! rejection code, simulate vs execute, storage payment, owner powers, the protocol floor, and
//! the gas report per batch size.

use outpost_integration_tests::*;
use outpost_protocol::abi::SimulationReport;
use outpost_protocol::{Action, Amount, Deadline, Intent, Nonce, SecretKey, SignedAmount, SignedIntent, TokenId};
use serde_json::{json, Value};

const INTENTS: &str = "intents.outpost.testnet";
const OWNER: &str = "owner.testnet";
const TOKEN: &str = "token.outpost.testnet";
const USDC: &str = "usdc.outpost.testnet";
const RELAYER: &str = "relayer.testnet";

fn token() -> TokenId {
    TokenId::Nep141(TOKEN.parse().unwrap())
}
fn usdc() -> TokenId {
    TokenId::Nep141(USDC.parse().unwrap())
}

struct User {
    key: SecretKey,
    account: String,
}

impl User {
    fn implicit(seed: u8) -> Self {
        let key = SecretKey::from_seed([seed; 32]);
        User { account: key.public_key().implicit_account_id().to_string(), key }
    }
    fn named(seed: u8, name: &str) -> Self {
        User { key: SecretKey::from_seed([seed; 32]), account: name.into() }
    }
    fn sign(&self, vm: &Vm, n: u8, actions: Vec<Action>) -> SignedIntent {
        let intent = Intent { signer_id: self.account.parse().unwrap(), deadline: Deadline(vm.block_timestamp + 3_600_000_000_000), actions };
        let mut nonce = [n; 32];
        nonce[..8].copy_from_slice(&self.key.public_key().0[..8]);
        self.key.sign_intent(&intent, Nonce(nonce), INTENTS)
    }
}

fn transfer(token: TokenId, amount: u128, to: &str) -> Action {
    Action::Transfer { token, amount: Amount(amount), receiver_id: to.parse().unwrap(), memo: None }
}

fn deploy(protocol: u32) -> Vm {
    let mut vm = Vm::new(&load_wasm("outpost-intents"), protocol, INTENTS);
    vm.call(&Call::new("new", json!({"owner_id": OWNER}), INTENTS)).ok();
    vm
}

/// Gives `user` NEAR in the ledger (for storage of new token records) and `amount` of `token`
/// through the real NEP-141 path: the token contract calling `ft_on_transfer`.
fn fund(vm: &mut Vm, user: &str, token_account: &str, amount: u128) {
    vm.call(&Call::new("deposit", json!({}), user).deposit(NEAR / 10)).ok();
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": user, "amount": amount.to_string(), "msg": ""}), user).predecessor(token_account));
    assert_eq!(out.json(), json!("0"), "{:?}", out.logs);
}

fn balance(vm: &mut Vm, user: &str, token: &TokenId) -> u128 {
    vm.view("get_balance", json!({"account_id": user, "token": token})).as_str().unwrap().parse().unwrap()
}

fn simulate(vm: &mut Vm, items: &[SignedIntent]) -> SimulationReport {
    serde_json::from_value(vm.view("simulate_intents", json!({"signed": items}))).unwrap()
}

/// Simulates, then executes with exactly the deposit the simulation asks for.
fn execute(vm: &mut Vm, items: &[SignedIntent]) -> Outcome {
    let needed = simulate(vm, items).storage_deposit_needed.0;
    vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER).deposit(needed))
}

#[test]
fn protocol_floor_is_85() {
    let wasm = load_wasm("outpost-intents");
    let err = Vm::new(&wasm, FLOOR_PROTOCOL - 1, INTENTS).call(&Call::new("new", json!({"owner_id": OWNER}), INTENTS)).err().to_owned();
    assert!(err.contains("LinkError") || err.contains("unknown or invalid import"), "{err}");
    for p in [FLOOR_PROTOCOL, NEWEST_PROTOCOL] {
        let mut vm = deploy(p);
        assert_eq!(vm.view("config", json!({}))["owner_id"], OWNER);
    }
}

#[test]
fn deposits_credit_per_token_contract() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    // Without NEAR in the ledger, a first token deposit cannot pay its record: refunded in full.
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": alice.account, "amount": "100", "msg": ""}), &alice.account).predecessor(TOKEN));
    assert_eq!(out.json(), json!("100"));
    assert!(out.logs.iter().any(|l| l.contains("INSUFFICIENT_STORAGE_DEPOSIT")), "{:?}", out.logs);

    fund(&mut vm, &alice.account, TOKEN, 1_000);
    assert_eq!(balance(&mut vm, &alice.account, &token()), 1_000);
    // NEAR credited is the attached amount minus the storage of the new record.
    let near = balance(&mut vm, &alice.account, &TokenId::Near);
    assert!(near < NEAR / 10 && near > NEAR / 10 - NEAR / 100, "{near}");

    // A deposit for someone else named in msg; a malformed msg refunds everything.
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": "payer.testnet", "amount": "5", "msg": json!({"receiver_id": alice.account}).to_string()}), "payer.testnet").predecessor(TOKEN));
    assert_eq!(out.json(), json!("0"));
    let event: Value = serde_json::from_str(out.logs.last().unwrap().strip_prefix("EVENT_JSON:").unwrap()).unwrap();
    assert_eq!(event["event"], "deposit");
    assert_eq!(event["data"][0]["token"], "nep141:token.outpost.testnet");
    for msg in ["{", "{\"receiver\":\"x.testnet\"}", "{\"receiver_id\":\"NOT VALID\"}"] {
        let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": alice.account, "amount": "7", "msg": msg}), &alice.account).predecessor(TOKEN));
        assert_eq!(out.json(), json!("7"), "{msg}");
        assert!(out.logs.iter().any(|l| l.contains("MALFORMED_DEPOSIT_MESSAGE")), "{:?}", out.logs);
    }
    assert_eq!(balance(&mut vm, &alice.account, &token()), 1_005);

    // A fake token contract can only ever create balances of itself.
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": alice.account, "amount": "1000000", "msg": ""}), &alice.account).predecessor("fake.testnet"));
    assert_eq!(out.json(), json!("0"));
    assert_eq!(balance(&mut vm, &alice.account, &token()), 1_005);
    assert_eq!(balance(&mut vm, &alice.account, &TokenId::Nep141("fake.testnet".parse().unwrap())), 1_000_000);
    // ... and withdrawing "fake" value goes to the fake contract, never the real one.
    let w = alice.sign(&vm, 1, vec![Action::Withdraw { token: TokenId::Nep141("fake.testnet".parse().unwrap()), amount: Amount(10), receiver_id: alice.account.parse().unwrap(), memo: None }]);
    let out = execute(&mut vm, &[w]);
    assert_eq!(out.receipts_by_receiver()[0].0, "fake.testnet");
}

#[test]
fn transfer_swap_withdraw_and_refund() {
    let mut vm = deploy(FLOOR_PROTOCOL);
    let alice = User::implicit(1);
    let bob = User::implicit(2);
    fund(&mut vm, &alice.account, TOKEN, 1_000);
    fund(&mut vm, &bob.account, USDC, 500);

    // Transfer.
    let t = alice.sign(&vm, 1, vec![transfer(token(), 300, &bob.account)]);
    let out = execute(&mut vm, &[t.clone()]);
    assert_eq!(out.json(), json!([outpost_protocol::nep413::Payload::of(&t).hash(&outpost_protocol::DalekCrypto).to_string()]));
    let event: Value = serde_json::from_str(out.logs[0].strip_prefix("EVENT_JSON:").unwrap()).unwrap();
    assert_eq!(event["event"], "intents_executed");
    assert_eq!(event["data"][0]["signer_id"], alice.account.as_str());
    assert_eq!(event["data"][0]["nonce"], t.nonce.to_string());
    assert_eq!(balance(&mut vm, &alice.account, &token()), 700);
    assert_eq!(balance(&mut vm, &bob.account, &token()), 300);

    // Swap between two signers, settled atomically.
    let offer = |u: &User, n, a: i128, b: i128| u.sign(&vm, n, vec![Action::TokenDiff { diff: [(token(), SignedAmount(a)), (usdc(), SignedAmount(b))].into() }]);
    let swap = [offer(&alice, 2, -100, 40), offer(&bob, 2, 100, -40)];
    execute(&mut vm, &swap).ok();
    assert_eq!(balance(&mut vm, &alice.account, &usdc()), 40);
    assert_eq!(balance(&mut vm, &bob.account, &token()), 400);
    assert_eq!(balance(&mut vm, &bob.account, &usdc()), 460);

    // Withdraw to the token contract: an ft_transfer with 1 yocto, then our callback.
    let wd = alice.sign(&vm, 3, vec![Action::Withdraw { token: token(), amount: Amount(250), receiver_id: "exit.testnet".parse().unwrap(), memo: Some("cash out".into()) }]);
    let out = execute(&mut vm, &[wd]);
    out.ok();
    let receipts = out.receipts_by_receiver();
    assert_eq!(receipts[0].0, TOKEN);
    match &receipts[0].1[0] {
        Receipt::FunctionCallWeight { method_name, args, attached_deposit, .. } => {
            assert_eq!(method_name, b"ft_transfer");
            assert_eq!(attached_deposit.as_yoctonear(), 1);
            let args: Value = serde_json::from_slice(args).unwrap();
            assert_eq!(args, json!({"receiver_id": "exit.testnet", "amount": "250", "memo": "cash out"}));
        }
        other => panic!("expected ft_transfer, got {other:?}"),
    }
    assert_eq!(receipts[1].0, INTENTS, "callback to ourselves");
    assert_eq!(balance(&mut vm, &alice.account, &token()), 350);

    // The transfer failed (e.g. receiver not registered): the callback refunds exactly once.
    let cb = json!({"account_id": alice.account, "token": token(), "amount": "250", "receiver_id": "exit.testnet"});
    let outsider = vm.call(&Call::new("on_withdraw", cb.clone(), &alice.account).promise_results(vec![promise_failed()]));
    assert_eq!(outsider.err(), "Method on_withdraw is private");
    let refund = vm.call(&Call::new("on_withdraw", cb.clone(), INTENTS).promise_results(vec![promise_failed()]));
    assert_eq!(refund.json(), json!(false));
    assert!(refund.logs[0].contains("withdraw_refund"));
    assert_eq!(balance(&mut vm, &alice.account, &token()), 600);
    // A successful transfer leaves the balance alone.
    let done = vm.call(&Call::new("on_withdraw", cb, INTENTS).promise_results(vec![promise_ok(b"")]));
    assert_eq!(done.json(), json!(true));
    assert_eq!(balance(&mut vm, &alice.account, &token()), 600);

    // Native NEAR withdrawal: a plain transfer receipt.
    let near_wd = alice.sign(&vm, 4, vec![Action::Withdraw { token: TokenId::Near, amount: Amount(1_000), receiver_id: "exit.testnet".parse().unwrap(), memo: None }]);
    let out = execute(&mut vm, &[near_wd]);
    let receipts = out.receipts_by_receiver();
    let exit = receipts.iter().find(|(r, _)| r == "exit.testnet").expect("transfer receipt");
    assert!(matches!(exit.1[0], Receipt::Transfer { deposit, .. } if deposit.as_yoctonear() == 1_000));
}

#[test]
fn rejections_carry_index_and_code() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 1_000);
    let good = alice.sign(&vm, 1, vec![transfer(token(), 1, "bob.testnet")]);
    execute(&mut vm, &[good.clone()]).ok();

    let mut forged = alice.sign(&vm, 2, vec![transfer(token(), 1, "bob.testnet")]);
    forged.signature.0[1] ^= 1;
    let expired = {
        let i = Intent { signer_id: alice.account.parse().unwrap(), deadline: Deadline(vm.block_timestamp - 1), actions: vec![transfer(token(), 1, "bob.testnet")] };
        alice.key.sign_intent(&i, Nonce([9; 32]), INTENTS)
    };
    let fresh = alice.sign(&vm, 3, vec![transfer(token(), 1, "bob.testnet")]);
    let cases: Vec<(Vec<SignedIntent>, &str)> = vec![
        (vec![good.clone()], "intent #0: NONCE_USED"),
        (vec![fresh.clone(), good], "intent #1: NONCE_USED"),
        (vec![fresh.clone(), forged], "intent #1: SIGNATURE_INVALID"),
        (vec![expired], "intent #0: DEADLINE_EXPIRED"),
        (vec![alice.sign(&vm, 4, vec![transfer(token(), 5_000, "bob.testnet")])], "intent #0: INSUFFICIENT_BALANCE"),
        (vec![alice.sign(&vm, 5, vec![Action::TokenDiff { diff: [(token(), SignedAmount(-1)), (usdc(), SignedAmount(1))].into() }])], "batch: DIFF_NOT_BALANCED"),
    ];
    for (items, want) in cases {
        let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER).deposit(NEAR));
        assert!(out.err().starts_with(want), "got {:?}, want {want:?}", out.err());
        assert!(out.receipts.is_empty() && out.events().is_empty());
    }
    // A malformed item is named by its index too; the others are untouched.
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [fresh, {"message": "x"}]}), RELAYER).deposit(NEAR));
    assert!(out.err().starts_with("intent #1: MESSAGE_MALFORMED"), "{}", out.err());
    assert_eq!(balance(&mut vm, &alice.account, &token()), 999);
}

#[test]
fn storage_is_paid_by_the_caller_never_the_contract() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 1_000);
    let items = [alice.sign(&vm, 1, vec![transfer(token(), 1, "new-user.testnet")])];
    let needed = simulate(&mut vm, &items).storage_deposit_needed.0;
    assert!(needed > 0);
    // Without the deposit (or one yocto short): refused, nothing changes.
    for attached in [0, needed - 1] {
        let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER).deposit(attached));
        assert!(out.err().starts_with("batch: INSUFFICIENT_STORAGE_DEPOSIT"), "{}", out.err());
    }
    // Overpaying: the excess comes back to the caller; the charge is exactly what storage grew by.
    let usage_before = vm.storage_usage();
    let extra = 12_345;
    let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER).deposit(needed + extra));
    out.ok();
    let grown = (vm.storage_usage() - usage_before) as u128;
    assert_eq!(needed, grown * vm.storage_byte_cost(), "simulation predicted the storage exactly");
    let refund = out.receipts_by_receiver().into_iter().find(|(r, _)| r == RELAYER).expect("refund to the relayer");
    assert!(matches!(refund.1[0], Receipt::Transfer { deposit, .. } if deposit.as_yoctonear() == extra));

    // Keys: 1 yocto is not enough to store a key; the attached storage is charged, the rest refunded.
    let key = SecretKey::from_seed([50; 32]).public_key();
    let out = vm.call(&Call::new("add_public_key", json!({"public_key": key}), "carol.testnet").deposit(1));
    assert!(out.err().starts_with("INSUFFICIENT_STORAGE_DEPOSIT"), "{}", out.err());
    vm.call(&Call::new("add_public_key", json!({"public_key": key}), "carol.testnet").deposit(NEAR / 100)).ok();
    assert_eq!(vm.view("public_keys_of", json!({"account_id": "carol.testnet"})), json!([key]));
    let out = vm.call(&Call::new("remove_public_key", json!({"public_key": key}), "carol.testnet"));
    assert_eq!(out.err(), "Requires attached deposit of exactly 1 yoctoNEAR");
    vm.call(&Call::new("remove_public_key", json!({"public_key": key}), "carol.testnet").deposit(1)).ok();
    assert_eq!(vm.view("public_keys_of", json!({"account_id": "carol.testnet"})), json!([]));
}

#[test]
fn named_account_signs_with_registered_key() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let bob = User::named(3, "bob.testnet");
    fund(&mut vm, "bob.testnet", TOKEN, 100);
    let item = [bob.sign(&vm, 1, vec![transfer(token(), 10, "carol.testnet")])];
    let out = vm.call(&Call::new("execute_intents", json!({"signed": item}), RELAYER).deposit(NEAR));
    assert!(out.err().starts_with("intent #0: KEY_NOT_AUTHORIZED"), "{}", out.err());
    vm.call(&Call::new("add_public_key", json!({"public_key": bob.key.public_key()}), "bob.testnet").deposit(NEAR / 100)).ok();
    execute(&mut vm, &item).ok();
    assert_eq!(balance(&mut vm, "carol.testnet", &token()), 10);
    let nonce_used = vm.view("is_nonce_used", json!({"account_id": "bob.testnet", "nonce": item[0].nonce}));
    assert_eq!(nonce_used, json!(true));
}

#[test]
fn simulate_reports_per_item() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 100);
    let ok = alice.sign(&vm, 1, vec![transfer(token(), 60, "bob.testnet")]);
    let over = alice.sign(&vm, 2, vec![transfer(token(), 60, "bob.testnet")]);
    let report = simulate(&mut vm, &[ok.clone(), over, ok]);
    let codes: Vec<Option<&str>> = report.outcomes.iter().map(|o| o.result.code().map(|c| c.as_str())).collect();
    assert_eq!(codes, vec![None, Some("INSUFFICIENT_BALANCE"), Some("NONCE_USED")]);
    assert_eq!(report.balance_changes.len(), 2);
    assert_eq!(report.batch_error, None);
    // A view changes nothing.
    assert_eq!(balance(&mut vm, &alice.account, &token()), 100);
}

#[test]
fn owner_pauses_but_cannot_move_funds() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 100);
    assert!(vm.call(&Call::new("pause", json!({}), "mallory.testnet").deposit(1)).err().starts_with("NOT_OWNER"));
    vm.call(&Call::new("pause", json!({}), OWNER).deposit(1)).ok();
    assert_eq!(vm.view("config", json!({}))["paused"], json!(true));
    let item = [alice.sign(&vm, 1, vec![transfer(token(), 1, "bob.testnet")])];
    let out = vm.call(&Call::new("execute_intents", json!({"signed": item}), RELAYER).deposit(NEAR));
    assert!(out.err().starts_with("batch: PAUSED"), "{}", out.err());
    // Deposits are refunded while paused.
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": alice.account, "amount": "9", "msg": ""}), &alice.account).predecessor(TOKEN));
    assert_eq!(out.json(), json!("9"));
    vm.call(&Call::new("unpause", json!({}), OWNER).deposit(1)).ok();
    execute(&mut vm, &item).ok();
    // Upgrading is owner-only.
    let out = vm.call(&Call::new("upgrade", json!({}), "mallory.testnet").raw_args(b"\0asm"));
    assert!(out.err().starts_with("NOT_OWNER"), "{}", out.err());
    let out = vm.call(&Call::new("upgrade", json!({}), OWNER).raw_args(&load_wasm("outpost-intents")));
    out.ok();
    assert!(out.receipts.iter().any(|r| matches!(r, Receipt::DeployContract { .. })));
}

#[test]
fn gas_report() {
    // Named signers with short ids (registered keys): the event log allows the largest batches.
    let users: Vec<User> = (0..100u8).map(|i| User::named(i + 1, &format!("u{i}.testnet"))).collect();
    let mut report = GasReport::new("intents gas");
    let mut marginal = Vec::new();
    for p in [FLOOR_PROTOCOL, NEWEST_PROTOCOL] {
        let mut vm = deploy(p);
        for u in &users {
            fund(&mut vm, &u.account, TOKEN, 1_000);
            vm.call(&Call::new("add_public_key", json!({"public_key": u.key.public_key()}), &u.account).deposit(NEAR / 100)).ok();
        }
        let mut burnt = Vec::new();
        let mut round = 0u8;
        for n in [1usize, 10, 50, 90] {
            round += 1;
            let items: Vec<SignedIntent> = users[..n].iter().map(|u| u.sign(&vm, round, vec![transfer(token(), 1, "sink.testnet")])).collect();
            let out = execute(&mut vm, &items);
            out.ok();
            report.add(&format!("execute_intents, {n} transfers (protocol {p})"), out.burnt_gas, format!("{:.3} TGas per intent", out.burnt_gas as f64 / n as f64 / TGAS as f64));
            burnt.push((n, out.burnt_gas));
        }
        // The 100-transfer batch: events exceed NEAR's 16 KB log cap, so the contract refuses it.
        let items: Vec<SignedIntent> = users.iter().map(|u| u.sign(&vm, 9, vec![transfer(token(), 1, "sink.testnet")])).collect();
        let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER).deposit(NEAR));
        assert!(out.err().starts_with("batch: EVENTS_TOO_LARGE"), "{}", out.err());
        if p == NEWEST_PROTOCOL {
            // Where the gas of a 90-intent batch goes.
            let items: Vec<SignedIntent> = users[..90].iter().map(|u| u.sign(&vm, 60, vec![transfer(token(), 1, "sink.testnet")])).collect();
            let out = execute(&mut vm, &items);
            println!("90-intent batch: {:.3} TGas burnt, of which wasm instructions {:.3} TGas\n{}", out.burnt_gas as f64 / TGAS as f64, out.wasm_gas as f64 / TGAS as f64, out.profile);
            report.add("90 transfers: wasm instructions", out.wasm_gas, "JSON decoding, borsh, bookkeeping");
            report.add("90 transfers: host functions and actions", out.burnt_gas - out.wasm_gas, "ed25519_verify, sha256, storage, logs, receipts");
        }
        let (n1, g1) = burnt[0];
        let (n2, g2) = burnt[3];
        let per_intent = (g2 - g1) / (n2 - n1) as u64;
        marginal.push(per_intent);
        report.add(&format!("marginal per transfer intent (protocol {p})"), per_intent, "from the 1- and 90-intent batches");
        report.add(&format!("largest batch in 300 TGas by gas alone (protocol {p})"), 0, format!("{} intents", (300 * TGAS - g1) / per_intent + 1));
        let sim = vm.call(&Call::view("simulate_intents", json!({"signed": users[..10].iter().map(|u| u.sign(&vm, 50, vec![transfer(token(), 1, "sink.testnet")])).collect::<Vec<_>>()})));
        report.add(&format!("simulate_intents, 10 transfers (protocol {p})"), sim.ok().burnt_gas, "view");
    }
    let size = load_wasm("outpost-intents").len();
    report.add(&format!("wasm size: {size} bytes"), 0, "after wasm-opt -Oz");
    report.write();
    for m in marginal {
        assert!(m > 0 && m < 5 * TGAS, "marginal gas per intent {m}");
    }
}
