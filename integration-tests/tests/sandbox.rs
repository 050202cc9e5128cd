//! Tier 2: every flow end to end on a real NEAR sandbox (near-workspaces), with real receipts:
//! deposits through NEP-141 `ft_transfer_call`, intents signed offline (natively, no RPC before
//! submission) and submitted by a third account, transfers, a swap, withdrawals (one refunded),
//! rejections with their codes, simulate vs execute, events read from receipt logs, and the
//! p2p relayer's own code (simulate, batch, sign, send, record) settling an intent.
//!
//! Runs when NEAR_SANDBOX_BIN_PATH names a sandbox binary, or with OUTPOST_SANDBOX_DOWNLOAD=1 on a
//! machine that may download one; otherwise prints why and reports every flow as skipped (tests
//! never reach outside 127.0.0.1 unless asked to). One sandbox is shared; each flow deploys its own contracts on its own
//! sub-accounts, so flows cannot see each other's state.

use near_workspaces::network::Sandbox;
use near_workspaces::result::ExecutionFinalResult;
use near_workspaces::types::NearToken;
use near_workspaces::{Account, Contract, Worker};
use outpost_integration_tests::load_wasm;
use outpost_integration_tests::tier2::{self, Flow};
use outpost_protocol::abi::SimulationReport;
use outpost_protocol::{Action, Amount, Deadline, Intent, Nonce, SecretKey, SignedAmount, SignedIntent, TokenId};
use serde_json::{json, Value};

const FLOWS: &[Flow<Worker<Sandbox>>] = &[
    Flow { needs: None, name: "deposit_through_ft_transfer_call", run: |w| Box::pin(deposit_through_ft_transfer_call(w)) },
    Flow { needs: None, name: "offline_signed_transfer_and_swap", run: |w| Box::pin(offline_signed_transfer_and_swap(w)) },
    Flow { needs: None, name: "withdraw_and_refund", run: |w| Box::pin(withdraw_and_refund(w)) },
    Flow { needs: None, name: "rejections_carry_codes", run: |w| Box::pin(rejections_carry_codes(w)) },
    Flow { needs: None, name: "simulate_agrees_with_execute", run: |w| Box::pin(simulate_agrees_with_execute(w)) },
    Flow { needs: None, name: "relayer_settles_a_gossiped_intent", run: |w| Box::pin(relayer_settles_a_gossiped_intent(w)) },
    Flow { needs: None, name: "deposit_then_pay_at_once_through_the_relayer", run: |w| Box::pin(deposit_then_pay_at_once_through_the_relayer(w)) },
    Flow { needs: None, name: "relayer_on_a_function_call_key_collects_its_fees", run: |w| Box::pin(relayer_on_a_function_call_key_collects_its_fees(w)) },
    Flow { needs: None, name: "two_relayers_settle_one_gossip_stream", run: |w| Box::pin(two_relayers_settle_one_gossip_stream(w)) },
    Flow { needs: None, name: "run_sh_stops_cleanly_on_sigterm_and_sigint", run: |_| Box::pin(run_sh_stops_cleanly_on_sigterm_and_sigint()) },
    Flow {
        needs: Some(journey::prerequisites),
        name: "dapp_wallet_journey_through_a_real_relayer",
        run: |w| Box::pin(journey::dapp_wallet_journey_through_a_real_relayer(w)),
    },
];

fn main() {
    tier2::sandbox_suite("sandbox", FLOWS)
}

// ---- fixtures ----

struct Setup {
    owner: Account,
    token: Contract,
    intents: Contract,
    relayer: Account,
}

async fn setup(worker: &Worker<Sandbox>) -> Setup {
    let owner = worker.dev_create_account().await.expect("dev account");
    let sub = |name: &'static str, near: u128| {
        let owner = owner.clone();
        async move { owner.create_subaccount(name).initial_balance(NearToken::from_near(near)).transact().await.unwrap().into_result().unwrap() }
    };
    let token = sub("token", 5).await.deploy(&load_wasm("outpost-token")).await.unwrap().into_result().unwrap();
    let intents = sub("intents", 8).await.deploy(&load_wasm("outpost-intents")).await.unwrap().into_result().unwrap();
    let relayer = sub("relayer", 10).await;
    let metadata = json!({"spec": "ft-1.0.0", "name": "Outpost Dollar", "symbol": "ODOL", "decimals": 6});
    ok(token.call("new").args_json(json!({"owner_id": owner.id(), "total_supply": "1000000000", "metadata": metadata})).transact().await);
    ok(intents.call("new").args_json(json!({"owner_id": owner.id()})).transact().await);
    ok(owner.call(token.id(), "storage_deposit").args_json(json!({"account_id": intents.id()})).deposit(NearToken::from_millinear(13)).transact().await);
    // v2: execute_intents takes no deposit; the relayer's NEAR in the ledger pays storage. The
    // owner's pays the new records its ft_transfer_call deposits create for others (`fund`).
    ok(relayer.call(intents.id(), "deposit").args_json(json!({})).deposit(NearToken::from_near(1)).transact().await);
    ok(owner.call(intents.id(), "deposit").args_json(json!({})).deposit(NearToken::from_near(1)).transact().await);
    Setup { owner, token, intents, relayer }
}

/// Asserts the transaction and every receipt succeeded.
#[track_caller]
fn ok(result: near_workspaces::Result<ExecutionFinalResult>) {
    let _ = succeeded(result);
}

/// As [`ok`], returning the result to inspect logs and events.
#[track_caller]
fn succeeded(result: near_workspaces::Result<ExecutionFinalResult>) -> ExecutionFinalResult {
    let r = result.expect("RPC");
    assert!(r.is_success(), "transaction failed: {:?}", r.clone().into_result().err());
    assert!(r.receipt_failures().is_empty(), "a receipt failed: {:?}", r.receipt_failures());
    r
}

fn events(r: &ExecutionFinalResult, name: &str) -> Vec<Value> {
    r.logs()
        .iter()
        .filter_map(|l| l.strip_prefix("EVENT_JSON:"))
        .map(|j| serde_json::from_str::<Value>(j).unwrap())
        .filter(|e| e["event"] == name)
        .collect()
}

/// A user who only ever signs: an implicit account that never sends a transaction.
struct Signer {
    key: SecretKey,
    account: String,
}

impl Signer {
    fn new(seed: u8) -> Self {
        let key = SecretKey::from_seed([seed; 32]);
        Signer { account: key.public_key().implicit_account_id().to_string(), key }
    }
    /// Signs offline: nothing here touches the network.
    fn sign(&self, s: &Setup, n: u8, deadline_ns: u64, actions: Vec<Action>) -> SignedIntent {
        self.sign_paying(s, n, deadline_ns, actions, None)
    }
    /// As [`sign`](Self::sign), offering the relayer `fee`.
    fn sign_paying(&self, s: &Setup, n: u8, deadline_ns: u64, actions: Vec<Action>, fee: Option<outpost_protocol::Fee>) -> SignedIntent {
        let intent = Intent { signer_id: self.account.parse().unwrap(), deadline: Deadline(deadline_ns), actions, fee };
        // v2 nonce: expires with the deadline (an already-expired deadline gets an hour, so the
        // deadline rule is what refuses it).
        self.key.sign_intent(&intent, Nonce::new(deadline_ns.max(in_one_hour()), [n; 24]), s.intents.id().as_str())
    }
}

fn in_one_hour() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    now + 3_600_000_000_000
}

fn odol(s: &Setup) -> TokenId {
    TokenId::Nep141(s.token.id().as_str().parse().unwrap())
}

async fn ledger(s: &Setup, account: &str, token: &TokenId) -> u128 {
    let v: String = s.intents.view("get_balance").args_json(json!({"account_id": account, "token": token})).await.unwrap().json().unwrap();
    v.parse().unwrap()
}

async fn ft_balance(s: &Setup, account: &str) -> u128 {
    let v: String = s.token.view("ft_balance_of").args_json(json!({"account_id": account})).await.unwrap().json().unwrap();
    v.parse().unwrap()
}

/// Gives a signer NEAR in the ledger and, when `odol_amount` is not zero, ODOL (NEP-141 refuses
/// a zero transfer), both paid and sent by the token owner.
async fn fund(s: &Setup, who: &str, odol_amount: u128) {
    ok(s.owner.call(s.intents.id(), "deposit").args_json(json!({"receiver_id": who})).deposit(NearToken::from_millinear(100)).transact().await);
    if odol_amount == 0 {
        return;
    }
    ok(s.owner
        .call(s.token.id(), "ft_transfer_call")
        .args_json(json!({"receiver_id": s.intents.id(), "amount": odol_amount.to_string(), "msg": json!({"receiver_id": who}).to_string()}))
        .deposit(NearToken::from_yoctonear(1))
        .max_gas()
        .transact()
        .await);
}

async fn simulate(s: &Setup, items: &[SignedIntent]) -> SimulationReport {
    s.intents.view("simulate_intents").args_json(json!({"signed": items, "caller_id": s.relayer.id()})).await.unwrap().json().unwrap()
}

/// The relayer submits with no deposit (v2: its ledger NEAR pays).
async fn submit(s: &Setup, items: &[SignedIntent]) -> near_workspaces::Result<ExecutionFinalResult> {
    s.relayer.call(s.intents.id(), "execute_intents").args_json(json!({"signed": items})).max_gas().transact().await
}

// ---- flows ----

async fn deposit_through_ft_transfer_call(worker: Worker<Sandbox>) {
    let s = setup(&worker).await;
    let carol = s.owner.create_subaccount("carol").initial_balance(NearToken::from_near(3)).transact().await.unwrap().into_result().unwrap();
    ok(carol.call(s.token.id(), "storage_deposit").args_json(json!({})).deposit(NearToken::from_millinear(13)).transact().await);
    ok(s.owner.call(s.token.id(), "ft_transfer").args_json(json!({"receiver_id": carol.id(), "amount": "1000"})).deposit(NearToken::from_yoctonear(1)).transact().await);
    // NEAR in the ledger first: it pays the storage of carol's new ODOL record.
    ok(carol.call(s.intents.id(), "deposit").args_json(json!({})).deposit(NearToken::from_millinear(50)).transact().await);
    let r = succeeded(carol
        .call(s.token.id(), "ft_transfer_call")
        .args_json(json!({"receiver_id": s.intents.id(), "amount": "600", "msg": ""}))
        .deposit(NearToken::from_yoctonear(1))
        .max_gas()
        .transact()
        .await);
    let deposit = events(&r, "deposit");
    assert_eq!(deposit.len(), 1, "{:?}", r.logs());
    assert_eq!(deposit[0]["data"][0]["amount"], "600");
    assert_eq!(ledger(&s, carol.id().as_str(), &odol(&s)).await, 600);
    assert_eq!(ft_balance(&s, carol.id().as_str()).await, 400);
    assert_eq!(ft_balance(&s, s.intents.id().as_str()).await, 600);
    // A malformed msg: the ledger returns everything and the token refunds it.
    let r = succeeded(carol
        .call(s.token.id(), "ft_transfer_call")
        .args_json(json!({"receiver_id": s.intents.id(), "amount": "100", "msg": "{not json"}))
        .deposit(NearToken::from_yoctonear(1))
        .max_gas()
        .transact()
        .await);
    assert!(r.logs().iter().any(|l| l.contains("MALFORMED_DEPOSIT_MESSAGE")), "{:?}", r.logs());
    assert_eq!(ft_balance(&s, carol.id().as_str()).await, 400);
    assert_eq!(ledger(&s, carol.id().as_str(), &odol(&s)).await, 600);
}

async fn offline_signed_transfer_and_swap(worker: Worker<Sandbox>) {
    let s = setup(&worker).await;
    let (alice, bob) = (Signer::new(1), Signer::new(2));
    fund(&s, &alice.account, 1_000).await;
    fund(&s, &bob.account, 0).await;
    let deadline = in_one_hour();
    // Both sign before anything is submitted.
    let pay = alice.sign(&s, 1, deadline, vec![Action::Transfer { token: odol(&s), amount: Amount(250), receiver_id: bob.account.parse().unwrap(), memo: Some("rent".into()) }]);
    let offer = |u: &Signer, n, o: i128, near: i128| u.sign(&s, n, deadline, vec![Action::TokenDiff { diff: [(odol(&s), SignedAmount(o)), (TokenId::Near, SignedAmount(near))].into() }]);
    let swap = [offer(&alice, 2, -100, 1_000_000), offer(&bob, 2, 100, -1_000_000)];
    let near_before = (ledger(&s, &alice.account, &TokenId::Near).await, ledger(&s, &bob.account, &TokenId::Near).await);

    let r = succeeded(submit(&s, &[pay.clone()]).await);
    let executed = events(&r, "executed");
    assert_eq!(executed[0]["data"]["h"], json!([outpost_protocol::nep413::Payload::of(&pay).hash(&outpost_protocol::DalekCrypto).to_string()]));
    assert_eq!(ledger(&s, &bob.account, &odol(&s)).await, 250);

    let r = succeeded(submit(&s, &swap).await);
    assert_eq!(events(&r, "executed")[0]["data"]["h"].as_array().unwrap().len(), 2);
    assert_eq!(ledger(&s, &alice.account, &odol(&s)).await, 650);
    assert_eq!(ledger(&s, &bob.account, &odol(&s)).await, 350);
    assert_eq!(ledger(&s, &alice.account, &TokenId::Near).await, near_before.0 + 1_000_000);
    assert_eq!(ledger(&s, &bob.account, &TokenId::Near).await, near_before.1 - 1_000_000);
}

async fn withdraw_and_refund(worker: Worker<Sandbox>) {
    let s = setup(&worker).await;
    let alice = Signer::new(3);
    fund(&s, &alice.account, 1_000).await;
    let deadline = in_one_hour();
    // To the owner (registered with the token): real tokens arrive.
    let before = ft_balance(&s, s.owner.id().as_str()).await;
    let out = alice.sign(&s, 1, deadline, vec![Action::Withdraw { token: odol(&s), amount: Amount(300), receiver_id: s.owner.id().as_str().parse().unwrap(), memo: None }]);
    let r = succeeded(submit(&s, &[out]).await);
    assert_eq!(events(&r, "executed")[0]["data"]["h"].as_array().unwrap().len(), 1);
    assert_eq!(ft_balance(&s, s.owner.id().as_str()).await, before + 300);
    assert_eq!(ledger(&s, &alice.account, &odol(&s)).await, 700);
    // To an account the token does not know: ft_transfer fails, the callback refunds once.
    let nobody = format!("nobody.{}", s.owner.id());
    let out = alice.sign(&s, 2, deadline, vec![Action::Withdraw { token: odol(&s), amount: Amount(200), receiver_id: nobody.parse().unwrap(), memo: None }]);
    let r = submit(&s, &[out]).await.unwrap();
    assert!(r.is_success(), "the batch itself succeeds: {:?}", r.clone().into_result().err());
    assert_eq!(r.receipt_failures().len(), 1, "only the ft_transfer receipt fails");
    assert_eq!(events(&r, "withdraw_refund").len(), 1, "{:?}", r.logs());
    assert_eq!(ledger(&s, &alice.account, &odol(&s)).await, 700);
    assert_eq!(ft_balance(&s, s.intents.id().as_str()).await, 700, "the ledger still holds the refunded tokens");
}

async fn rejections_carry_codes(worker: Worker<Sandbox>) {
    let s = setup(&worker).await;
    let alice = Signer::new(4);
    fund(&s, &alice.account, 100).await;
    let pay = |n, deadline| alice.sign(&s, n, deadline, vec![Action::Transfer { token: odol(&s), amount: Amount(1), receiver_id: "bob.test.near".parse().unwrap(), memo: None }]);
    let first = pay(1, in_one_hour());
    ok(submit(&s, &[first.clone()]).await);
    let mut forged = pay(2, in_one_hour());
    forged.signature.0[0] ^= 1;
    for (items, code) in [(vec![first], "intent #0: NONCE_USED"), (vec![pay(3, 1)], "intent #0: DEADLINE_EXPIRED"), (vec![forged], "intent #0: SIGNATURE_INVALID")] {
        let r = s.relayer.call(s.intents.id(), "execute_intents").args_json(json!({"signed": items})).max_gas().transact().await.unwrap();
        let err = format!("{:?}", r.into_result().expect_err("must fail"));
        assert!(err.contains(code), "want {code}: {err}");
        let failure = outpost_protocol::abi::BatchFailure::find_in(&err).expect("parsable failure");
        assert!(failure.to_string().starts_with(code));
    }
    assert_eq!(ledger(&s, &alice.account, &odol(&s)).await, 99);
}

async fn simulate_agrees_with_execute(worker: Worker<Sandbox>) {
    let s = setup(&worker).await;
    let (alice, bob) = (Signer::new(5), Signer::new(6));
    fund(&s, &alice.account, 500).await;
    let deadline = in_one_hour();
    let items = vec![
        alice.sign(&s, 1, deadline, vec![Action::Transfer { token: odol(&s), amount: Amount(120), receiver_id: bob.account.parse().unwrap(), memo: None }]),
        alice.sign(&s, 2, deadline, vec![Action::AddPublicKey { public_key: SecretKey::from_seed([60; 32]).public_key() }]),
    ];
    let report = simulate(&s, &items).await;
    assert!(report.outcomes.iter().all(|o| o.result.is_ok()), "{report:?}");
    let before = balances_of(&s, &report).await;
    // No deposit: the relayer's ledger NEAR pays exactly the simulated charge.
    ok(submit(&s, &items).await);
    for (c, was) in report.balance_changes.iter().zip(before) {
        let now = ledger(&s, c.account_id.as_str(), &c.token).await;
        assert_eq!(now as i128 - was as i128, c.delta.0, "{c:?}");
    }
    for item in &items {
        let used: bool = s.intents.view("is_nonce_used").args_json(json!({"account_id": alice.account, "nonce": item.nonce})).await.unwrap().json().unwrap();
        assert!(used);
    }
    let keys: Vec<String> = s.intents.view("public_keys_of").args_json(json!({"account_id": alice.account})).await.unwrap().json().unwrap();
    assert_eq!(keys, vec![alice.key.public_key().to_string(), SecretKey::from_seed([60; 32]).public_key().to_string()]);
    // And the same batch again is refused item by item in simulation.
    let again = simulate(&s, &items).await;
    assert!(again.outcomes.iter().all(|o| o.result.code() == Some(outpost_protocol::ErrorCode::NonceUsed)));
}

async fn balances_of(s: &Setup, report: &SimulationReport) -> Vec<u128> {
    let mut out = Vec::new();
    for c in &report.balance_changes {
        out.push(ledger(s, c.account_id.as_str(), &c.token).await);
    }
    out
}

/// The relayer from `p2p/` with its own store, as `outpost-node --relayer` runs it, re-checking
/// "not now" intents every few hundred ms instead of seconds.
struct TestRelayer {
    relayer: outpost_p2p::relayer::Relayer<outpost_p2p::relayer::chain::RpcChainClient, outpost_p2p::relayer::StatusLog>,
    store: std::sync::Arc<outpost_p2p::relayer::store::Store>,
    status: outpost_p2p::relayer::StatusLog,
    dir: std::path::PathBuf,
}

impl TestRelayer {
    /// A relayer signing as `account` with `key` (its full-access key, or a function-call key).
    fn new(worker: &Worker<Sandbox>, s: &Setup, account: &Account, key: near_crypto::SecretKey, name: &str) -> Self {
        use outpost_p2p::relayer::{chain::RpcChainClient, store::Store, Relayer, RelayerConfig, StatusLog};
        // near-primitives' account id type (the relayer's), parsed from text.
        let relayer_id: near_primitives::types::AccountId = account.id().as_str().parse().unwrap();
        let contract: near_primitives::types::AccountId = s.intents.id().as_str().parse().unwrap();
        let dir = std::env::temp_dir().join(format!("outpost-relayer-{}-{name}-{}", std::process::id(), s.intents.id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = std::sync::Arc::new(Store::open(&dir.join("relayer.redb")).unwrap());
        let chain = RpcChainClient::new(&worker.rpc_addr(), contract.clone(), relayer_id.clone(), key.public_key());
        let status = StatusLog::default();
        let mut config = RelayerConfig::new(relayer_id, key, contract);
        config.recheck = (std::time::Duration::from_millis(200), std::time::Duration::from_millis(800));
        // A key added a moment ago may not be visible at `final` yet: a halt is retried soon.
        config.halt_backoff = (std::time::Duration::from_millis(500), std::time::Duration::from_secs(2));
        config.status_poll = std::time::Duration::from_millis(300);
        let relayer = Relayer::new(config, chain, store.clone(), status.clone());
        TestRelayer { relayer, store, status, dir }
    }

    /// Takes intents as the node hands them over after gossip: into the store.
    fn take(&self, items: &[SignedIntent]) -> Vec<outpost_protocol::IntentHash> {
        let with_hashes: Vec<_> =
            items.iter().map(|i| (outpost_protocol::nep413::Payload::of(i).hash(&outpost_protocol::DalekCrypto), i.clone())).collect();
        self.store.add_pending(&with_hashes, outpost_p2p::validate::now_ns()).unwrap();
        with_hashes.into_iter().map(|(h, _)| h).collect()
    }

    /// Settlement rounds until every one of `hashes` has ended, at most `rounds` rounds apart by
    /// `pause`; returns their final states.
    async fn settle(&mut self, hashes: &[outpost_protocol::IntentHash], rounds: usize) -> Vec<outpost_p2p::relayer::store::State> {
        use outpost_p2p::relayer::store::State;
        let mut last_error = None;
        for _ in 0..rounds {
            // A round may fail and be retried (a key not yet final, a transient RPC error), as
            // the node's run loop does; the intents' end states decide.
            if let Err(e) = self.relayer.settle_once().await {
                last_error = Some(e.to_string());
            }
            let states: Vec<State> = hashes.iter().map(|h| self.store.state(h).unwrap().expect("known")).collect();
            if states.iter().all(|s| matches!(s, State::Executed { .. } | State::Failed { .. })) {
                return states;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!(
            "not settled after {rounds} rounds: {:?}; last round error: {last_error:?}",
            hashes.iter().map(|h| self.store.state(h).unwrap()).collect::<Vec<_>>()
        );
    }

    fn published(&self) -> Vec<(outpost_protocol::IntentHash, outpost_protocol::gossip::IntentStatus)> {
        self.status.0.lock().unwrap().clone()
    }
}

impl Drop for TestRelayer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `tx` RPC's answer for a transaction, as JSON text shaped like the node's own (nearcore
/// serializes these same view types).
async fn tx_answer(worker: &Worker<Sandbox>, tx_hash: &str, sender: &str) -> String {
    use near_jsonrpc_client::methods::tx::{RpcTransactionStatusRequest, TransactionInfo};
    use near_primitives::views::{FinalExecutionOutcomeViewEnum, TxExecutionStatus};
    let client = near_jsonrpc_client::JsonRpcClient::connect(worker.rpc_addr());
    let request = RpcTransactionStatusRequest {
        transaction_info: TransactionInfo::TransactionId { tx_hash: tx_hash.parse().unwrap(), sender_account_id: sender.parse().unwrap() },
        wait_until: TxExecutionStatus::Final,
    };
    let outcome = match client.call(request).await.expect("tx RPC").final_execution_outcome {
        Some(FinalExecutionOutcomeViewEnum::FinalExecutionOutcome(o)) => o,
        Some(FinalExecutionOutcomeViewEnum::FinalExecutionOutcomeWithReceipt(o)) => o.final_outcome,
        None => panic!("tx {tx_hash}: no outcome"),
    };
    json!({"jsonrpc": "2.0", "id": "outpost", "result": outcome}).to_string()
}

fn full_access_key(account: &Account) -> near_crypto::SecretKey {
    account.secret_key().to_string().parse().unwrap()
}

/// The relayer from `p2p/` settles an intent as it does after taking it from gossip: into its
/// store, then settlement rounds over JSON-RPC against the sandbox.
async fn relayer_settles_a_gossiped_intent(worker: Worker<Sandbox>) {
    use outpost_p2p::relayer::store::State;
    let s = setup(&worker).await;
    let (alice, bob) = (Signer::new(7), Signer::new(8));
    fund(&s, &alice.account, 300).await;
    let item = alice.sign(&s, 1, in_one_hour(), vec![Action::Transfer { token: odol(&s), amount: Amount(75), receiver_id: bob.account.parse().unwrap(), memo: None }]);
    let mut r = TestRelayer::new(&worker, &s, &s.relayer, full_access_key(&s.relayer), "gossiped");
    let hashes = r.take(&[item]);
    let states = r.settle(&hashes, 10).await;
    let State::Executed { tx_hash: Some(tx_hash) } = &states[0] else { panic!("{states:?}") };
    assert_eq!(ledger(&s, &bob.account, &odol(&s)).await, 75);
    // The dApp's proof once the nonce's record may be pruned: the relayer's transaction, looked up
    // with the `tx` RPC, lists the intent in its `executed` event; the page's own reader agrees.
    let answer = tx_answer(&worker, tx_hash, s.relayer.id().as_str()).await;
    let listed = outpost_client_model::rpc::parse_executed_hashes(&answer, s.intents.id().as_str()).expect("a readable tx answer");
    assert_eq!(listed, vec![hashes[0].to_string()], "{answer}");
    assert_eq!(outpost_client_model::rpc::parse_executed_hashes(&answer, s.token.id().as_str()), Ok(vec![]), "only the intents contract's receipts count");
    let published = r.published();
    assert!(matches!(published.as_slice(), [(h, outpost_protocol::gossip::IntentStatus::Executed { .. })] if *h == hashes[0]), "{published:?}");
}

/// A user pays the moment their deposit is sent: the relayer first sees no balance (the deposit
/// has not landed), and must wait for it rather than fail the payment for good. The deposit is
/// sent through RPC and, without waiting for its outcome, the payment goes straight to the relayer.
async fn deposit_then_pay_at_once_through_the_relayer(worker: Worker<Sandbox>) {
    use outpost_p2p::relayer::store::State;
    let s = setup(&worker).await;
    let (alice, bob) = (Signer::new(11), Signer::new(12));
    let mut r = TestRelayer::new(&worker, &s, &s.relayer, full_access_key(&s.relayer), "deposit-then-pay");
    // Signed offline before any deposit exists.
    let pay = alice.sign(&s, 1, in_one_hour(), vec![Action::Transfer { token: TokenId::Near, amount: Amount(10u128.pow(21)), receiver_id: bob.account.parse().unwrap(), memo: None }]);
    let deposit = {
        let call = s.owner.call(s.intents.id(), "deposit").args_json(json!({"receiver_id": alice.account})).deposit(NearToken::from_millinear(100));
        tokio::spawn(async move { call.transact().await })
    };
    let hashes = r.take(&[pay]);
    let states = r.settle(&hashes, 40).await;
    assert!(matches!(&states[0], State::Executed { tx_hash: Some(_) }), "the payment executed: {states:?}");
    let published = r.published();
    assert!(
        !published.iter().any(|(_, st)| matches!(st, outpost_protocol::gossip::IntentStatus::Failed { .. })),
        "no failure was ever announced for a payment that executed: {published:?}"
    );
    assert!(deposit.await.unwrap().expect("deposit outcome").is_success());
    assert_eq!(ledger(&s, &bob.account, &TokenId::Near).await, 10u128.pow(21));
}

/// The relayer holds only a function-call access key limited to `execute_intents` (how NEAR
/// relayers run: a leaked key can do nothing else), attaches nothing, and settles transfers (one
/// to a receiver with no record yet), a swap pair and a NEP-141 withdrawal. Every intent pays it
/// a fee; the storage the batches add comes out of its ledger NEAR, to the yoctoNEAR.
async fn relayer_on_a_function_call_key_collects_its_fees(worker: Worker<Sandbox>) {
    use near_workspaces::types::{AccessKey, KeyType, SecretKey as WorkspacesKey};
    use outpost_p2p::relayer::store::State;
    let s = setup(&worker).await;
    let (alice, bob, carol) = (Signer::new(31), Signer::new(32), Signer::new(33));
    fund(&s, &alice.account, 1_000).await;
    fund(&s, &bob.account, 0).await;
    let fc = WorkspacesKey::from_random(KeyType::ED25519);
    let permission = AccessKey::function_call_access(s.intents.id(), &["execute_intents"], Some(NearToken::from_near(1)));
    ok(s.relayer.batch(s.relayer.id()).add_key(fc.public_key(), permission).transact().await);
    let fc_key: near_crypto::SecretKey = fc.to_string().parse().unwrap();
    // The relayer reads its key at `final`: wait until the new key is there, as an operator would.
    {
        use outpost_p2p::relayer::chain::{ChainClient, RpcChainClient};
        let probe = RpcChainClient::new(&worker.rpc_addr(), s.intents.id().as_str().parse().unwrap(), s.relayer.id().as_str().parse().unwrap(), fc_key.public_key());
        let mut tries = 0;
        while probe.access_key().await.is_err() {
            tries += 1;
            assert!(tries < 60, "the function-call key never became visible at final");
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    const MILLI: u128 = 10u128.pow(21);
    let fee = Some(outpost_protocol::Fee { token: TokenId::Near, amount: Amount(MILLI) });
    let deadline = in_one_hour();
    let to = |who: &Signer| who.account.parse().unwrap();
    let items = vec![
        alice.sign_paying(&s, 1, deadline, vec![Action::Transfer { token: odol(&s), amount: Amount(100), receiver_id: to(&bob), memo: None }], fee.clone()),
        alice.sign_paying(&s, 2, deadline, vec![Action::Transfer { token: odol(&s), amount: Amount(50), receiver_id: to(&carol), memo: None }], fee.clone()),
        alice.sign_paying(&s, 3, deadline, vec![Action::TokenDiff { diff: [(odol(&s), SignedAmount(-100)), (TokenId::Near, SignedAmount(10 * MILLI as i128))].into() }], fee.clone()),
        bob.sign_paying(&s, 3, deadline, vec![Action::TokenDiff { diff: [(odol(&s), SignedAmount(100)), (TokenId::Near, SignedAmount(-10 * MILLI as i128))].into() }], fee.clone()),
        alice.sign_paying(&s, 4, deadline, vec![Action::Withdraw { token: odol(&s), amount: Amount(200), receiver_id: s.owner.id().as_str().parse().unwrap(), memo: None }], fee),
    ];
    let near = |who: &str| {
        let who = who.to_owned();
        let s = &s;
        async move { ledger(s, &who, &TokenId::Near).await }
    };
    let (alice_near, bob_near, relayer_near) = (near(&alice.account).await, near(&bob.account).await, near(s.relayer.id().as_str()).await);
    let owner_odol = ft_balance(&s, s.owner.id().as_str()).await;
    let usage_before = worker.view_account(s.intents.id()).await.unwrap().storage_usage;

    let mut r = TestRelayer::new(&worker, &s, &s.relayer, fc_key, "function-call-key");
    let hashes = r.take(&items);
    let states = r.settle(&hashes, 20).await;
    assert!(states.iter().all(|st| matches!(st, State::Executed { tx_hash: Some(_) })), "{states:?}");

    assert_eq!(ledger(&s, &alice.account, &odol(&s)).await, 1_000 - 100 - 50 - 100 - 200);
    assert_eq!(ledger(&s, &bob.account, &odol(&s)).await, 200);
    assert_eq!(ledger(&s, &carol.account, &odol(&s)).await, 50);
    assert_eq!(ft_balance(&s, s.owner.id().as_str()).await, owner_odol + 200, "the withdrawal arrived");
    assert_eq!(near(&alice.account).await, alice_near - 4 * MILLI + 10 * MILLI);
    assert_eq!(near(&bob.account).await, bob_near - MILLI - 10 * MILLI);
    // The relayer earned five fees and paid exactly the storage its batches added (plus the
    // 1 yocto ft_transfer needs), from its ledger NEAR.
    let grown = worker.view_account(s.intents.id()).await.unwrap().storage_usage - usage_before;
    let byte_cost: String = s.intents.view("config").await.unwrap().json::<Value>().unwrap()["storage_byte_cost"].as_str().unwrap().to_owned();
    let storage = grown as u128 * byte_cost.parse::<u128>().unwrap();
    assert!(grown > 0);
    assert_eq!(near(s.relayer.id().as_str()).await, relayer_near + 5 * MILLI - storage - 1);
}

/// Two relayers (two accounts, two stores) take the same gossip stream and race to settle it, as
/// strangers on one mesh do. Every intent executes exactly once, and both relayers end every
/// intent "executed": the slower one finds the nonce spent and asks the chain who spent it,
/// instead of announcing a failure for a payment that went through.
async fn two_relayers_settle_one_gossip_stream(worker: Worker<Sandbox>) {
    use outpost_p2p::relayer::store::State;
    let s = setup(&worker).await;
    let second = s.owner.create_subaccount("relayer2").initial_balance(NearToken::from_near(10)).transact().await.unwrap().into_result().unwrap();
    ok(second.call(s.intents.id(), "deposit").args_json(json!({})).deposit(NearToken::from_near(1)).transact().await);
    let payers: Vec<Signer> = (40..46).map(Signer::new).collect();
    for p in &payers {
        fund(&s, &p.account, 0).await;
    }
    let bob = Signer::new(47);
    let deadline = in_one_hour();
    let items: Vec<SignedIntent> = payers
        .iter()
        .enumerate()
        .map(|(i, p)| p.sign(&s, 1, deadline, vec![Action::Transfer { token: TokenId::Near, amount: Amount(1_000 + i as u128), receiver_id: bob.account.parse().unwrap(), memo: None }]))
        .collect();
    let mut a = TestRelayer::new(&worker, &s, &s.relayer, full_access_key(&s.relayer), "race-a");
    let mut b = TestRelayer::new(&worker, &s, &second, full_access_key(&second), "race-b");
    let hashes = a.take(&items);
    assert_eq!(b.take(&items), hashes);
    let (states_a, states_b) = tokio::join!(a.settle(&hashes, 30), b.settle(&hashes, 30));
    for states in [&states_a, &states_b] {
        assert!(states.iter().all(|st| matches!(st, State::Executed { .. })), "{states:?}");
    }
    for r in [&a, &b] {
        let failures: Vec<_> = r.published().into_iter().filter(|(_, st)| matches!(st, outpost_protocol::gossip::IntentStatus::Failed { .. })).collect();
        assert!(failures.is_empty(), "no relayer announces a failure for an executed intent: {failures:?}");
    }
    let expected: u128 = (0..payers.len() as u128).map(|i| 1_000 + i).sum();
    assert_eq!(ledger(&s, &bob.account, &TokenId::Near).await, expected, "each payment executed exactly once");
    for (item, p) in items.iter().zip(&payers) {
        let status: Value = s.intents.view("nonce_status").args_json(json!({"account_id": p.account, "nonce": item.nonce})).await.unwrap().json().unwrap();
        assert_eq!(status["state"], "executed", "{status}");
    }
}

/// `scripts/run.sh` in sandbox mode, stopped by SIGTERM and then by SIGINT, leaves no process of
/// its stack (sandbox, deploy tool, node, dApp server) behind. Uses what `cargo test` built.
async fn run_sh_stops_cleanly_on_sigterm_and_sigint() {
    tokio::task::spawn_blocking(|| {
        for signal in ["TERM", "INT"] {
            run_sh_once(signal);
        }
    })
    .await
    .unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run_sh_once(signal: &str) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // target/debug/deps/sandbox-… → target: where `cargo test` put outpost-node and outpost-deploy.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let work = std::env::temp_dir().join(format!("outpost-run-sh-{}-{signal}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let client = work.join("client");
    std::fs::create_dir_all(&client).unwrap();
    std::fs::write(client.join("index.html"), "<!doctype html><title>outpost</title>").unwrap();
    let mut child = Command::new("bash")
        .arg(root.join("scripts/run.sh"))
        .env("OUTPOST_RUN_PREBUILT", "1")
        .env("CARGO_TARGET_DIR", &target)
        .env("OUTPOST_WASM_DIR", outpost_integration_tests::wasm_dir())
        .env("OUTPOST_DEV_DIR", work.join("dev"))
        .env("OUTPOST_NEARDEV", work.join("neardev"))
        .env("OUTPOST_CLIENT_DIR", &client)
        .env("OUTPOST_CLIENT_PORT", free_port().to_string())
        .env("OUTPOST_RELAYER_PORT", free_port().to_string())
        .env("OUTPOST_P2P_PORT", free_port().to_string())
        .env("OUTPOST_P2P_WS_PORT", free_port().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scripts/run.sh");
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, Box::new(child.stderr.take().unwrap())] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut log = Vec::new();
    let started = std::time::Instant::now();
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(line) => {
                let ready = line.contains("Outpost is running (sandbox)");
                log.push(line);
                if ready {
                    break;
                }
            }
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("run.sh exited ({status}) before it was ready:\n{}", log.join("\n"));
                }
                assert!(started.elapsed().as_secs() < 300, "run.sh not ready in 300 s:\n{}", log.join("\n"));
            }
        }
    }
    // Its whole stack, as it runs now.
    let stack = outpost_integration_tests::tier2::live_descendants(child.id());
    let names: Vec<&str> = stack.iter().map(|(_, c)| c.as_str()).collect();
    for part in ["outpost-deploy", "outpost-node", "python3"] {
        assert!(names.iter().any(|n| n.starts_with(&part[..part.len().min(15)])), "{part} is not running: {names:?}");
    }
    let sandbox_bin = std::env::var("NEAR_SANDBOX_BIN_PATH").ok().and_then(|p| std::path::Path::new(&p).file_name().map(|f| f.to_string_lossy().into_owned()));
    if let Some(bin) = &sandbox_bin {
        let comm: String = bin.chars().take(15).collect();
        assert!(names.contains(&comm.as_str()), "the sandbox ({comm}) is not running under run.sh: {names:?}");
    }
    assert!(Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status().unwrap().success());
    let stopped = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopped.elapsed().as_secs() < 60, "run.sh did not stop within 60 s of SIG{signal}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!status.success(), "stopped by a signal, run.sh reports it: {status}");
    // Everything it started is gone (processes of the stack are reparented when run.sh exits, so
    // look them up by pid).
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|st| st.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])))
            .unwrap_or(false)
    };
    let mut left = stack.clone();
    for _ in 0..100 {
        left.retain(|(pid, _)| alive(*pid));
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for (pid, _) in &left {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    assert!(left.is_empty(), "SIG{signal} to run.sh left processes behind: {left:?}");
    let _ = std::fs::remove_dir_all(&work);
}

/// The dApp's wallet journey on the sandbox (issue 13, tier 2): headless Chromium drives the built
/// dApp (client/e2e/sandbox-journey.mjs, the same steps tier 1 runs on its fake chain) with the
/// test wallet through near-connect, against this sandbox's RPC and a real `outpost-node
/// --relayer`; then the chain is checked from here too.
mod journey {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const NEAR: u128 = 10u128.pow(24);
    /// The test wallet's account and key seed, 5e ed repeated (client/e2e/test-wallet/executor.js).
    const WALLET_ACCOUNT: &str = "carol";
    fn wallet_seed() -> [u8; 32] {
        std::array::from_fn(|i| if i % 2 == 0 { 0x5e } else { 0xed })
    }

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The built dApp: OUTPOST_CLIENT_DIR (scripts/test.sh builds it there), else target/client.
    fn client_dir() -> PathBuf {
        std::env::var_os("OUTPOST_CLIENT_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target/client"))
    }

    fn chromium() -> PathBuf {
        std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
    }

    /// OUTPOST_NODE_BIN, else the outpost-node `cargo test` built next to this test
    /// (target/debug/deps/sandbox-… → target/debug/outpost-node).
    fn node_bin() -> PathBuf {
        std::env::var_os("OUTPOST_NODE_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_exe().unwrap().ancestors().nth(2).unwrap().join("outpost-node"))
    }

    /// What the flow needs besides the sandbox, each missing piece named with how to get it.
    pub fn prerequisites() -> Result<(), String> {
        let mut missing = Vec::new();
        let dist = client_dir();
        if !dist.join("index.html").is_file() || !dist.join("wallet.js").is_file() {
            missing.push(format!("the built dApp (no index.html/wallet.js in {}; scripts/build-client.sh, or set OUTPOST_CLIENT_DIR)", dist.display()));
        }
        if !chromium().is_file() {
            missing.push(format!("Chromium at {} (apt-get install chromium, or set CHROMIUM)", chromium().display()));
        }
        if !Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {
            missing.push("`node` on PATH (Node.js 18+)".into());
        }
        for module in ["playwright-core", "jsqr", "pngjs"] {
            if !repo().join("client/e2e/node_modules").join(module).is_dir() {
                missing.push(format!("client/e2e/node_modules/{module} (npm ci in client/e2e)"));
            }
        }
        if !node_bin().is_file() {
            missing.push(format!("the outpost-node binary at {} (cargo build -p outpost-p2p --bin outpost-node, or set OUTPOST_NODE_BIN)", node_bin().display()));
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("the dApp journey needs: {}", missing.join("; ")))
        }
    }

    /// A child process killed (with its whole process group) when dropped, whatever happened.
    struct Killed(Child);

    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0.id())]).status();
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn spawn_logged(cmd: &mut Command, log: &Path) -> Killed {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // Its own process group: Chromium under node goes with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        Killed(child)
    }

    fn tail(path: &Path, lines: usize) -> String {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// GET on loopback with std only: (status, body).
    fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        Ok((status, body))
    }

    /// The test wallet's key as near-workspaces takes it: `ed25519:` base58(seed ‖ public key).
    fn wallet_key() -> (near_workspaces::types::SecretKey, String) {
        let public = SecretKey::from_seed(wallet_seed()).public_key().to_string();
        let mut pk = [0u8; 32];
        assert_eq!(outpost_protocol::base58::decode_into(public.strip_prefix("ed25519:").unwrap(), &mut pk).unwrap_or(0), 32);
        let mut pair = wallet_seed().to_vec();
        pair.extend_from_slice(&pk);
        let secret = format!("ed25519:{}", outpost_protocol::base58::encode(&pair));
        (secret.parse().expect("an ed25519 secret key"), public)
    }

    pub async fn dapp_wallet_journey_through_a_real_relayer(worker: Worker<Sandbox>) {
        let s = setup(&worker).await;
        // The wallet's account as the test wallet knows it: carol under the sandbox's root
        // (test.near), with the wallet's key and 20 NEAR, nothing in the ledger.
        let root = worker.root_account().expect("the sandbox's root account");
        let wallet_account = format!("{WALLET_ACCOUNT}.{}", root.id());
        assert_eq!(wallet_account, "carol.test.near", "client/e2e/test-wallet/executor.js signs as carol.test.near");
        let (wallet_secret, wallet_pk) = wallet_key();
        let carol = root.create_subaccount(WALLET_ACCOUNT).keys(wallet_secret).initial_balance(NearToken::from_near(20)).transact().await.unwrap().into_result().unwrap();
        assert_eq!(carol.id().as_str(), wallet_account);
        let receiver = format!("dave.{}", s.owner.id());
        let rpc_url = worker.rpc_addr().replace("localhost", "127.0.0.1").trim_end_matches('/').to_owned();

        // A real relayer on the sandbox, as scripts/run.sh starts one (its account: setup's relayer,
        // with 1 NEAR in the ledger to pay the storage its batches add).
        let work = std::env::temp_dir().join(format!("outpost-dapp-journey-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let key_file = work.join("relayer.json");
        let key = json!({"account_id": s.relayer.id(), "public_key": s.relayer.secret_key().public_key().to_string(), "private_key": s.relayer.secret_key().to_string()});
        std::fs::write(&key_file, key.to_string()).unwrap();
        let http_port = free_port();
        let node_log = work.join("outpost-node.log");
        let _node = spawn_logged(
            Command::new(node_bin())
                .args(["--chain-id", "localnet", "--contract", s.intents.id().as_str(), "--relayer", "--rpc-url", &rpc_url])
                .arg("--relayer-key-file")
                .arg(&key_file)
                .arg("--store")
                .arg(work.join("relayer.redb"))
                .arg("--identity-file")
                .arg(work.join("node.key"))
                .args(["--listen", &format!("/ip4/127.0.0.1/tcp/{}", free_port()), "--http", &format!("127.0.0.1:{http_port}")]),
            &node_log,
        );
        let started = Instant::now();
        loop {
            match http_get(http_port, "/health") {
                Ok((200, body)) if body.contains("\"relayer\":true") => break,
                other => assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "outpost-node --relayer not healthy in 60 s (last: {other:?}); its log:\n{}",
                    tail(&node_log, 30)
                ),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }

        // The journey in the browser.
        let art = std::env::var_os("OUTPOST_SANDBOX_ARTIFACTS").map(PathBuf::from).unwrap_or_else(|| repo().join("target/reports/sandbox-wallet-journey"));
        std::fs::create_dir_all(&art).unwrap();
        let network = json!({
            "rpc_url": rpc_url, "intents_contract": s.intents.id(), "relayer_url": format!("http://127.0.0.1:{http_port}"),
            "chain_id": "localnet", "wallet_account": wallet_account, "receiver": receiver,
            "deposit_near": "2", "pay_near": "0.5", "wallet_near": "20", "chain_timeout_ms": 120_000,
        });
        let driver_log = work.join("sandbox-journey.log");
        let mut driver = spawn_logged(
            Command::new("node")
                .arg(repo().join("client/e2e/sandbox-journey.mjs"))
                .arg(client_dir())
                .arg(&art)
                .env("OUTPOST_SANDBOX_NETWORK", network.to_string()),
            &driver_log,
        );
        let started = Instant::now();
        let status = loop {
            if let Some(status) = driver.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(480),
                "sandbox-journey.mjs still running after 480 s:\n{}\n--- outpost-node:\n{}",
                tail(&driver_log, 40),
                tail(&node_log, 30)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let _ = std::fs::copy(&driver_log, art.join("sandbox-journey.log"));
        let _ = std::fs::copy(&node_log, art.join("outpost-node.log"));
        assert!(
            status.success(),
            "sandbox-journey.mjs failed ({status}); screenshots in {}:\n{}\n--- outpost-node:\n{}",
            art.display(),
            tail(&driver_log, 60),
            tail(&node_log, 30)
        );

        // What the chain says, read from here: the page's own report names the device key and the
        // intent it paid with.
        let report: Value = serde_json::from_str(&std::fs::read_to_string(art.join("journey.json")).expect("journey.json")).unwrap();
        let device_pk = report["devicePk"].as_str().expect("devicePk").to_owned();
        let (id, nonce) = (report["intent"]["id"].as_str().unwrap().to_owned(), report["intent"]["nonce"].as_str().unwrap().to_owned());
        assert_ne!(device_pk, wallet_pk);
        let keys: Vec<String> = s.intents.view("public_keys_of").args_json(json!({"account_id": wallet_account})).await.unwrap().json().unwrap();
        assert_eq!(keys, vec![device_pk, wallet_pk], "the device's key and the wallet's, registered by the wallet's transaction");
        let status: Value = s.intents.view("nonce_status").args_json(json!({"account_id": wallet_account, "nonce": nonce})).await.unwrap().json().unwrap();
        assert_eq!(status, json!({"state": "executed", "intent_hash": id}), "the paid intent executed, by its nonce");
        let byte_cost: u128 = s.intents.view("config").await.unwrap().json::<Value>().unwrap()["storage_byte_cost"].as_str().unwrap().parse().unwrap();
        // The first deposit keeps its NEAR record's storage: b'b' ‖ borsh(account) ‖ borsh(near) ‖ u128, + 40.
        let record = (1 + 4 + wallet_account.len() as u128 + 1 + 16 + 40) * byte_cost;
        assert_eq!(ledger(&s, &wallet_account, &TokenId::Near).await, 2 * NEAR - record - NEAR / 2, "2 NEAR deposited, less the record's storage, less 0.5 NEAR paid");
        assert_eq!(ledger(&s, &receiver, &TokenId::Near).await, NEAR / 2, "the receiver was credited 0.5 NEAR");
        let own = worker.view_account(carol.id()).await.unwrap().balance.as_yoctonear();
        // 2 NEAR deposited; 0.02 NEAR attached to the keys (most refunded); gas for two calls.
        assert!((18 * NEAR - 4 * NEAR / 100..18 * NEAR).contains(&own), "the wallet account paid 2 NEAR and its gas and key storage, no more: {own}");
        // The relayer reports what it did (a hint for the page; the chain above is the proof).
        let (code, body) = http_get(http_port, &format!("/intents/{id}")).expect("relayer status");
        assert!(code == 200 && body.contains("\"executed\""), "the relayer settled it: {code} {body}");
        let _ = std::fs::remove_dir_all(&work);
    }
}
