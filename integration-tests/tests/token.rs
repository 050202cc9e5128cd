//! The built token wasm in nearcore's VM: NEP-141/145/148 behaviour, NEP-297 events, every error a
//! user can hit, the protocol floor, and a gas report.

use outpost_integration_tests::*;
use serde_json::{json, Value};

const TOKEN: &str = "token.outpost.testnet";
const OWNER: &str = "owner.testnet";
const BOB: &str = "bob.testnet";
const CAROL: &str = "carol.testnet";
const SUPPLY: u128 = 1_000_000_000;

fn metadata() -> Value {
    json!({"spec": "ft-1.0.0", "name": "Outpost Dollar", "symbol": "ODOL", "decimals": 6, "icon": null, "reference": null, "reference_hash": null})
}

fn deploy(protocol: u32) -> Vm {
    let mut vm = Vm::new(&load_wasm("outpost-token"), protocol, TOKEN);
    let out = vm.call(&Call::new("new", json!({"owner_id": OWNER, "total_supply": SUPPLY.to_string(), "metadata": metadata()}), TOKEN));
    out.ok();
    assert_eq!(
        out.events(),
        vec![json!({"standard": "nep141", "version": "1.0.0", "event": "ft_mint",
            "data": [{"owner_id": OWNER, "amount": SUPPLY.to_string(), "memo": "new tokens are minted"}]})]
    );
    vm
}

fn balance(vm: &mut Vm, account: &str) -> u128 {
    vm.view("ft_balance_of", json!({"account_id": account})).as_str().unwrap().parse().unwrap()
}

fn min_storage(vm: &mut Vm) -> u128 {
    vm.view("storage_balance_bounds", json!({}))["min"].as_str().unwrap().parse().unwrap()
}

fn register(vm: &mut Vm, account: &str) {
    let min = min_storage(vm);
    vm.call(&Call::new("storage_deposit", json!({"account_id": account}), account).deposit(min)).ok();
}

fn transfer(to: &str, amount: u128) -> Call {
    Call::new("ft_transfer", json!({"receiver_id": to, "amount": amount.to_string()}), OWNER).deposit(ONE_YOCTO)
}

/// Every test runs at the protocol floor and at the newest protocol the VM knows.
fn each_protocol(test: impl Fn(u32)) {
    for protocol in [FLOOR_PROTOCOL, NEWEST_PROTOCOL] {
        test(protocol);
    }
}

#[test]
fn protocol_floor_is_85() {
    let wasm = load_wasm("outpost-token");
    let mut vm = Vm::new(&wasm, FLOOR_PROTOCOL - 1, TOKEN);
    let args = json!({"owner_id": OWNER, "total_supply": "1", "metadata": metadata()});
    let err = vm.call(&Call::new("new", args.clone(), TOKEN)).err().to_owned();
    assert!(err.contains("LinkError") || err.contains("unknown or invalid import"), "{err}");
    for protocol in [FLOOR_PROTOCOL, NEWEST_PROTOCOL] {
        Vm::new(&wasm, protocol, TOKEN).call(&Call::new("new", args.clone(), TOKEN)).ok();
    }
}

#[test]
fn metadata_and_supply() {
    each_protocol(|p| {
        let mut vm = deploy(p);
        assert_eq!(vm.view("ft_metadata", json!({})), metadata());
        assert_eq!(vm.view("ft_total_supply", json!({})), json!(SUPPLY.to_string()));
        assert_eq!(balance(&mut vm, OWNER), SUPPLY);
        assert_eq!(balance(&mut vm, BOB), 0);
        // NEP-330 source metadata names the standards.
        let source = vm.view("contract_source_metadata", json!({}));
        let standards: Vec<&str> = source["standards"].as_array().unwrap().iter().map(|s| s["standard"].as_str().unwrap()).collect();
        assert_eq!(standards, ["nep141", "nep145", "nep148", "nep330"], "{source}");
        assert!(source["version"].as_str().unwrap().starts_with("0.1.0"), "{source}");
    });
}

#[test]
fn new_rejects_bad_metadata_and_second_init() {
    let mut vm = Vm::new(&load_wasm("outpost-token"), NEWEST_PROTOCOL, TOKEN);
    let mut bad = metadata();
    bad["spec"] = json!("ft-9");
    let out = vm.call(&Call::new("new", json!({"owner_id": OWNER, "total_supply": "1", "metadata": bad}), TOKEN));
    assert!(out.err().contains("require! assertion failed") || out.err().contains("requirement failed"), "{}", out.err());
    let mut vm = deploy(NEWEST_PROTOCOL);
    let again = vm.call(&Call::new("new", json!({"owner_id": BOB, "total_supply": "1", "metadata": metadata()}), TOKEN));
    assert!(again.err().contains("The contract has already been initialized"), "{}", again.err());
}

#[test]
fn storage_registration_and_refunds() {
    each_protocol(|p| {
        let mut vm = deploy(p);
        let min = min_storage(&mut vm);
        assert!(min > 0);
        assert_eq!(vm.view("storage_balance_of", json!({"account_id": BOB})), Value::Null);

        // Too little: rejected, nothing registered.
        let out = vm.call(&Call::new("storage_deposit", json!({"account_id": BOB}), BOB).deposit(min - 1));
        assert_eq!(out.err(), "The attached deposit is less than the minimum storage balance");
        assert_eq!(vm.view("storage_balance_of", json!({"account_id": BOB})), Value::Null);

        // Too much: registered, the excess refunded to the payer.
        let extra = 5 * NEAR;
        let out = vm.call(&Call::new("storage_deposit", json!({"account_id": BOB}), CAROL).deposit(min + extra));
        out.ok();
        assert_eq!(out.json(), json!({"total": min.to_string(), "available": "0"}));
        assert_eq!(
            out.receipts_by_receiver(),
            vec![(CAROL.to_owned(), vec![Receipt::Transfer { receipt_index: 0, deposit: near_primitives_core::types::Balance::from_yoctonear(extra) }])]
        );

        // Already registered: the whole deposit comes back.
        let out = vm.call(&Call::new("storage_deposit", json!({}), BOB).deposit(min));
        out.ok();
        assert!(out.logs.contains(&"The account is already registered, refunding the deposit".to_owned()), "{:?}", out.logs);
        assert_eq!(out.receipts.len(), 2, "one refund receipt: {:?}", out.receipts);

        // Withdrawing storage is never possible (min == max), unregistering needs 1 yocto and a zero balance.
        assert_eq!(
            vm.call(&Call::new("storage_withdraw", json!({"amount": "1"}), BOB).deposit(ONE_YOCTO)).err(),
            "The amount is greater than the available storage balance"
        );
        assert_eq!(vm.call(&Call::new("storage_unregister", json!({}), BOB)).err(), "Requires attached deposit of exactly 1 yoctoNEAR");
        vm.call(&transfer(BOB, 10)).ok();
        assert_eq!(
            vm.call(&Call::new("storage_unregister", json!({}), BOB).deposit(ONE_YOCTO)).err(),
            "Can't unregister the account with the positive balance without force"
        );
        vm.call(&Call::new("ft_transfer", json!({"receiver_id": OWNER, "amount": "10"}), BOB).deposit(ONE_YOCTO)).ok();
        let out = vm.call(&Call::new("storage_unregister", json!({}), BOB).deposit(ONE_YOCTO));
        assert_eq!(out.json(), json!(true));
        assert_eq!(out.receipts_by_receiver()[0].0, BOB);
        assert_eq!(vm.view("storage_balance_of", json!({"account_id": BOB})), Value::Null);
    });
}

#[test]
fn transfers_move_balances_and_emit_events() {
    each_protocol(|p| {
        let mut vm = deploy(p);
        register(&mut vm, BOB);
        let out = vm.call(&Call::new("ft_transfer", json!({"receiver_id": BOB, "amount": "250", "memo": "rent"}), OWNER).deposit(ONE_YOCTO));
        out.ok();
        assert_eq!(
            out.events(),
            vec![json!({"standard": "nep141", "version": "1.0.0", "event": "ft_transfer",
                "data": [{"old_owner_id": OWNER, "new_owner_id": BOB, "amount": "250", "memo": "rent"}]})]
        );
        assert_eq!(balance(&mut vm, OWNER), SUPPLY - 250);
        assert_eq!(balance(&mut vm, BOB), 250);
        assert_eq!(vm.view("ft_total_supply", json!({})), json!(SUPPLY.to_string()));
    });
}

#[test]
fn every_user_error_fails_cleanly() {
    each_protocol(|p| {
        let mut vm = deploy(p);
        register(&mut vm, BOB);
        let cases: Vec<(Call, &str)> = vec![
            (transfer(CAROL, 1), "The account carol.testnet is not registered"),
            (transfer(BOB, SUPPLY + 1), "The account doesn't have enough balance"),
            (transfer(BOB, 0), "The amount should be a positive number"),
            (transfer(OWNER, 1), "Sender and receiver should be different"),
            (Call::new("ft_transfer", json!({"receiver_id": BOB, "amount": "1"}), OWNER), "Requires attached deposit of exactly 1 yoctoNEAR"),
            (transfer(BOB, 1).deposit(2), "Requires attached deposit of exactly 1 yoctoNEAR"),
            (Call::new("ft_transfer", json!({"receiver_id": BOB, "amount": "1"}), CAROL).deposit(ONE_YOCTO), "The account carol.testnet is not registered"),
            (Call::new("ft_transfer", json!({"receiver_id": "Not Valid!", "amount": "1"}), OWNER).deposit(ONE_YOCTO), "Failed to deserialize input from JSON."),
            (Call::new("ft_transfer", json!({"receiver_id": BOB, "amount": 1}), OWNER).deposit(ONE_YOCTO), "Failed to deserialize input from JSON."),
            (Call::new("ft_transfer", json!({"receiver_id": BOB, "amount": "-1"}), OWNER).deposit(ONE_YOCTO), "Failed to deserialize input from JSON."),
            (Call::new("ft_transfer", json!({}), OWNER).raw_args(b"not json").deposit(ONE_YOCTO), "Failed to deserialize input from JSON."),
            (Call::new("storage_deposit", json!({"account_id": "UPPER.testnet"}), BOB).deposit(NEAR), "Failed to deserialize input from JSON."),
            (Call::new("ft_balance_of", json!({"account_id": ""}), BOB), "Failed to deserialize input from JSON."),
        ];
        for (call, expected) in cases {
            let out = vm.call(&call);
            assert!(out.err().starts_with(expected), "{call:?}: got {:?}, want {expected:?}", out.err());
            assert!(out.receipts.is_empty());
            assert!(out.events().is_empty(), "no event from a failed call");
        }
        // Nothing moved.
        assert_eq!(balance(&mut vm, OWNER), SUPPLY);
        assert_eq!(balance(&mut vm, BOB), 0);
        assert_eq!(balance(&mut vm, CAROL), 0);
    });
}

#[test]
fn transfer_call_and_resolve() {
    each_protocol(|p| {
        let mut vm = deploy(p);
        register(&mut vm, BOB);
        let out = vm.call(&Call::new("ft_transfer_call", json!({"receiver_id": BOB, "amount": "100", "msg": "hi"}), OWNER).deposit(ONE_YOCTO));
        out.ok();
        let receipts = out.receipts_by_receiver();
        assert_eq!(receipts.len(), 2, "{receipts:?}");
        assert_eq!(receipts[0].0, BOB);
        match &receipts[0].1[0] {
            Receipt::FunctionCallWeight { method_name, args, .. } => {
                assert_eq!(method_name, b"ft_on_transfer");
                let args: Value = serde_json::from_slice(args).unwrap();
                assert_eq!(args, json!({"sender_id": OWNER, "amount": "100", "msg": "hi"}));
            }
            other => panic!("expected ft_on_transfer, got {other:?}"),
        }
        assert_eq!(receipts[1].0, TOKEN, "the resolve callback");

        // The callback is private: an outsider cannot call it to mint a refund.
        let resolve = json!({"sender_id": OWNER, "receiver_id": BOB, "amount": "100"});
        let outsider = vm.call(&Call::new("ft_resolve_transfer", resolve.clone(), BOB).promise_results(vec![promise_ok(b"\"100\"")]));
        assert_eq!(outsider.err(), "Method ft_resolve_transfer is private");

        // The receiver used 60 and returned 40: 40 goes back to the sender.
        let out = vm.call(&Call::new("ft_resolve_transfer", resolve, TOKEN).promise_results(vec![promise_ok(b"\"40\"")]));
        assert_eq!(out.json(), json!("60"));
        assert_eq!(balance(&mut vm, OWNER), SUPPLY - 60);
        assert_eq!(balance(&mut vm, BOB), 60);
    });
}

#[test]
fn gas_report() {
    let mut report = GasReport::new("token gas");
    for p in [FLOOR_PROTOCOL, NEWEST_PROTOCOL] {
        let mut vm = Vm::new(&load_wasm("outpost-token"), p, TOKEN);
        let new = vm.call(&Call::new("new", json!({"owner_id": OWNER, "total_supply": SUPPLY.to_string(), "metadata": metadata()}), TOKEN));
        report.add(&format!("new (protocol {p})"), new.ok().burnt_gas, "");
        let min = min_storage(&mut vm);
        let deposit = vm.call(&Call::new("storage_deposit", json!({"account_id": BOB}), BOB).deposit(min));
        report.add(&format!("storage_deposit (protocol {p})"), deposit.ok().burnt_gas, "new registration");
        let t = vm.call(&transfer(BOB, 5));
        report.add(&format!("ft_transfer (protocol {p})"), t.ok().burnt_gas, "registered receiver");
        let tc = vm.call(&Call::new("ft_transfer_call", json!({"receiver_id": BOB, "amount": "5", "msg": ""}), OWNER).deposit(ONE_YOCTO));
        report.add(&format!("ft_transfer_call (protocol {p})"), tc.ok().burnt_gas, "this receipt only");
        let b = vm.call(&Call::view("ft_balance_of", json!({"account_id": BOB})));
        report.add(&format!("ft_balance_of (protocol {p})"), b.ok().burnt_gas, "view");
        let m = vm.call(&Call::view("ft_metadata", json!({})));
        report.add(&format!("ft_metadata (protocol {p})"), m.ok().burnt_gas, "view");
        assert!(t.burnt_gas > 0 && t.burnt_gas < 10 * TGAS);
    }
    let size = load_wasm("outpost-token").len();
    report.add(&format!("wasm size: {size} bytes"), 0, "after wasm-opt -Oz");
    let path = report.write();
    assert!(path.exists());
}
