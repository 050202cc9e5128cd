//! Components. They hold form text and call the model; every rule, state change and wire format
//! is in `outpost-client-model`. Shared state lives in one [`Ctx`]: the queue behind an async
//! mutex (the sync loop and the buttons take turns), the unlocked key in page memory only.

use crate::idb::Db;
use crate::net::{self, now_ms, RelayerChannel, RpcOracle};
use crate::p2p::P2p;
use futures::lock::Mutex;
use outpost_client_model::compose::{self, format_units, Draft, Field, Kind};
use outpost_client_model::keys::{self, KdfParams, Vault};
use outpost_client_model::network::{parse_networks, NetworkConfig};
use outpost_client_model::queue::{new_record, Queue, Record, State};
use outpost_client_model::sync::{self, Channel, ChannelStatus, Policy, SendOutcome, Store};
use outpost_client_model::{rpc, tx, verify, Problem};
use outpost_protocol::abi::SimulationReport;
use outpost_protocol::{SecretKey, SignedIntent, TokenId};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::{closure::Closure, JsCast};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

const NETWORK_KEY: &str = "outpost.network";
/// localStorage: how long (ms) an unlocked key may sit idle before it locks (default 10 min).
const IDLE_LOCK_KEY: &str = "outpost.idle-lock-ms";

/// Everything the screens share.
pub struct Ctx {
    db: Db,
    queue: Mutex<Queue>,
    /// What the queue screen draws: a copy taken after every change, so rendering never waits for
    /// the mutex.
    view: RefCell<Vec<Record>>,
    vault: RefCell<Option<Vault>>,
    /// The decrypted key: page memory only, dropped by "Lock" and by reload.
    key: RefCell<Option<SecretKey>>,
    network: RefCell<NetworkConfig>,
    networks: RefCell<Vec<NetworkConfig>>,
    wake: Cell<bool>,
    banner: RefCell<Option<String>>,
    online: Cell<bool>,
    /// The browser gossip node, while the network config names peers.
    p2p: RefCell<Option<Rc<P2p>>>,
    /// What `navigator.storage.persist()` answered: whether the browser keeps the key and queue
    /// under storage pressure.
    persisted: RefCell<Option<Result<bool, String>>>,
    /// The last key press or click (ms): an unlocked key locks itself after `idle_lock` without one.
    last_activity: Cell<u64>,
    idle_lock: keys::IdleLock,
    /// The key was locked for inactivity (said on the key screen until the next unlock).
    idle_locked: Cell<bool>,
    /// The secret key is shown (on request, while unlocked); any lock hides it again.
    show_secret: Cell<bool>,
}

impl Ctx {
    fn publish(&self, q: &Queue) {
        *self.view.borrow_mut() = q.newest_first().into_iter().cloned().collect();
    }
    fn decimals(&self) -> impl Fn(&TokenId) -> u8 + '_ {
        move |t: &TokenId| self.network.borrow().decimals(t)
    }
}

#[derive(Clone)]
pub struct AppCtx {
    pub ctx: Rc<Ctx>,
    pub rev: u32,
    pub refresh: Callback<()>,
}

impl PartialEq for AppCtx {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.ctx, &o.ctx) && self.rev == o.rev
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn default_networks() -> Vec<NetworkConfig> {
    vec![
        NetworkConfig {
            name: "sandbox".into(),
            chain_id: "localnet".into(),
            rpc_url: "http://127.0.0.1:3030".into(),
            explorer_url: None,
            intents_contract: "intents.test.near".into(),
            tokens: vec![],
            peers: vec![],
            relayer_url: None,
        },
        NetworkConfig::testnet("intents.outpost.testnet"),
    ]
}

/// Opens storage, loads the vault, the queue and the network config.
async fn load() -> Result<Ctx, Problem> {
    let db = Db::open().await?;
    let vault = db.load_vault().await?;
    let (records, broken) = db.load_records().await?;
    let networks = match net::fetch("GET", "network.json", None).await {
        Ok((200, text)) => parse_networks(&text).unwrap_or_else(|_| default_networks()),
        _ => default_networks(),
    };
    let saved = storage()
        .and_then(|s| s.get_item(NETWORK_KEY).ok().flatten())
        .and_then(|j| serde_json::from_str::<NetworkConfig>(&j).ok())
        .filter(|n| n.validate().is_ok());
    let network = saved.unwrap_or_else(|| networks[0].clone());
    let queue = Queue::from_records(records);
    let ctx = Ctx {
        db,
        view: RefCell::new(vec![]),
        queue: Mutex::new(Queue::default()),
        vault: RefCell::new(vault),
        key: RefCell::new(None),
        network: RefCell::new(network),
        networks: RefCell::new(networks),
        wake: Cell::new(true),
        banner: RefCell::new((!broken.is_empty()).then(|| broken.join("; "))),
        online: Cell::new(net::online()),
        p2p: RefCell::new(None),
        persisted: RefCell::new(None),
        last_activity: Cell::new(now_ms()),
        idle_lock: keys::IdleLock::from_setting(storage().and_then(|s| s.get_item(IDLE_LOCK_KEY).ok().flatten()).as_deref()),
        idle_locked: Cell::new(false),
        show_secret: Cell::new(false),
    };
    ctx.publish(&queue);
    *ctx.queue.lock().await = queue;
    Ok(ctx)
}

/// The sync loop's channels, gossip first (it reaches every relayer on the mesh), then the
/// configured relayer's HTTP endpoint. An enum because async trait methods are not object-safe.
enum SyncChannel {
    P2p(Rc<P2p>),
    Relayer(RelayerChannel),
}

impl Channel for SyncChannel {
    fn name(&self) -> &str {
        match self {
            SyncChannel::P2p(c) => c.name(),
            SyncChannel::Relayer(c) => c.name(),
        }
    }
    async fn send(&self, signed: &SignedIntent, id: &str) -> SendOutcome {
        match self {
            SyncChannel::P2p(c) => c.send(signed, id).await,
            SyncChannel::Relayer(c) => c.send(signed, id).await,
        }
    }
    async fn status(&self, id: &str) -> Result<ChannelStatus, String> {
        match self {
            SyncChannel::P2p(c) => c.status(id).await,
            SyncChannel::Relayer(c) => c.status(id).await,
        }
    }
}

/// Starts (or restarts, after a network change) the gossip node, and lists the channels.
fn sync_channels(ctx: &Rc<Ctx>, network: &NetworkConfig, refresh: &Callback<()>) -> Vec<SyncChannel> {
    let mut p2p = ctx.p2p.borrow_mut();
    if !p2p.as_ref().is_some_and(|p| p.serves(network)) {
        // Dropping the old node stops it.
        let weak = Rc::downgrade(ctx);
        let refresh = refresh.clone();
        let changed: Rc<dyn Fn()> = Rc::new(move || {
            if let Some(ctx) = weak.upgrade() {
                ctx.wake.set(true);
            }
            refresh.emit(());
        });
        *p2p = match P2p::start(network, changed) {
            Ok(node) => node.map(Rc::new),
            Err(e) => {
                *ctx.banner.borrow_mut() = Some(format!("the browser gossip node did not start: {e}"));
                None
            }
        };
    }
    let mut channels = Vec::new();
    if let Some(node) = p2p.as_ref() {
        node.tick();
        channels.push(SyncChannel::P2p(node.clone()));
    }
    channels.extend(network.relayer_url.iter().map(|u| SyncChannel::Relayer(RelayerChannel { base: u.clone() })));
    channels
}

/// The sync loop: sends due records whenever the browser is online, polls outcomes every few
/// seconds, and wakes at once on `online` or a button press.
async fn sync_loop(ctx: Rc<Ctx>, refresh: Callback<()>) {
    let policy = Policy::default();
    let mut last_poll = 0u64;
    let mut gossip_was_ready = false;
    loop {
        let online = net::online();
        let was = ctx.online.replace(online);
        let now = now_ms();
        let network = ctx.network.borrow().clone();
        let channels = sync_channels(&ctx, &network, &refresh);
        // A gossip peer (re)joining is connectivity coming back too.
        let gossip_ready = ctx.p2p.borrow().as_ref().is_some_and(|p| p.ready());
        let gossip_back = gossip_ready && !gossip_was_ready;
        gossip_was_ready = gossip_ready;
        let oracle = RpcOracle { rpc_url: network.rpc_url.clone(), contract: network.intents_contract.clone() };
        let mut changed = was != online;
        {
            let mut q = ctx.queue.lock().await;
            if online && (!was || gossip_back) {
                let bumped = sync::retry_now(&mut q, now);
                if let Err(e) = ctx.db.put(&bumped).await {
                    *ctx.banner.borrow_mut() = Some(e.0);
                }
            }
            if let Some(p2p) = ctx.p2p.borrow().as_ref() {
                p2p.watch(q.records.values().filter(|r| !r.state.is_final()).map(|r| r.id.clone()));
            }
            if online {
                let r = sync::send_pass(&mut q, &ctx.db, &network.intents_contract, &channels, &policy, now).await;
                changed |= r.changed();
                if let Some(e) = r.store_error {
                    *ctx.banner.borrow_mut() = Some(e);
                    changed = true;
                }
                if now.saturating_sub(last_poll) >= policy.poll_ms {
                    last_poll = now;
                    let r = sync::poll_pass(&mut q, &ctx.db, &network.intents_contract, &channels, Some(&oracle), &policy, now_ms()).await;
                    changed |= r.changed();
                }
            }
            if changed {
                ctx.publish(&q);
            }
        }
        if changed {
            refresh.emit(());
        }
        // Idle: the decrypted key leaves page memory; the vault stays encrypted.
        if ctx.key.borrow().is_some() && ctx.idle_lock.due(ctx.last_activity.get(), now_ms()) {
            *ctx.key.borrow_mut() = None;
            ctx.show_secret.set(false);
            ctx.idle_locked.set(true);
            refresh.emit(());
        }
        // Sleep in short slices so a button, or connectivity coming back, wakes the loop quickly.
        let until = now_ms() + 2_000;
        while now_ms() < until && !ctx.wake.replace(false) && net::online() == ctx.online.get() {
            net::sleep(100).await;
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Screen {
    Keys,
    Compose,
    Queue,
    Verify,
    Network,
}

#[function_component(App)]
pub fn app() -> Html {
    let ctx = use_state(|| None::<Rc<Ctx>>);
    let error = use_state(|| None::<String>);
    let rev = use_state(|| 0u32);
    let screen = use_state(|| Screen::Keys);
    let refresh = {
        let rev = rev.setter();
        // One counter for the page's life: every refresh sets a new value, whichever render's
        // callback (the sync loop keeps the first one) fires it.
        let counter = use_mut_ref(|| 0u32);
        Callback::from(move |_| {
            let next = counter.borrow().wrapping_add(1);
            *counter.borrow_mut() = next;
            rev.set(next);
        })
    };
    {
        let ctx = ctx.clone();
        let error = error.clone();
        let refresh = refresh.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                match load().await {
                    Ok(c) => {
                        let c = Rc::new(c);
                        // Connectivity changes wake the loop (it also re-reads navigator.onLine).
                        if let Some(w) = web_sys::window() {
                            for ev in ["online", "offline"] {
                                let c2 = c.clone();
                                let cb = Closure::<dyn Fn()>::new(move || c2.wake.set(true));
                                let _ = w.add_event_listener_with_callback(ev, cb.as_ref().unchecked_ref());
                                cb.forget(); // lives as long as the page
                            }
                            // Activity keeps an unlocked key unlocked (see the idle lock).
                            for ev in ["keydown", "pointerdown"] {
                                let c2 = c.clone();
                                let cb = Closure::<dyn Fn()>::new(move || c2.last_activity.set(now_ms()));
                                let _ = w.add_event_listener_with_callback(ev, cb.as_ref().unchecked_ref());
                                cb.forget();
                            }
                        }
                        spawn_local(sync_loop(c.clone(), refresh.clone()));
                        // Off the load path: a browser may ask the user before it answers.
                        let c3 = c.clone();
                        spawn_local(async move {
                            *c3.persisted.borrow_mut() = Some(net::persist_storage().await);
                            refresh.emit(());
                        });
                        ctx.set(Some(c));
                    }
                    Err(e) => error.set(Some(e.0)),
                }
            });
        });
    }
    // Interactive: record the moment for the e2e timing.
    use_effect_with(ctx.is_some(), |ready| {
        if *ready {
            if let Some(w) = web_sys::window() {
                if let Some(p) = w.performance() {
                    let _ = p.mark("outpost-interactive");
                }
                if let Some(b) = w.document().and_then(|d| d.body()) {
                    let _ = b.set_attribute("data-ready", "1");
                }
            }
        }
    });
    let Some(c) = (*ctx).clone() else {
        return match &*error {
            Some(e) => html! { <main><p class="err" id="fatal">{ format!("Outpost cannot start: {e}") }</p></main> },
            None => html! { <main><p>{"Loading…"}</p></main> },
        };
    };
    let app_ctx = AppCtx { ctx: c.clone(), rev: *rev, refresh };
    let tab = |s: Screen, id: &'static str, label: &'static str| {
        let screen = screen.clone();
        let cls = if *screen == s { "tab active" } else { "tab" };
        html! { <button id={id} class={cls} onclick={Callback::from(move |_| screen.set(s))}>{label}</button> }
    };
    let online = c.online.get();
    let counts = c.view.borrow().iter().fold(BTreeMap::<&str, usize>::new(), |mut m, r| {
        *m.entry(r.state.name()).or_default() += 1;
        m
    });
    let account = c.vault.borrow().as_ref().map(|v| v.account_id().to_string());
    let locked = c.key.borrow().is_none();
    html! {
        <ContextProvider<AppCtx> context={app_ctx}>
            <header>
                <h1>{"Outpost"}</h1>
                <span id="conn" class={if online {"badge on"} else {"badge off"}} data-online={online.to_string()}>
                    { if online { "online" } else { "offline" } }
                </span>
                <span id="net-name" class="badge">{ c.network.borrow().name.clone() }</span>
                if let Some(p) = c.p2p.borrow().as_ref() {
                    <span id="p2p" class={if p.ready() {"badge on"} else {"badge off"}} data-ready={p.ready().to_string()}>{ p.summary() }</span>
                }
                <span id="account" class="mono">{ account.map(|a| format!("{a}{}", if locked {" (locked)"} else {""})).unwrap_or_else(|| "no key".into()) }</span>
                <span id="counts">{ counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(" · ") }</span>
            </header>
            if let Some(b) = c.banner.borrow().clone() { <p class="err" id="banner">{b}</p> }
            <nav>
                { tab(Screen::Keys, "tab-keys", "Keys") }
                { tab(Screen::Compose, "tab-compose", "Compose") }
                { tab(Screen::Queue, "tab-queue", "Queue") }
                { tab(Screen::Verify, "tab-verify", "Verify") }
                { tab(Screen::Network, "tab-network", "Network") }
            </nav>
            <main>
            { match *screen {
                Screen::Keys => html!{ <KeysScreen/> },
                Screen::Compose => html!{ <ComposeScreen/> },
                Screen::Queue => html!{ <QueueScreen/> },
                Screen::Verify => html!{ <VerifyScreen/> },
                Screen::Network => html!{ <NetworkScreen/> },
            } }
            </main>
        </ContextProvider<AppCtx>>
    }
}

fn input_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

/// A text input bound to a state, with its error (if any) shown right under it.
fn field(id: &str, label: &str, kind: &str, value: &UseStateHandle<String>, err: Option<&String>) -> Html {
    field_with_list(id, label, kind, value, err, None)
}

/// A field that suggests values from a `<datalist>` (the network's tokens).
fn field_with_list(id: &str, label: &str, kind: &str, value: &UseStateHandle<String>, err: Option<&String>, list: Option<&str>) -> Html {
    let v = value.clone();
    let oninput = Callback::from(move |e: InputEvent| v.set(input_value(&e)));
    html! {
        <label class="field">
            <span>{label}</span>
            <input id={id.to_owned()} type={kind.to_owned()} value={(**value).clone()} {oninput} autocomplete="off" list={list.map(str::to_owned)}/>
            if let Some(e) = err { <div class="err" id={format!("err-{id}")}>{e.clone()}</div> }
        </label>
    }
}

#[function_component(KeysScreen)]
fn keys_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let pass = use_state(String::new);
    let pass2 = use_state(String::new);
    let named = use_state(String::new);
    let import = use_state(String::new);
    let unlock_pass = use_state(String::new);
    let msg = use_state(|| None::<Result<String, String>>);
    let phrase = use_state(|| None::<String>);
    let confirm_forget = use_state(|| false);
    let balances = use_state(Vec::<(String, Result<String, String>)>::new);
    let unlock_ms = use_state(|| None::<f64>);

    let save_new = {
        let (c, app, pass, pass2, named, msg) = (c.clone(), app.clone(), pass.clone(), pass2.clone(), named.clone(), msg.clone());
        move |key: SecretKey, shown_phrase: Option<String>, phrase_state: UseStateHandle<Option<String>>| {
            if *pass != *pass2 {
                msg.set(Some(Err("the two passphrases differ".into())));
                return;
            }
            let named_account = match keys::parse_named_account(&named) {
                Ok(n) => n,
                Err(e) => return msg.set(Some(Err(e.0))),
            };
            let vault = match Vault::seal(&key, &pass, named_account, KdfParams::default()) {
                Ok(v) => v,
                Err(e) => return msg.set(Some(Err(e.0))),
            };
            let (c, app, msg) = (c.clone(), app.clone(), msg.clone());
            spawn_local(async move {
                match c.db.save_vault(Some(&vault)).await {
                    Ok(()) => {
                        *c.vault.borrow_mut() = Some(vault);
                        *c.key.borrow_mut() = Some(key);
                        c.idle_locked.set(false);
                        c.last_activity.set(now_ms());
                        phrase_state.set(shown_phrase);
                        msg.set(Some(Ok("key saved, encrypted under your passphrase".into())));
                        app.refresh.emit(());
                    }
                    Err(e) => msg.set(Some(Err(e.0))),
                }
            });
        }
    };
    // A generated key is saved only after the user typed back three words of its phrase.
    let pending = use_state(|| None::<(SecretKey, String, [usize; 3])>);
    let answers = use_state(|| [String::new(), String::new(), String::new()]);
    let on_create = {
        let (msg, pass, pass2, pending, answers) = (msg.clone(), pass.clone(), pass2.clone(), pending.clone(), answers.clone());
        Callback::from(move |_| {
            if let Err(e) = keys::check_new_passphrase(&pass, &pass2) {
                return msg.set(Some(Err(e.0)));
            }
            match (keys::generate(), keys::random_bytes::<3>()) {
                (Ok((key, p)), Ok(r)) => {
                    answers.set([String::new(), String::new(), String::new()]);
                    msg.set(None);
                    pending.set(Some((key, p, keys::words_to_confirm(r))));
                }
                (Err(e), _) | (_, Err(e)) => msg.set(Some(Err(e.0))),
            }
        })
    };
    let on_confirm = {
        let (save_new, msg, phrase, pending, answers) = (save_new.clone(), msg.clone(), phrase.clone(), pending.clone(), answers.clone());
        Callback::from(move |_| {
            let Some((key, p, positions)) = (*pending).clone() else { return };
            match keys::confirm_words(&p, &positions, &answers) {
                Ok(()) => {
                    pending.set(None);
                    save_new(key, Some(p), phrase.clone());
                }
                Err(e) => msg.set(Some(Err(e.0))),
            }
        })
    };
    let on_confirm_cancel = {
        let pending = pending.clone();
        Callback::from(move |_| pending.set(None))
    };
    let on_import = {
        let (save_new, msg, import, phrase) = (save_new.clone(), msg.clone(), import.clone(), phrase.clone());
        Callback::from(move |_| {
            let text = import.trim();
            let key = if text.starts_with("ed25519:") { keys::import_secret_key(text) } else { keys::key_from_seed_phrase(text) };
            match key {
                Ok(k) => {
                    import.set(String::new());
                    save_new(k, None, phrase.clone())
                }
                Err(e) => msg.set(Some(Err(e.0))),
            }
        })
    };
    let on_unlock = {
        let (c, app, unlock_pass, msg, unlock_ms) = (c.clone(), app.clone(), unlock_pass.clone(), msg.clone(), unlock_ms.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(vault) = c.vault.borrow().clone() else { return };
            let t0 = js_sys::Date::now();
            match vault.unlock(&unlock_pass) {
                Ok(k) => {
                    unlock_ms.set(Some(js_sys::Date::now() - t0));
                    *c.key.borrow_mut() = Some(k);
                    c.idle_locked.set(false);
                    c.last_activity.set(now_ms());
                    unlock_pass.set(String::new());
                    msg.set(Some(Ok("unlocked".into())));
                    app.refresh.emit(());
                }
                Err(e) => msg.set(Some(Err(e.0))),
            }
        })
    };
    let on_lock = {
        let (c, app, phrase) = (c.clone(), app.clone(), phrase.clone());
        Callback::from(move |_| {
            *c.key.borrow_mut() = None;
            c.show_secret.set(false);
            phrase.set(None);
            app.refresh.emit(());
        })
    };
    let on_forget = {
        let (c, app, confirm, msg) = (c.clone(), app.clone(), confirm_forget.clone(), msg.clone());
        Callback::from(move |_| {
            if !*confirm {
                confirm.set(true);
                return;
            }
            let (c, app, msg, confirm) = (c.clone(), app.clone(), msg.clone(), confirm.clone());
            spawn_local(async move {
                match c.db.save_vault(None).await {
                    Ok(()) => {
                        *c.vault.borrow_mut() = None;
                        *c.key.borrow_mut() = None;
                        confirm.set(false);
                        msg.set(Some(Ok("the key was deleted from this browser".into())));
                        app.refresh.emit(());
                    }
                    Err(e) => msg.set(Some(Err(e.0))),
                }
            });
        })
    };
    let on_balances = {
        let (c, balances) = (c.clone(), balances.clone());
        Callback::from(move |_| {
            let Some(vault) = c.vault.borrow().clone() else { return };
            let net = c.network.borrow().clone();
            let balances = balances.clone();
            spawn_local(async move {
                let mut out = vec![];
                let tokens = std::iter::once(TokenId::Near).chain(net.tokens.iter().map(|t| t.id.clone()));
                for t in tokens {
                    let r = net::rpc_call(&net.rpc_url, &rpc::get_balance_request(&net.intents_contract, &vault.account_id(), &t))
                        .await
                        .and_then(|text| rpc::parse_balance(&text))
                        .map(|v| format_units(v, net.decimals(&t)));
                    out.push((t.to_string(), r));
                }
                balances.set(out);
            });
        })
    };

    let status = match &*msg {
        Some(Ok(m)) => html! { <p class="ok" id="keys-msg">{m}</p> },
        Some(Err(m)) => html! { <p class="err" id="keys-msg">{m}</p> },
        None => html! {},
    };
    let vault = c.vault.borrow().clone();
    let body = match (vault, (*pending).clone()) {
        (None, Some((_, p, positions))) => html! {
            <section id="keys-confirm">
                <h2>{"Write down your seed phrase"}</h2>
                <p>{"These 12 words restore this key in any NEAR wallet. Write them down now, then type three of them back: the key is saved only then."}</p>
                <p class="mono" id="seed-phrase">{p}</p>
                { for positions.iter().enumerate().map(|(i, pos)| {
                    let answers = answers.clone();
                    let value = answers[i].clone();
                    html!{
                        <label class="field"><span>{ format!("Word {pos}") }</span>
                            <input id={format!("confirm-{}", i + 1)} data-pos={pos.to_string()} type="text" autocomplete="off" value={value} oninput={
                                Callback::from(move |e: InputEvent| {
                                    let mut next = (*answers).clone();
                                    next[i] = input_value(&e);
                                    answers.set(next);
                                })
                            }/></label>
                    }
                }) }
                <button id="confirm-save" onclick={on_confirm}>{"Confirm and save the key"}</button>
                <button id="confirm-cancel" onclick={on_confirm_cancel}>{"Cancel"}</button>
            </section>
        },
        (None, None) => html! {
            <section id="keys-new">
                <h2>{"Create or import a key"}</h2>
                <p>{"Your key is encrypted with your passphrase (Argon2id, XChaCha20-Poly1305) and stays in this browser."}</p>
                { field("pass", "Passphrase (8+ characters)", "password", &pass, None) }
                { field("pass2", "Passphrase again", "password", &pass2, None) }
                { field("named", "Named account (optional, e.g. alice.testnet)", "text", &named, None) }
                <button id="create" onclick={on_create}>{"Create a new key"}</button>
                <h3>{"…or import"}</h3>
                <label class="field"><span>{"Secret key (ed25519:…) or seed phrase"}</span>
                    <textarea id="import-text" value={(*import).clone()} oninput={
                        let import = import.clone();
                        Callback::from(move |e: InputEvent| import.set(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
                    }/></label>
                <button id="import" onclick={on_import}>{"Import"}</button>
            </section>
        },
        (Some(v), _) => {
            let unlocked = c.key.borrow().is_some();
            html! {
                <section id="keys-have">
                    <h2>{"Your key"}</h2>
                    <dl>
                        <dt>{"Implicit account"}</dt><dd class="mono" id="implicit-account">{ v.implicit_account_id().to_string() }</dd>
                        if let Some(n) = &v.named_account { <dt>{"Named account"}</dt><dd class="mono" id="named-account">{ n.to_string() }</dd> }
                        <dt>{"Public key"}</dt><dd class="mono" id="public-key">{ v.public_key.to_string() }</dd>
                        <dt>{"Status"}</dt><dd id="lock-state">{ match (unlocked, c.idle_locked.get()) {
                            (true, _) => "unlocked".to_owned(),
                            (false, true) => format!("locked after {} min without activity", c.idle_lock.idle_ms.div_ceil(60_000)),
                            (false, false) => "locked".to_owned(),
                        } }</dd>
                        <dt>{"Storage"}</dt>
                        { match &*c.persisted.borrow() {
                            Some(Ok(true)) => html!{ <dd id="storage-persist" data-persisted="true">{"persistent: the browser keeps this key and your queue"}</dd> },
                            Some(Ok(false)) => html!{ <dd id="storage-persist" data-persisted="false">{"best effort: the browser may clear this site's data when space runs low; keep your seed phrase or secret key safe"}</dd> },
                            Some(Err(e)) => html!{ <dd id="storage-persist" data-persisted="unknown">{ format!("could not ask the browser to keep it ({e}); keep your seed phrase or secret key safe") }</dd> },
                            None => html!{},
                        } }
                    </dl>
                    if let Some(p) = &*phrase {
                        <div class="phrase">
                            <p>{"Write down these 12 words. They restore this key in any NEAR wallet. They are shown once."}</p>
                            <p class="mono" id="seed-phrase">{p.clone()}</p>
                        </div>
                    }
                    if unlocked {
                        <button id="lock" onclick={on_lock}>{"Lock"}</button>
                        if let Some(ms) = *unlock_ms { <span id="unlock-ms" data-ms={ms.to_string()}>{ format!(" unlocked in {ms:.0} ms") }</span> }
                        <div class="export">
                            <button id="export-key" onclick={{
                                let (c, app) = (c.clone(), app.clone());
                                Callback::from(move |_| { c.show_secret.set(!c.show_secret.get()); app.refresh.emit(()) })
                            }}>{ if c.show_secret.get() { "Hide the secret key" } else { "Show the secret key (to back it up or import it in a wallet)" } }</button>
                            if c.show_secret.get() {
                                if let Some(k) = c.key.borrow().as_ref() {
                                    <p class="warn">{"Whoever sees this key controls the account. It is shown here only; nothing sends it anywhere."}</p>
                                    <p class="mono" id="secret-key">{ k.to_string() }</p>
                                }
                            }
                        </div>
                    } else {
                        <form onsubmit={on_unlock}>
                            { field("unlock-pass", "Passphrase", "password", &unlock_pass, None) }
                            <button id="unlock" type="submit">{"Unlock"}</button>
                        </form>
                    }
                    <h3>{"Balances in the intents contract"}</h3>
                    <button id="balances" onclick={on_balances}>{"Refresh balances"}</button>
                    <ul id="balance-list">{ for balances.iter().map(|(t, r)| html!{
                        <li>{ match r { Ok(v) => format!("{t}: {v}"), Err(e) => format!("{t}: could not read ({e})") } }</li>
                    }) }</ul>
                    <p><button id="forget" class="danger" onclick={on_forget}>
                        { if *confirm_forget { "Really delete the key from this browser?" } else { "Forget this key" } }
                    </button></p>
                </section>
            }
        }
    };
    html! { <>{body}{status}</> }
}

#[function_component(ComposeScreen)]
fn compose_screen() -> Html {
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
        Some(s) => draft.build(s, now_ms() * 1_000_000, &c.decimals()).err().unwrap_or_default(),
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
        let (c, app, status, show_all, amount, memo) = (c.clone(), app.clone(), status.clone(), show_all.clone(), amount.clone(), memo.clone());
        let draft = draft.clone();
        Callback::from(move |_| {
            show_all.set(true);
            let Some(vault) = c.vault.borrow().clone() else {
                return status.set(Some(Err("create or import a key first (Keys)".into())));
            };
            let Some(key) = c.key.borrow().clone() else {
                return status.set(Some(Err("unlock your key first (Keys): signing needs it".into())));
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
            let (c, app, status, amount, memo) = (c.clone(), app.clone(), status.clone(), amount.clone(), memo.clone());
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
    let token_list: Vec<String> = std::iter::once("near".to_owned()).chain(c.network.borrow().tokens.iter().map(|t| t.id.to_string())).collect();
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

/// Direct submission: `execute_intents` in a transaction the user's own account signs and pays.
async fn submit_direct(c: &Ctx, id: &str) -> Result<String, String> {
    let vault = c.vault.borrow().clone().ok_or("no key")?;
    let key = c.key.borrow().clone().ok_or("unlock your key first")?;
    let signer = vault.named_account.clone().ok_or("direct submission needs a named account with NEAR for gas")?;
    let net = c.network.borrow().clone();
    let signed = c.queue.lock().await.records.get(id).map(|r| r.signed.clone()).ok_or("no longer in the queue")?;
    // Simulate first, as the submitter attaching 1 yocto (so a first NEAR record is counted): it
    // names a failing rule and what the call costs our ledger NEAR (v2), which we attach.
    let args = serde_json::json!({ "signed": [&signed], "caller_id": signer, "attached": "1" });
    let sim = net::rpc_call(&net.rpc_url, &rpc::view_request(&net.intents_contract, "simulate_intents", &args)).await?;
    let report: SimulationReport = serde_json::from_value(rpc::parse_view(&sim)?).map_err(|e| format!("unexpected simulation result: {e}"))?;
    if let Some(o) = report.outcomes.first() {
        if let outpost_protocol::abi::ItemResult::Failed { code, detail } = &o.result {
            return Err(outpost_client_model::relayer::reason_for(code, detail));
        }
    }
    if let Some(outpost_protocol::abi::ItemResult::Failed { code, detail }) = &report.batch_error {
        return Err(outpost_client_model::relayer::reason_for(code, detail));
    }
    let ak = net::rpc_call(&net.rpc_url, &rpc::view_access_key_request(&signer, &key.public_key())).await?;
    let (nonce, block_hash) = rpc::parse_access_key(&ak)?;
    let contract = net.intents_contract.parse().map_err(|_| "bad contract id")?;
    let t = tx::Transaction {
        signer_id: signer,
        public_key: key.public_key(),
        nonce: nonce + 1,
        receiver_id: contract,
        block_hash,
        actions: vec![tx::execute_intents_call(&[signed], report.caller_charge.0.max(1) as u128)],
    };
    let stx = t.sign(&key);
    let out = net::rpc_call(&net.rpc_url, &rpc::send_tx_request(&stx.to_base64())).await?;
    rpc::parse_tx_outcome(&out).map(|h| if h.is_empty() { stx.hash_base58() } else { h })
}

#[function_component(QueueScreen)]
fn queue_screen() -> Html {
    let app = use_context::<AppCtx>().expect("context");
    let c = app.ctx.clone();
    let msg = use_state(|| None::<Result<String, String>>);
    let records = c.view.borrow().clone();
    let unlocked = c.key.borrow().is_some();
    let named = c.vault.borrow().as_ref().and_then(|v| v.named_account.clone()).is_some();

    let act = |what: &'static str, id: String| {
        let (c, app, msg) = (c.clone(), app.clone(), msg.clone());
        Callback::from(move |_| {
            let (c, app, msg, id) = (c.clone(), app.clone(), msg.clone(), id.clone());
            spawn_local(async move {
                let result = match what {
                    "discard" => {
                        let mut q = c.queue.lock().await;
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
                    "direct" => match submit_direct(&c, &id).await {
                        Ok(hash) => {
                            let mut q = c.queue.lock().await;
                            // The record may have been removed meanwhile; the transaction stands anyway.
                            if let Some(mut r) = q.records.get(&id).cloned() {
                                if r.apply(outpost_client_model::queue::Event::Executed { tx_hash: Some(hash.clone()) }, now_ms(), 0) {
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
                let mut q = c.queue.lock().await;
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
                        <details><summary>{"Signed intent (JSON)"}</summary>
                            <pre class="json">{ serde_json::to_string_pretty(&r.signed).unwrap_or_default() }</pre></details>
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
    let mut q = c.queue.lock().await;
    let original = q.check_cancel(id).map_err(|e| e.0)?.clone();
    let now = now_ms();
    let intent = compose::cancellation(&vault.account_id(), vec![original.signed.nonce], now * 1_000_000, 168).map_err(|e| e.0)?;
    let recipient = c.network.borrow().intents_contract.clone();
    let signed = compose::sign(&key, &intent, &recipient).map_err(|e| e.0)?;
    let record = new_record(signed, format!("cancel: {}", original.summary), now).map_err(|e| e.0)?;
    let mut trial = q.clone();
    let both = trial.link_cancellation(id, record, now).map_err(|e| e.0)?;
    c.db.put(&both).await.map_err(|e| e.0)?;
    *q = trial;
    c.publish(&q);
    Ok("cancellation signed and queued".into())
}

#[function_component(VerifyScreen)]
fn verify_screen() -> Html {
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
            let r = verify::parse_any(&input).map(|s| verify::verify_offline(s, &net.intents_contract, now_ms() * 1_000_000));
            if let Ok(rep) = &r {
                if let (Some(intent), true) = (rep.intent.clone(), net::online()) {
                    let (online_checks, nonce) = (online_checks.clone(), rep.signed.nonce);
                    let hash = rep.hash.clone();
                    spawn_local(async move {
                        let nonce_status = net::rpc_call(&net.rpc_url, &rpc::nonce_status_request(&net.intents_contract, &intent.signer_id, &nonce))
                            .await
                            .and_then(|t| rpc::parse_nonce_status(&t));
                        let needs = verify::required_balances(&intent).unwrap_or_default();
                        let mut have = BTreeMap::new();
                        for t in needs.keys() {
                            let b = net::rpc_call(&net.rpc_url, &rpc::get_balance_request(&net.intents_contract, &intent.signer_id, t))
                                .await
                                .and_then(|x| rpc::parse_balance(&x));
                            have.insert(t.clone(), b);
                        }
                        online_checks.set(verify::online_checks(nonce_status, &hash, &needs, &have));
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
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            let (run, text) = (run.clone(), text.clone());
            spawn_local(async move {
                let t = wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|v| v.as_string()).unwrap_or_default();
                text.set(t.clone());
                run(t);
            });
        })
    };
    let check_li = |ch: &verify::Check| html! {
        <li class={if ch.ok {"ok"} else {"err"}} data-check={ch.name}>{ format!("{} {}: {}", if ch.ok {"✓"} else {"✗"}, ch.name, ch.text) }</li>
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

/// Where queued intents go, in one sentence for the queue screen.
fn channels_line(network: &NetworkConfig, p2p: Option<&P2p>) -> String {
    let gossip = p2p.map(|p| format!(" Gossip: {}.", p.summary().trim_start_matches("p2p: ")));
    match (&network.relayer_url, gossip) {
        (Some(u), g) => format!("{} Relayer: {u}.", g.unwrap_or_default()),
        (None, Some(g)) => g,
        (None, None) => " No relayer or gossip peer configured (Network).".into(),
    }
}

#[function_component(NetworkScreen)]
fn network_screen() -> Html {
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
        let (rpc_url, contract, relayer, peers, current) = (rpc_url.clone(), contract.clone(), relayer.clone(), peers.clone(), current.clone());
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
