//! The deploy itself, against any node near-workspaces reaches: look at both contract accounts,
//! decide and price every step (plan.rs), check the funding account's balance, then act.
//!
//! The intents ledger ends with no full-access key: its first deploy is one atomic transaction
//! (deploy, `new`, delete the key) and every later code change goes through the owner's
//! `upgrade` call with exactly 1 yoctoNEAR. The demo token keeps the key it was created with and
//! is redeployed directly (it holds no user funds of consequence; it is a demo asset).

use crate::built::Built;
use crate::creds;
use crate::plan::{self, Found, Step};
use crate::report::{ContractLine, Tx};
use near_workspaces::operations::Function;
use near_workspaces::result::ExecutionFinalResult;
use near_workspaces::types::{AccessKeyPermission, Gas, NearToken, PublicKey, SecretKey};
use near_workspaces::{Account, AccountId, ContractState, Network, Worker};
use serde_json::json;
use std::path::Path;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const INIT_GAS: Gas = Gas::from_tgas(50);
/// `upgrade` reads the wasm from its input and deploys it in a promise, then `migrate`.
const UPGRADE_GAS: Gas = Gas::from_tgas(300);
const ONE_YOCTO: NearToken = NearToken::from_yoctonear(1);

/// The demo token's supply (6 decimals), minted to the owner.
const TOKEN_SUPPLY: &str = "1000000000000000";

pub fn progress(what: &str) {
    eprintln!("==> {what}");
}

/// Records a sent transaction's hash (listed even when it failed) and checks its outcome.
fn record(txs: &mut Vec<Tx>, what: String, outcome: ExecutionFinalResult) -> Result<()> {
    let hash = outcome.outcome().transaction_hash.to_string();
    txs.push(Tx { what: what.clone(), hash: hash.clone() });
    match outcome.into_result() {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{what} failed (transaction {hash}): {e}").into()),
    }
}

fn is_unknown_account(e: &near_workspaces::error::Error) -> bool {
    let text = format!("{e} {e:?}");
    text.contains("UnknownAccount") || text.contains("UNKNOWN_ACCOUNT") || text.contains("does not exist")
}

async fn find<N: Network + 'static>(worker: &Worker<N>, id: &AccountId) -> Result<Found> {
    let details = match worker.view_account(id).await {
        Ok(d) => d,
        Err(e) if is_unknown_account(&e) => return Ok(Found::Missing),
        Err(e) => return Err(format!("viewing {id}: {e}").into()),
    };
    let (balance, storage_usage) = (details.balance.as_yoctonear(), details.storage_usage);
    Ok(match details.contract_state {
        ContractState::None => Found::Empty { balance, storage_usage },
        ContractState::LocalHash(h) => Found::Code { balance, storage_usage, code_hash: h.to_string() },
        other => return Err(format!("{id} uses a global contract ({other:?}); choose another account").into()),
    })
}

/// The code hash on chain now (base58), or "" when the account has no code.
async fn code_hash_of<N: Network + 'static>(worker: &Worker<N>, id: &AccountId) -> Result<String> {
    Ok(match find(worker, id).await? {
        Found::Code { code_hash, .. } => code_hash,
        _ => String::new(),
    })
}

async fn full_access_keys<N: Network + 'static>(worker: &Worker<N>, id: &AccountId) -> Result<Vec<PublicKey>> {
    let keys = worker.view_access_keys(id).await.map_err(|e| format!("listing the keys of {id}: {e}"))?;
    Ok(keys.into_iter().filter(|k| matches!(k.access_key.permission, AccessKeyPermission::FullAccess)).map(|k| k.public_key).collect())
}

/// The owner the intents contract reports, or an error saying the code is something else.
async fn intents_owner<N: Network + 'static>(worker: &Worker<N>, id: &AccountId) -> Result<String> {
    let config: serde_json::Value = worker
        .view(id, "config")
        .await
        .and_then(|r| r.json())
        .map_err(|e| format!("{id} has code that is not Outpost's intents contract (its `config` view failed: {e}); choose another --intents-account"))?;
    Ok(config["owner_id"].as_str().unwrap_or_default().to_owned())
}

/// The prefix that makes `id` a direct sub-account of `parent`, which only `parent` can create.
fn sub_name<'a>(id: &'a AccountId, parent: &AccountId) -> Option<&'a str> {
    id.as_str().strip_suffix(&format!(".{parent}")).filter(|p| !p.contains('.'))
}

/// A key we hold that is a full-access key of `id`: the funder's (sub-accounts we created use it)
/// or one from the credentials folder.
async fn key_for<N: Network + 'static>(worker: &Worker<N>, funder: &Account, id: &AccountId, creds_dir: &Path) -> Result<SecretKey> {
    let on_chain = full_access_keys(worker, id).await?;
    if on_chain.contains(&funder.secret_key().public_key()) {
        return Ok(funder.secret_key().clone());
    }
    let files = creds::find(creds_dir, id).map_err(|e| format!("{id} exists and must be deployed with its own key: {e}"))?;
    files
        .into_iter()
        .find(|k| on_chain.contains(&k.public_key))
        .map(|k| k.secret_key)
        .ok_or_else(|| format!("none of the keys for {id} in {} is a full-access key of it on chain", creds_dir.display()).into())
}

/// One contract account: where it is, what it needs, and the key to act with (when a step needs
/// the account's own key).
struct Target<'a> {
    id: &'a AccountId,
    built: &'a Built,
    step: Step,
    key: Option<SecretKey>,
}

pub struct Deployed {
    pub intents: ContractLine,
    pub token: ContractLine,
}

/// Looks at both accounts, checks the funder's balance against everything the run will spend,
/// then creates, installs or upgrades each contract. Nothing is sent before the checks pass.
#[allow(clippy::too_many_arguments)]
pub async fn deploy<N: Network + 'static>(
    worker: &Worker<N>,
    funder: &Account,
    intents_id: &AccountId,
    token_id: &AccountId,
    intents: &Built,
    token: &Built,
    creds_dir: &Path,
    txs: &mut Vec<Tx>,
) -> Result<Deployed> {
    progress(&format!("looking at {intents_id} and {token_id}"));
    let found_intents = find(worker, intents_id).await?;
    if let Found::Code { .. } = found_intents {
        let owner = intents_owner(worker, intents_id).await?;
        if owner != funder.id().as_str() {
            return Err(format!("{intents_id} is owned by {owner}, not {}: only its owner can upgrade it (run with --account {owner})", funder.id()).into());
        }
    }
    let found_token = find(worker, token_id).await?;
    if let Found::Code { .. } = found_token {
        worker
            .view(token_id, "ft_metadata")
            .await
            .map_err(|e| format!("{token_id} has code that is not a NEP-141 token (its `ft_metadata` view failed: {e}); choose another --token-account"))?;
    }
    let mut targets = [
        Target { id: intents_id, built: intents, step: plan::step(&found_intents, intents.code.len(), &intents.hash), key: None },
        Target { id: token_id, built: token, step: plan::step(&found_token, token.code.len(), &token.hash), key: None },
    ];
    for (i, t) in targets.iter_mut().enumerate() {
        match t.step {
            Step::Create { .. } => {
                if sub_name(t.id, funder.id()).is_none() {
                    return Err(format!(
                        "{} does not exist and only its parent account can create it, not {}: create it yourself, put its key in {} and run again",
                        t.id,
                        funder.id(),
                        creds::path_of(creds_dir, t.id).display()
                    )
                    .into());
                }
            }
            // The token is installed and redeployed with its own key; the ledger is installed with
            // its own key and upgraded by its owner.
            Step::Install => t.key = Some(key_for(worker, funder, t.id, creds_dir).await?),
            Step::Upgrade { .. } if i == 1 => t.key = Some(key_for(worker, funder, t.id, creds_dir).await?),
            _ => {}
        }
    }
    let registers_ledger = match targets[1].step {
        Step::Create { .. } | Step::Install => true,
        _ => worker.view(token_id, "storage_balance_of").args_json(json!({"account_id": intents_id})).await?.json::<serde_json::Value>()?.is_null(),
    };

    let funder_details = worker.view_account(funder.id()).await.map_err(|e| format!("{} cannot be read on this network: {e}", funder.id()))?;
    let available = plan::available(funder_details.balance.as_yoctonear(), funder_details.storage_usage);
    let (needed, items) = plan::cost(&[(intents_id, &targets[0].step), (token_id, &targets[1].step)], registers_ledger);
    plan::check_balance(funder.id(), available, needed, &items)?;

    let [t_intents, t_token] = targets;
    let intents_action = install_intents(worker, funder, &t_intents, creds_dir, txs).await?;
    let token_action = install_token(worker, funder, &t_token, txs).await?;
    if registers_ledger {
        progress(&format!("registering {intents_id} with {token_id}"));
        let out = funder
            .call(token_id, "storage_deposit")
            .args_json(json!({"account_id": intents_id}))
            .deposit(NearToken::from_yoctonear(plan::TOKEN_REGISTRATION))
            .transact()
            .await?;
        record(txs, format!("register {intents_id} with the token"), out)?;
    }

    // What is on chain now, checked rather than assumed.
    let mut lines = Vec::new();
    for (role, t, action) in [("intents", &t_intents, intents_action), ("token", &t_token, token_action)] {
        let code_hash = code_hash_of(worker, t.id).await?;
        if code_hash != t.built.hash {
            return Err(format!("{} runs code {code_hash}, not this build's {} ({})", t.id, t.built.hash, t.built.path.display()).into());
        }
        let keys = full_access_keys(worker, t.id).await?.iter().map(|k| k.to_string()).collect();
        lines.push(ContractLine { role, account: t.id.to_string(), code_hash, action, build: t.built.build.clone(), full_access_keys: keys });
    }
    let owner = intents_owner(worker, intents_id).await?;
    if owner != funder.id().as_str() {
        return Err(format!("{intents_id} reports owner {owner}, expected {}", funder.id()).into());
    }
    let token = lines.pop().expect("two lines");
    let intents = lines.pop().expect("two lines");
    Ok(Deployed { intents, token })
}

async fn create(funder: &Account, id: &AccountId, initial: u128, txs: &mut Vec<Tx>) -> Result<()> {
    let name = sub_name(id, funder.id()).expect("checked before the balance check");
    progress(&format!("creating {id} ({})", plan::near(initial)));
    // The new account gets the funder's key: it signs the first deploy (and, for the ledger,
    // deletes itself in that same transaction).
    let created = funder.create_subaccount(name).initial_balance(NearToken::from_yoctonear(initial)).keys(funder.secret_key().clone()).transact().await?;
    record(txs, format!("create {id}"), created.details)
}

async fn install_intents<N: Network + 'static>(worker: &Worker<N>, funder: &Account, t: &Target<'_>, creds_dir: &Path, txs: &mut Vec<Tx>) -> Result<&'static str> {
    let id = t.id;
    match &t.step {
        Step::UpToDate => {
            progress(&format!("{id} already runs this build ({})", t.built.hash));
            delete_leftover_keys(worker, funder, id, creds_dir, txs).await?;
            Ok("up to date")
        }
        Step::Upgrade { top_up } => {
            if *top_up > 0 {
                progress(&format!("sending {} to {id} for its larger code", plan::near(*top_up)));
                let out = funder.transfer_near(id, NearToken::from_yoctonear(*top_up)).await?;
                record(txs, format!("top up {id}"), out)?;
            }
            progress(&format!("upgrading {id} through its `upgrade` method ({} bytes, 1 yocto)", t.built.code.len()));
            let out = funder.call(id, "upgrade").args(t.built.code.clone()).deposit(ONE_YOCTO).gas(UPGRADE_GAS).transact().await?;
            record(txs, format!("upgrade {id}"), out)?;
            // Accounts deployed before keys were deleted (earlier versions of this tool).
            delete_leftover_keys(worker, funder, id, creds_dir, txs).await?;
            Ok("upgraded through `upgrade`")
        }
        Step::Create { .. } | Step::Install => {
            let (key, action) = if let Step::Create { initial } = &t.step {
                create(funder, id, *initial, txs).await?;
                (funder.secret_key().clone(), "created")
            } else {
                (t.key.clone().expect("key found before the balance check"), "installed")
            };
            let mut keys = full_access_keys(worker, id).await?;
            // The key we just created it with goes too, even if a lagging view missed it.
            if !keys.contains(&key.public_key()) {
                keys.push(key.public_key());
            }
            let account = Account::from_secret_key(id.clone(), key, worker);
            progress(&format!("deploying {id} ({} bytes), calling new and deleting its {} full-access key(s) in one transaction", t.built.code.len(), keys.len()));
            let mut batch = account.batch(id).deploy(&t.built.code).call(Function::new("new").args_json(json!({"owner_id": funder.id()})).gas(INIT_GAS));
            for k in keys {
                batch = batch.delete_key(k);
            }
            let out = batch.transact().await?;
            record(txs, format!("deploy + init {id}, delete its keys"), out)?;
            Ok(action)
        }
    }
}

/// Deletes the ledger's remaining full-access keys when we hold one of them.
async fn delete_leftover_keys<N: Network + 'static>(worker: &Worker<N>, funder: &Account, id: &AccountId, creds_dir: &Path, txs: &mut Vec<Tx>) -> Result<()> {
    let keys = full_access_keys(worker, id).await?;
    if keys.is_empty() {
        return Ok(());
    }
    let Ok(key) = key_for(worker, funder, id, creds_dir).await else {
        eprintln!("warning: {id} still has full-access key(s) {keys:?} that this tool cannot delete (no key file for them); delete them so only `upgrade` can change the code");
        return Ok(());
    };
    progress(&format!("deleting {} leftover full-access key(s) of {id}", keys.len()));
    let mut batch = Account::from_secret_key(id.clone(), key, worker).batch(id);
    for k in keys {
        batch = batch.delete_key(k);
    }
    let out = batch.transact().await?;
    record(txs, format!("delete full-access keys of {id}"), out)
}

async fn install_token<N: Network + 'static>(worker: &Worker<N>, funder: &Account, t: &Target<'_>, txs: &mut Vec<Tx>) -> Result<&'static str> {
    let id = t.id;
    let key = match &t.step {
        Step::UpToDate => {
            progress(&format!("{id} already runs this build ({})", t.built.hash));
            return Ok("up to date");
        }
        Step::Create { initial } => {
            create(funder, id, *initial, txs).await?;
            funder.secret_key().clone()
        }
        Step::Install | Step::Upgrade { .. } => t.key.clone().expect("key found before the balance check"),
    };
    let account = Account::from_secret_key(id.clone(), key, worker);
    if let Step::Upgrade { top_up } = t.step {
        if top_up > 0 {
            let out = funder.transfer_near(id, NearToken::from_yoctonear(top_up)).await?;
            record(txs, format!("top up {id}"), out)?;
        }
        progress(&format!("redeploying {id} ({} bytes) with its own key", t.built.code.len()));
        let out = account.batch(id).deploy(&t.built.code).transact().await?;
        record(txs, format!("redeploy {id}"), out)?;
        return Ok("redeployed");
    }
    progress(&format!("deploying {id} ({} bytes) and calling new", t.built.code.len()));
    let metadata = json!({"spec": "ft-1.0.0", "name": "Outpost Dollar", "symbol": "ODOL", "decimals": 6});
    let out = account
        .batch(id)
        .deploy(&t.built.code)
        .call(Function::new("new").args_json(json!({"owner_id": funder.id(), "total_supply": TOKEN_SUPPLY, "metadata": metadata})).gas(INIT_GAS))
        .transact()
        .await?;
    record(txs, format!("deploy + init {id}"), out)?;
    Ok(if matches!(t.step, Step::Create { .. }) { "created" } else { "installed" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_direct_sub_accounts_can_be_created() {
        let id = |s: &str| -> AccountId { s.parse().unwrap() };
        assert_eq!(sub_name(&id("intents.alice.testnet"), &id("alice.testnet")), Some("intents"));
        assert_eq!(sub_name(&id("a.intents.alice.testnet"), &id("alice.testnet")), None);
        assert_eq!(sub_name(&id("intents.bob.testnet"), &id("alice.testnet")), None);
        assert_eq!(sub_name(&id("xalice.testnet"), &id("alice.testnet")), None);
    }
}
