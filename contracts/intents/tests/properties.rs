//! Property tests over random batches of random intents from several signers, with random
//! corruption (forged signatures, expired deadlines, replays, wrong recipients, overspending,
//! unmatched swap offers). Invariants after every batch:
//! - per token, the ledger's total equals deposits minus withdrawals;
//! - no (signer, nonce) executes twice;
//! - nothing executes past its deadline or with a bad signature;
//! - a failed batch changes nothing;
//! - simulation predicts execution: same verdict, same storage deposit.
//!
//! Cases: `PROPTEST_CASES` (default 256 in CI).

mod common;
use common::*;
use outpost_protocol::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Batches that executed, batches that failed, intents executed: the run must exercise both paths.
static STATS: [AtomicUsize; 3] = [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)];

const USERS: usize = 4;

#[derive(Clone, Debug)]
enum Kind {
    Transfer { to: usize, amount: u128 },
    Withdraw { amount: u128 },
    /// A swap pair: this user gives `give` of token A for `get` of token B from user `with`,
    /// who signs the mirror offer (off by `skew`, so sometimes they do not match).
    Swap { with: usize, give: u128, get: u128, skew: i128 },
    Cancel { nonce_of: u64 },
}

#[derive(Clone, Debug)]
enum Corruption {
    None,
    ForgeSignature,
    Expired,
    WrongRecipient,
    ReplayPrevious,
}

#[derive(Clone, Debug)]
struct Spec {
    from: usize,
    kind: Kind,
    corruption: Corruption,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => (0..USERS, 1u128..400).prop_map(|(to, amount)| Kind::Transfer { to, amount }),
        2 => (1u128..300).prop_map(|amount| Kind::Withdraw { amount }),
        2 => (0..USERS, 1u128..200, 1u128..200, prop_oneof![4 => Just(0i128), 1 => -2i128..3]).prop_map(|(with, give, get, skew)| Kind::Swap { with, give, get, skew }),
        1 => (0u64..20).prop_map(|nonce_of| Kind::Cancel { nonce_of }),
    ]
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        12 => Just(Corruption::None),
        1 => Just(Corruption::ForgeSignature),
        1 => Just(Corruption::Expired),
        1 => Just(Corruption::WrongRecipient),
        1 => Just(Corruption::ReplayPrevious),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (0..USERS, kind(), corruption()).prop_map(|(from, kind, corruption)| Spec { from, kind, corruption })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

/// Builds the signed items of a batch; returns them with, per item, whether it was built to be
/// well-signed for this contract with a live deadline (the only kind allowed to execute).
fn build(users: &[User], specs: &[Spec], next_nonce: &mut u64, previous: &[SignedIntent]) -> Vec<(SignedIntent, bool)> {
    let mut items = Vec::new();
    for spec in specs {
        let user = &users[spec.from];
        *next_nonce += 1;
        let n = *next_nonce;
        let mut signed_pair: Vec<SignedIntent> = Vec::new();
        let actions = match &spec.kind {
            Kind::Transfer { to, amount } => vec![transfer(token(), *amount, &users[*to].account)],
            Kind::Withdraw { amount } => vec![withdraw(token(), *amount, &acc("exit.testnet"))],
            Kind::Swap { with, give, get, skew } => {
                // Mirror offer from the counterparty (may be the same user: then it nets itself).
                let other = &users[*with];
                *next_nonce += 1;
                let mirror = diff(&[(token(), *give as i128 + skew), (token_b(), -(*get as i128))]);
                signed_pair.push(other.sign(*next_nonce, vec![mirror]));
                vec![diff(&[(token(), -(*give as i128)), (token_b(), *get as i128)])]
            }
            Kind::Cancel { nonce_of } => {
                let mut nonce = [0u8; 32];
                nonce[..8].copy_from_slice(&nonce_of.to_le_bytes());
                nonce[8..16].copy_from_slice(&user.key.public_key().0[..8]);
                vec![Action::InvalidateNonces { nonces: vec![Nonce(nonce)] }]
            }
        };
        let mut intent = user.intent(actions);
        let mut valid = true;
        let signed = match spec.corruption {
            Corruption::None => user.sign_intent(n, &intent),
            Corruption::ForgeSignature => {
                valid = false;
                let mut s = user.sign_intent(n, &intent);
                s.signature.0[(n % 64) as usize] ^= 0x10;
                s
            }
            Corruption::Expired => {
                valid = false;
                intent.deadline = Deadline(NOW - 1);
                user.sign_intent(n, &intent)
            }
            Corruption::WrongRecipient => {
                valid = false;
                user.key.sign_intent(&intent, Nonce([n as u8; 32]), "elsewhere.testnet")
            }
            // A replay is validly signed: the nonce rule must stop it.
            Corruption::ReplayPrevious => previous.last().cloned().unwrap_or_else(|| user.sign_intent(n, &intent)),
        };
        items.push((signed, valid));
        items.extend(signed_pair.into_iter().map(|s| (s, true)));
    }
    items
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariants_hold(batches in proptest::collection::vec(proptest::collection::vec(spec(), 1..6), 1..5)) {
        let users: Vec<User> = (0..USERS as u8).map(|i| if i % 2 == 0 { User::implicit(i + 1) } else { User::named(i + 1, &format!("user{i}.testnet")) }).collect();
        let mut w = World::new();
        let mut deposited: BTreeMap<TokenId, u128> = BTreeMap::new();
        for (i, u) in users.iter().enumerate() {
            if i % 2 == 1 {
                outpost_intents::add_public_key(&mut w.storage, &u.account, u.key.public_key()).unwrap();
            }
            for (t, amount) in [(token(), 1_000u128), (token_b(), 500u128)] {
                w.deposit(&u.account, &t, amount);
                *deposited.entry(t).or_default() += amount;
            }
        }
        let mut withdrawn: BTreeMap<TokenId, u128> = BTreeMap::new();
        let mut executed_nonces: HashSet<(AccountId, Nonce)> = HashSet::new();
        let mut previous: Vec<SignedIntent> = Vec::new();
        let mut next_nonce = 0u64;

        for specs in &batches {
            let built = build(&users, specs, &mut next_nonce, &previous);
            let allowed: HashSet<IntentHash> = built.iter().filter(|(_, ok)| *ok).map(|(s, _)| nep413::Payload::of(s).hash(&DalekCrypto)).collect();
            let items: Vec<SignedIntent> = built.into_iter().map(|(s, _)| s).collect();
            let report = w.simulate(items.clone());
            let before = w.storage.clone();
            let usage_before = w.storage.usage();
            match w.execute(items.clone()) {
                Ok(out) => {
                    STATS[0].fetch_add(1, Ordering::Relaxed);
                    STATS[2].fetch_add(out.executed.len(), Ordering::Relaxed);
                    // Simulation saw no failure and asks exactly the deposit execution needs.
                    prop_assert!(report.batch_error.is_none());
                    prop_assert!(report.outcomes.iter().all(|o| o.result.is_ok()));
                    prop_assert_eq!(report.storage_deposit_needed.0, outpost_intents::execute_deposit_needed(&out, BYTE_COST));
                    prop_assert_eq!(out.storage_bytes, w.storage.usage() as i64 - usage_before as i64);
                    for e in &out.executed {
                        prop_assert!(allowed.contains(&e.intent_hash), "executed an intent with a bad signature, recipient or deadline");
                        prop_assert!(executed_nonces.insert((e.signer_id.clone(), e.nonce)), "nonce executed twice");
                    }
                    for wd in &out.withdrawals {
                        *withdrawn.entry(wd.token.clone()).or_default() += wd.amount;
                    }
                }
                Err(_) => {
                    STATS[1].fetch_add(1, Ordering::Relaxed);
                    prop_assert_eq!(&w.storage, &before, "a failed batch changed state");
                    prop_assert!(report.batch_error.is_some() || report.outcomes.iter().any(|o| !o.result.is_ok()), "simulation missed the failure");
                }
            }
            previous.extend(items);
            // Conservation per token.
            let totals = w.totals();
            for (t, d) in &deposited {
                let key = borsh::to_vec(t).unwrap();
                let held = totals.get(&key).copied().unwrap_or(0);
                prop_assert_eq!(held, d - withdrawn.get(t).copied().unwrap_or(0), "token {} not conserved", t);
            }
        }
    }
}

#[test]
fn invariants_cover_success_and_failure() {
    // Runs the property in this test too so the counters see it regardless of test order.
    ledger_invariants_hold();
    let (ok, failed, intents) = (STATS[0].load(Ordering::Relaxed), STATS[1].load(Ordering::Relaxed), STATS[2].load(Ordering::Relaxed));
    println!("batches executed: {ok}, batches rejected: {failed}, intents executed: {intents}");
    assert!(ok > 0 && failed > 0 && intents > ok, "the generator must exercise both paths");
}
