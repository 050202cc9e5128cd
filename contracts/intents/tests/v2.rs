//! v2 against the engine in memory: who pays (the caller's ledger NEAR, fees to the caller),
//! nobody is drained (dust deposits, zero-balance signers), bounded withdrawals, weak keys,
//! pruning only after expiry plus grace, with the freed storage to the pruner.

mod common;
use common::*;
use outpost_protocol::limits::{MAX_WITHDRAWALS_PER_BATCH, MAX_WITHDRAWALS_PER_INTENT, NONCE_PRUNE_GRACE_NS};
use outpost_protocol::*;

fn with_fee(u: &User, actions: Vec<Action>, token: TokenId, amount: u128) -> Intent {
    Intent { fee: Some(Fee { token, amount: Amount(amount) }), ..u.intent(actions) }
}

#[test]
fn the_caller_pays_storage_from_its_ledger_and_collects_the_fee() {
    let mut w = World::new();
    let alice = User::implicit(1);
    w.deposit(&alice.account, &token(), 1_000);
    let relayer = acc(RELAYER);
    let item = alice.sign_intent(1, &with_fee(&alice, vec![transfer(token(), 100, &acc("bob.testnet"))], token(), 3));
    let report = w.simulate(vec![item.clone()]);
    assert!(report.batch_error.is_none());
    let out = w.execute(vec![item]).unwrap();
    assert_eq!(report.caller_charge.0, out.caller_charge);
    assert_eq!(w.balance(&alice.account, &token()), 897);
    assert_eq!(w.balance(&acc("bob.testnet"), &token()), 100);
    assert_eq!(w.balance(&relayer, &token()), 3, "the fee goes to the caller");
    assert_eq!(w.balance(&relayer, &TokenId::Near), NEAR - out.caller_charge as u128);
    // The simulation listed the same changes, the charge included.
    let near_change = report.balance_changes.iter().find(|c| c.account_id == relayer && c.token == TokenId::Near).unwrap();
    assert_eq!(near_change.delta.0, -out.caller_charge);

    // A fee the signer cannot pay fails the item.
    let broke = alice.sign_intent(2, &with_fee(&alice, vec![transfer(token(), 1, &acc("bob.testnet"))], TokenId::Near, 1));
    let err = w.expect_failure(vec![broke], Some(0), ErrorCode::InsufficientBalance);
    assert!(err.detail.starts_with("fee:"), "{err}");
}

#[test]
fn a_zero_balance_signer_cannot_make_anyone_else_pay() {
    // Mallory has nothing in the ledger and cancels 32 nonces: only the caller (who chose to
    // submit it) could pay, and a caller without ledger NEAR is refused with nothing changed.
    let mut w = World::bare();
    let mallory = User::implicit(66);
    let nonces: Vec<Nonce> = (0..32).map(|n| mallory.nonce(1000 + n, NOW + HOUR)).collect();
    let item = mallory.sign(1, vec![Action::InvalidateNonces { nonces }]);
    let err = w.expect_failure(vec![item.clone()], None, ErrorCode::InsufficientStorageDeposit);
    assert!(err.detail.contains("call `deposit` first"), "{err}");
    assert!(w.storage.0.is_empty());
    // An attached deposit is credited to the caller first and pays; the rest stays its own.
    w.attached = NEAR;
    let out = w.execute(vec![item]).unwrap();
    assert_eq!(w.balance(&acc(RELAYER), &TokenId::Near), NEAR - out.caller_charge as u128);
    assert_eq!(w.balance(&mallory.account, &TokenId::Near), 0);
    // The ledger holds exactly what was attached, less the storage staked for the records.
    assert_eq!(w.ledger_near() + w.storage.usage() as u128 * BYTE_COST, NEAR);
}

#[test]
fn receivers_never_pay_for_records_they_did_not_ask_for() {
    let mut w = World::bare();
    let victim = acc("victim.testnet");
    let attacker = acc("attacker.testnet");
    w.deposit(&victim, &TokenId::Near, NEAR);
    // Dust of a new token sent to the victim by someone who cannot pay (or is not the real
    // sender): refused, the victim's NEAR untouched.
    for payer in [None, Some(&attacker)] {
        let err = outpost_intents::receive_tokens(&mut w.storage, &victim, &token(), 1, payer, BYTE_COST).unwrap_err();
        assert_eq!(err.code, ErrorCode::InsufficientStorageDeposit);
    }
    assert_eq!(w.balance(&victim, &TokenId::Near), NEAR);
    // A depositor with NEAR pays for the receiver's record.
    w.deposit(&attacker, &TokenId::Near, NEAR);
    let credit = outpost_intents::receive_tokens(&mut w.storage, &victim, &token(), 1, Some(&attacker), BYTE_COST).unwrap();
    assert_eq!(w.balance(&victim, &TokenId::Near), NEAR);
    assert_eq!(w.balance(&attacker, &TokenId::Near), NEAR - credit.storage_bytes as u128 * BYTE_COST);
    assert!(credit.event.contains("\"by\":\"attacker.testnet\""), "{}", credit.event);
    // A transfer to someone without a record: the batch's caller pays, not the receiver.
    let alice = User::implicit(1);
    w.deposit(&alice.account, &token_b(), 10);
    w.deposit(&acc(RELAYER), &TokenId::Near, NEAR);
    w.execute(vec![alice.sign(1, vec![transfer(token_b(), 1, &victim)])]).unwrap();
    assert_eq!(w.balance(&victim, &TokenId::Near), NEAR);
}

#[test]
fn withdrawals_are_bounded_per_intent_and_batch() {
    let mut w = World::new();
    let users: Vec<User> = (1..=3).map(User::implicit).collect();
    for u in &users {
        w.deposit(&u.account, &token(), 1_000);
    }
    let exit = acc("exit.testnet");
    let bomb = users[0].sign(1, vec![withdraw(token(), 1, &exit); 16]);
    w.expect_failure(vec![bomb], Some(0), ErrorCode::TooManyWithdrawals);
    // Three intents of four withdrawals: each fine, together over the batch limit.
    let full: Vec<SignedIntent> = users.iter().map(|u| u.sign(2, vec![withdraw(token(), 1, &exit); MAX_WITHDRAWALS_PER_INTENT])).collect();
    assert!(3 * MAX_WITHDRAWALS_PER_INTENT > MAX_WITHDRAWALS_PER_BATCH);
    w.expect_failure(full.clone(), None, ErrorCode::TooManyWithdrawals);
    assert_eq!(w.simulate(full.clone()).batch_error.unwrap().code(), Some(ErrorCode::TooManyWithdrawals));
    let out = w.execute(full[..2].to_vec()).unwrap();
    assert_eq!(out.withdrawals.len(), MAX_WITHDRAWALS_PER_BATCH);
}

#[test]
fn weak_keys_cannot_be_registered() {
    let mut w = World::new();
    let carol = acc("carol.testnet");
    for weak in [PublicKey([0; 32]), {
        let mut k = [0u8; 32];
        k[0] = 1;
        PublicKey(k)
    }] {
        assert_eq!(outpost_intents::add_public_key(&mut w.storage, &carol, weak).unwrap_err().code, ErrorCode::WeakPublicKey);
        let bob = User::named(2, "bob.testnet");
        outpost_intents::add_public_key(&mut w.storage, &bob.account, bob.key.public_key()).ok();
        w.expect_failure(vec![bob.sign(1, vec![Action::AddPublicKey { public_key: weak }])], Some(0), ErrorCode::WeakPublicKey);
    }
}

#[test]
fn cancelled_nonces_carry_their_expiry() {
    let mut w = World::new();
    let alice = User::implicit(1);
    // A nonce beyond the horizon cannot be cancelled (it would be stored for too long); an expired
    // one needs no cancelling and is not stored.
    let far = alice.nonce(7, NOW + limits::MAX_DEADLINE_HORIZON_NS + 1);
    w.expect_failure(vec![alice.sign(1, vec![Action::InvalidateNonces { nonces: vec![far] }])], Some(0), ErrorCode::NonceExpiryTooFar);
    let expired = alice.nonce(8, NOW - 1);
    let before = w.storage.usage();
    let out = w.execute(vec![alice.sign(2, vec![Action::InvalidateNonces { nonces: vec![expired] }])]).unwrap();
    assert_eq!(w.storage.usage() - before, out.storage_bytes as u64);
    assert_eq!(outpost_intents::ledger::Ledger(&mut w.storage).nonce_expiry(&alice.account, &expired), None);
    let live = alice.nonce(9, NOW + 5 * HOUR);
    w.execute(vec![alice.sign(3, vec![Action::InvalidateNonces { nonces: vec![live] }])]).unwrap();
    assert_eq!(outpost_intents::ledger::Ledger(&mut w.storage).nonce_expiry(&alice.account, &live), Some(NOW + 5 * HOUR));
}

#[test]
fn pruning_credits_the_pruner_only_after_expiry_and_grace() {
    let mut w = World::new();
    let alice = User::implicit(1);
    w.deposit(&alice.account, &token(), 10);
    let item = alice.sign(1, vec![transfer(token(), 1, &acc("bob.testnet"))]);
    w.execute(vec![item.clone()]).unwrap();
    let pruner = acc("pruner.testnet");
    w.deposit(&pruner, &TokenId::Near, 1);
    let list = vec![(alice.account.clone(), item.nonce)];
    let early = outpost_intents::prune_nonces(&mut w.storage, &pruner, &list, NOW + HOUR + NONCE_PRUNE_GRACE_NS, BYTE_COST);
    assert_eq!((early.count, early.credited), (0, 0));
    let usage = w.storage.usage();
    let freed = outpost_intents::prune_nonces(&mut w.storage, &pruner, &list, NOW + HOUR + NONCE_PRUNE_GRACE_NS + 1, BYTE_COST);
    assert_eq!(freed.count, 1);
    assert_eq!(freed.bytes, usage - w.storage.usage());
    assert_eq!(freed.credited, freed.bytes as u128 * BYTE_COST);
    assert_eq!(w.balance(&pruner, &TokenId::Near), 1 + freed.credited);
    assert!(freed.event.contains("storage_freed"), "{}", freed.event);
}
