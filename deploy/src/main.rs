//! `outpost-deploy`: deploys the token and intents contracts to a local sandbox or to testnet with
//! one code path, then writes the neardev/ files (near-cli's `dev-deploy` layout) and the dApp's
//! network config. Re-running against testnet upgrades the same accounts in place.
//!
//! Layout on chain: a dev account `D` (from the testnet faucet helper, or the sandbox root) owns
//! `intents.D` (the ledger) and `token.D` (the demo token, whole supply minted to `D`); both
//! subaccounts use `D`'s key. A relayer account with its own key is created for the local stack.

mod args;
mod files;

use args::{Args, Network};
use files::Deployment;
use near_workspaces::network::Testnet;
use near_workspaces::types::NearToken;
use near_workspaces::{Account, AccountId, Worker};
use serde_json::json;
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", args::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<()> {
    let wasm = |name: &str| -> Result<Vec<u8>> {
        let path = args.wasm_dir.join(format!("{name}.wasm"));
        std::fs::read(&path).map_err(|e| format!("{}: {e}; build the contracts first (scripts/build-contracts.sh)", path.display()).into())
    };
    let (intents_wasm, token_wasm) = (wasm("outpost_intents")?, wasm("outpost_token")?);
    match args.network {
        Network::Sandbox => {
            if std::env::var_os("NEAR_SANDBOX_BIN_PATH").is_none() {
                eprintln!("note: NEAR_SANDBOX_BIN_PATH is unset; near-workspaces will try to download a sandbox");
            }
            progress("starting a local NEAR sandbox");
            let worker = near_workspaces::sandbox().await.map_err(|e| {
                format!("{}: no sandbox could be started; point NEAR_SANDBOX_BIN_PATH at a neard sandbox binary (nearcore's `neard` built with the sandbox feature)", with_causes(&e))
            })?;
            let dev = worker.dev_create_account().await?;
            let deployment = deploy(&worker, &dev, &intents_wasm, &token_wasm, "sandbox", "localnet", worker.rpc_addr(), &args, true).await?;
            progress("creating the relayer account");
            let relayer = dev.create_subaccount("relayer").initial_balance(NearToken::from_near(10)).transact().await?.into_result()?;
            let out = args.out_dir.join("sandbox");
            relayer.store_credentials(&out).await?;
            dev.store_credentials(&out).await?;
            let deployment = Deployment { relayer_id: Some(relayer.id().to_string()), ..deployment };
            files::write(&out, &deployment)?;
            report(&out, &deployment);
            if args.serve {
                progress("sandbox running; Ctrl-C or SIGTERM stops it");
                stopped().await?;
                // Returning drops the worker: the sandbox is killed and its data removed.
                progress("stopping the sandbox");
            }
        }
        Network::Testnet => {
            let worker = near_workspaces::testnet().await?;
            let (dev, existing) = testnet_dev_account(&worker, &args).await?;
            let deployment = deploy(&worker, &dev, &intents_wasm, &token_wasm, "testnet", "testnet", near_workspaces::network::testnet::RPC_URL.into(), &args, !existing).await?;
            files::write(&args.out_dir, &deployment)?;
            report(&args.out_dir, &deployment);
        }
    }
    Ok(())
}

/// An error and its causes on one line (near-workspaces puts the reason, e.g. a failed download,
/// in the source).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// SIGINT or SIGTERM (what `scripts/run.sh` and service managers send): without a handler
/// SIGTERM would end the process at once, leaving the sandbox it started running.
async fn stopped() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

fn progress(what: &str) {
    eprintln!("==> {what}");
}

/// Reuses the dev account named in neardev/dev-account.env (key from the credentials folder), or
/// creates one through the testnet faucet helper, as near-cli's dev-deploy did.
async fn testnet_dev_account(worker: &Worker<Testnet>, args: &Args) -> Result<(Account, bool)> {
    let creds = args.credentials_dir.join("testnet");
    if let Some(previous) = files::read_env(&args.out_dir)? {
        let dev_id: AccountId = previous.get("DEV_ACCOUNT").ok_or("neardev/dev-account.env has no DEV_ACCOUNT")?.parse()?;
        let key_file = creds.join(format!("{dev_id}.json"));
        progress(&format!("reusing {dev_id} (key {})", key_file.display()));
        let account = Account::from_file(&key_file, worker)
            .map_err(|e| format!("{}: {e}; delete neardev/ to start over with a new dev account", key_file.display()))?;
        return Ok((account, true));
    }
    progress("creating a dev account through the testnet faucet helper");
    let account = worker.dev_create_account().await?;
    account.store_credentials(&creds).await?;
    Ok((account, false))
}

async fn subaccount<N: near_workspaces::Network + 'static>(worker: &Worker<N>, dev: &Account, name: &str, near: u128, create: bool) -> Result<Account> {
    if create {
        progress(&format!("creating {name}.{}", dev.id()));
        Ok(dev
            .create_subaccount(name)
            .initial_balance(NearToken::from_near(near))
            .keys(dev.secret_key().clone())
            .transact()
            .await?
            .into_result()?)
    } else {
        let id: AccountId = format!("{name}.{}", dev.id()).parse()?;
        Ok(Account::from_secret_key(id, dev.secret_key().clone(), worker))
    }
}

#[allow(clippy::too_many_arguments)]
async fn deploy<N: near_workspaces::Network + 'static>(
    worker: &Worker<N>,
    dev: &Account,
    intents_wasm: &[u8],
    token_wasm: &[u8],
    name: &str,
    chain_id: &str,
    rpc_url: String,
    args: &Args,
    create: bool,
) -> Result<Deployment> {
    let intents = subaccount(worker, dev, "intents", 4, create).await?;
    let token = subaccount(worker, dev, "token", 3, create).await?;

    progress(&format!("deploying {} ({} bytes)", intents.id(), intents_wasm.len()));
    let intents_c = intents.deploy(intents_wasm).await?.into_result()?;
    if intents_c.view("config").await.is_err() {
        intents_c.call("new").args_json(json!({"owner_id": dev.id()})).transact().await?.into_result()?;
    }
    progress(&format!("deploying {} ({} bytes)", token.id(), token_wasm.len()));
    let token_c = token.deploy(token_wasm).await?.into_result()?;
    if token_c.view("ft_metadata").await.is_err() {
        let metadata = json!({"spec": "ft-1.0.0", "name": "Outpost Dollar", "symbol": "ODOL", "decimals": 6});
        token_c
            .call("new")
            .args_json(json!({"owner_id": dev.id(), "total_supply": "1000000000000000", "metadata": metadata}))
            .transact()
            .await?
            .into_result()?;
        // The ledger must be registered with the token to receive deposits (ft_transfer_call).
        dev.call(token_c.id(), "storage_deposit")
            .args_json(json!({"account_id": intents_c.id()}))
            .deposit(NearToken::from_millinear(13))
            .transact()
            .await?
            .into_result()?;
    }
    Ok(Deployment {
        network: name.into(),
        chain_id: chain_id.into(),
        rpc_url,
        dev_account: dev.id().to_string(),
        intents_contract: intents_c.id().to_string(),
        token_contract: token_c.id().to_string(),
        relayer_id: None,
        relayer_url: args.relayer_url.clone(),
        peers: args.peers.clone(),
    })
}

fn report(dir: &Path, d: &Deployment) {
    println!("network          {} ({})", d.network, d.rpc_url);
    println!("dev account      {}", d.dev_account);
    println!("intents contract {}", d.intents_contract);
    println!("token contract   {}", d.token_contract);
    if let Some(r) = &d.relayer_id {
        println!("relayer account  {r}");
    }
    println!("files            {}", dir.display());
}
