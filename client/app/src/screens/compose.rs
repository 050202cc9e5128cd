//! Compose: a draft validated as the user types, signed with the local key or the NEAR wallet,
//! queued.

use crate::app::{field, field_with_list, AppCtx};
use crate::net::{self, now_ms};
use outpost_client_model::rpc;
use outpost_client_model::wallet::{key_signs_for, message_request};
use outpost_client_model::compose::{self, Draft, Field, Kind};
use outpost_client_model::queue::new_record;
use outpost_client_model::sync::{self};
use std::collections::BTreeMap;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

#[function_component(ComposeScreen)]
pub fn compose_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let kind = use_state(|| Kind::Transfer);
    let token = use_state(|| "near".to_owned());
    let amount = use_state(String::new);
    let receiver = use_state(String::new);
    let memo = use_state(String::new);
    let give_token = use_state(|| "near".to_owned());
    let give_amount = use_state(String::new);
    let get_token = use_state(String::new);
    let get_amount = use_state(String::new);
    let hours = use_state(|| "168".to_owned());
    let fee = use_state(String::new);
    let show_all = use_state(|| false);
    let status = use_state(|| None::<Result<String, String>>);
    // Sign with the local key (offline too) or, when one is signed in, the NEAR wallet (online).
    let with_wallet = use_state(|| false);
    // What "Sign" will sign, shown first: exactly this intent is signed on confirmation.
    let review = use_state(|| None::<(outpost_protocol::Intent, bool)>);

    let draft = Draft {
        kind: *kind,
        token: (*token).clone(),
        amount: (*amount).clone(),
        receiver: (*receiver).clone(),
        memo: (*memo).clone(),
        give_token: (*give_token).clone(),
        give_amount: (*give_amount).clone(),
        get_token: (*get_token).clone(),
        get_amount: (*get_amount).clone(),
        valid_hours: (*hours).clone(),
        fee: (*fee).clone(),
    };
    // A token the network file does not know: read its metadata (symbol, decimals) once.
    for t in [&*token, &*give_token, &*get_token] {
        if let Ok(t) = t.trim().parse::<outpost_protocol::TokenId>() {
            c.learn_token(&t, &app.refresh);
        }
    }
    let wallet_account = c.wallet.borrow().clone();
    let use_wallet = *with_wallet && wallet_account.is_some();
    let signer = if use_wallet {
        wallet_account.as_ref().map(|w| w.account_id.clone())
    } else {
        c.vault.borrow().as_ref().map(|v| v.account_id())
    };
    // Validate as the user types; a field shows its error once it has text (or after "Sign").
    let errors = match &signer {
        Some(s) => draft
            .build(s, now_ms() * 1_000_000, &c.decimals())
            .err()
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let typed = |f: Field| match f {
        Field::Amount => !amount.is_empty(),
        Field::Receiver => !receiver.is_empty(),
        Field::Memo => !memo.is_empty(),
        Field::Token => !token.is_empty(),
        Field::GiveAmount => !give_amount.is_empty(),
        Field::GetAmount => !get_amount.is_empty(),
        Field::GetToken => !get_token.is_empty(),
        Field::GiveToken => !give_token.is_empty(),
        Field::ValidHours => true,
        Field::Fee => !fee.is_empty(),
        Field::Form => true,
    };
    let err = |f: Field| errors.get(&f).filter(|_| *show_all || typed(f));

    // "Sign" first shows what will be signed (the review); nothing is signed until confirmed.
    let on_review = {
        let (c, status, show_all, review, draft) = (c.clone(), status.clone(), show_all.clone(), review.clone(), draft.clone());
        Callback::from(move |_| {
            show_all.set(true);
            let signer = if use_wallet {
                c.wallet.borrow().as_ref().map(|w| w.account_id.clone())
            } else {
                if c.vault.borrow().is_none() {
                    return status.set(Some(Err("create or import a key first (Keys)".into())));
                }
                if c.key.borrow().is_none() {
                    return status.set(Some(Err("unlock your key first (Keys): signing needs it".into())));
                }
                c.vault.borrow().as_ref().map(|v| v.account_id())
            };
            let Some(signer) = signer else { return };
            match draft.build(&signer, now_ms() * 1_000_000, &c.decimals()) {
                Ok(i) => {
                    status.set(None);
                    review.set(Some((i, use_wallet)));
                }
                Err(_) => status.set(Some(Err("fix the fields marked above".into()))),
            }
        })
    };
    let on_confirm = {
        let (c, app, status, amount, memo) = (c.clone(), app.clone(), status.clone(), amount.clone(), memo.clone());
        let review = review.clone();
        Callback::from(move |_| {
            let Some((intent, use_wallet)) = (*review).clone() else { return };
            review.set(None);
            let now = now_ms();
            let recipient = c.network.borrow().intents_contract.clone();
            let (c2, app, status2, amount, memo) = (c.clone(), app.clone(), status.clone(), amount.clone(), memo.clone());
            // Queues a signed record: written to IndexedDB (one transaction, completed) before we
            // say "queued".
            let queue = move |record: Result<outpost_client_model::queue::Record, String>| {
                let (c, app, status, amount, memo) = (c2.clone(), app.clone(), status2.clone(), amount.clone(), memo.clone());
                spawn_local(async move {
                    let record = match record {
                        Ok(r) => r,
                        Err(e) => return status.set(Some(Err(e))),
                    };
                    let mut q = c.lock_queue().await;
                    match sync::enqueue(&mut q, &c.db, record).await {
                        Ok((r, _)) => {
                            c.publish(&q);
                            drop(q);
                            c.wake.set(true);
                            status.set(Some(Ok(format!("queued: {} ({})", r.summary, &r.id[..8]))));
                            amount.set(String::new());
                            memo.set(String::new());
                            app.refresh.emit(());
                        }
                        Err(e) => status.set(Some(Err(format!("not queued: {}", e.0)))),
                    }
                });
            };
            if use_wallet {
                let Some(account) = c.wallet.borrow().clone().filter(|a| a.account_id == intent.signer_id) else {
                    return status.set(Some(Err("the wallet signed out or changed account since the review: review again".into())));
                };
                let summary = compose::summarize(&intent, &c.decimals());
                let net = c.network.borrow().clone();
                status.set(Some(Ok("waiting for the wallet to sign…".into())));
                spawn_local(async move {
                    let record = async {
                        // The ledger takes a named account's signature only from a registered key:
                        // say so before the wallet is asked, not after a relayer refuses it.
                        if let Some(k) = account.public_key {
                            let registered = net::rpc_call(&net.rpc_url, &rpc::public_keys_of_request(&net.intents_contract, &account.account_id))
                                .await
                                .and_then(|t| rpc::parse_public_keys(&t))?;
                            if !key_signs_for(&account.account_id, &k, &registered) {
                                return Err(format!("the wallet's key {k} is not registered for {} in the ledger yet: register it on the Wallet screen", account.account_id));
                            }
                        }
                        let req = message_request(&intent, &recipient).map_err(|e| e.0)?;
                        let signed = crate::wallet::sign(&net, &req, &account.account_id, now_ms() * 1_000_000).await.map_err(|e| e.0)?;
                        new_record(signed, summary, now_ms()).map_err(|e| e.0)
                    }
                    .await;
                    queue(record);
                });
                return;
            }
            let Some(vault) = c.vault.borrow().clone() else {
                return status.set(Some(Err("create or import a key first (Keys)".into())));
            };
            let Some(key) = c.key.borrow().clone() else {
                return status.set(Some(Err("unlock your key first (Keys): signing needs it".into())));
            };
            if vault.account_id() != intent.signer_id {
                return status.set(Some(Err("the key changed since the review: review again".into())));
            }
            queue(
                compose::sign(&key, &intent, &recipient)
                    .and_then(|s| new_record(s, compose::summarize(&intent, &c.decimals()), now))
                    .map_err(|e| e.0),
            );
        })
    };
    let on_kind = {
        let kind = kind.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            kind.set(match v.as_str() {
                "withdraw" => Kind::Withdraw,
                "swap" => Kind::Swap,
                _ => Kind::Transfer,
            })
        })
    };
    let token_list: Vec<String> = c.network.borrow().token_ids().iter().map(outpost_protocol::TokenId::to_string).collect();
    html! {
        <section id="compose">
            <h2>{"Compose"}</h2>
            if signer.is_none() { <p class="err">{"Create or import a key first (Keys), or sign in with a wallet (Wallet)."}</p> }
            if let Some(w) = &wallet_account {
                <label class="field"><span>{"Sign with"}</span>
                    <select id="sign-with" onchange={{
                        let with_wallet = with_wallet.clone();
                        Callback::from(move |e: Event| with_wallet.set(e.target_unchecked_into::<HtmlSelectElement>().value() == "wallet"))
                    }}>
                        <option value="key" selected={!use_wallet}>{ format!("this device's key ({})", c.vault.borrow().as_ref().map(|v| v.account_id().to_string()).unwrap_or_else(|| "none yet".into())) }</option>
                        <option value="wallet" selected={use_wallet}>{ format!("the wallet ({}, online only)", w.account_id) }</option>
                    </select></label>
            }
            <label class="field"><span>{"Kind"}</span>
                <select id="kind" onchange={on_kind}>
                    <option value="transfer" selected={*kind == Kind::Transfer}>{"Transfer (inside the ledger)"}</option>
                    <option value="withdraw" selected={*kind == Kind::Withdraw}>{"Withdraw (out of the ledger)"}</option>
                    <option value="swap" selected={*kind == Kind::Swap}>{"Swap offer"}</option>
                </select>
            </label>
            <datalist id="tokens">{ for token_list.iter().map(|t| html!{ <option value={t.clone()}/> }) }</datalist>
            if *kind == Kind::Swap {
                { field("give-token", "Give token", "text", &give_token, err(Field::GiveToken)) }
                { field("give-amount", "Give amount", "text", &give_amount, err(Field::GiveAmount)) }
                { field_with_list("get-token", "Receive token", "text", &get_token, err(Field::GetToken), Some("tokens")) }
                { field("get-amount", "Receive amount", "text", &get_amount, err(Field::GetAmount)) }
            } else {
                { field_with_list("token", "Token (near or nep141:<contract>)", "text", &token, err(Field::Token), Some("tokens")) }
                { field("amount", "Amount", "text", &amount, err(Field::Amount)) }
                { field("receiver", "Receiver account", "text", &receiver, err(Field::Receiver)) }
                { field("memo", "Memo (optional)", "text", &memo, err(Field::Memo)) }
            }
            { field("hours", "Valid for (hours)", "text", &hours, err(Field::ValidHours)) }
            { field("fee", "Relayer fee in NEAR (optional, paid to whoever submits it)", "text", &fee, err(Field::Fee)) }
            if let Some(e) = err(Field::Form) { <div class="err" id="err-form">{e.clone()}</div> }
            if let Some((intent, wallet)) = &*review {
                <div class="review" id="review">
                    <h3>{"Check, then sign"}</h3>
                    <p id="review-summary">{ compose::summarize(intent, &c.decimals()) }</p>
                    <dl>
                        <dt>{"Signed by"}</dt><dd class="mono">{ format!("{}{}", intent.signer_id, if *wallet { " (with the wallet)" } else { " (this device's key)" }) }</dd>
                        <dt>{"For"}</dt><dd class="mono">{ format!("{} on {}", c.network.borrow().intents_contract, c.network.borrow().name) }</dd>
                        <dt>{"Valid until"}</dt><dd>{ String::from(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64((intent.deadline.0 / 1_000_000) as f64)).to_string()) }</dd>
                        if let Some(f) = &intent.fee { <dt>{"Relayer fee"}</dt><dd>{ format!("{} {}", compose::format_units(f.amount.0, c.decimals()(&f.token)), c.network.borrow().symbol(&f.token)) }</dd> }
                    </dl>
                    <button id="confirm-sign" onclick={on_confirm}>{ if *wallet { "Sign with the wallet and queue" } else { "Sign and queue" } }</button>
                    <button id="review-cancel" onclick={{ let review = review.clone(); Callback::from(move |_| review.set(None)) }}>{"Back"}</button>
                </div>
            } else {
                <button id="sign" onclick={on_review}>{"Review and sign"}</button>
            }
            { match &*status {
                Some(Ok(m)) => html!{ <p class="ok" id="compose-status">{m}</p> },
                Some(Err(m)) => html!{ <p class="err" id="compose-status">{m}</p> },
                None => html!{},
            } }
        </section>
    }
}
