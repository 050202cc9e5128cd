//! Verify: a received signed intent, offline (signature, recipient, deadline) and online.

use crate::app::AppCtx;
use crate::net::{self, now_ms};
use outpost_client_model::compose::{self};
use outpost_client_model::{rpc, verify, Problem};
use std::collections::BTreeMap;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

#[function_component(VerifyScreen)]
pub fn verify_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let text = use_state(String::new);
    let report = use_state(|| None::<Result<verify::Report, String>>);
    let online_checks = use_state(Vec::<verify::Check>::new);

    let run = {
        let (c, report, online_checks) = (c.clone(), report.clone(), online_checks.clone());
        move |input: String| {
            online_checks.set(vec![]);
            let net = c.network.borrow().clone();
            let r = verify::parse_any(&input)
                .map(|s| verify::verify_offline(s, &net.intents_contract, now_ms() * 1_000_000));
            if let Ok(rep) = &r {
                if let (Some(intent), true) = (rep.intent.clone(), net::online()) {
                    let (online_checks, nonce) = (online_checks.clone(), rep.signed.nonce);
                    let hash = rep.hash.clone();
                    spawn_local(async move {
                        let nonce_status = net::rpc_call(
                            &net.rpc_url,
                            &rpc::nonce_status_request(
                                &net.intents_contract,
                                &intent.signer_id,
                                &nonce,
                            ),
                        )
                        .await
                        .and_then(|t| rpc::parse_nonce_status(&t));
                        let needs = verify::required_balances(&intent).unwrap_or_default();
                        let mut have = BTreeMap::new();
                        for t in needs.keys() {
                            let b = net::ledger_balance(&net, &intent.signer_id, t).await;
                            have.insert(t.clone(), b);
                        }
                        online_checks.set(verify::online_checks(
                            nonce_status,
                            &hash,
                            &needs,
                            &have,
                        ));
                    });
                }
            }
            report.set(Some(r.map_err(|e: Problem| e.0)));
        }
    };
    let on_verify = {
        let (run, text) = (run.clone(), text.clone());
        Callback::from(move |_| run((*text).clone()))
    };
    let on_file = {
        let (run, text) = (run.clone(), text.clone());
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            let (run, text) = (run.clone(), text.clone());
            spawn_local(async move {
                let t = wasm_bindgen_futures::JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                text.set(t.clone());
                run(t);
            });
        })
    };
    let check_li = |ch: &verify::Check| {
        html! {
            <li class={if ch.ok {"ok"} else {"err"}} data-check={ch.name}>{ format!("{} {}: {}", if ch.ok {"✓"} else {"✗"}, ch.name, ch.text) }</li>
        }
    };
    html! {
        <section id="verify">
            <h2>{"Verify a signed intent"}</h2>
            <p>{"Paste the JSON (or base64 text from a QR code), or load a file. Signature, recipient and deadline are checked offline; nonce and balance when online."}</p>
            <textarea id="verify-text" value={(*text).clone()} oninput={
                let text = text.clone();
                Callback::from(move |e: InputEvent| text.set(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
            }/>
            <input type="file" id="verify-file" accept=".json,.txt" onchange={on_file}/>
            <button id="verify-run" onclick={on_verify}>{"Verify"}</button>
            { match &*report {
                None => html!{},
                Some(Err(e)) => html!{ <p class="err" id="verify-verdict">{e.clone()}</p> },
                Some(Ok(r)) => html!{ <div>
                    <p id="verify-verdict" class={if r.verdict.is_ok() {"ok"} else {"err"}} data-valid={r.verdict.is_ok().to_string()}>
                        { match &r.verdict { Ok(()) => "Valid: the contract's rules accept it.".to_owned(), Err(e) => format!("Not valid: {e}") } }</p>
                    <p class="mono small">{ format!("intent hash {}", r.hash) }</p>
                    if let Some(i) = &r.intent { <p>{ format!("{} signs: {}", i.signer_id, compose::summarize(i, &c.decimals())) }</p> }
                    <ul id="verify-checks">{ for r.checks.iter().map(check_li) }{ for online_checks.iter().map(check_li) }</ul>
                </div> },
            } }
        </section>
    }
}
