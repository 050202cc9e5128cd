//! Every rule of the ledger, and the attack list of the intents issue, against the engine in
//! memory (the same code the contract runs).

mod common;
use common::*;
use outpost_intents::ledger::{Ledger, MAX_KEYS_PER_ACCOUNT};
use outpost_intents::engine::MAX_EVENT_LOG_BYTES;
use outpost_intents::storage::{MemoryStorage, Overlay};
use outpost_protocol::abi::BatchFailure;
use outpost_protocol::abi::ItemResult;
use outpost_protocol::limits::MAX_DEADLINE_HORIZON_NS;
use outpost_protocol::*;

fn funded() -> (World, User, User) {
    let mut w = World::new();
    let alice = User::implicit(1);
    let bob = User::named(2, "bob.testnet");
    w.deposit(&alice.account, &token(), 1_000);
    w.deposit(&bob.account, &token_b(), 500);
    (w, alice, bob)
}

#[test]
fn implicit_account_transfers_without_registration() {
    let (mut w, alice, bob) = funded();
    let out = w.execute(vec![alice.sign(1, vec![transfer(token(), 300, &bob.account)])]).unwrap();
    assert_eq!(w.balance(&alice.account, &token()), 700);
    assert_eq!(w.balance(&bob.account, &token()), 300);
    assert_eq!(out.executed.len(), 1);
    assert_eq!(out.executed[0].signer_id, alice.account);
    assert_eq!(out.executed[0].actions, vec!["transfer"]);
    // One event line naming the intent (its signer is in the arguments), the caller and what it
    // was charged.
    assert_eq!(out.events.len(), 1);
    let event: serde_json::Value = serde_json::from_str(out.events[0].strip_prefix("EVENT_JSON:").unwrap()).unwrap();
    assert_eq!(event["standard"], "outpost");
    assert_eq!(event["version"], outpost_protocol::abi::EVENT_VERSION);
    assert_eq!(event["event"], "executed");
    assert_eq!(event["data"]["h"], serde_json::json!([out.executed[0].intent_hash.to_string()]));
    assert_eq!(event["data"]["by"], RELAYER);
    // The batch added a nonce record and a balance record for bob's new token: the relayer paid.
    assert!(out.storage_bytes > 0);
    assert_eq!(event["data"]["chg"], (out.storage_bytes as u128 * BYTE_COST).to_string());
    assert_eq!(w.balance(&acc(RELAYER), &TokenId::Near), NEAR - out.storage_bytes as u128 * BYTE_COST);
}

#[test]
fn forged_or_foreign_signatures_fail() {
    let (mut w, alice, bob) = funded();
    let mut forged = alice.sign(1, vec![transfer(token(), 1, &bob.account)]);
    forged.signature.0[5] ^= 1;
    w.expect_failure(vec![forged], Some(0), ErrorCode::SignatureInvalid);
    // Signed by mallory's key but claiming alice's account: the signature is valid for mallory's
    // key, and that key may not sign for alice.
    let mallory = User::implicit(9);
    let claim = alice.intent(vec![transfer(token(), 1, &mallory.account)]);
    w.expect_failure(vec![mallory.sign_intent(1, &claim)], Some(0), ErrorCode::KeyNotAuthorized);
    // Alice's signature presented with mallory's key.
    let mut swapped = alice.sign(2, vec![transfer(token(), 1, &bob.account)]);
    swapped.public_key = mallory.key.public_key();
    w.expect_failure(vec![swapped], Some(0), ErrorCode::SignatureInvalid);
}

#[test]
fn replays_fail_across_and_within_batches() {
    let (mut w, alice, bob) = funded();
    let item = alice.sign(1, vec![transfer(token(), 10, &bob.account)]);
    w.execute(vec![item.clone()]).unwrap();
    w.expect_failure(vec![item.clone()], Some(0), ErrorCode::NonceUsed);
    let fresh = alice.sign(2, vec![transfer(token(), 10, &bob.account)]);
    w.expect_failure(vec![fresh.clone(), fresh], Some(1), ErrorCode::NonceUsed);
    assert_eq!(w.balance(&bob.account, &token()), 10);
    // Same nonce, different message: still the same nonce of the same signer.
    let mut other = alice.sign(1, vec![transfer(token(), 99, &bob.account)]);
    other.nonce = item.nonce;
    let other = alice.key.sign_message(other.message.clone(), item.nonce, CONTRACT, None);
    w.expect_failure(vec![other], Some(0), ErrorCode::NonceUsed);
}

/// Storage that, like NEAR's, reports on write whether a record existed: an executing batch then
/// skips reading intents' nonces and checks them at commit.
struct WriteReporting(MemoryStorage, std::cell::Cell<u32>);

impl outpost_intents::storage::Storage for WriteReporting {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.1.set(self.1.get() + 1);
        self.0.read(key)
    }
    fn write(&mut self, key: &[u8], value: &[u8]) {
        self.0.write(key, value)
    }
    fn remove(&mut self, key: &[u8]) {
        self.0.remove(key)
    }
    fn write_new(&mut self, key: &[u8], value: &[u8]) -> bool {
        // Like `storage_write`'s answer: not a read.
        let existed = self.0.read(key).is_some();
        self.0.write(key, value);
        !existed
    }
    fn checks_new_on_write(&self) -> bool {
        true
    }
}

#[test]
fn nonces_checked_at_commit_still_refuse_replays_and_change_nothing() {
    let (w, alice, bob) = funded();
    let mut storage = WriteReporting(w.storage.clone(), Default::default());
    let run = |s: &mut WriteReporting, items: Vec<SignedIntent>| outpost_intents::execute(s, DalekCrypto, w.env(), items.into_iter().map(Ok).collect());
    let item = alice.sign(1, vec![transfer(token(), 10, &bob.account)]);
    outpost_intents::simulate(&storage, DalekCrypto, w.env(), vec![Ok(item.clone())]);
    let reads_simulating = storage.1.replace(0);
    run(&mut storage, vec![item.clone()]).unwrap();
    // The same item executing reads one record fewer: its nonce, checked by the write.
    assert_eq!(storage.1.replace(0), reads_simulating - 1);
    let next = alice.sign(2, vec![transfer(token(), 10, &bob.account)]);

    // A replay behind a fresh item: refused at commit, named by its index, nothing else written
    // (the fresh item's nonce record, created first, is removed again; the replayed one was
    // overwritten with the same value, and on chain the panic reverts it).
    let before = storage.0.clone();
    match run(&mut storage, vec![next.clone(), item.clone()]) {
        Err(BatchFailure::Item { index: 1, error }) => assert_eq!(error.code, ErrorCode::NonceUsed),
        other => panic!("{other:?}"),
    }
    assert_eq!(storage.0, before);
    // Within one batch the overlay sees the first use, as before.
    match run(&mut storage, vec![next.clone(), next.clone()]) {
        Err(BatchFailure::Item { index: 1, error }) => assert_eq!(error.code, ErrorCode::NonceUsed),
        other => panic!("{other:?}"),
    }
    assert_eq!(storage.0, before);
    run(&mut storage, vec![next]).unwrap();
    assert_eq!(outpost_intents::ledger::Ledger(outpost_intents::storage::Overlay::new(&storage.0)).balance(&bob.account, &token()), 20);
}

#[test]
fn deadlines_bound_execution() {
    let (mut w, alice, bob) = funded();
    let mut expired = alice.intent(vec![transfer(token(), 1, &bob.account)]);
    expired.deadline = Deadline(NOW - 1);
    w.expect_failure(vec![alice.sign_intent(1, &expired)], Some(0), ErrorCode::DeadlineExpired);
    let mut far = alice.intent(vec![transfer(token(), 1, &bob.account)]);
    far.deadline = Deadline(NOW + MAX_DEADLINE_HORIZON_NS + 1);
    w.expect_failure(vec![alice.sign_intent(2, &far)], Some(0), ErrorCode::DeadlineTooFar);
    // After its expiry and the grace period, a used nonce may be pruned; the replay is then
    // stopped by the deadline.
    let item = alice.sign(3, vec![transfer(token(), 1, &bob.account)]);
    w.execute(vec![item.clone()]).unwrap();
    let after = NOW + HOUR + limits::NONCE_PRUNE_GRACE_NS + 1;
    w.now = after;
    let pruned = Ledger(&mut w.storage).prune_nonce(&alice.account, &item.nonce, after);
    assert!(pruned);
    w.expect_failure(vec![item], Some(0), ErrorCode::DeadlineExpired);
}

#[test]
fn pruning_waits_for_expiry_plus_grace_for_used_and_cancelled_nonces() {
    let (mut w, alice, bob) = funded();
    let item = alice.sign(1, vec![transfer(token(), 1, &bob.account)]);
    w.execute(vec![item.clone()]).unwrap();
    let cancelled = alice.nonce(42, NOW + 2 * HOUR);
    w.execute(vec![alice.sign(2, vec![Action::InvalidateNonces { nonces: vec![cancelled] }])]).unwrap();
    let grace = limits::NONCE_PRUNE_GRACE_NS;
    for (nonce, expiry) in [(item.nonce, NOW + HOUR), (cancelled, NOW + 2 * HOUR)] {
        for too_early in [NOW, expiry + 1, expiry + grace] {
            assert!(!Ledger(&mut w.storage).prune_nonce(&alice.account, &nonce, too_early), "pruned at {too_early}");
        }
        assert!(Ledger(&mut w.storage).prune_nonce(&alice.account, &nonce, expiry + grace + 1));
    }
}

#[test]
fn wrong_recipient_fails() {
    let (mut w, alice, bob) = funded();
    let intent = alice.intent(vec![transfer(token(), 1, &bob.account)]);
    let other = alice.key.sign_intent(&intent, alice.nonce(1, NOW + HOUR), "other-intents.testnet");
    w.expect_failure(vec![other], Some(0), ErrorCode::WrongRecipient);
}

#[test]
fn named_accounts_need_registered_keys_and_removed_keys_stop_working() {
    let (mut w, alice, bob) = funded();
    w.expect_failure(vec![bob.sign(1, vec![transfer(token_b(), 1, &alice.account)])], Some(0), ErrorCode::KeyNotAuthorized);
    outpost_intents::add_public_key(&mut w.storage, &bob.account, bob.key.public_key()).unwrap();
    w.execute(vec![bob.sign(1, vec![transfer(token_b(), 1, &alice.account)])]).unwrap();

    // Bob adds a second key by intent, signs with it, then removes the first.
    let phone = SecretKey::from_seed([77; 32]);
    w.execute(vec![bob.sign(2, vec![Action::AddPublicKey { public_key: phone.public_key() }])]).unwrap();
    let bob_phone = User { key: phone.clone(), account: bob.account.clone() };
    w.execute(vec![bob_phone.sign(3, vec![Action::RemovePublicKey { public_key: bob.key.public_key() }])]).unwrap();
    w.expect_failure(vec![bob.sign(4, vec![transfer(token_b(), 1, &alice.account)])], Some(0), ErrorCode::KeyNotAuthorized);
    w.execute(vec![bob_phone.sign(5, vec![transfer(token_b(), 1, &alice.account)])]).unwrap();
    assert_eq!(w.balance(&alice.account, &token_b()), 2);

    // Key rules.
    w.expect_failure(vec![bob_phone.sign(6, vec![Action::AddPublicKey { public_key: phone.public_key() }])], Some(0), ErrorCode::KeyAlreadyExists);
    w.expect_failure(vec![bob_phone.sign(7, vec![Action::RemovePublicKey { public_key: bob.key.public_key() }])], Some(0), ErrorCode::KeyNotFound);
    w.expect_failure(vec![alice.sign(8, vec![Action::RemovePublicKey { public_key: alice.key.public_key() }])], Some(0), ErrorCode::ImplicitKeyFixed);
}

#[test]
fn key_count_is_bounded() {
    let mut w = World::new();
    let carol = acc("carol.testnet");
    for i in 0..MAX_KEYS_PER_ACCOUNT {
        outpost_intents::add_public_key(&mut w.storage, &carol, SecretKey::from_seed([i as u8 + 100; 32]).public_key()).unwrap();
    }
    let err = outpost_intents::add_public_key(&mut w.storage, &carol, SecretKey::from_seed([1; 32]).public_key()).unwrap_err();
    assert_eq!(err.code, ErrorCode::TooManyKeys);
}

#[test]
fn amounts_overflow_and_self_transfer_fail() {
    let (mut w, alice, bob) = funded();
    w.expect_failure(vec![alice.sign(1, vec![transfer(token(), 0, &bob.account)])], Some(0), ErrorCode::ZeroAmount);
    w.expect_failure(vec![alice.sign(2, vec![transfer(token(), 1, &alice.account)])], Some(0), ErrorCode::SelfTransfer);
    w.expect_failure(vec![alice.sign(3, vec![transfer(token(), 1_001, &bob.account)])], Some(0), ErrorCode::InsufficientBalance);
    // A receiver at u128::MAX cannot be credited.
    w.deposit(&bob.account, &token(), u128::MAX);
    w.expect_failure(vec![alice.sign(4, vec![transfer(token(), 1, &bob.account)])], Some(0), ErrorCode::BalanceOverflow);
    assert_eq!(outpost_intents::deposit(&mut w.storage, &bob.account, &token(), 1).unwrap_err().code, ErrorCode::BalanceOverflow);
}

#[test]
fn a_later_failing_action_undoes_earlier_ones() {
    let (mut w, alice, bob) = funded();
    let item = alice.sign(1, vec![transfer(token(), 500, &bob.account), transfer(token(), 600, &bob.account)]);
    let err = w.expect_failure(vec![item], Some(0), ErrorCode::InsufficientBalance);
    assert!(err.detail.starts_with("action 1 (transfer)"), "{err}");
    assert_eq!(w.balance(&alice.account, &token()), 1_000);
}

#[test]
fn swaps_settle_when_offers_net_to_zero() {
    let (mut w, alice, _) = funded();
    let bob = User::implicit(2);
    w.deposit(&bob.account, &token_b(), 500);
    let a = alice.sign(1, vec![diff(&[(token(), -100), (token_b(), 50)])]);
    let b = bob.sign(1, vec![diff(&[(token(), 100), (token_b(), -50)])]);
    let out = w.execute(vec![a.clone(), b.clone()]).unwrap();
    assert_eq!(w.balance(&alice.account, &token()), 900);
    assert_eq!(w.balance(&alice.account, &token_b()), 50);
    assert_eq!(w.balance(&bob.account, &token()), 100);
    assert_eq!(w.balance(&bob.account, &token_b()), 450);
    assert_eq!(out.executed.len(), 2);

    // An offer alone, or offers that do not match, fail as a batch.
    let a2 = alice.sign(2, vec![diff(&[(token(), -100), (token_b(), 50)])]);
    let b2 = bob.sign(2, vec![diff(&[(token(), 100), (token_b(), -49)])]);
    w.expect_failure(vec![a2.clone()], None, ErrorCode::DiffNotBalanced);
    w.expect_failure(vec![a2, b2], None, ErrorCode::DiffNotBalanced);
    // A diff that spends more than the signer has fails at that item.
    let a3 = alice.sign(3, vec![diff(&[(token(), -5_000), (token_b(), 1)])]);
    let b3 = bob.sign(3, vec![diff(&[(token(), 5_000), (token_b(), -1)])]);
    w.expect_failure(vec![a3, b3], Some(0), ErrorCode::InsufficientBalance);
}

#[test]
fn withdrawals_debit_and_refunds_put_back_once() {
    let (mut w, alice, bob) = funded();
    w.expect_failure(vec![alice.sign(1, vec![withdraw(token(), 1_001, &alice.account)])], Some(0), ErrorCode::InsufficientBalance);
    let out = w.execute(vec![alice.sign(2, vec![withdraw(token(), 400, &bob.account)])]).unwrap();
    assert_eq!(w.balance(&alice.account, &token()), 600);
    assert_eq!(out.withdrawals.len(), 1);
    assert_eq!(out.nep141_withdrawals(), 1);
    let wd = &out.withdrawals[0];
    assert_eq!((wd.amount, &wd.receiver_id), (400, &bob.account));
    assert_eq!(out.caller_charge, out.storage_bytes as i128 * BYTE_COST as i128 + 1, "1 yocto for ft_transfer");
    // The transfer failed: the callback refunds, and the record existed, so no storage is needed.
    let credit = outpost_intents::refund_withdrawal(&mut w.storage, wd).unwrap();
    assert_eq!(credit.storage_bytes, 0);
    assert!(credit.event.contains("withdraw_refund"));
    assert_eq!(w.balance(&alice.account, &token()), 1_000);
}

#[test]
fn cancelled_nonces_block_their_intents() {
    let (mut w, alice, bob) = funded();
    let queued = alice.sign(1, vec![transfer(token(), 10, &bob.account)]);
    let cancel = alice.sign(2, vec![Action::InvalidateNonces { nonces: vec![queued.nonce] }]);
    w.execute(vec![cancel]).unwrap();
    w.expect_failure(vec![queued.clone()], Some(0), ErrorCode::NonceUsed);
    // Cancelling again (a retry) is harmless.
    w.execute(vec![alice.sign(3, vec![Action::InvalidateNonces { nonces: vec![queued.nonce] }])]).unwrap();
}

#[test]
fn undecodable_items_are_reported_by_index() {
    let (mut w, alice, bob) = funded();
    let good = alice.sign(1, vec![transfer(token(), 1, &bob.account)]);
    let env = w.env();
    let items = vec![Ok(good), Err(IntentError::new(ErrorCode::MessageMalformed, "bad json"))];
    let err = outpost_intents::execute(&mut w.storage, DalekCrypto, env, items).unwrap_err();
    assert_eq!(err.to_string(), "intent #1: MESSAGE_MALFORMED: bad json");
    assert_eq!(w.balance(&bob.account, &token()), 0);
    let garbage = alice.key.sign_message("{\"signer_id\":1}".into(), alice.nonce(3, NOW + HOUR), CONTRACT, None);
    w.expect_failure(vec![garbage], Some(0), ErrorCode::MessageMalformed);
    w.expect_failure(vec![], None, ErrorCode::BatchEmpty);
}

#[test]
fn simulate_reports_each_item_and_changes_nothing() {
    let (w, alice, bob) = funded();
    let before = w.storage.clone();
    let good = alice.sign(1, vec![transfer(token(), 100, &bob.account)]);
    let replay = good.clone();
    let mut forged = alice.sign(2, vec![transfer(token(), 1, &bob.account)]);
    forged.signature.0[0] ^= 1;
    let too_much = alice.sign(3, vec![transfer(token(), 950, &bob.account)]);
    let report = w.simulate(vec![good, replay, forged, too_much]);
    assert_eq!(w.storage, before);
    let codes: Vec<Option<ErrorCode>> = report.outcomes.iter().map(|o| o.result.code()).collect();
    assert_eq!(codes, vec![None, Some(ErrorCode::NonceUsed), Some(ErrorCode::SignatureInvalid), Some(ErrorCode::InsufficientBalance)]);
    assert!(report.outcomes[0].result.is_ok() && report.outcomes[0].intent_hash.is_some());
    assert!(report.outcomes[2].intent_hash.is_none(), "nothing unsigned is reported in detail");
    assert_eq!(report.batch_error, None);
    let changes: Vec<(String, i128)> = report.balance_changes.iter().map(|c| (c.account_id.to_string(), c.delta.0)).collect();
    assert!(report.caller_charge.0 > 0);
    assert_eq!(changes, vec![(alice.account.to_string(), -100), ("bob.testnet".into(), 100), (RELAYER.into(), -report.caller_charge.0)]);
    assert_eq!(report.outcomes[0].storage_cost.0, report.caller_charge.0, "one passing item pays it all");
    assert!(report.outcomes[0].gas > 0);
    assert!(report.outcomes[1..].iter().all(|o| o.storage_bytes == 0 && o.gas == 0));
}

#[test]
fn simulate_agrees_with_execute() {
    let (mut w, alice, bob) = funded();
    let items = vec![
        alice.sign(1, vec![transfer(token(), 100, &bob.account), withdraw(token(), 50, &alice.account)]),
        alice.sign(2, vec![Action::AddPublicKey { public_key: SecretKey::from_seed([5; 32]).public_key() }]),
    ];
    let report = w.simulate(items.clone());
    let before: Vec<u128> = report.balance_changes.iter().map(|c| w.balance(&c.account_id, &c.token)).collect();
    let usage_before = w.storage.usage() as i64;
    let out = w.execute(items).unwrap();
    let grown = w.storage.usage() as i64 - usage_before;
    assert_eq!(out.storage_bytes, grown, "the engine's byte count is what storage really grew by");
    assert_eq!(report.caller_charge.0, out.caller_charge);
    assert_eq!(out.caller_charge, grown as i128 * BYTE_COST as i128 + 1, "storage plus 1 yocto for the ft_transfer");
    let per_item: i128 = report.outcomes.iter().map(|o| o.storage_cost.0).sum();
    assert_eq!(per_item, out.caller_charge, "the items' costs add up to the charge");
    assert!(report.outcomes.iter().all(|o| o.result == ItemResult::Ok));
    let items_gas: u64 = report.outcomes.iter().map(|o| o.gas).sum();
    assert_eq!(report.gas, items_gas + outpost_intents::engine::gas::PER_BATCH);
    assert!(report.outcomes[0].gas > limits::GAS_PER_WITHDRAWAL, "the withdrawing item includes its prepaid gas");
    // Each change the simulation lists is exactly what execution moved.
    assert_eq!(report.balance_changes.len(), 3, "alice -150 (100 to bob, 50 out), bob +100, the relayer's charge");
    for (c, was) in report.balance_changes.iter().zip(before) {
        assert_eq!(w.balance(&c.account_id, &c.token) as i128 - was as i128, c.delta.0, "{c:?}");
    }
}

#[test]
fn batch_size_is_bounded() {
    let (mut w, alice, bob) = funded();
    let items: Vec<SignedIntent> = (0..=limits::MAX_BATCH_SIZE as u64).map(|n| alice.sign(n, vec![transfer(token(), 1, &bob.account)])).collect();
    w.expect_failure(items, None, ErrorCode::BatchTooLarge);
}

#[test]
fn the_largest_batch_logs_within_the_limit() {
    // The worst case for the `executed` line: a full batch, the longest caller id, the largest
    // attached deposit, the longest charge. 64-hex implicit signers no longer lengthen it.
    let mut w = World::new();
    w.caller = acc(&"c".repeat(64));
    w.attached = u128::MAX / 2;
    let users: Vec<User> = (0..limits::MAX_BATCH_SIZE).map(|i| User::implicit_n(i as u32 + 1)).collect();
    for u in &users {
        w.deposit(&u.account, &token(), 10);
    }
    let bob = acc("bob.testnet");
    let items: Vec<SignedIntent> = users.iter().map(|u| u.sign(1, vec![transfer(token(), 1, &bob)])).collect();
    let sim = w.simulate(items.clone());
    assert!(sim.batch_error.is_none(), "{:?}", sim.batch_error);
    let out = w.execute(items.clone()).unwrap();
    assert_eq!(out.events.len(), 1);
    let line = &out.events[0];
    assert!(line.len() <= MAX_EVENT_LOG_BYTES, "{} bytes", line.len());
    // One hash per item, in the order of the arguments.
    let event: serde_json::Value = serde_json::from_str(line.strip_prefix("EVENT_JSON:").unwrap()).unwrap();
    let hashes: Vec<String> = out.executed.iter().map(|e| e.intent_hash.to_string()).collect();
    assert_eq!(event["data"]["h"], serde_json::json!(hashes));
    assert_eq!(out.executed[7].signer_id, users[7].account);
    println!("{} intents: {} bytes of events", items.len(), line.len());
}

#[test]
fn overlay_reads_see_the_batch_so_far() {
    // Bob spends, within one batch, what alice sent him earlier in it.
    let (mut w, alice, _) = funded();
    let bob = User::implicit(2);
    let carol = acc("carol.testnet");
    w.execute(vec![alice.sign(1, vec![transfer(token(), 100, &bob.account)]), bob.sign(1, vec![transfer(token(), 100, &carol)])]).unwrap();
    assert_eq!(w.balance(&carol, &token()), 100);
    let ledger = Ledger(Overlay::new(&w.storage));
    assert_eq!(ledger.balance(&bob.account, &token()), 0);
}

#[test]
fn token_deposits_pay_new_records_from_near_and_are_atomic() {
    let mut w = World::bare();
    let carol = acc("carol.testnet");
    // No NEAR in the ledger: refused, nothing written.
    let err = outpost_intents::receive_tokens(&mut w.storage, &carol, &token(), 5, Some(&carol), BYTE_COST).unwrap_err();
    assert_eq!(err.code, ErrorCode::InsufficientStorageDeposit);
    assert!(w.storage.0.is_empty());
    w.deposit(&carol, &TokenId::Near, NEAR_FOR_STORAGE);
    let credit = outpost_intents::receive_tokens(&mut w.storage, &carol, &token(), 5, Some(&carol), BYTE_COST).unwrap();
    assert!(credit.storage_bytes > 0 && credit.event.contains("\"event\":\"deposit\""));
    assert_eq!(w.balance(&carol, &token()), 5);
    assert_eq!(w.balance(&carol, &TokenId::Near), NEAR_FOR_STORAGE - credit.storage_bytes as u128 * BYTE_COST);
    // The record exists now: a second deposit costs no NEAR.
    let near = w.balance(&carol, &TokenId::Near);
    assert_eq!(outpost_intents::receive_tokens(&mut w.storage, &carol, &token(), 7, None, BYTE_COST).unwrap().storage_bytes, 0);
    assert_eq!(w.balance(&carol, &TokenId::Near), near);
    // An overflowing credit fails and leaves the NEAR alone.
    let before = w.storage.clone();
    let err = outpost_intents::receive_tokens(&mut w.storage, &carol, &token(), u128::MAX, Some(&carol), BYTE_COST).unwrap_err();
    assert_eq!(err.code, ErrorCode::BalanceOverflow);
    assert_eq!(w.storage, before);
    assert_eq!(outpost_intents::receive_tokens(&mut w.storage, &carol, &token(), 0, Some(&carol), BYTE_COST).unwrap_err().code, ErrorCode::ZeroAmount);
}

const NEAR_FOR_STORAGE: u128 = 10_000_000_000_000_000_000_000;
