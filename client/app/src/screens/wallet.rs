//! Wallet: sign in with a NEAR wallet (near-connect), see its NEAR and tokens and its ledger
//! balances without a click, deposit into the ledger, and register this device's key (and the
//! wallet's own) for the wallet's account, so that account then signs offline in this page.

use crate::app::{AppCtx, Ctx};
use crate::net;
use crate::wallet;
use outpost_client_model::compose::{format_units, parse_units};
use outpost_client_model::rpc;
use outpost_client_model::history::Deposit;
use outpost_client_model::wallet::{deposit_near, deposit_token, key_signs_for, register_keys, WalletAccount};
use outpost_protocol::{PublicKey, TokenId};
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// What the chain says about the wallet's account, read on every visit and after every action.
#[derive(Clone, PartialEq)]
struct Chain {
    wallet_near: Result<u128, String>,
    wallet_tokens: Vec<(TokenId, Result<u128, String>)>,
    ledger: Vec<(TokenId, Result<u128, String>)>,
    keys: Result<Vec<PublicKey>, String>,
}

async fn read_chain(c: &Ctx, account: &WalletAccount) -> Chain {
    let net = c.network.borrow().clone();
    let a = &account.account_id;
    let wallet_near = net::rpc_call(&net.rpc_url, &rpc::view_account_request(a)).await.and_then(|t| rpc::parse_account_balance(&t));
    let mut wallet_tokens = vec![];
    for t in &net.tokens {
        if let TokenId::Nep141(contract) = &t.id {
            let b = net::rpc_call(&net.rpc_url, &rpc::ft_balance_of_request(contract, a)).await.and_then(|x| rpc::parse_balance(&x));
            wallet_tokens.push((t.id.clone(), b));
        }
    }
    let ledger = net::ledger_balances(&net, a).await;
    let keys = net::rpc_call(&net.rpc_url, &rpc::public_keys_of_request(&net.intents_contract, a)).await.and_then(|t| rpc::parse_public_keys(&t));
    Chain { wallet_near, wallet_tokens, ledger, keys }
}

/// Registers, after the wallet's transaction, this device's key as the vault's named account:
/// from then on the page signs for the wallet's account offline.
async fn adopt_account(c: &Ctx, account: &WalletAccount) -> Result<(), String> {
    let Some(mut vault) = c.vault.borrow().clone() else { return Ok(()) };
    if vault.named_account.as_ref() == Some(&account.account_id) {
        return Ok(());
    }
    vault.named_account = Some(account.account_id.clone());
    c.db.save_vault(Some(&vault)).await.map_err(|e| e.0)?;
    *c.vault.borrow_mut() = Some(vault);
    Ok(())
}

#[function_component(WalletScreen)]
pub fn wallet_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let msg = use_state(|| None::<Result<String, String>>);
    let busy = use_state(|| false);
    let amount = use_state(String::new);
    let token = use_state(|| "near".to_owned());
    let chain = use_state(|| None::<Chain>);
    let reload = use_state(|| 0u32);
    let account = c.wallet.borrow().clone();
    let contract = c.network.borrow().intents_contract.clone();

    {
        // Balances and keys without a click: on every visit, account or network change, and after
        // each transaction.
        let (c, chain) = (c.clone(), chain.clone());
        use_effect_with((account.clone(), contract, *reload), move |(account, _, _)| {
            if let Some(a) = account.clone() {
                spawn_local(async move { chain.set(Some(read_chain(&c, &a).await)) });
            } else {
                chain.set(None);
            }
        });
    }

    // Runs one wallet action with the buttons disabled, then re-reads the chain.
    let run = {
        let (c, app, msg, busy, reload) = (c.clone(), app.clone(), msg.clone(), busy.clone(), reload.clone());
        Rc::new(move |what: &'static str, job: std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>>>>| {
            let (c, app, msg, busy, reload) = (c.clone(), app.clone(), msg.clone(), busy.clone(), reload.clone());
            busy.set(true);
            msg.set(Some(Ok(format!("{what}: waiting for the wallet…"))));
            spawn_local(async move {
                let r = job.await;
                busy.set(false);
                msg.set(Some(r.map_err(|e| format!("{what}: {e}"))));
                reload.set(*reload + 1);
                c.wake.set(true);
                app.refresh.emit(());
            });
        })
    };

    let on_connect = {
        let (c, run) = (c.clone(), run.clone());
        Callback::from(move |_| {
            let c = c.clone();
            run(
                "connect",
                Box::pin(async move {
                    let net = c.network.borrow().clone();
                    let a = wallet::connect(&net).await.map_err(|e| e.0)?;
                    let text = format!("signed in as {}", a.account_id);
                    *c.wallet.borrow_mut() = Some(a);
                    Ok(text)
                }),
            )
        })
    };
    let on_disconnect = {
        let (c, run) = (c.clone(), run.clone());
        Callback::from(move |_| {
            let c = c.clone();
            run(
                "sign out",
                Box::pin(async move {
                    let net = c.network.borrow().clone();
                    let r = wallet::disconnect(&net).await;
                    // Forgotten here either way: the page never acts for an account it may no longer hold.
                    *c.wallet.borrow_mut() = None;
                    r.map(|()| "signed out".to_owned()).map_err(|e| e.0)
                }),
            )
        })
    };
    let on_deposit = {
        let (c, run, amount, token) = (c.clone(), run.clone(), amount.clone(), token.clone());
        Callback::from(move |_| {
            let c = c.clone();
            let (text, token) = ((*amount).clone(), (*token).clone());
            run(
                "deposit",
                Box::pin(async move {
                    let net = c.network.borrow().clone();
                    let t: TokenId = token.parse().map_err(|_| format!("unknown token `{token}`"))?;
                    let units = parse_units(&text, net.decimals(&t))?;
                    let tx = match &t {
                        TokenId::Near => deposit_near(&net.intents_contract, units),
                        TokenId::Nep141(contract) => deposit_token(contract, &net.intents_contract, units),
                    }
                    .map_err(|e| e.0)?;
                    let hash = wallet::send(&net, &tx).await.map_err(|e| e.0)?;
                    let account = c.wallet.borrow().as_ref().map(|w| w.account_id.clone());
                    if let (Some(tx_hash), Some(account)) = (hash.clone(), account) {
                        let deposit = Deposit { tx_hash, account, token: t.clone(), amount: units, at_ms: crate::net::now_ms() };
                        c.update_history(|h| h.deposited(deposit));
                    }
                    Ok(format!("deposited {} {}{}", format_units(units, net.decimals(&t)), net.symbol(&t), hash.map(|h| format!(" in transaction {h}")).unwrap_or_default()))
                }),
            )
        })
    };
    let device_key = c.vault.borrow().as_ref().map(|v| v.public_key);
    let missing: Vec<PublicKey> = match (&account, chain.as_ref().map(|ch| &ch.keys)) {
        (Some(a), Some(Ok(registered))) => {
            device_key.iter().chain(a.public_key.iter()).filter(|k| !key_signs_for(&a.account_id, k, registered)).copied().collect::<Vec<_>>()
        }
        _ => vec![],
    };
    let on_register = {
        let (c, run, missing) = (c.clone(), run.clone(), missing.clone());
        Callback::from(move |_| {
            let (c, missing) = (c.clone(), missing.clone());
            run(
                "register keys",
                Box::pin(async move {
                    let net = c.network.borrow().clone();
                    let account = c.wallet.borrow().clone().ok_or("sign in with a wallet first")?;
                    let tx = register_keys(&net.intents_contract, &missing).map_err(|e| e.0)?;
                    let hash = wallet::send(&net, &tx).await.map_err(|e| e.0)?;
                    // Believe the chain, not the wallet: the keys must now be listed.
                    let registered = net::rpc_call(&net.rpc_url, &rpc::public_keys_of_request(&net.intents_contract, &account.account_id))
                        .await
                        .and_then(|t| rpc::parse_public_keys(&t))?;
                    let device = c.vault.borrow().as_ref().map(|v| v.public_key);
                    if let Some(k) = device.filter(|k| registered.contains(k)) {
                        adopt_account(&c, &account).await?;
                        return Ok(format!(
                            "this device's key {k} now signs for {}, offline too{}",
                            account.account_id,
                            hash.map(|h| format!(" (transaction {h})")).unwrap_or_default()
                        ));
                    }
                    if missing.iter().all(|k| registered.contains(k)) {
                        Ok("registered".into())
                    } else {
                        Err("the wallet sent the transaction but the ledger does not list the keys yet; check again in a moment".into())
                    }
                }),
            )
        })
    };

    let status = match &*msg {
        Some(Ok(m)) => html! { <p class="ok" id="wallet-msg">{m}</p> },
        Some(Err(m)) => html! { <p class="err" id="wallet-msg">{m}</p> },
        None => html! {},
    };
    let Some(a) = account else {
        return html! {
            <section id="wallet">
                <h2>{"NEAR wallet"}</h2>
                <p>{"Sign in with your NEAR wallet to deposit into the ledger, sign intents with the wallet, and let this device's key sign for your account offline."}</p>
                <button id="wallet-connect" disabled={*busy} onclick={on_connect}>{"Connect a wallet"}</button>
                {status}
            </section>
        };
    };
    let net = c.network.borrow().clone();
    let amount_text = |t: &TokenId, r: &Result<u128, String>| match r {
        Ok(v) => format!("{} {}", format_units(*v, net.decimals(t)), net.symbol(t)),
        Err(e) => format!("{}: could not read ({e})", net.symbol(t)),
    };
    let tokens: Vec<String> = net.token_ids().iter().map(TokenId::to_string).collect();
    let device_signs_for = match (&device_key, chain.as_ref().map(|ch| &ch.keys)) {
        (Some(k), Some(Ok(registered))) => {
            let mut list = vec![k.implicit_account_id().to_string()];
            if key_signs_for(&a.account_id, k, registered) {
                list.push(a.account_id.to_string());
            }
            Some(list.join(", "))
        }
        _ => None,
    };
    html! {
        <section id="wallet">
            <h2>{"NEAR wallet"}</h2>
            <dl>
                <dt>{"Account"}</dt><dd class="mono" id="wallet-account">{ a.account_id.to_string() }</dd>
                if let Some(k) = &a.public_key { <dt>{"Wallet key"}</dt><dd class="mono small" id="wallet-key">{ k.to_string() }</dd> }
                if let Some(ch) = &*chain {
                    <dt>{"In the wallet"}</dt>
                    <dd id="wallet-near">{ amount_text(&TokenId::Near, &ch.wallet_near) }</dd>
                    { for ch.wallet_tokens.iter().map(|(t, r)| html!{ <dd class="wallet-token" data-token={t.to_string()}>{ amount_text(t, r) }</dd> }) }
                    <dt>{"In the ledger"}</dt>
                    { for ch.ledger.iter().map(|(t, r)| html!{ <dd class="ledger-balance" data-token={t.to_string()} data-amount={r.as_ref().map(|v| v.to_string()).unwrap_or_default()}>{ amount_text(t, r) }</dd> }) }
                }
            </dl>
            <h3>{"Deposit into the ledger"}</h3>
            <label class="field"><span>{"Token"}</span>
                <select id="deposit-token" onchange={{
                    let token = token.clone();
                    Callback::from(move |e: Event| token.set(e.target_unchecked_into::<HtmlSelectElement>().value()))
                }}>{ for tokens.iter().map(|t| html!{ <option value={t.clone()} selected={*t == *token}>{t.clone()}</option> }) }</select></label>
            { crate::app::field("deposit-amount", "Amount", "text", &amount, None) }
            <button id="deposit" disabled={*busy} onclick={on_deposit}>{"Deposit with the wallet"}</button>
            <h3>{"Keys that sign for this account"}</h3>
            { match chain.as_ref().map(|ch| &ch.keys) {
                Some(Ok(_)) if missing.is_empty() => html!{ <p id="wallet-keys" data-missing="0">{"Every key is registered: the wallet and this device can sign intents for this account."}</p> },
                Some(Ok(_)) => html!{ <>
                    <p id="wallet-keys" data-missing={missing.len().to_string()}>{ format!(
                        "Not yet registered in the ledger: {}. One transaction from the wallet registers them (0.01 NEAR attached per key; what the storage does not use comes back).",
                        missing.iter().map(|k| if Some(*k) == device_key { format!("this device's key {k}") } else { format!("the wallet's key {k}") }).collect::<Vec<_>>().join(", "),
                    ) }</p>
                    <button id="register-keys" disabled={*busy} onclick={on_register}>{"Register with the wallet"}</button>
                </> },
                Some(Err(e)) => html!{ <p class="err" id="wallet-keys">{ format!("could not read the registered keys: {e}") }</p> },
                None => html!{ <p id="wallet-keys">{"reading…"}</p> },
            } }
            if device_key.is_none() { <p>{"No key in this browser yet (Keys): create one to sign offline for this account."}</p> }
            if let Some(list) = device_signs_for { <p id="device-signs-for">{ format!("This device's key signs for: {list}") }</p> }
            <button id="wallet-disconnect" disabled={*busy} onclick={on_disconnect}>{"Sign out of the wallet"}</button>
            {status}
        </section>
    }
}
