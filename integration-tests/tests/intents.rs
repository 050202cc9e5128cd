//! The built intents wasm in nearcore's VM, with intents signed natively through the protocol
//! crate: deposits, transfers, swaps, withdrawals (outgoing receipts and refunds), every
//! rejection code, simulate vs execute, storage payment, owner powers, the protocol floor, and
//! the gas report per batch size.

use outpost_integration_tests::*;
use outpost_protocol::abi::SimulationReport;
use outpost_protocol::limits::MAX_BATCH_SIZE;
use outpost_protocol::{Action, Amount, Deadline, Fee, Intent, Nonce, SecretKey, SignedAmount, SignedIntent, TokenId};
use serde_json::{json, Value};

const INTENTS: &str = "intents.outpost.testnet";
const OWNER: &str = "owner.testnet";
const TOKEN: &str = "token.outpost.testnet";
const USDC: &str = "usdc.outpost.testnet";
const RELAYER: &str = "relayer.testnet";
const HOUR: u64 = 3_600_000_000_000;
/// NEAR the relayer deposits into the ledger at deploy, to pay storage with.
const RELAYER_NEAR: u128 = NEAR;

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
    /// An implicit account for any of 2^32 seeds (batches of more than 255 signers).
    fn implicit_n(n: u32) -> Self {
        let mut seed = [0x5a; 32];
        seed[..4].copy_from_slice(&n.to_le_bytes());
        let key = SecretKey::from_seed(seed);
        User { account: key.public_key().implicit_account_id().to_string(), key }
    }
    fn implicit(seed: u8) -> Self {
        let key = SecretKey::from_seed([seed; 32]);
        User { account: key.public_key().implicit_account_id().to_string(), key }
    }
    fn named(seed: u8, name: &str) -> Self {
        User { key: SecretKey::from_seed([seed; 32]), account: name.into() }
    }
    fn intent(&self, vm: &Vm, actions: Vec<Action>) -> Intent {
        Intent { signer_id: self.account.parse().unwrap(), deadline: Deadline(vm.block_timestamp + HOUR), actions, fee: None }
    }
    /// A v2 nonce: expires at `expiry`, random part from `n` and the key.
    fn nonce(&self, n: u8, expiry: u64) -> Nonce {
        let mut random = [n; 24];
        random[..8].copy_from_slice(&self.key.public_key().0[..8]);
        Nonce::new(expiry, random)
    }
    fn sign(&self, vm: &Vm, n: u8, actions: Vec<Action>) -> SignedIntent {
        self.sign_intent(n, &self.intent(vm, actions))
    }
    fn sign_intent(&self, n: u8, intent: &Intent) -> SignedIntent {
        self.key.sign_intent(intent, self.nonce(n, intent.deadline.0), INTENTS)
    }
}

fn transfer(token: TokenId, amount: u128, to: &str) -> Action {
    Action::Transfer { token, amount: Amount(amount), receiver_id: to.parse().unwrap(), memo: None }
}

/// The contract, with the relayer's NEAR deposited in the ledger (v2: it pays storage from there).
fn deploy(protocol: u32) -> Vm {
    let mut vm = deploy_bare(protocol);
    vm.call(&Call::new("deposit", json!({}), RELAYER).deposit(RELAYER_NEAR)).ok();
    vm
}

fn deploy_bare(protocol: u32) -> Vm {
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
    serde_json::from_value(vm.view("simulate_intents", json!({"signed": items, "caller_id": RELAYER}))).unwrap()
}

/// Simulates, then executes as the relayer with no deposit, checking the simulation held: the
/// batch passes and the relayer's ledger NEAR pays exactly the predicted charge, which is what
/// storage grew by (plus 1 yocto per ft_transfer).
fn execute(vm: &mut Vm, items: &[SignedIntent]) -> Outcome {
    let report = simulate(vm, items);
    let near_before = balance(vm, RELAYER, &TokenId::Near);
    let usage_before = vm.storage_usage();
    let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER));
    if out.result.is_ok() {
        assert!(report.batch_error.is_none() && report.outcomes.iter().all(|o| o.result.is_ok()), "simulation: {:?}", report.batch_error);
        // The gas the simulation asks for is enough.
        assert!(out.burnt_gas <= report.gas, "burnt {} > simulated {}", out.burnt_gas, report.gas);
        let grown = vm.storage_usage() as i128 - usage_before as i128;
        let ft = items.iter().map(|s| s.message.matches("\"type\":\"withdraw\",\"token\":\"nep141:").count() as i128).sum::<i128>();
        let charge = report.caller_charge.0;
        assert_eq!(charge, grown * vm.storage_byte_cost() as i128 + ft, "the charge is the storage really added");
        let fees: i128 = items
            .iter()
            .filter_map(|s| outpost_protocol::validate::decode_intent(&s.message).ok()?.fee)
            .filter(|f| f.token == TokenId::Near)
            .map(|f| f.amount.0 as i128)
            .sum();
        assert_eq!(balance(vm, RELAYER, &TokenId::Near) as i128, near_before as i128 - charge + fees);
    }
    out
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
    assert_eq!(event["event"], "executed");
    assert_eq!(event["data"]["h"], json!([outpost_protocol::nep413::Payload::of(&t).hash(&outpost_protocol::DalekCrypto).to_string()]));
    assert_eq!(event["data"]["by"], RELAYER);
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
        let i = Intent { signer_id: alice.account.parse().unwrap(), deadline: Deadline(vm.block_timestamp - 1), actions: vec![transfer(token(), 1, "bob.testnet")], fee: None };
        alice.key.sign_intent(&i, alice.nonce(9, vm.block_timestamp + HOUR), INTENTS)
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
        let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER));
        assert!(out.err().starts_with(want), "got {:?}, want {want:?}", out.err());
        assert!(out.receipts.is_empty() && out.events().is_empty());
    }
    // A malformed item is named by its index too; the others are untouched.
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [fresh, {"message": "x"}]}), RELAYER));
    assert!(out.err().starts_with("intent #1: MESSAGE_MALFORMED"), "{}", out.err());
    assert_eq!(balance(&mut vm, &alice.account, &token()), 999);
}

#[test]
fn storage_is_paid_from_the_callers_ledger_never_the_contract() {
    let mut vm = deploy_bare(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 1_000);
    let items = [alice.sign(&vm, 1, vec![transfer(token(), 1, "new-user.testnet")])];
    // A caller with no NEAR in the ledger: refused, nothing changes.
    let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER));
    assert!(out.err().starts_with("batch: INSUFFICIENT_STORAGE_DEPOSIT"), "{}", out.err());
    assert_eq!(simulate(&mut vm, &items).batch_error.unwrap().code(), Some(outpost_protocol::ErrorCode::InsufficientStorageDeposit));
    // An attached deposit is credited to the caller's ledger first, pays, and the rest stays there
    // (no refund transfer): the charge is exactly what storage grew by.
    let usage_before = vm.storage_usage();
    let contract_before = vm.balance();
    let out = vm.call(&Call::new("execute_intents", json!({"signed": items}), RELAYER).deposit(NEAR / 10));
    out.ok();
    assert!(out.receipts.is_empty(), "no refund receipt: {:?}", out.receipts);
    let grown = (vm.storage_usage() - usage_before) as u128;
    assert!(grown > 0);
    assert_eq!(balance(&mut vm, RELAYER, &TokenId::Near), NEAR / 10 - grown * vm.storage_byte_cost());
    assert_eq!(vm.balance(), contract_before + NEAR / 10);
    let event = &out.events()[0]["data"];
    assert_eq!((event["att"].as_str(), event["chg"].as_str()), (Some(&*(NEAR / 10).to_string()), Some(&*(grown * vm.storage_byte_cost()).to_string())));
    // From now on no deposit is needed (a function-call key can submit).
    let item = alice.sign(&vm, 2, vec![transfer(token(), 1, "other-user.testnet")]);
    execute(&mut vm, &[item]).ok();

    // Keys: 1 yocto is not enough to store a key; the attached storage is charged, the rest refunded.
    let key = SecretKey::from_seed([50; 32]).public_key();
    let out = vm.call(&Call::new("add_public_key", json!({"public_key": key}), "carol.testnet").deposit(1));
    assert!(out.err().starts_with("INSUFFICIENT_STORAGE_DEPOSIT"), "{}", out.err());
    vm.call(&Call::new("add_public_key", json!({"public_key": key}), "carol.testnet").deposit(NEAR / 100)).ok();
    assert_eq!(vm.view("public_keys_of", json!({"account_id": "carol.testnet"})), json!([key]));
    let out = vm.call(&Call::new("remove_public_key", json!({"public_key": key}), "carol.testnet"));
    assert_eq!(out.err(), "Requires attached deposit of exactly 1 yoctoNEAR");
    // Removal frees storage: it goes to the remover's ledger NEAR (carol has a NEAR record).
    vm.call(&Call::new("deposit", json!({}), "carol.testnet").deposit(NEAR / 100)).ok();
    let near = balance(&mut vm, "carol.testnet", &TokenId::Near);
    let usage = vm.storage_usage();
    vm.call(&Call::new("remove_public_key", json!({"public_key": key}), "carol.testnet").deposit(1)).ok();
    assert_eq!(vm.view("public_keys_of", json!({"account_id": "carol.testnet"})), json!([]));
    assert_eq!(balance(&mut vm, "carol.testnet", &TokenId::Near), near + (usage - vm.storage_usage()) as u128 * vm.storage_byte_cost());
}

#[test]
fn named_account_signs_with_registered_key() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let bob = User::named(3, "bob.testnet");
    fund(&mut vm, "bob.testnet", TOKEN, 100);
    let item = [bob.sign(&vm, 1, vec![transfer(token(), 10, "carol.testnet")])];
    let out = vm.call(&Call::new("execute_intents", json!({"signed": item}), RELAYER));
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
    assert_eq!(report.balance_changes.len(), 3, "alice, bob and the relayer's storage charge");
    assert!(report.outcomes[0].gas > 0 && report.outcomes[0].storage_bytes > 0 && report.outcomes[0].storage_cost.0 > 0);
    assert!(report.outcomes[1..].iter().all(|o| o.gas == 0 && o.storage_bytes == 0));
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
    let out = vm.call(&Call::new("execute_intents", json!({"signed": item}), RELAYER));
    assert!(out.err().starts_with("batch: PAUSED"), "{}", out.err());
    // Deposits are refunded while paused.
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": alice.account, "amount": "9", "msg": ""}), &alice.account).predecessor(TOKEN));
    assert_eq!(out.json(), json!("9"));
    vm.call(&Call::new("unpause", json!({}), OWNER).deposit(1)).ok();
    execute(&mut vm, &item).ok();
    // Upgrading is owner-only.
    let out = vm.call(&Call::new("upgrade", json!({}), "mallory.testnet").raw_args(b"\0asm").deposit(1));
    assert!(out.err().starts_with("NOT_OWNER"), "{}", out.err());
    let out = vm.call(&Call::new("upgrade", json!({}), OWNER).raw_args(&load_wasm("outpost-intents")).deposit(1));
    out.ok();
    assert!(out.receipts.iter().any(|r| matches!(r, Receipt::DeployContract { .. })));
}

#[test]
fn gas_report() {
    // Named signers with short ids (registered keys): the event log allows the largest batches.
    let users: Vec<User> = (0..150u8).map(|i| User::named(i + 1, &format!("u{i}.testnet"))).collect();
    let mut report = GasReport::new("intents gas");
    let mut marginal = Vec::new();
    for p in [FLOOR_PROTOCOL, NEWEST_PROTOCOL] {
        let mut vm = deploy(p);
        vm.call(&Call::new("deposit", json!({}), RELAYER).deposit(10 * NEAR)).ok();
        for u in &users {
            fund(&mut vm, &u.account, TOKEN, 1_000);
            vm.call(&Call::new("add_public_key", json!({"public_key": u.key.public_key()}), &u.account).deposit(NEAR / 100)).ok();
        }
        let mut burnt = Vec::new();
        let mut round = 0u8;
        for n in [1usize, 10, 50, 100, 150] {
            round += 1;
            let items: Vec<SignedIntent> = users[..n].iter().map(|u| u.sign(&vm, round, vec![transfer(token(), 1, "sink.testnet")])).collect();
            let out = execute(&mut vm, &items);
            out.ok();
            let log_bytes: usize = out.logs.iter().map(String::len).sum();
            report.add(&format!("execute_intents, {n} transfers (protocol {p})"), out.burnt_gas, format!("{:.3} TGas per intent; events {log_bytes} bytes", out.burnt_gas as f64 / n as f64 / TGAS as f64));
            burnt.push((n, out.burnt_gas));
        }
        let (n1, g1) = burnt[0];
        let (n2, g2) = burnt[4];
        let per_intent = (g2 - g1) / (n2 - n1) as u64;
        marginal.push(per_intent);
        report.add(&format!("marginal per transfer intent (protocol {p})"), per_intent, "from the 1- and 150-intent batches");
        report.add(&format!("largest batch in 300 TGas by gas alone (protocol {p})"), 0, format!("{} intents", (300 * TGAS - g1) / per_intent + 1));

        // The throughput figures: transfers from 64-hex implicit signers (the longest signer ids,
        // no key lookup), up to the largest batch the contract takes, in one call.
        let signers: Vec<User> = (0..MAX_BATCH_SIZE as u32).map(User::implicit_n).collect();
        vm.call(&Call::new("deposit", json!({}), RELAYER).deposit(10 * NEAR)).ok();
        for u in &signers {
            fund(&mut vm, &u.account, TOKEN, 1_000);
        }
        let mut implicit = Vec::new();
        for (round, n) in [(1u8, 1usize), (2, 100), (3, MAX_BATCH_SIZE)] {
            let items: Vec<SignedIntent> = signers[..n].iter().map(|u| u.sign(&vm, round, vec![transfer(token(), 1, "sink.testnet")])).collect();
            let out = execute(&mut vm, &items);
            out.ok();
            let log_bytes: usize = out.logs.iter().map(String::len).sum();
            assert!(log_bytes <= 16 * 1024, "{log_bytes} bytes of logs");
            report.add(
                &format!("execute_intents, {n} transfers from implicit signers (protocol {p})"),
                out.burnt_gas,
                format!(
                    "{:.3} TGas per intent, {:.3} of it wasm instructions; events {log_bytes} bytes",
                    out.burnt_gas as f64 / n as f64 / TGAS as f64,
                    out.wasm_gas as f64 / n as f64 / TGAS as f64
                ),
            );
            implicit.push((n, out.burnt_gas));
        }
        let (n1, g1) = implicit[0];
        let (n2, g2) = implicit[2];
        let per_implicit = (g2 - g1) / (n2 - n1) as u64;
        marginal.push(per_implicit);
        report.add(&format!("marginal per transfer intent, implicit signers (protocol {p})"), per_implicit, format!("from the 1- and {n2}-intent batches"));
        report.add(
            &format!("largest batch of implicit-signer transfers in one call (protocol {p})"),
            g2,
            format!("{n2} intents (MAX_BATCH_SIZE; logs and gas both fit; 1 PGas would take {})", (1000 * TGAS - g1) / per_implicit + 1),
        );

        // Per item, as `simulate_intents` reports it and as a one-item batch burns it.
        let a = &users[0];
        let b = &users[1];
        fund(&mut vm, &b.account, USDC, 1_000);
        let kinds: Vec<(&str, Vec<SignedIntent>)> = vec![
            ("transfer (to a new receiver)", vec![a.sign(&vm, 100, vec![transfer(token(), 1, "fresh-receiver.testnet")])]),
            ("transfer (existing receiver)", vec![a.sign(&vm, 101, vec![transfer(token(), 1, "sink.testnet")])]),
            (
                "swap pair (two token_diff intents)",
                vec![
                    a.sign(&vm, 102, vec![Action::TokenDiff { diff: [(token(), SignedAmount(-5)), (usdc(), SignedAmount(5))].into() }]),
                    b.sign(&vm, 102, vec![Action::TokenDiff { diff: [(token(), SignedAmount(5)), (usdc(), SignedAmount(-5))].into() }]),
                ],
            ),
            ("withdrawal (NEP-141)", vec![a.sign(&vm, 103, vec![Action::Withdraw { token: token(), amount: Amount(1), receiver_id: "exit.testnet".parse().unwrap(), memo: None }])]),
            ("cancellation (1 nonce)", vec![a.sign(&vm, 104, vec![Action::InvalidateNonces { nonces: vec![a.nonce(200, vm.block_timestamp + HOUR)] }])]),
            ("cancellation (32 nonces)", vec![a.sign(&vm, 105, vec![Action::InvalidateNonces { nonces: (0..32).map(|n| a.nonce(n, vm.block_timestamp + HOUR)).collect() }])]),
        ];
        for (what, items) in kinds {
            let sim = simulate(&mut vm, &items);
            assert!(sim.batch_error.is_none(), "{what}: {sim:?}");
            let gas: u64 = sim.outcomes.iter().map(|o| o.gas).sum();
            let bytes: i64 = sim.outcomes.iter().map(|o| o.storage_bytes).sum();
            let cost: i128 = sim.outcomes.iter().map(|o| o.storage_cost.0).sum();
            let out = execute(&mut vm, &items);
            out.ok();
            report.add(
                &format!("{what} (protocol {p})"),
                out.burnt_gas,
                format!("simulate: {:.3} TGas prepaid, {bytes} bytes, {:.5} NEAR storage", gas as f64 / TGAS as f64, cost as f64 / NEAR as f64),
            );
        }
        let sim = vm.call(&Call::view("simulate_intents", json!({"caller_id": RELAYER, "signed": users[..10].iter().map(|u| u.sign(&vm, 50, vec![transfer(token(), 1, "sink.testnet")])).collect::<Vec<_>>()})));
        report.add(&format!("simulate_intents, 10 transfers (protocol {p})"), sim.ok().burnt_gas, "view");
    }
    let size = load_wasm("outpost-intents").len();
    report.add(&format!("wasm size: {size} bytes"), 0, "after wasm-opt -Oz");
    report.write();
    for m in marginal {
        assert!(m > 0 && m < 5 * TGAS, "marginal gas per intent {m}");
    }
    // Shown in the report: the implicit-signer figure is the throughput goal (≤ 0.7 TGas).
}

// ---- v2: the attacks of the "who pays" issue, each refused in the real VM ----

/// The contract's NEAR beyond what it owes: its balance minus every ledger NEAR balance and the
/// storage it stakes. The contract never pays, so this never falls.
fn contract_surplus(vm: &mut Vm, accounts: &[&str]) -> i128 {
    let ledger: u128 = accounts.iter().map(|a| balance(vm, a, &TokenId::Near)).sum();
    let staked = (vm.storage_usage() as u128) * vm.storage_byte_cost();
    vm.balance() as i128 - ledger as i128 - staked as i128
}

#[test]
fn zero_balance_signer_cannot_drain_storage() {
    let mut vm = deploy_bare(NEWEST_PROTOCOL);
    let mallory = User::implicit(66);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 100);
    let accounts = [RELAYER, mallory.account.as_str(), alice.account.as_str()];
    let alice_near = balance(&mut vm, &alice.account, &TokenId::Near);
    let surplus = contract_surplus(&mut vm, &accounts);
    // Mallory has nothing and burns 32 nonces in one intent.
    let cancel = |vm: &Vm, n: u8| mallory.sign(vm, n, vec![Action::InvalidateNonces { nonces: (0..32).map(|i| mallory.nonce(n.wrapping_mul(32).wrapping_add(i), vm.block_timestamp + HOUR)).collect() }]);
    // A relayer with nothing in the ledger and no deposit: refused, nothing changes.
    let item = cancel(&vm, 1);
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [item]}), RELAYER));
    assert!(out.err().starts_with("batch: INSUFFICIENT_STORAGE_DEPOSIT"), "{}", out.err());
    // A relayer that deposited NEAR chose to pay: it, and nobody else, pays exactly the storage.
    vm.call(&Call::new("deposit", json!({}), RELAYER).deposit(NEAR)).ok();
    let relayer_near = balance(&mut vm, RELAYER, &TokenId::Near);
    let usage = vm.storage_usage();
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [item]}), RELAYER));
    out.ok();
    let cost = (vm.storage_usage() - usage) as u128 * vm.storage_byte_cost();
    assert!(cost > NEAR / 100, "32 nonce records: {cost}");
    assert_eq!(balance(&mut vm, RELAYER, &TokenId::Near), relayer_near - cost);
    assert_eq!(balance(&mut vm, &alice.account, &TokenId::Near), alice_near);
    assert_eq!(balance(&mut vm, &mallory.account, &TokenId::Near), 0);
    let surplus_after = contract_surplus(&mut vm, &accounts);
    // The relayer's deposit is both held and owed; the storage moved from its ledger to the stake.
    assert_eq!(surplus_after, surplus, "the contract paid nothing");
    // With a fee the signer pays the relayer; a signer who cannot pay the fee fails.
    let with_fee = Intent { fee: Some(Fee { token: TokenId::Near, amount: Amount(NEAR / 10) }), ..mallory.intent(&vm, vec![Action::InvalidateNonces { nonces: vec![mallory.nonce(250, vm.block_timestamp + HOUR)] }]) };
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [mallory.sign_intent(2, &with_fee)]}), RELAYER));
    assert!(out.err().starts_with("intent #0: INSUFFICIENT_BALANCE: fee:"), "{}", out.err());
    // Alice pays her relayer a fee that covers the cost.
    let paid = Intent { fee: Some(Fee { token: TokenId::Near, amount: Amount(NEAR / 100) }), ..alice.intent(&vm, vec![transfer(token(), 1, "someone-new.testnet")]) };
    let before = balance(&mut vm, RELAYER, &TokenId::Near);
    let usage = vm.storage_usage();
    execute(&mut vm, &[alice.sign_intent(3, &paid)]).ok();
    let cost = (vm.storage_usage() - usage) as u128 * vm.storage_byte_cost();
    assert_eq!(balance(&mut vm, RELAYER, &TokenId::Near), before + NEAR / 100 - cost);
    assert_eq!(balance(&mut vm, &alice.account, &TokenId::Near), alice_near - NEAR / 100);
    assert_eq!(contract_surplus(&mut vm, &accounts), surplus_after);
}

#[test]
fn dust_deposits_cannot_drain_a_victim() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let victim = "victim.testnet";
    vm.call(&Call::new("deposit", json!({}), victim).deposit(NEAR / 10)).ok();
    let near = balance(&mut vm, victim, &TokenId::Near);
    // Anyone calling ft_on_transfer directly (as a "token" of their own), naming the victim as the
    // sender: the victim did not sign this transaction, so nobody pays a new record: refunded.
    for fake in ["dust1.testnet", "dust2.testnet"] {
        let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": victim, "amount": "1", "msg": ""}), "attacker.testnet").predecessor(fake));
        assert_eq!(out.json(), json!("1"), "{:?}", out.logs);
        assert!(out.logs.iter().any(|l| l.contains("INSUFFICIENT_STORAGE_DEPOSIT")), "{:?}", out.logs);
    }
    // ft_transfer_call of dust to the victim by a sender without ledger NEAR: refunded.
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": "attacker.testnet", "amount": "1", "msg": json!({"receiver_id": victim}).to_string()}), "attacker.testnet").predecessor(TOKEN));
    assert_eq!(out.json(), json!("1"));
    assert_eq!(balance(&mut vm, victim, &TokenId::Near), near, "the victim's NEAR is untouched");
    // A depositor with NEAR pays for the record it creates, never the receiver.
    vm.call(&Call::new("deposit", json!({}), "payer.testnet").deposit(NEAR / 10)).ok();
    let payer_near = balance(&mut vm, "payer.testnet", &TokenId::Near);
    let usage = vm.storage_usage();
    let out = vm.call(&Call::new("ft_on_transfer", json!({"sender_id": "payer.testnet", "amount": "5", "msg": json!({"receiver_id": victim}).to_string()}), "payer.testnet").predecessor(TOKEN));
    assert_eq!(out.json(), json!("0"));
    let cost = (vm.storage_usage() - usage) as u128 * vm.storage_byte_cost();
    assert_eq!(balance(&mut vm, "payer.testnet", &TokenId::Near), payer_near - cost);
    assert_eq!(balance(&mut vm, victim, &TokenId::Near), near);
    assert_eq!(balance(&mut vm, victim, &token()), 5);
    let event = &out.events()[0]["data"][0];
    assert_eq!((event["by"].as_str(), event["st"].as_str()), (Some("payer.testnet"), Some(&*cost.to_string())));
}

#[test]
fn withdrawal_gas_bomb_is_refused_and_the_largest_batch_fits() {
    for p in [FLOOR_PROTOCOL, NEWEST_PROTOCOL] {
        let mut vm = deploy(p);
        let users: Vec<User> = (1..=3).map(User::implicit).collect();
        for u in &users {
            fund(&mut vm, &u.account, TOKEN, 1_000);
        }
        let wd = || Action::Withdraw { token: token(), amount: Amount(1), receiver_id: "exit.testnet".parse().unwrap(), memo: None };
        // One intent with 16 NEP-141 withdrawals: the simulation refuses it, as does execution.
        let bomb = [users[0].sign(&vm, 1, vec![wd(); 16])];
        let report = vm.view("simulate_intents", json!({"signed": bomb, "caller_id": RELAYER}));
        assert_eq!(report["outcomes"][0]["result"]["code"], "TOO_MANY_WITHDRAWALS", "{report}");
        let out = vm.call(&Call::new("execute_intents", json!({"signed": bomb}), RELAYER).deposit(NEAR / 10));
        assert!(out.err().starts_with("intent #0: TOO_MANY_WITHDRAWALS"), "{}", out.err());
        // Three intents of 4 each: over the batch limit, reported as a batch error.
        let full: Vec<SignedIntent> = users.iter().map(|u| u.sign(&vm, 2, vec![wd(); 4])).collect();
        assert_eq!(simulate(&mut vm, &full).batch_error.unwrap().code(), Some(outpost_protocol::ErrorCode::TooManyWithdrawals));
        // The largest allowed (8 withdrawals) executes with the gas the simulation asks for.
        let report = simulate(&mut vm, &full[..2]);
        assert!(report.batch_error.is_none(), "{report:?}");
        assert!(report.gas <= outpost_protocol::limits::MAX_BATCH_GAS, "{}", report.gas);
        let out = vm.call(&Call::new("execute_intents", json!({"signed": &full[..2]}), RELAYER).gas(report.gas));
        out.ok();
        let transfers = out.receipts_by_receiver().iter().filter(|(r, _)| r == TOKEN).count();
        assert_eq!(transfers, 8);
        println!("protocol {p}: 8 withdrawals burnt {:.2} TGas, simulation asked {:.2} TGas", out.burnt_gas as f64 / TGAS as f64, report.gas as f64 / TGAS as f64);
    }
}

#[test]
fn weak_keys_sign_nothing() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    // Someone sends tokens to the implicit account of the identity point `0100..00`.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = outpost_protocol::PublicKey(identity);
    let victim = weak.implicit_account_id().to_string();
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 100);
    fund(&mut vm, &victim, TOKEN, 50);
    // For that key, the signature (R = identity, s = 0) verifies any message: refused.
    let mut sig = [0u8; 64];
    sig[0] = 1;
    let steal = Intent { signer_id: victim.parse().unwrap(), deadline: Deadline(vm.block_timestamp + HOUR), actions: vec![transfer(token(), 50, "mallory.testnet")], fee: None };
    let forged = SignedIntent {
        message: serde_json::to_string(&steal).unwrap(),
        nonce: Nonce::new(vm.block_timestamp + HOUR, [5; 24]),
        recipient: INTENTS.into(),
        callback_url: None,
        public_key: weak,
        signature: outpost_protocol::Signature(sig),
    };
    // A cofactorless ed25519 check alone accepts it for any message: the weak-key rule must come first.
    let hash = outpost_protocol::nep413::Payload::of(&forged).hash(&outpost_protocol::DalekCrypto);
    assert!(outpost_protocol::Crypto::ed25519_verify(&outpost_protocol::DalekCrypto, &sig, &hash.0, &identity));
    // (A deposit is attached so that code which needs one would get this far.)
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [forged]}), RELAYER).deposit(NEAR / 10));
    assert!(out.err().starts_with("intent #0: WEAK_PUBLIC_KEY"), "{}", out.err());
    assert_eq!(balance(&mut vm, &victim, &token()), 50);
    // Weak keys cannot be registered, by call or by intent, and are never listed as signers.
    let out = vm.call(&Call::new("add_public_key", json!({"public_key": outpost_protocol::PublicKey([0; 32])}), "carol.testnet").deposit(NEAR / 100));
    assert!(out.err().starts_with("WEAK_PUBLIC_KEY"), "{}", out.err());
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [alice.sign(&vm, 2, vec![Action::AddPublicKey { public_key: outpost_protocol::PublicKey([0; 32]) }])]}), RELAYER).deposit(NEAR / 10));
    assert!(out.err().starts_with("intent #0: WEAK_PUBLIC_KEY"), "{}", out.err());
    assert_eq!(vm.view("public_keys_of", json!({"account_id": victim})), json!([]));
}

#[test]
fn simulate_honours_pause() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 100);
    let item = [alice.sign(&vm, 1, vec![transfer(token(), 1, "bob.testnet")])];
    vm.call(&Call::new("pause", json!({}), OWNER).deposit(1)).ok();
    let out = vm.call(&Call::view("simulate_intents", json!({"signed": item, "caller_id": RELAYER})));
    assert!(out.err().starts_with("batch: PAUSED"), "{}", out.err());
    vm.call(&Call::new("unpause", json!({}), OWNER).deposit(1)).ok();
    assert!(simulate(&mut vm, &item).batch_error.is_none());
}

#[test]
fn upgrade_needs_one_yocto() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    // An owner's function-call key attaches nothing: it cannot upgrade.
    let out = vm.call(&Call::new("upgrade", json!({}), OWNER).raw_args(&load_wasm("outpost-intents")));
    assert_eq!(out.err(), "Requires attached deposit of exactly 1 yoctoNEAR");
    assert!(out.receipts.is_empty());
    let out = vm.call(&Call::new("upgrade", json!({}), OWNER).raw_args(&load_wasm("outpost-intents")).deposit(2));
    assert_eq!(out.err(), "Requires attached deposit of exactly 1 yoctoNEAR");
    for method in ["pause", "unpause", "set_owner"] {
        let out = vm.call(&Call::new(method, json!({"owner_id": OWNER}), OWNER));
        assert_eq!(out.err(), "Requires attached deposit of exactly 1 yoctoNEAR", "{method}");
    }
}

#[test]
fn nonces_are_pruned_only_after_expiry_and_grace() {
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 100);
    let item = alice.sign(&vm, 1, vec![transfer(token(), 1, "bob.testnet")]);
    vm.call(&Call::new("execute_intents", json!({"signed": [&item]}), RELAYER).deposit(NEAR / 10)).ok();
    let expiry = item.nonce.expiry_ns();
    let args = json!({"nonces": [[alice.account, item.nonce]]});
    vm.call(&Call::new("deposit", json!({}), "pruner.testnet").deposit(NEAR / 100)).ok();
    // Right after the deadline, and until the grace period has passed: kept, still "used".
    for t in [expiry + 1, expiry + outpost_protocol::limits::NONCE_PRUNE_GRACE_NS] {
        vm.block_timestamp = t;
        assert_eq!(vm.call(&Call::new("prune_nonces", args.clone(), "pruner.testnet")).json(), json!(0));
        assert_eq!(vm.view("is_nonce_used", json!({"account_id": alice.account, "nonce": item.nonce})), json!(true));
    }
    // After it: pruned, and the freed storage goes to the pruner.
    vm.block_timestamp = expiry + outpost_protocol::limits::NONCE_PRUNE_GRACE_NS + 1;
    let near = balance(&mut vm, "pruner.testnet", &TokenId::Near);
    let usage = vm.storage_usage();
    let out = vm.call(&Call::new("prune_nonces", args, "pruner.testnet"));
    assert_eq!(out.json(), json!(1));
    let freed = (usage - vm.storage_usage()) as u128 * vm.storage_byte_cost();
    assert!(freed > 0);
    assert_eq!(balance(&mut vm, "pruner.testnet", &TokenId::Near), near + freed);
    // The replay is stopped by the deadline.
    let out = vm.call(&Call::new("execute_intents", json!({"signed": [item]}), RELAYER));
    assert!(out.err().starts_with("intent #0: DEADLINE_EXPIRED"), "{}", out.err());
}

#[test]
fn wallet_signatures_in_base64_execute() {
    use outpost_protocol::validate::decode_intent;
    let mut vm = deploy(FLOOR_PROTOCOL);
    let alice = User::implicit(1);
    fund(&mut vm, &alice.account, TOKEN, 100);
    let item = alice.sign(&vm, 1, vec![transfer(token(), 7, "bob.testnet")]);
    assert!(decode_intent(&item.message).is_ok());
    let mut json = serde_json::to_value(&item).unwrap();
    json["signature"] = base64_of(&item.signature.0).into();
    vm.call(&Call::new("execute_intents", json!({"signed": [json]}), RELAYER)).ok();
    assert_eq!(balance(&mut vm, "bob.testnet", &token()), 7);
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

/// `nonce_status` tells an executed intent from a cancelled nonce or one spent by another intent,
/// which `NONCE_USED` alone cannot (a relayer that lost a race must not call an executed payment
/// failed).
#[test]
fn nonce_status_names_the_intent_that_spent_a_nonce() {
    use outpost_protocol::abi::NonceStatus;
    let mut vm = deploy(NEWEST_PROTOCOL);
    let alice = User::implicit(21);
    fund(&mut vm, &alice.account, TOKEN, 1_000);
    let pay = alice.sign(&vm, 1, vec![transfer(token(), 5, "bob.testnet")]);
    let expiry = vm.block_timestamp + HOUR;
    let status = |vm: &mut Vm, nonce: &Nonce| -> NonceStatus {
        serde_json::from_value(vm.view("nonce_status", json!({"account_id": alice.account, "nonce": nonce}))).unwrap()
    };
    assert_eq!(status(&mut vm, &pay.nonce), NonceStatus::Unused);
    execute(&mut vm, std::slice::from_ref(&pay)).ok();
    let hash = outpost_protocol::nep413::Payload::of(&pay).hash(&outpost_protocol::DalekCrypto);
    assert_eq!(status(&mut vm, &pay.nonce), NonceStatus::Executed { intent_hash: hash });
    // A different intent under the same nonce is refused, and the status still names the first.
    let other = alice.sign(&vm, 1, vec![transfer(token(), 6, "bob.testnet")]);
    assert!(vm.call(&Call::new("execute_intents", json!({"signed": [other]}), RELAYER)).err().starts_with("intent #0: NONCE_USED"));
    assert_eq!(status(&mut vm, &pay.nonce), NonceStatus::Executed { intent_hash: hash });
    // A cancelled nonce reads cancelled.
    let cancelled = alice.nonce(2, expiry);
    let cancel = alice.sign(&vm, 3, vec![Action::InvalidateNonces { nonces: vec![cancelled] }]);
    execute(&mut vm, &[cancel]).ok();
    assert_eq!(status(&mut vm, &cancelled), NonceStatus::Cancelled);
}

