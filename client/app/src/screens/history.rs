//! History: payments this page saw made to the user's accounts (heard in gossip, settled only on
//! the chain's word), the deposits it sent through the wallet, and what the user sent (the
//! queue's settled records), each with its explorer link when the network has an explorer.

use crate::app::AppCtx;
use outpost_client_model::compose::format_units;
use outpost_client_model::history::received_state;
use outpost_client_model::queue::State;
use yew::prelude::*;

fn explorer(href: Option<String>) -> Html {
    html! { if let Some(href) = href { <a class="explorer small" href={href} target="_blank" rel="noopener noreferrer">{"explorer"}</a> } }
}

#[function_component(HistoryScreen)]
pub fn history_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let net = c.network.borrow().clone();
    let history = c.history();
    let view = c.view.borrow();
    let sent: Vec<_> = view.iter().filter(|r| r.state.is_final() && r.signed.recipient == net.intents_contract).collect();
    html! {
        <section id="history">
            <h2>{"History"}</h2>
            <p>{"Payments to your accounts that this page heard on the network, shown settled only when the chain proves it (the payer's nonce spent by that very intent); deposits made here; what you sent. A payment made while no page of yours was online is not listed here: your ledger balance is the whole truth."}</p>
            <h3>{"Received"}</h3>
            <ul id="received">
            { for history.received.iter().rev().map(|r| {
                let state = received_state(r);
                let detail = match &r.state {
                    State::Failed { reason, .. } => reason.clone(),
                    State::Executed { .. } => "settled on chain".to_owned(),
                    _ => "heard on the network; not settled yet".to_owned(),
                };
                html! {
                    <li class="received" data-id={r.id.clone()} data-state={state}>
                        <span class="state">{state}</span>
                        <span class="summary">{ &r.summary }</span>
                        <span class="detail">{ format!("from {}", r.signer_id) }</span>
                        <span class="detail">{detail}</span>
                        { explorer(net.account_link(&r.signer_id)) }
                    </li>
                }
            }) }
            </ul>
            <h3>{"Deposits"}</h3>
            <ul id="deposits">
            { for history.deposits.iter().rev().map(|d| html! {
                <li class="deposit" data-tx={d.tx_hash.clone()}>
                    <span class="summary">{ format!("{} {} into {}'s ledger", format_units(d.amount, net.decimals(&d.token)), net.symbol(&d.token), d.account) }</span>
                    <span class="mono small">{ &d.tx_hash }</span>
                    { explorer(net.tx_link(&d.tx_hash)) }
                </li>
            }) }
            </ul>
            <h3>{"Sent"}</h3>
            <ul id="sent">
            { for sent.iter().map(|r| {
                let tx = match &r.state {
                    State::Executed { tx_hash, .. } | State::Failed { tx_hash, .. } => tx_hash.clone(),
                    _ => None,
                };
                html! {
                    <li class="sent" data-id={r.id.clone()} data-state={r.state.name()}>
                        <span class="state">{ r.state.name() }</span>
                        <span class="summary">{ &r.summary }</span>
                        { explorer(tx.and_then(|h| net.tx_link(&h))) }
                    </li>
                }
            }) }
            </ul>
        </section>
    }
}
