//! Queue: the records and their states; discard, cancel, direct submission (own key or wallet).

use crate::app::{AppCtx, Ctx};
use crate::net::{self, now_ms};
use crate::p2p::P2p;
use outpost_client_model::compose::{self};
use outpost_client_model::network::NetworkConfig;
use outpost_client_model::queue::{new_record, State};
use outpost_client_model::sync::{self, Store};
use outpost_client_model::{rpc, tx};
use outpost_protocol::abi::SimulationReport;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

#[function_component(QueueScreen)]
pub fn queue_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let msg = use_state(|| None::<Result<String, String>>);
    let records = c.view.borrow().clone();
    let unlocked = c.key.borrow().is_some();
    let named = c
        .vault
        .borrow()
        .as_ref()
        .and_then(|v| v.named_account.clone())
        .is_some();

    let wallet = c.wallet.borrow().is_some();
    let act = |what: &'static str, id: String| {
        let (c, app, msg) = (c.clone(), app.clone(), msg.clone());
        Callback::from(move |_| {
            let (c, app, msg, id) = (c.clone(), app.clone(), msg.clone(), id.clone());
            spawn_local(async move {
                let result = match what {
                    "discard" => {
                        let mut q = c.lock_queue().await;
                        match q.check_discard(&id) {
                            Ok(()) => match c.db.delete_record(&id).await {
                                Ok(()) => {
                                    q.records.remove(&id);
                                    c.publish(&q);
                                    Ok("discarded".to_owned())
                                }
                                Err(e) => Err(e.0),
                            },
                            Err(e) => Err(e.0),
                        }
                    }
                    "cancel" => cancel(&c, &id).await,
                    "direct" | "direct-wallet" => match submit_direct(&c, &id, what == "direct-wallet").await {
                        Ok(None) => Ok("the wallet sent the transaction; the chain will show the outcome".to_owned()),
                        Ok(Some(hash)) => {
                            let mut q = c.lock_queue().await;
                            // The record may have been removed meanwhile; the transaction stands anyway.
                            if let Some(mut r) = q.records.get(&id).cloned() {
                                if r.apply(
                                    outpost_client_model::queue::Event::Executed {
                                        tx_hash: Some(hash.clone()),
                                    },
                                    now_ms(),
                                    0,
                                ) {
                                    match c.db.put(std::slice::from_ref(&r)).await {
                                        Ok(()) => {
                                            q.records.insert(id.clone(), r);
                                            c.publish(&q);
                                        }
                                        Err(e) => *c.banner.borrow_mut() = Some(e.0),
                                    }
                                }
                            }
                            Ok(format!("executed in transaction {hash}"))
                        }
                        Err(e) => Err(format!("direct submission failed: {e}")),
                    },
                    _ => Ok(String::new()),
                };
                msg.set(Some(result));
                c.wake.set(true);
                app.refresh.emit(());
            });
        })
    };
    let on_retry = {
        let (c, app) = (c.clone(), app.clone());
        Callback::from(move |_| {
            let (c, app) = (c.clone(), app.clone());
            spawn_local(async move {
                let mut q = c.lock_queue().await;
                let changed = sync::retry_now(&mut q, now_ms());
                let _ = c.db.put(&changed).await;
                c.wake.set(true);
                drop(q);
                app.refresh.emit(());
            });
        })
    };
    html! {
        <section id="queue">
            <h2>{"Queue"}</h2>
            <p>{ if c.online.get() { "Online: queued intents are sent now." } else { "Offline: intents wait here, safely stored, until you are online." } }
               { channels_line(&c.network.borrow(), c.p2p.borrow().as_deref()) }</p>
            <button id="retry" onclick={on_retry}>{"Send queued now"}</button>
            { match &*msg {
                Some(Ok(m)) if !m.is_empty() => html!{ <p class="ok" id="queue-msg">{m}</p> },
                Some(Err(m)) => html!{ <p class="err" id="queue-msg">{m}</p> },
                _ => html!{},
            } }
            <ul id="records">
            { for records.iter().map(|r| {
                let detail = match &r.state {
                    State::Queued => r.last_error.clone().map(|e| format!("last attempt: {e}")).unwrap_or_default(),
                    State::Sent { via, .. } => format!("via {via}"),
                    State::Executed { tx_hash, .. } => tx_hash.clone().map(|h| format!("tx {h}")).unwrap_or_else(|| "nonce used on chain".into()),
                    State::Failed { code, reason, .. } => format!("{code}: {reason}"),
                };
                // Executed transactions link to the network's explorer (network.json `explorer_url`).
                let explorer = match &r.state {
                    State::Executed { tx_hash: Some(h), .. } => c.network.borrow().tx_link(h),
                    _ => None,
                };
                let queued = matches!(r.state, State::Queued);
                // A record keeps the network it was signed for: it is sent, cancelled or submitted
                // only while that network is selected.
                let here = r.signed.recipient == c.network.borrow().intents_contract;
                let can_cancel = here && unlocked && !r.state.is_final() && r.cancels.is_none() && r.cancelled_by.is_none();
                html! {
                    <li class={classes!("rec", r.state.name())} data-id={r.id.clone()} data-state={r.state.name()}>
                        <span class="state">{ r.state.name() }</span>
                        <span class="summary">{ &r.summary }</span>
                        <span class="mono small">{ &r.id[..10.min(r.id.len())] }</span>
                        <span class="detail">{ detail }</span>
                        if let Some(href) = explorer { <a class="explorer small" href={href} target="_blank" rel="noopener noreferrer">{"explorer"}</a> }
                        if r.cancelled_by.is_some() { <span class="detail">{"cancellation queued"}</span> }
                        if !here { <span class="detail network">{ format!("signed for {}: waits until that network is selected", r.signed.recipient) }</span> }
                        if queued && !r.maybe_delivered && r.cancelled_by.is_none() {
                            <button class="discard" onclick={act("discard", r.id.clone())}>{"Discard"}</button>
                        }
                        if can_cancel { <button class="cancel" onclick={act("cancel", r.id.clone())}>{"Cancel (sign a cancellation)"}</button> }
                        if here && unlocked && named && !r.state.is_final() && r.cancels.is_none() {
                            <button class="direct" onclick={act("direct", r.id.clone())}>{"Submit directly (pay gas)"}</button>
                        }
                        if here && wallet && !r.state.is_final() && r.cancels.is_none() {
                            <button class="direct-wallet" onclick={act("direct-wallet", r.id.clone())}>{"Submit with the wallet (it pays the gas)"}</button>
                        }
                        <details><summary>{"Signed intent (JSON)"}</summary>
                            <pre class="json">{ serde_json::to_string(&r.signed).unwrap_or_default() }</pre></details>
                    </li>
                }
            }) }
            </ul>
        </section>
    }
}

/// Signs an `InvalidateNonces` for the record's nonce and queues it, linked to the original, in
/// one IndexedDB transaction.
async fn cancel(c: &Ctx, id: &str) -> Result<String, String> {
    let key = c.key.borrow().clone().ok_or("unlock your key first")?;
    let vault = c.vault.borrow().clone().ok_or("no key")?;
    let mut q = c.lock_queue().await;
    let original = q.check_cancel(id).map_err(|e| e.0)?.clone();
    let now = now_ms();
    let intent = compose::cancellation(
        &vault.account_id(),
        vec![original.signed.nonce],
        now * 1_000_000,
        168,
    )
    .map_err(|e| e.0)?;
    let recipient = c.network.borrow().intents_contract.clone();
    let signed = compose::sign(&key, &intent, &recipient).map_err(|e| e.0)?;
    let record =
        new_record(signed, format!("cancel: {}", original.summary), now).map_err(|e| e.0)?;
    let mut trial = q.clone();
    let both = trial.link_cancellation(id, record, now).map_err(|e| e.0)?;
    c.db.put(&both).await.map_err(|e| e.0)?;
    *q = trial;
    c.publish(&q);
    Ok("cancellation signed and queued".into())
}

/// Where queued intents go, in one sentence for the queue screen.
fn channels_line(network: &NetworkConfig, p2p: Option<&P2p>) -> String {
    let gossip = p2p.map(|p| format!(" Gossip: {}.", p.summary().trim_start_matches("p2p: ")));
    match (&network.relayer_url, gossip) {
        (Some(u), g) => format!("{} Relayer: {u}.", g.unwrap_or_default()),
        (None, Some(g)) => g,
        (None, None) => " No relayer or gossip peer configured (Network).".into(),
    }
}

/// Direct submission: `execute_intents` in a transaction the user's own account signs and pays,
/// with this device's key (a named account's full-access key) or through the NEAR wallet. The
/// transaction hash once it executed; `None` when the wallet does not report the outcome (the
/// sync loop then reads it from the chain).
async fn submit_direct(c: &Ctx, id: &str, via_wallet: bool) -> Result<Option<String>, String> {
    let net = c.network.borrow().clone();
    let signed = c.lock_queue().await.records.get(id).map(|r| r.signed.clone()).ok_or("no longer in the queue")?;
    let signer = if via_wallet {
        c.wallet.borrow().as_ref().map(|w| w.account_id.clone()).ok_or("sign in with a wallet first")?
    } else {
        c.vault.borrow().as_ref().and_then(|v| v.named_account.clone()).ok_or("direct submission needs a named account with NEAR for gas")?
    };
    // Simulate first, as the submitter attaching 1 yocto (so a first NEAR record is counted): it
    // names a failing rule and what the call costs our ledger NEAR (v2), which we attach.
    let args = serde_json::json!({ "signed": [&signed], "caller_id": signer, "attached": "1" });
    let sim = net::rpc_call(&net.rpc_url, &rpc::view_request(&net.intents_contract, "simulate_intents", &args)).await?;
    let report: SimulationReport = rpc::parse_view_as(&sim, "a simulation report")?;
    if let Some(o) = report.outcomes.first() {
        if let outpost_protocol::abi::ItemResult::Failed { code, detail } = &o.result {
            return Err(outpost_client_model::relayer::reason_for(code, detail));
        }
    }
    if let Some(outpost_protocol::abi::ItemResult::Failed { code, detail }) = &report.batch_error {
        return Err(outpost_client_model::relayer::reason_for(code, detail));
    }
    let deposit = report.caller_charge.0.max(1) as u128;
    if via_wallet {
        let t = outpost_client_model::wallet::execute_intents(&net.intents_contract, &[signed], deposit);
        return crate::wallet::send(&net, &t).await.map_err(|e| e.0);
    }
    let key = c.key.borrow().clone().ok_or("unlock your key first")?;
    let ak = net::rpc_call(&net.rpc_url, &rpc::view_access_key_request(&signer, &key.public_key())).await?;
    let (nonce, block_hash) = rpc::parse_access_key(&ak)?;
    let contract = net.intents_contract.parse().map_err(|_| "bad contract id")?;
    let t = tx::Transaction {
        signer_id: signer,
        public_key: key.public_key(),
        nonce: nonce + 1,
        receiver_id: contract,
        block_hash,
        actions: vec![tx::execute_intents_call(&[signed], deposit)],
    };
    let stx = t.sign(&key);
    let out = net::rpc_call(&net.rpc_url, &rpc::send_tx_request(&stx.to_base64())).await?;
    rpc::parse_tx_outcome(&out).map(|h| Some(if h.is_empty() { stx.hash_base58() } else { h }))
}
