//! `outpost-deploy`: deploys the intents ledger and the demo token to a sandbox, testnet or
//! mainnet with one code path (near-workspaces), then writes the neardev/ files (near-cli's
//! `dev-deploy` layout) and the dApp's network config. See `--help` and README.md.
//!
//! Layout on chain: a funding account `A` (yours with --account; else a faucet dev account on
//! testnet, a new account on a sandbox started here) owns `intents.A` (the ledger; no
//! full-access key after its first deploy, upgraded through its owner-only `upgrade`) and
//! `token.A` (the demo token, whole supply minted to `A`, keeps `A`'s key).

mod args;
mod built;
mod chain;
mod creds;
mod files;
mod network;
mod plan;
mod report;

use args::{Args, Funding, Network, ParseError};
use chain::{progress, Result};
use files::Deployment;
use near_workspaces::network::Testnet;
use near_workspaces::types::{AccessKeyPermission, NearToken};
use near_workspaces::{Account, AccountId, Worker};
use network::NetInfo;
use report::Report;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(args) => args,
        // clap prints help and version to stdout (exit 0) and syntax errors to stderr (exit 2).
        Err(ParseError::Clap(e)) => e.exit(),
        Err(ParseError::Rule(msg)) => {
            eprintln!("error: {msg}\n\nFor more information, try '--help'.");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The contracts, the keys of --account and where the run's results go.
struct Job {
    args: Args,
    net: NetInfo,
    intents: built::Built,
    token: built::Built,
    keys: Vec<creds::KeyFile>,
}

async fn run(args: Args) -> Result<()> {
    let net = network::info(args.network);
    let (intents, token) = (built::load(&args.wasm_dir, "outpost_intents")?, built::load(&args.wasm_dir, "outpost_token")?);
    // Key files are checked before any network is contacted: a missing one fails at once.
    let keys = match &args.funding {
        Funding::Own { account, .. } => creds::find(&args.credentials_dir, account)?,
        Funding::Dev => vec![],
    };
    let job = Job { intents, token, keys, net, args };
    let rpc = job.args.rpc_url.clone();
    match (job.args.network, rpc) {
        (Network::Sandbox, None) => sandbox_here(&job).await,
        (Network::Sandbox, Some(url)) => {
            // near-workspaces connects to a running sandbox given its RPC and a key to stand for
            // its root account; ours does (the root account is never used here).
            let (Funding::Own { account, .. }, Some(key)) = (&job.args.funding, job.keys.first()) else {
                return Err("--network sandbox with --rpc-url needs --account and its key".into());
            };
            let root = near_workspaces::network::ValidatorKey::Known(account.clone(), key.secret_key.clone());
            let worker = near_workspaces::sandbox().rpc_addr(&url).validator_key(root).await.map_err(|e| format!("no sandbox at {url}: {e}"))?;
            let funder = own_funder(&worker, &job).await?;
            finish(&worker, &job, funder, url, job.args.out_dir.join("sandbox")).await
        }
        (Network::Testnet, rpc) => {
            let mut builder = near_workspaces::testnet();
            if let Some(url) = &rpc {
                builder = builder.rpc_addr(url);
            }
            let worker = builder.await?;
            let url = rpc.unwrap_or_else(|| job.net.default_rpc.unwrap_or_default().to_owned());
            let funder = match job.args.funding {
                Funding::Own { .. } => own_funder(&worker, &job).await?,
                Funding::Dev => testnet_dev_account(&worker, &job.args).await?,
            };
            finish(&worker, &job, funder, url, job.args.out_dir.clone()).await
        }
        (Network::Mainnet, rpc) => {
            let mut builder = near_workspaces::mainnet();
            if let Some(url) = &rpc {
                builder = builder.rpc_addr(url);
            }
            let worker = builder.await?;
            let url = rpc.unwrap_or_else(|| job.net.default_rpc.unwrap_or_default().to_owned());
            let funder = own_funder(&worker, &job).await?;
            finish(&worker, &job, funder, url, job.args.out_dir.clone()).await
        }
    }
}

/// The contract accounts: given with --account (or derived from it), else `intents.`/`token.`
/// under the funder.
fn contract_ids(args: &Args, funder: &Account) -> Result<(AccountId, AccountId)> {
    Ok(match &args.funding {
        Funding::Own { intents, token, .. } => (intents.clone(), token.clone()),
        Funding::Dev => (format!("intents.{}", funder.id()).parse()?, format!("token.{}", funder.id()).parse()?),
    })
}

/// Deploys with `funder`, writes the neardev files to `out` and prints the summary.
async fn finish<N: near_workspaces::Network + 'static>(worker: &Worker<N>, job: &Job, funder: Account, rpc_url: String, out: std::path::PathBuf) -> Result<()> {
    let (intents_id, token_id) = contract_ids(&job.args, &funder)?;
    let mut txs = Vec::new();
    let deployed = chain::deploy(worker, &funder, &intents_id, &token_id, &job.intents, &job.token, &job.args.credentials_dir, &mut txs).await;
    let deployed = match deployed {
        Ok(d) => d,
        Err(e) => {
            // Whatever was sent before the failure is on chain: say so.
            for t in &txs {
                eprintln!("sent: {} {}", t.what, job.net.tx_link(&t.hash).unwrap_or_else(|| t.hash.clone()));
            }
            return Err(e);
        }
    };
    let deployment = deployment(job, &funder, &intents_id, &token_id, rpc_url.clone(), None);
    let files = files::write(&out, &deployment)?;
    let report = Report { net: job.net.clone(), rpc_url, owner: funder.id().to_string(), contracts: vec![deployed.intents, deployed.token], relayer: None, txs, files };
    print!("{}", report.render());
    Ok(())
}

fn deployment(job: &Job, funder: &Account, intents: &AccountId, token: &AccountId, rpc_url: String, relayer: Option<String>) -> Deployment {
    Deployment {
        network: job.net.network.name().into(),
        chain_id: job.net.chain_id.into(),
        rpc_url,
        explorer_url: job.net.explorer.map(str::to_owned),
        dev_account: funder.id().to_string(),
        intents_contract: intents.to_string(),
        token_contract: token.to_string(),
        relayer_id: relayer,
        relayer_url: job.args.relayer_url.clone(),
        peers: job.args.peers.clone(),
    }
}

/// `--account`: its key from the credentials folder, checked to be a full-access key on chain.
async fn own_funder<N: near_workspaces::Network + 'static>(worker: &Worker<N>, job: &Job) -> Result<Account> {
    let Funding::Own { account, .. } = &job.args.funding else {
        return Err(format!("--network {} needs --account", job.net.network.name()).into());
    };
    let keys = &job.keys;
    let network = job.net.network.name();
    if let Err(e) = worker.view_account(account).await {
        return Err(format!("{account} cannot be read on {network}: {e}").into());
    }
    let on_chain = worker.view_access_keys(account).await.map_err(|e| format!("listing the keys of {account}: {e}"))?;
    let full: Vec<_> = on_chain.iter().filter(|k| matches!(k.access_key.permission, AccessKeyPermission::FullAccess)).map(|k| &k.public_key).collect();
    let key = keys.iter().find(|k| full.contains(&&k.public_key)).ok_or_else(|| {
        let files: Vec<String> = keys.iter().map(|k| format!("{} ({})", k.path.display(), k.public_key)).collect();
        format!("{} is not a full-access key of {account} on {network}", files.join(", "))
    })?;
    progress(&format!("using {account} (key {})", key.path.display()));
    Ok(Account::from_secret_key(account.clone(), key.secret_key.clone(), worker))
}

/// No --account on testnet: reuses the dev account of an earlier testnet run (named in
/// neardev/dev-account.env, key in the credentials folder), or creates one through the testnet
/// faucet helper as near-cli's dev-deploy did.
async fn testnet_dev_account(worker: &Worker<Testnet>, args: &Args) -> Result<Account> {
    if let Some(previous) = files::read_env(&args.out_dir)?.filter(|env| env.get("NEAR_ENV").is_some_and(|n| n == "testnet")) {
        let dev_id: AccountId = previous.get("DEV_ACCOUNT").ok_or("neardev/dev-account.env has no DEV_ACCOUNT")?.parse()?;
        let key = creds::find(&args.credentials_dir, &dev_id)
            .map_err(|e| format!("{e}; or delete neardev/ to start over with a new dev account"))?
            .remove(0);
        progress(&format!("reusing {dev_id} (key {})", key.path.display()));
        return Ok(Account::from_secret_key(dev_id, key.secret_key, worker));
    }
    progress("creating a dev account through the testnet faucet helper");
    let account = worker.dev_create_account().await.map_err(|e| format!("the testnet faucet helper failed ({e}); deploy with your own account instead: --account <you>.testnet"))?;
    let path = creds::write(&args.credentials_dir, account.id(), account.secret_key())?;
    progress(&format!("{} created; key saved to {}", account.id(), path.display()));
    Ok(account)
}

/// No --rpc-url on sandbox: start one, deploy from a new account, add a relayer account for the
/// local stack (scripts/run.sh), and keep it running with --serve.
async fn sandbox_here(job: &Job) -> Result<()> {
    if std::env::var_os("NEAR_SANDBOX_BIN_PATH").is_none() {
        eprintln!("note: NEAR_SANDBOX_BIN_PATH is unset; near-workspaces will try to download a sandbox");
    }
    progress("starting a local NEAR sandbox");
    let worker = near_workspaces::sandbox().await.map_err(|e| {
        format!("{}: no sandbox could be started; point NEAR_SANDBOX_BIN_PATH at a neard sandbox binary (nearcore's `neard` built with the sandbox feature)", with_causes(&e))
    })?;
    let dev = worker.dev_create_account().await?;
    let (intents_id, token_id) = contract_ids(&job.args, &dev)?;
    let mut txs = Vec::new();
    let deployed = chain::deploy(&worker, &dev, &intents_id, &token_id, &job.intents, &job.token, &job.args.credentials_dir, &mut txs).await?;
    progress("creating the relayer account");
    let relayer = dev.create_subaccount("relayer").initial_balance(NearToken::from_near(10)).transact().await?.into_result()?;
    // v2 ledger: the storage a batch adds is charged to the caller's NEAR in the ledger, and the
    // storage of the token records the dev account's deposits create to the depositor's. Both
    // deposit once here, so the local stack settles from the first intent.
    for (who, near) in [(&relayer, 2), (&dev, 1)] {
        progress(&format!("depositing {near} NEAR into the ledger for {}", who.id()));
        who.call(&intents_id, "deposit").args_json(serde_json::json!({})).deposit(NearToken::from_near(near)).transact().await?.into_result()?;
    }
    let out = job.args.out_dir.join("sandbox");
    relayer.store_credentials(&out).await?;
    dev.store_credentials(&out).await?;
    let deployment = deployment(job, &dev, &intents_id, &token_id, worker.rpc_addr(), Some(relayer.id().to_string()));
    let files = files::write(&out, &deployment)?;
    let report = Report {
        net: job.net.clone(),
        rpc_url: worker.rpc_addr(),
        owner: dev.id().to_string(),
        contracts: vec![deployed.intents, deployed.token],
        relayer: Some(relayer.id().to_string()),
        txs,
        files,
    };
    print!("{}", report.render());
    if job.args.serve {
        progress("sandbox running; Ctrl-C or SIGTERM stops it");
        stopped().await?;
        // Returning drops the worker: the sandbox is killed and its data removed.
        progress("stopping the sandbox");
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
