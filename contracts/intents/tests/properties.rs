//! Property tests over random batches of random intents from several signers, with random
//! corruption (forged signatures, expired deadlines, replays, wrong recipients, overspending,
//! unmatched swap offers). Invariants after every batch:
//! - per token, the ledger's total equals deposits minus withdrawals;
//! - no (signer, nonce) executes twice;
//! - nothing executes past its deadline or with a bad signature;
//! - a failed batch changes nothing;
//! - simulation predicts execution: same verdict, same charge to the caller;
//! - (v2) fees move from signer to caller, the caller's ledger NEAR pays exactly the storage the
//!   batch adds plus 1 yocto per NEP-141 withdrawal, and the NEAR the contract holds is always at
//!   least the ledger's NEAR plus the storage staked (the contract never pays).
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
    WithdrawNear { amount: u128 },
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
    /// A relayer fee in token A (None: no fee).
    fee: Option<u128>,
}

/// Who calls a batch (a relayer or one of the users) and what it attaches.
#[derive(Clone, Debug)]
struct Caller {
    who: Option<usize>,
    attached: u128,
}

fn caller() -> impl Strategy<Value = Caller> {
    (prop_oneof![3 => Just(None), 1 => (0..USERS).prop_map(Some)], prop_oneof![3 => Just(0u128), 1 => 1u128..20_000_000_000_000_000_000_000])
        .prop_map(|(who, attached)| Caller { who, attached })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => (0..USERS, 1u128..400).prop_map(|(to, amount)| Kind::Transfer { to, amount }),
        2 => (1u128..300).prop_map(|amount| Kind::Withdraw { amount }),
        1 => (1u128..300).prop_map(|amount| Kind::WithdrawNear { amount }),
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
    (0..USERS, kind(), corruption(), prop_oneof![2 => Just(None), 1 => (1u128..50).prop_map(Some)])
        .prop_map(|(from, kind, corruption, fee)| Spec { from, kind, corruption, fee })
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
            Kind::WithdrawNear { amount } => vec![withdraw(TokenId::Near, *amount, &acc("exit.testnet"))],
            Kind::Swap { with, give, get, skew } => {
                // Mirror offer from the counterparty (may be the same user: then it nets itself).
                let other = &users[*with];
                *next_nonce += 1;
                let mirror = diff(&[(token(), *give as i128 + skew), (token_b(), -(*get as i128))]);
                signed_pair.push(other.sign(*next_nonce, vec![mirror]));
                vec![diff(&[(token(), -(*give as i128)), (token_b(), *get as i128)])]
            }
            Kind::Cancel { nonce_of } => vec![Action::InvalidateNonces { nonces: vec![user.nonce(*nonce_of, NOW + HOUR)] }],
        };
        let mut intent = user.intent(actions);
        intent.fee = spec.fee.map(|amount| Fee { token: token(), amount: Amount(amount) });
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
                user.key.sign_intent(&intent, user.nonce(n, NOW + HOUR), "elsewhere.testnet")
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
    fn ledger_invariants_hold(batches in proptest::collection::vec((proptest::collection::vec(spec(), 1..6), caller()), 1..5)) {
        let users: Vec<User> = (0..USERS as u8).map(|i| if i % 2 == 0 { User::implicit(i + 1) } else { User::named(i + 1, &format!("user{i}.testnet")) }).collect();
        let mut w = World::bare();
        let mut deposited: BTreeMap<TokenId, u128> = BTreeMap::new();
        // A little ledger NEAR each (enough for a few records), the relayer a bit more: callers
        // sometimes cannot pay, which must fail the batch and change nothing.
        for (account, near) in users.iter().map(|u| (u.account.clone(), 3_000_000_000_000_000_000_000u128)).chain([(acc(RELAYER), 20_000_000_000_000_000_000_000)]) {
            w.deposit(&account, &TokenId::Near, near);
            *deposited.entry(TokenId::Near).or_default() += near;
        }
        for (i, u) in users.iter().enumerate() {
            if i % 2 == 1 {
                outpost_intents::add_public_key(&mut w.storage, &u.account, u.key.public_key()).unwrap();
            }
            for (t, amount) in [(token(), 1_000u128), (token_b(), 500u128)] {
                w.deposit(&u.account, &t, amount);
                *deposited.entry(t).or_default() += amount;
            }
        }
        // What the contract account holds in NEAR: the setup's records were paid by someone, so
        // it starts at ledger NEAR plus storage staked, and changes only by attached deposits and
        // what withdrawals send out (NEAR amounts, 1 yocto per ft_transfer).
        let mut contract_near = w.ledger_near() + w.storage.usage() as u128 * BYTE_COST;
        let mut withdrawn: BTreeMap<TokenId, u128> = BTreeMap::new();
        let mut executed_nonces: HashSet<(AccountId, Nonce)> = HashSet::new();
        let mut previous: Vec<SignedIntent> = Vec::new();
        let mut next_nonce = 0u64;

        for (specs, who) in &batches {
            w.caller = who.who.map(|i| users[i].account.clone()).unwrap_or_else(|| acc(RELAYER));
            w.attached = who.attached;
            let built = build(&users, specs, &mut next_nonce, &previous);
            let allowed: HashSet<IntentHash> = built.iter().filter(|(_, ok)| *ok).map(|(s, _)| nep413::Payload::of(s).hash(&DalekCrypto)).collect();
            let items: Vec<SignedIntent> = built.into_iter().map(|(s, _)| s).collect();
            let report = w.simulate(items.clone());
            let before = w.storage.clone();
            let usage_before = w.storage.usage();
            let caller_near_before = w.balance(&w.caller, &TokenId::Near);
            let caller_token_before = w.balance(&w.caller, &token());
            match w.execute(items.clone()) {
                Ok(out) => {
                    STATS[0].fetch_add(1, Ordering::Relaxed);
                    STATS[2].fetch_add(out.executed.len(), Ordering::Relaxed);
                    // Simulation saw no failure and charges exactly what execution charged.
                    prop_assert!(report.batch_error.is_none());
                    prop_assert!(report.outcomes.iter().all(|o| o.result.is_ok()));
                    prop_assert_eq!(report.caller_charge.0, out.caller_charge);
                    prop_assert_eq!(out.storage_bytes, w.storage.usage() as i64 - usage_before as i64);
                    // The caller pays exactly the storage added plus 1 yocto per ft_transfer
                    // (or is credited freed storage), after its attached deposit was credited.
                    let nep141 = out.nep141_withdrawals() as i128;
                    let expected = if out.storage_bytes > 0 || nep141 > 0 {
                        (out.storage_bytes.max(0) as i128 * BYTE_COST as i128 + nep141 - (out.storage_bytes.min(0).abs() as i128 * BYTE_COST as i128)).max(0)
                    } else {
                        out.caller_charge
                    };
                    prop_assert_eq!(out.caller_charge, expected);
                    // Fees (token A) moved to the caller: its token balance grew by the fees of
                    // the intents others signed, net of its own transfers; check via the report.
                    let executed: HashSet<IntentHash> = out.executed.iter().map(|e| e.intent_hash).collect();
                    let mut counted: HashSet<IntentHash> = HashSet::new();
                    let fee_total: u128 = items.iter()
                        .filter(|s| { let h = nep413::Payload::of(s).hash(&DalekCrypto); executed.contains(&h) && counted.insert(h) })
                        .filter_map(|s| validate::decode_intent(&s.message).ok())
                        .filter_map(|i| i.fee.map(|f| f.amount.0)).sum();
                    if fee_total > 0 && !users.iter().any(|u| u.account == w.caller) {
                        prop_assert_eq!(w.balance(&w.caller, &token()), caller_token_before + fee_total, "the relayer received every fee");
                    }
                    let near_now = w.balance(&w.caller, &TokenId::Near) as i128;
                    if !users.iter().any(|u| u.account == w.caller) {
                        prop_assert_eq!(near_now, caller_near_before as i128 + who.attached as i128 - out.caller_charge, "the relayer's NEAR");
                    }
                    contract_near += who.attached;
                    contract_near -= out.nep141_withdrawals();
                    for e in &out.executed {
                        prop_assert!(allowed.contains(&e.intent_hash), "executed an intent with a bad signature, recipient or deadline");
                        prop_assert!(executed_nonces.insert((e.signer_id.clone(), e.nonce)), "nonce executed twice");
                    }
                    for wd in &out.withdrawals {
                        *withdrawn.entry(wd.token.clone()).or_default() += wd.amount;
                        if wd.token == TokenId::Near {
                            contract_near -= wd.amount;
                        }
                    }
                }
                Err(_) => {
                    STATS[1].fetch_add(1, Ordering::Relaxed);
                    prop_assert_eq!(&w.storage, &before, "a failed batch changed state");
                    prop_assert!(report.batch_error.is_some() || report.outcomes.iter().any(|o| !o.result.is_ok()), "simulation missed the failure");
                }
            }
            previous.extend(items);
            // Conservation per token (NEAR: also storage paid out of the ledger, and attached
            // deposits paid in).
            let totals = w.totals();
            for (t, d) in &deposited {
                if *t == TokenId::Near {
                    continue;
                }
                let key = borsh::to_vec(t).unwrap();
                let held = totals.get(&key).copied().unwrap_or(0);
                prop_assert_eq!(held, d - withdrawn.get(t).copied().unwrap_or(0), "token {} not conserved", t);
            }
            // The contract never pays: its NEAR covers the ledger's NEAR and the storage staked.
            let staked = w.storage.usage() as u128 * BYTE_COST;
            prop_assert!(contract_near >= w.ledger_near() + staked, "contract holds {} < ledger {} + staked {}", contract_near, w.ledger_near(), staked);
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
