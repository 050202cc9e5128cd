//! Network: presets from network.json and a custom endpoint set.

use crate::app::{field, storage, AppCtx, NETWORK_KEY};
use outpost_client_model::network::NetworkConfig;
use yew::prelude::*;

#[function_component(NetworkScreen)]
pub fn network_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let current = c.network.borrow().clone();
    let rpc_url = use_state(|| current.rpc_url.clone());
    let contract = use_state(|| current.intents_contract.clone());
    let relayer = use_state(|| current.relayer_url.clone().unwrap_or_default());
    let peers = use_state(|| current.peers.join(" "));
    let msg = use_state(|| None::<Result<String, String>>);
    let choose = {
        let (c, app, msg) = (c.clone(), app.clone(), msg.clone());
        move |n: NetworkConfig| {
            if let Err(e) = n.validate() {
                return msg.set(Some(Err(e.0)));
            }
            if let Some(s) = storage() {
                let _ = s.set_item(NETWORK_KEY, &serde_json::to_string(&n).unwrap_or_default());
            }
            *c.network.borrow_mut() = n;
            c.wake.set(true);
            msg.set(Some(Ok("saved".into())));
            app.refresh.emit(());
        }
    };
    let presets = c.networks.borrow().clone();
    let on_custom = {
        let choose = choose.clone();
        let (rpc_url, contract, relayer, peers, current) = (
            rpc_url.clone(),
            contract.clone(),
            relayer.clone(),
            peers.clone(),
            current.clone(),
        );
        Callback::from(move |_| {
            choose(NetworkConfig {
                name: "custom".into(),
                chain_id: current.chain_id.clone(),
                rpc_url: rpc_url.trim().to_owned(),
                explorer_url: current.explorer_url.clone(),
                intents_contract: contract.trim().to_owned(),
                tokens: current.tokens.clone(),
                peers: peers.split_whitespace().map(str::to_owned).collect(),
                relayer_url: Some(relayer.trim().to_owned()).filter(|s| !s.is_empty()),
                wallet_manifest: current.wallet_manifest.clone(),
            })
        })
    };
    html! {
        <section id="network">
            <h2>{"Network"}</h2>
            <p>{ format!("Now: {} ({}), RPC {}, contract {}", current.name, current.chain_id, current.rpc_url, current.intents_contract) }</p>
            if let Some(p) = c.p2p.borrow().as_ref() {
                <p id="p2p-detail">{ format!(
                    "Gossip node {} ({}); reports from peers not listed here are ignored ({} so far).",
                    p.peer_id(), p.summary(), p.untrusted_reports()
                ) }</p>
            }
            <div>{ for presets.into_iter().map(|n| {
                let choose = choose.clone();
                let label = format!("Use {}", n.name);
                html!{ <button class="preset" id={format!("use-{}", n.name)} onclick={Callback::from(move |_| choose(n.clone()))}>{label}</button> }
            }) }</div>
            <h3>{"Custom"}</h3>
            { field("rpc-url", "RPC URL", "text", &rpc_url, None) }
            { field("contract", "Intents contract", "text", &contract, None) }
            { field("relayer-url", "Relayer URL (optional)", "text", &relayer, None) }
            { field("peers", "Peers (websocket multiaddrs, space separated)", "text", &peers, None) }
            <button id="save-custom" onclick={on_custom}>{"Use custom"}</button>
            { match &*msg {
                Some(Ok(m)) => html!{ <p class="ok" id="network-msg">{m}</p> },
                Some(Err(m)) => html!{ <p class="err" id="network-msg">{m}</p> },
                None => html!{},
            } }
        </section>
    }
}
