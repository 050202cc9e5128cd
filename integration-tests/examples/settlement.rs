//! Settlement benchmark (issue 11): on a NEAR sandbox, deploys the token and intents contracts,
//! funds 1,000 implicit signers, starts `outpost-node --relayer`, posts 10,000 signed transfers to
//! its HTTP API as dApps would, follows each until executed, and reports intents per second, the
//! latency from `POST /intents` to executed (p50, p99), the transactions sent and the gas per intent
//! the receipts burnt. Written to `target/reports/settlement.md`.
//!
//! `cargo run -p outpost-integration-tests --example settlement` (the test command runs it). Like
//! tier 2 it needs a sandbox binary (NEAR_SANDBOX_BIN_PATH, or OUTPOST_SANDBOX_DOWNLOAD=1) and
//! otherwise says so and exits 0. `OUTPOST_NODE_BIN` names the relayer binary (default: the
//! release build next to this one if present, else the debug one); `OUTPOST_BENCH_INTENTS`,
//! `OUTPOST_BENCH_SIGNERS` and `OUTPOST_BENCH_KEYS` (relayer keys, so transactions in flight;
//! default 4) change the load. The client side (`outpost_p2p::settlement`) is the same
//! code `p2p/tests/settlement.rs` runs against the mock RPC.

use near_workspaces::network::Sandbox;
use near_workspaces::types::NearToken;
use near_workspaces::{Account, Contract, Worker};
use outpost_integration_tests::load_wasm;
use outpost_integration_tests::tier2::{self, Flow};
use outpost_p2p::settlement;
use outpost_protocol::{Action, Amount, Deadline, Intent, Nonce, SecretKey, SignedIntent, TokenId};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const FLOWS: &[Flow<Worker<Sandbox>>] = &[Flow { needs: None, name: "settle_transfers_through_the_relayer", run: |w| Box::pin(bench(w)) }];

fn main() {
    tier2::sandbox_suite("settlement", FLOWS)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[track_caller]
fn ok(result: near_workspaces::Result<near_workspaces::result::ExecutionFinalResult>) {
    let r = result.expect("RPC");
    assert!(r.is_success() && r.receipt_failures().is_empty(), "transaction failed: {:?}", r.receipt_failures());
}

fn signer(n: u32) -> (SecretKey, String) {
    let mut seed = [0x42; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    let key = SecretKey::from_seed(seed);
    let account = key.public_key().implicit_account_id().to_string();
    (key, account)
}

fn transfer(key: &SecretKey, from: &str, n: u32, to: &str, amount: u128, token: &TokenId, contract: &str, deadline: u64) -> SignedIntent {
    let intent = Intent {
        signer_id: from.parse().unwrap(),
        deadline: Deadline(deadline),
        actions: vec![Action::Transfer { token: token.clone(), amount: Amount(amount), receiver_id: to.parse().unwrap(), memo: None }],
        fee: None,
    };
    let mut random = [0u8; 24];
    random[..4].copy_from_slice(&n.to_le_bytes());
    key.sign_intent(&intent, Nonce::new(deadline, random), contract)
}

/// The relayer node, killed when dropped.
struct Node(Child, std::path::PathBuf);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn node_binary() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("OUTPOST_NODE_BIN") {
        return p.into();
    }
    // target/<profile>/examples/settlement → target
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let release = target.join("release/outpost-node");
    if release.is_file() { release } else { target.join("debug/outpost-node") }
}

async fn bench(worker: Worker<Sandbox>) {
    let signers = env_usize("OUTPOST_BENCH_SIGNERS", 1_000);
    let per_signer = env_usize("OUTPOST_BENCH_INTENTS", 10_000).div_ceil(signers);
    let total = signers * per_signer;

    // Contracts and accounts, paid from the sandbox's root account.
    let root = worker.root_account().expect("root account");
    let sub = |parent: &Account, name: &'static str, near: u128| {
        let parent = parent.clone();
        async move { parent.create_subaccount(name).initial_balance(NearToken::from_near(near)).transact().await.unwrap().into_result().unwrap() }
    };
    let owner = sub(&root, "bench", 500).await;
    let token: Contract = sub(&owner, "token", 10).await.deploy(&load_wasm("outpost-token")).await.unwrap().into_result().unwrap();
    let intents: Contract = sub(&owner, "intents", 20).await.deploy(&load_wasm("outpost-intents")).await.unwrap().into_result().unwrap();
    let relayer = sub(&owner, "relayer", 100).await;
    let metadata = json!({"spec": "ft-1.0.0", "name": "Outpost Dollar", "symbol": "ODOL", "decimals": 6});
    ok(token.call("new").args_json(json!({"owner_id": owner.id(), "total_supply": "1000000000000", "metadata": metadata})).transact().await);
    ok(intents.call("new").args_json(json!({"owner_id": owner.id()})).transact().await);
    ok(owner.call(token.id(), "storage_deposit").args_json(json!({"account_id": intents.id()})).deposit(NearToken::from_millinear(13)).transact().await);
    // The relayer pays every record the run creates from its ledger NEAR: a nonce per intent
    // (127 B) and the signers' token records (236 B each): about 13 NEAR for 10,000.
    let storage_near = (total as u128 * 127 + signers as u128 * 236) / 100_000 + 2;
    ok(relayer.call(intents.id(), "deposit").args_json(json!({})).deposit(NearToken::from_near(storage_near)).transact().await);
    ok(owner.call(intents.id(), "deposit").args_json(json!({})).deposit(NearToken::from_near(1)).transact().await);

    // A treasury signer gets the tokens once; its transfer intents fund every signer, executed
    // directly by the relayer account (anyone may call execute_intents).
    let contract = intents.id().as_str();
    let odol = TokenId::Nep141(token.id().as_str().parse().unwrap());
    let (treasury_key, treasury) = signer(u32::MAX);
    ok(owner.call(intents.id(), "deposit").args_json(json!({"receiver_id": treasury})).deposit(NearToken::from_millinear(100)).transact().await);
    ok(owner
        .call(token.id(), "ft_transfer_call")
        .args_json(json!({"receiver_id": intents.id(), "amount": (total as u128 * 2).to_string(), "msg": json!({"receiver_id": treasury}).to_string()}))
        .deposit(NearToken::from_yoctonear(1))
        .max_gas()
        .transact()
        .await);
    let deadline = now_ns() + 3 * 3_600_000_000_000;
    let keys: Vec<(SecretKey, String)> = (0..signers as u32).map(signer).collect();
    let funding: Vec<SignedIntent> =
        keys.iter().enumerate().map(|(i, (_, account))| transfer(&treasury_key, &treasury, i as u32, account, per_signer as u128, &odol, contract, deadline)).collect();
    for chunk in funding.chunks(250) {
        ok(relayer.call(intents.id(), "execute_intents").args_json(json!({"signed": chunk})).max_gas().transact().await);
    }

    // The relayer node, on the relayer account's key, taking every intent (no fee asked).
    let dir = std::env::temp_dir().join(format!("outpost-settlement-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("relayer.json");
    let secret = relayer.secret_key().to_string();
    let main_key: near_crypto::SecretKey = secret.parse().unwrap();
    let public = main_key.public_key().to_string();
    // The pool of keys (`--relayer-keys`): the derived ones are added as function-call keys for
    // execute_intents, as `outpost-node --print-relayer-keys` tells an operator to, and are
    // visible at final before the node starts.
    let keys_in_pool = env_usize("OUTPOST_BENCH_KEYS", 4).max(1);
    for key in outpost_p2p::relayer::derived_keys(&main_key, keys_in_pool) {
        use near_workspaces::types::AccessKey;
        let permission = AccessKey::function_call_access(intents.id(), &["execute_intents"], None);
        ok(relayer.batch(relayer.id()).add_key(key.public_key().to_string().parse().unwrap(), permission).transact().await);
        let probe = outpost_p2p::relayer::chain::RpcChainClient::new(&worker.rpc_addr(), contract.parse().unwrap(), relayer.id().as_str().parse().unwrap(), key.public_key());
        let mut tries = 0;
        while outpost_p2p::relayer::chain::ChainClient::access_key(&probe).await.is_err() {
            tries += 1;
            assert!(tries < 60, "a pool key never became visible at final");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    std::fs::write(&key_file, json!({"account_id": relayer.id(), "public_key": public, "private_key": secret}).to_string()).unwrap();
    let http_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let binary = node_binary();
    let child = Command::new(&binary)
        .args(["--chain-id", "sandbox", "--contract", contract, "--listen", "/ip4/127.0.0.1/tcp/0"])
        .args(["--http", &format!("127.0.0.1:{http_port}"), "--http-rate", "0", "--relayer", "--rpc-url", &worker.rpc_addr()])
        .arg("--relayer-key-file")
        .arg(&key_file)
        .arg("--store")
        .arg(dir.join("store.redb"))
        .arg("--identity-file")
        .arg(dir.join("node.key"))
        .args(["--min-fee-yocto", "0", "--per-signer", &per_signer.max(16).to_string(), "--relayer-keys", &keys_in_pool.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (set OUTPOST_NODE_BIN)", binary.display()));
    let _node = Node(child, dir);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "outpost-node never served HTTP on {addr}");

    // The load: each signer pays the treasury 1 ODOL per intent (an existing record).
    let payments: Vec<SignedIntent> = (0..per_signer as u32)
        .flat_map(|round| keys.iter().map(move |(key, account)| (round, key, account)))
        .map(|(round, key, account)| transfer(key, account, 1_000 + round, &treasury, 1, &odol, contract, deadline))
        .collect();
    // Within the tier-2 runner's 10 minutes per flow, leaving time to read the gas back.
    let report = settlement::run(addr, &payments, 64, Duration::from_secs(480)).await.expect("settlement run");
    let relayer_id: near_primitives::types::AccountId = relayer.id().as_str().parse().unwrap();
    let (gas_per_intent, gas_total) =
        settlement::gas_per_intent(&worker.rpc_addr(), &relayer_id, &report.tx_hashes, report.executed).await.expect("gas from the receipts");
    let mut text = report.markdown(&format!("settlement: {total} transfers from {signers} signers through outpost-node on a sandbox"));
    text.push_str(&format!(
        "| gas per intent (all receipts of the batches) | {:.3} TGas |\n| gas in all | {:.1} TGas |\n| relayer keys (transactions in flight at most) | {keys_in_pool} |\n| relayer binary | {} |\n",
        gas_per_intent as f64 / 1e12,
        gas_total as f64 / 1e12,
        binary.display()
    ));
    println!("{text}");
    let reports = std::env::var_os("OUTPOST_REPORT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/reports"));
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(reports.join("settlement.md"), &text).unwrap();

    assert_eq!(report.accepted, total, "refused: {:?}", report.failures);
    assert_eq!((report.executed, report.failed, report.unsettled), (total, 0, 0), "{:?}", report.failures);
    let ledger = |account: String| {
        let intents = intents.clone();
        let odol = odol.clone();
        async move {
            let v: String = intents.view("get_balance").args_json(json!({"account_id": account, "token": odol})).await.unwrap().json().unwrap();
            v.parse::<u128>().unwrap()
        }
    };
    // The treasury got twice the load, gave half to the signers and got it all back.
    assert_eq!(ledger(treasury.clone()).await, total as u128 * 2);
    assert_eq!(ledger(keys[0].1.clone()).await, 0, "each signer spent what it was given");
}
