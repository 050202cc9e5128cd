//! Receive: the accounts this page can be paid at, each with a copy button, and a QR code of the
//! one chosen (for a payer's phone). Works offline: nothing here asks the network.

use crate::app::AppCtx;
use outpost_client_model::qr;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

#[function_component(ReceiveScreen)]
pub fn receive_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let chosen = use_state(|| 0usize);
    let copied = use_state(|| None::<String>);
    let accounts: Vec<(String, &'static str)> = c.accounts().into_iter().map(|(a, what)| (a.to_string(), what)).collect();
    if accounts.is_empty() {
        return html! { <section id="receive"><h2>{"Receive"}</h2><p>{"Create or import a key (Keys), or sign in with a wallet (Wallet), to get an account to be paid at."}</p></section> };
    }
    let index = (*chosen).min(accounts.len() - 1);
    let account = accounts[index].0.clone();
    let code = qr::encode(account.as_bytes());
    html! {
        <section id="receive">
            <h2>{"Receive"}</h2>
            <p>{ format!("Payments in the {} ledger: a payer signs a transfer to this account id.", c.network.borrow().intents_contract) }</p>
            <ul id="receive-accounts">
            { for accounts.iter().enumerate().map(|(i, (a, what))| {
                let (chosen, copied, text) = (chosen.clone(), copied.clone(), a.clone());
                html!{ <li class={if i == index {"chosen"} else {""}}>
                    <span class="mono receive-account" data-index={i.to_string()}>{ a.clone() }</span>
                    <span class="small">{ format!(" ({what}) ") }</span>
                    <button class="show-qr" onclick={Callback::from(move |_| chosen.set(i))}>{"QR"}</button>
                    <button class="copy" onclick={Callback::from(move |_| {
                        let (copied, text) = (copied.clone(), text.clone());
                        wasm_bindgen_futures::spawn_local(async move {
                            let Some(w) = web_sys::window() else { return };
                            let done = JsFuture::from(w.navigator().clipboard().write_text(&text)).await.is_ok();
                            copied.set(Some(if done { format!("copied {text}") } else { "the browser did not allow copying: select the text instead".into() }));
                        });
                    })}>{"Copy"}</button>
                </li> }
            }) }
            </ul>
            { match code {
                Ok(q) => html!{ <svg id="receive-qr" class="qr" data-account={account.clone()} viewBox={format!("0 0 {0} {0}", q.size + 8)} xmlns="http://www.w3.org/2000/svg">
                    <rect width="100%" height="100%" fill="#fff"/><path d={q.svg_path()} fill="#000" shape-rendering="crispEdges"/></svg> },
                Err(e) => html!{ <p class="err">{ e.0 }</p> },
            } }
            if let Some(m) = &*copied { <p class="ok" id="receive-msg">{ m.clone() }</p> }
        </section>
    }
}
