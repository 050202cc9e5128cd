//! Tier 2: runs `outpost-deploy` as a user would against a real sandbox and checks the chain, not
//! just its output:
//! - `deploy_to_sandbox`: `--network sandbox` starts its own sandbox (the local stack's path);
//! - `own_account_deploy_then_upgrade`: a named account with its key in a temporary credentials
//!   folder deploys with `--account`; a re-run with different code upgrades the ledger through its
//!   `upgrade` method: the code hash changes, the ledger's state survives, and the intents account
//!   holds no full-access key at any point after the first run;
//! - `too_little_near_creates_nothing`: the balance check fails before any account exists.
//!
//! Skipped (and says so) when NEAR_SANDBOX_BIN_PATH does not name a sandbox binary.

use near_workspaces::network::Sandbox;
use near_workspaces::types::{AccessKeyPermission, NearToken, SecretKey};
use near_workspaces::{Account, AccountId, Worker};
use outpost_integration_tests::tier2::{self, Flow};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const FLOWS: &[Flow<Worker<Sandbox>>] = &[
    Flow { needs: None, name: "deploy_to_sandbox", run: |_| Box::pin(deploy_to_sandbox()) },
    Flow { needs: None, name: "own_account_deploy_then_upgrade", run: |w| Box::pin(own_account_deploy_then_upgrade(w)) },
    Flow { needs: None, name: "too_little_near_creates_nothing", run: |w| Box::pin(too_little_near_creates_nothing(w)) },
];

/// The shared tier-2 runner: flows inside the runtime, the sandbox stopped before exit, leftovers
/// reported (see integration-tests/src/tier2.rs, tested in tier 1).
fn main() {
    tier2::sandbox_suite("sandbox_deploy", FLOWS)
}

// ---- helpers ----

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The built contracts (scripts/build-contracts.sh), as the deploy tool finds them.
fn wasm_dir() -> PathBuf {
    std::env::var_os("OUTPOST_WASM_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/near"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("outpost-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn code_hash(code: &[u8]) -> String {
    bs58::encode(Sha256::digest(code)).into_string()
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn deploy(args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_outpost-deploy")).args(args).output().await.expect("run outpost-deploy");
    Run { ok: out.status.success(), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// A named account (a sub-account of the sandbox's root) with a fresh key, written to
/// `<creds>/sandbox/<id>.json` the way near-cli-rs writes it.
async fn named_account(worker: &Worker<Sandbox>, name: &str, near: u128, creds: &Path) -> Account {
    let sk = SecretKey::from_random(near_workspaces::types::KeyType::ED25519);
    let account = worker
        .root_account()
        .expect("root account")
        .create_subaccount(name)
        .initial_balance(NearToken::from_near(near))
        .keys(sk.clone())
        .transact()
        .await
        .expect("create account")
        .into_result()
        .expect("account created");
    let dir = creds.join("sandbox");
    std::fs::create_dir_all(&dir).unwrap();
    let file = json!({"account_id": account.id(), "public_key": sk.public_key().to_string(), "private_key": sk.to_string()});
    std::fs::write(dir.join(format!("{}.json", account.id())), file.to_string()).unwrap();
    account
}

async fn on_chain_hash(worker: &Worker<Sandbox>, id: &AccountId) -> String {
    match worker.view_account(id).await.expect("view account").contract_state {
        near_workspaces::ContractState::LocalHash(h) => h.to_string(),
        other => panic!("{id}: no local code ({other:?})"),
    }
}

async fn full_access_keys(worker: &Worker<Sandbox>, id: &AccountId) -> Vec<String> {
    worker
        .view_access_keys(id)
        .await
        .expect("view access keys")
        .into_iter()
        .filter(|k| matches!(k.access_key.permission, AccessKeyPermission::FullAccess))
        .map(|k| k.public_key.to_string())
        .collect()
}

async fn view(worker: &Worker<Sandbox>, id: &AccountId, method: &str, args: Value) -> Value {
    worker.view(id, method).args_json(args).await.unwrap_or_else(|e| panic!("{id}.{method}: {e}")).json().expect("JSON view")
}

/// Same code, different bytes: a wasm custom section appended (tier 1 checks nearcore's VM runs
/// such a copy like the original). An honest upgrade: the bytes on chain must change to it.
fn with_custom_section(wasm: &[u8], payload: &[u8]) -> Vec<u8> {
    let name = b"outpost-upgrade-test";
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body.extend_from_slice(payload);
    assert!(body.len() < 128, "one-byte LEB128 size");
    let mut out = wasm.to_vec();
    out.push(0);
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

fn require(failures: &mut Vec<String>, ok: bool, what: impl Into<String>) {
    if !ok {
        failures.push(what.into());
    }
}

fn finish(name: &str, failures: Vec<String>) {
    assert!(failures.is_empty(), "{name}:\n  {}", failures.join("\n  "));
}

// ---- flows ----

/// `--network sandbox` as scripts/run.sh uses it: its own sandbox, files under `<out>/sandbox`.
async fn deploy_to_sandbox() {
    let out = temp_dir("own-sandbox");
    let run = deploy(&["--network", "sandbox", "--out", out.to_str().unwrap(), "--wasm-dir", wasm_dir().to_str().unwrap(), "--relayer-url", "http://127.0.0.1:8787"]).await;
    let mut failures = Vec::new();
    require(&mut failures, run.ok, format!("exit: {}", run.stderr));
    let dir = out.join("sandbox");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let intents = read("dev-account");
    require(&mut failures, intents.starts_with("intents."), format!("dev-account: {intents:?}"));
    require(&mut failures, read("dev-account.env").contains(&format!("CONTRACT_NAME={intents}\n")), "dev-account.env lacks CONTRACT_NAME");
    let network: Value = serde_json::from_str(&read("network.json")).unwrap_or_default();
    require(&mut failures, network["intents_contract"] == intents.as_str() && network["relayer_url"] == "http://127.0.0.1:8787" && network["name"] == "sandbox", format!("network.json: {network}"));
    require(&mut failures, network.get("explorer_url").is_none(), format!("a sandbox has no explorer: {network}"));
    let relayer = read("dev-account.env").lines().find_map(|l| l.strip_prefix("RELAYER_ACCOUNT=").map(str::to_owned)).unwrap_or_default();
    require(&mut failures, dir.join(format!("{relayer}.json")).is_file(), format!("no key file for the relayer account `{relayer}`"));
    let intents_hash = code_hash(&std::fs::read(wasm_dir().join("outpost_intents.wasm")).unwrap());
    require(&mut failures, run.stdout.contains(&format!("intents contract  {intents}\n")), format!("summary: {}", run.stdout));
    require(&mut failures, run.stdout.contains(&format!("  code hash       {intents_hash} (created)\n")), format!("summary: {}", run.stdout));
    require(&mut failures, run.stdout.contains("  full-access keys none"), format!("summary: {}", run.stdout));
    let _ = std::fs::remove_dir_all(&out);
    finish("deploy_to_sandbox", failures);
}

async fn own_account_deploy_then_upgrade(worker: Worker<Sandbox>) {
    let tmp = temp_dir("own-account");
    let creds = tmp.join("creds");
    let out = tmp.join("out");
    let alice = named_account(&worker, "alice", 50, &creds).await;
    let alice_key = alice.secret_key().public_key().to_string();
    let rpc = worker.rpc_addr();
    let intents_id: AccountId = format!("intents.{}", alice.id()).parse().unwrap();
    let token_id: AccountId = format!("token.{}", alice.id()).parse().unwrap();
    let v1_dir = wasm_dir();
    let v1 = std::fs::read(v1_dir.join("outpost_intents.wasm")).expect("built intents wasm");
    let token_wasm = std::fs::read(v1_dir.join("outpost_token.wasm")).expect("built token wasm");
    let args = |wasm: &Path| -> Vec<String> {
        ["--network", "sandbox", "--rpc-url", &rpc, "--account", alice.id().as_str(), "--credentials-dir", creds.to_str().unwrap(), "--out", out.to_str().unwrap(), "--wasm-dir", wasm.to_str().unwrap()]
            .map(str::to_owned)
            .to_vec()
    };
    let run_with = |wasm: PathBuf| {
        let a = args(&wasm);
        async move { deploy(&a.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };
    let mut failures = Vec::new();

    // 1. First deploy with --account.
    let first = run_with(v1_dir.clone()).await;
    assert!(first.ok, "first deploy failed:\n{}\n{}", first.stdout, first.stderr);
    require(&mut failures, on_chain_hash(&worker, &intents_id).await == code_hash(&v1), "intents code is not the built wasm");
    require(&mut failures, on_chain_hash(&worker, &token_id).await == code_hash(&token_wasm), "token code is not the built wasm");
    require(&mut failures, full_access_keys(&worker, &intents_id).await.is_empty(), format!("intents keeps full-access keys after the first deploy: {:?}", full_access_keys(&worker, &intents_id).await));
    require(&mut failures, worker.view_access_key(&intents_id, &alice.secret_key().public_key()).await.is_err(), "alice's key is still on the intents account");
    // The demo token keeps the key it was created with (documented).
    require(&mut failures, full_access_keys(&worker, &token_id).await == [alice_key.clone()], "token should keep alice's key");
    require(&mut failures, view(&worker, &intents_id, "config", json!({})).await["owner_id"] == alice.id().as_str(), "owner is not alice");
    require(&mut failures, !view(&worker, &token_id, "storage_balance_of", json!({"account_id": intents_id})).await.is_null(), "ledger not registered with the token");
    require(&mut failures, view(&worker, &token_id, "ft_balance_of", json!({"account_id": alice.id()})).await == "1000000000000000", "supply not minted to alice");
    for want in [format!("owner account     {}\n", alice.id()), format!("intents contract  {intents_id}\n"), format!("  code hash       {} (created)\n", code_hash(&v1)), "  full-access keys none".into(), format!("  full-access keys {alice_key} (the demo token keeps its key"), format!("create {intents_id}"), out.join("sandbox/network.json").display().to_string()] {
        require(&mut failures, first.stdout.contains(&want), format!("first run's summary lacks {want:?}:\n{}", first.stdout));
    }
    let network: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sandbox/network.json")).unwrap_or_default()).unwrap_or_default();
    require(&mut failures, network["intents_contract"] == intents_id.as_str() && network["tokens"][1]["id"] == format!("nep141:{token_id}"), format!("network.json: {network}"));
    require(&mut failures, std::fs::read_to_string(out.join("sandbox/dev-account.env")).unwrap_or_default().contains(&format!("DEV_ACCOUNT={}\n", alice.id())), "dev-account.env names another owner");

    // State in the ledger that an upgrade must keep.
    let bob = named_account(&worker, "bob", 5, &tmp.join("unused")).await;
    let deposited = bob.call(&intents_id, "deposit").args_json(json!({})).deposit(NearToken::from_millinear(100)).transact().await.expect("deposit").into_result();
    assert!(deposited.is_ok(), "deposit: {deposited:?}");
    let balance_before = view(&worker, &intents_id, "get_balance", json!({"account_id": bob.id(), "token": "near"})).await;
    require(&mut failures, balance_before.as_str().is_some_and(|b| b != "0"), format!("bob's ledger balance: {balance_before}"));

    // 2. Re-run with different code: the ledger is upgraded through `upgrade`, not redeployed.
    let v2 = with_custom_section(&v1, b"v2");
    let v2_dir = tmp.join("wasm-v2");
    std::fs::create_dir_all(&v2_dir).unwrap();
    std::fs::write(v2_dir.join("outpost_intents.wasm"), &v2).unwrap();
    std::fs::write(v2_dir.join("outpost_token.wasm"), &token_wasm).unwrap();
    let second = run_with(v2_dir.clone()).await;
    assert!(second.ok, "upgrade run failed:\n{}\n{}", second.stdout, second.stderr);
    let hash_after = on_chain_hash(&worker, &intents_id).await;
    require(&mut failures, hash_after == code_hash(&v2) && hash_after != code_hash(&v1), format!("code hash after upgrade: {hash_after}"));
    require(&mut failures, view(&worker, &intents_id, "get_balance", json!({"account_id": bob.id(), "token": "near"})).await == balance_before, "bob's ledger balance changed across the upgrade");
    require(&mut failures, view(&worker, &intents_id, "config", json!({})).await["owner_id"] == alice.id().as_str(), "owner changed across the upgrade");
    require(&mut failures, full_access_keys(&worker, &intents_id).await.is_empty(), "intents has a full-access key after the upgrade");
    require(&mut failures, second.stdout.contains(&format!("  code hash       {} (upgraded through `upgrade`)\n", code_hash(&v2))), format!("second summary:\n{}", second.stdout));
    require(&mut failures, second.stdout.contains(&format!("upgrade {intents_id}")), format!("no upgrade transaction listed:\n{}", second.stdout));
    require(&mut failures, !second.stdout.contains(&format!("create {intents_id}")), "the re-run created accounts again");
    require(&mut failures, on_chain_hash(&worker, &token_id).await == code_hash(&token_wasm), "token code changed");

    // 3. Nothing to do: no transaction at all.
    let third = run_with(v2_dir).await;
    assert!(third.ok, "third run failed:\n{}\n{}", third.stdout, third.stderr);
    require(&mut failures, third.stdout.contains("  none (everything was up to date)"), format!("third summary:\n{}", third.stdout));
    let _ = std::fs::remove_dir_all(&tmp);
    finish("own_account_deploy_then_upgrade", failures);
}

async fn too_little_near_creates_nothing(worker: Worker<Sandbox>) {
    let tmp = temp_dir("poor");
    let creds = tmp.join("creds");
    let poor = named_account(&worker, "poor", 2, &creds).await;
    let run = deploy(&["--network", "sandbox", "--rpc-url", &worker.rpc_addr(), "--account", poor.id().as_str(), "--credentials-dir", creds.to_str().unwrap(), "--out", tmp.join("out").to_str().unwrap(), "--wasm-dir", wasm_dir().to_str().unwrap()]).await;
    let mut failures = Vec::new();
    require(&mut failures, !run.ok, "a 2 NEAR account deployed");
    let want = format!("error: {} has ", poor.id());
    require(&mut failures, run.stderr.contains(&want) && run.stderr.contains(" available but this deploy needs ") && run.stderr.contains("NEAR more") && run.stderr.contains("Nothing was created."), format!("stderr: {}", run.stderr));
    for name in ["intents", "token"] {
        let id: AccountId = format!("{name}.{}", poor.id()).parse().unwrap();
        require(&mut failures, worker.view_account(&id).await.is_err(), format!("{id} exists"));
    }
    require(&mut failures, !tmp.join("out/sandbox/network.json").exists(), "network.json written for a failed deploy");
    let _ = std::fs::remove_dir_all(&tmp);
    finish("too_little_near_creates_nothing", failures);
}
