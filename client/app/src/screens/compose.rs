//! Compose: a draft validated as the user types, signed with the local key, queued.

use crate::app::{field, field_with_list, AppCtx};
use crate::net::now_ms;
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
    let signer = c.vault.borrow().as_ref().map(|v| v.account_id());
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

    let on_sign = {
        let (c, app, status, show_all, amount, memo) = (
            c.clone(),
            app.clone(),
            status.clone(),
            show_all.clone(),
            amount.clone(),
            memo.clone(),
        );
        let draft = draft.clone();
        Callback::from(move |_| {
            show_all.set(true);
            let Some(vault) = c.vault.borrow().clone() else {
                return status.set(Some(Err("create or import a key first (Keys)".into())));
            };
            let Some(key) = c.key.borrow().clone() else {
                return status.set(Some(Err(
                    "unlock your key first (Keys): signing needs it".into()
                )));
            };
            let now = now_ms();
            let intent = match draft.build(&vault.account_id(), now * 1_000_000, &c.decimals()) {
                Ok(i) => i,
                Err(_) => return status.set(Some(Err("fix the fields marked above".into()))),
            };
            let recipient = c.network.borrow().intents_contract.clone();
            let record = compose::sign(&key, &intent, &recipient)
                .and_then(|s| new_record(s, compose::summarize(&intent, &c.decimals()), now));
            let record = match record {
                Ok(r) => r,
                Err(e) => return status.set(Some(Err(e.0))),
            };
            let (c, app, status, amount, memo) = (
                c.clone(),
                app.clone(),
                status.clone(),
                amount.clone(),
                memo.clone(),
            );
            spawn_local(async move {
                let mut q = c.queue.lock().await;
                // Written to IndexedDB (one transaction, completed) before we say "queued".
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
    let token_list: Vec<String> = std::iter::once("near".to_owned())
        .chain(c.network.borrow().tokens.iter().map(|t| t.id.to_string()))
        .collect();
    html! {
        <section id="compose">
            <h2>{"Compose"}</h2>
            if signer.is_none() { <p class="err">{"Create or import a key first (Keys)."}</p> }
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
            <button id="sign" onclick={on_sign}>{"Sign and queue"}</button>
            { match &*status {
                Some(Ok(m)) => html!{ <p class="ok" id="compose-status">{m}</p> },
                Some(Err(m)) => html!{ <p class="err" id="compose-status">{m}</p> },
                None => html!{},
            } }
        </section>
    }
}
