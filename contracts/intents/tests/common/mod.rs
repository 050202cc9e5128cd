//! Shared fixtures: a ledger in memory, signers, and intent builders.
#![allow(dead_code)]

use outpost_intents::engine::{BatchOutcome, ChainEnv};
use outpost_intents::storage::MemoryStorage;
use outpost_protocol::abi::{BatchFailure, SimulationReport};
use outpost_protocol::*;
use std::collections::BTreeMap;

pub const CONTRACT: &str = "intents.outpost.testnet";
pub const NOW: u64 = 1_800_000_000_000_000_000;
pub const HOUR: u64 = 3_600_000_000_000;
pub const BYTE_COST: u128 = 10_000_000_000_000_000_000;
pub const NEAR: u128 = 1_000_000_000_000_000_000_000_000;
/// The account that calls `execute_intents` unless a test says otherwise.
pub const RELAYER: &str = "relayer.testnet";

pub fn token() -> TokenId {
    TokenId::Nep141("token.outpost.testnet".parse().unwrap())
}
pub fn token_b() -> TokenId {
    TokenId::Nep141("usdc.outpost.testnet".parse().unwrap())
}
pub fn acc(s: &str) -> AccountId {
    s.parse().unwrap()
}

/// A user: a key and the account it signs for (implicit unless named).
#[derive(Clone, Debug)]
pub struct User {
    pub key: SecretKey,
    pub account: AccountId,
}

impl User {
    pub fn implicit(seed: u8) -> Self {
        let key = SecretKey::from_seed([seed; 32]);
        User { account: key.public_key().implicit_account_id(), key }
    }
    /// An implicit account for any of 2^32 seeds (batches larger than 255 users).
    pub fn implicit_n(n: u32) -> Self {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&n.to_le_bytes());
        let key = SecretKey::from_seed(seed);
        User { account: key.public_key().implicit_account_id(), key }
    }
    pub fn named(seed: u8, name: &str) -> Self {
        User { key: SecretKey::from_seed([seed; 32]), account: acc(name) }
    }
    pub fn intent(&self, actions: Vec<Action>) -> Intent {
        Intent { signer_id: self.account.clone(), deadline: Deadline(NOW + HOUR), actions, fee: None }
    }
    /// A v2 nonce expiring at `expiry`, its random part derived from `n` and the key.
    pub fn nonce(&self, n: u64, expiry: u64) -> Nonce {
        let mut random = [0u8; 24];
        random[..8].copy_from_slice(&n.to_le_bytes());
        random[8..16].copy_from_slice(&self.key.public_key().0[..8]);
        Nonce::new(expiry, random)
    }
    /// Signs with a nonce derived from `n`.
    pub fn sign(&self, n: u64, actions: Vec<Action>) -> SignedIntent {
        self.sign_intent(n, &self.intent(actions))
    }
    /// Signs with a nonce derived from `n` that expires with the intent's deadline.
    pub fn sign_intent(&self, n: u64, intent: &Intent) -> SignedIntent {
        self.key.sign_intent(intent, self.nonce(n, intent.deadline.0), CONTRACT)
    }
}

pub fn transfer(token: TokenId, amount: u128, to: &AccountId) -> Action {
    Action::Transfer { token, amount: Amount(amount), receiver_id: to.clone(), memo: None }
}
pub fn withdraw(token: TokenId, amount: u128, to: &AccountId) -> Action {
    Action::Withdraw { token, amount: Amount(amount), receiver_id: to.clone(), memo: None }
}
pub fn diff(entries: &[(TokenId, i128)]) -> Action {
    Action::TokenDiff { diff: entries.iter().map(|(t, v)| (t.clone(), SignedAmount(*v))).collect() }
}

/// A ledger in memory with a clock and the caller of the next batch.
#[derive(Clone)]
pub struct World {
    pub storage: MemoryStorage,
    pub now: u64,
    pub caller: AccountId,
    /// yoctoNEAR attached to the next `execute`.
    pub attached: u128,
}

impl World {
    /// A ledger where the relayer has deposited 1 NEAR to pay for storage.
    pub fn new() -> Self {
        let mut w = World::bare();
        w.deposit(&acc(RELAYER), &TokenId::Near, NEAR);
        w
    }
    /// An empty ledger.
    pub fn bare() -> Self {
        World { storage: MemoryStorage::default(), now: NOW, caller: acc(RELAYER), attached: 0 }
    }
    pub fn env(&self) -> ChainEnv {
        ChainEnv {
            contract_id: CONTRACT.into(),
            now_ns: self.now,
            caller: self.caller.clone(),
            attached: self.attached,
            storage_byte_cost: BYTE_COST,
        }
    }
    pub fn deposit(&mut self, account: &AccountId, token: &TokenId, amount: u128) {
        outpost_intents::deposit(&mut self.storage, account, token, amount).unwrap();
    }
    pub fn balance(&self, account: &AccountId, token: &TokenId) -> u128 {
        outpost_intents::ledger::Ledger(outpost_intents::storage::Overlay::new(&self.storage)).balance(account, token)
    }
    pub fn execute(&mut self, items: Vec<SignedIntent>) -> Result<BatchOutcome, BatchFailure> {
        let env = self.env();
        outpost_intents::execute(&mut self.storage, DalekCrypto, env, items.into_iter().map(Ok).collect())
    }
    pub fn simulate(&self, items: Vec<SignedIntent>) -> SimulationReport {
        outpost_intents::simulate(&self.storage, DalekCrypto, self.env(), items.into_iter().map(Ok).collect())
    }
    /// Executes and expects the failure `code` at item `index` (None: batch-wide), with no change.
    #[track_caller]
    pub fn expect_failure(&mut self, items: Vec<SignedIntent>, index: Option<u32>, code: ErrorCode) -> IntentError {
        let before = self.storage.clone();
        let failure = self.execute(items).expect_err("the batch should fail");
        assert_eq!(self.storage, before, "a failed batch must change nothing");
        match (failure, index) {
            (BatchFailure::Item { index: got, error }, Some(want)) => {
                assert_eq!((got, error.code), (want, code), "{error}");
                error
            }
            (BatchFailure::Batch(error), None) => {
                assert_eq!(error.code, code, "{error}");
                error
            }
            (other, _) => panic!("unexpected failure {other}"),
        }
    }
    /// The sum of every account's ledger NEAR.
    pub fn ledger_near(&self) -> u128 {
        self.totals().get(&borsh::to_vec(&TokenId::Near).unwrap()).copied().unwrap_or(0)
    }
    /// Every balance in the ledger, per token.
    pub fn totals(&self) -> BTreeMap<Vec<u8>, u128> {
        let mut totals = BTreeMap::new();
        for (k, v) in &self.storage.0 {
            if k[0] == b'b' {
                // Key: 'b' + borsh(account) + borsh(token); group by the token part.
                let account_len = u32::from_le_bytes(k[1..5].try_into().unwrap()) as usize;
                let token_key = k[5 + account_len..].to_vec();
                *totals.entry(token_key).or_insert(0) += u128::from_le_bytes(v[..16].try_into().unwrap());
            }
        }
        totals
    }
}
