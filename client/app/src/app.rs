//! Components. They hold form text and call the model; every rule, state change and wire format
//! is in `outpost-client-model`. Shared state lives in one [`Ctx`]: the queue behind an async
//! mutex (the sync loop and the buttons take turns), the unlocked key in page memory only.

use crate::idb::Db;
use crate::net::{self, now_ms, RelayerChannel, RpcOracle};
use outpost_client_model::rpc;
use crate::p2p::P2p;
use crate::screens::{receive::ReceiveScreen, wallet::WalletScreen, history::HistoryScreen,
    compose::ComposeScreen, keys::KeysScreen, network::NetworkScreen, queue::QueueScreen,
    verify::VerifyScreen,
};
use futures::lock::Mutex;
use outpost_client_model::history::History;
use outpost_client_model::keys::{self, Vault};
use outpost_client_model::network::{merge_learned, parse_networks, NetworkConfig, TokenInfo};
use outpost_client_model::queue::{Queue, Record};
use outpost_client_model::sync::{self, Channel, ChannelStatus, NonceOracle, Policy, SendOutcome, Store};
use outpost_client_model::Problem;
use outpost_protocol::{AccountId, SecretKey, SignedIntent, TokenId};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::{closure::Closure, JsCast};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

pub(crate) const NETWORK_KEY: &str = "outpost.network";
/// localStorage: how long (ms) an unlocked key may sit idle before it locks (default 10 min).
const IDLE_LOCK_KEY: &str = "outpost.idle-lock-ms";
/// localStorage: token metadata read from `ft_metadata`, for offline use.
const TOKENS_KEY: &str = "outpost.tokens";
/// localStorage, per intents contract: payments seen made to the user, deposits made here.
const HISTORY_KEY: &str = "outpost.history.";

/// Everything the screens share.
pub struct Ctx {
    pub(crate) db: Db,
    pub(crate) queue: Mutex<Queue>,
    /// What the queue screen draws: a copy taken after every change, so rendering never waits for
    /// the mutex.
    pub(crate) view: RefCell<Vec<Record>>,
    pub(crate) vault: RefCell<Option<Vault>>,
    /// The decrypted key: page memory only, dropped by "Lock" and by reload.
    pub(crate) key: RefCell<Option<SecretKey>>,
    pub(crate) network: RefCell<NetworkConfig>,
    pub(crate) networks: RefCell<Vec<NetworkConfig>>,
    pub(crate) wake: Cell<bool>,
    pub(crate) banner: RefCell<Option<String>>,
    pub(crate) online: Cell<bool>,
    /// The browser gossip node, while the network config names peers.
    pub(crate) p2p: RefCell<Option<Rc<P2p>>>,
    /// What `navigator.storage.persist()` answered: whether the browser keeps the key and queue
    /// under storage pressure.
    pub(crate) persisted: RefCell<Option<Result<bool, String>>>,
    /// The last key press or click (ms): an unlocked key locks itself after `idle_lock` without one.
    pub(crate) last_activity: Cell<u64>,
    pub(crate) idle_lock: keys::IdleLock,
    /// The key was locked for inactivity (said on the key screen until the next unlock).
    pub(crate) idle_locked: Cell<bool>,
    /// The secret key is shown (on request, while unlocked); any lock hides it again.
    pub(crate) show_secret: Cell<bool>,
    /// The account a NEAR wallet signed in with (near-connect), while signed in.
    pub(crate) wallet: RefCell<Option<outpost_client_model::wallet::WalletAccount>>,
    /// Tokens learned from `ft_metadata` (localStorage `outpost.tokens`), and those asked already.
    pub(crate) learned: RefCell<Vec<TokenInfo>>,
    pub(crate) asked: RefCell<std::collections::BTreeSet<TokenId>>,
    /// This tab holds the `outpost-sync` lock: it sends and polls; other tabs only show.
    pub(crate) sync_owner: Cell<bool>,
}

/// The queue, locked in this tab and across tabs, freshly read from IndexedDB (see `tabs`).
pub(crate) struct QueueGuard<'a> {
    q: futures::lock::MutexGuard<'a, Queue>,
    _held: crate::tabs::Held,
}

impl std::ops::Deref for QueueGuard<'_> {
    type Target = Queue;
    fn deref(&self) -> &Queue {
        &self.q
    }
}

impl std::ops::DerefMut for QueueGuard<'_> {
    fn deref_mut(&mut self) -> &mut Queue {
        &mut self.q
    }
}

impl Ctx {
    /// Every change to the queue goes through this: another tab may have written since.
    pub(crate) async fn lock_queue(&self) -> QueueGuard<'_> {
        let mut q = self.queue.lock().await;
        let held = crate::tabs::acquire(crate::tabs::QUEUE_LOCK).await;
        // A record that does not decode was reported at load; it is left out here as there.
        if let Ok((records, _)) = self.db.load_records().await {
            *q = Queue::from_records(records);
        }
        QueueGuard { q, _held: held }
    }

    /// The accounts this page can be paid at, each with what it belongs to: the key's account
    /// (named when registered), its implicit account, then the wallet's.
    pub(crate) fn accounts(&self) -> Vec<(AccountId, &'static str)> {
        let mut accounts = vec![];
        if let Some(v) = self.vault.borrow().as_ref() {
            accounts.push((v.account_id(), "this device's key"));
            if v.named_account.is_some() {
                accounts.push((v.implicit_account_id(), "this device's key (implicit account)"));
            }
        }
        if let Some(w) = self.wallet.borrow().as_ref() {
            if !accounts.iter().any(|(a, _)| *a == w.account_id) {
                accounts.push((w.account_id.clone(), "the wallet"));
            }
        }
        accounts
    }

    /// The current network's history, read anew (another tab may have written it).
    pub(crate) fn history(&self) -> History {
        let [received, deposits] = self.history_keys();
        let get = |k: &str| storage().and_then(|s| s.get_item(k).ok().flatten());
        History::load(get(&received).as_deref(), get(&deposits).as_deref())
    }

    /// Changes the current network's history and stores it.
    pub(crate) fn update_history(&self, change: impl FnOnce(&mut History) -> bool) {
        let mut history = self.history();
        if change(&mut history) {
            let [received, deposits] = self.history_keys();
            if let Some(s) = storage() {
                let _ = s.set_item(&received, &history.received_json());
                let _ = s.set_item(&deposits, &history.deposits_text());
            }
        }
    }

    fn history_keys(&self) -> [String; 2] {
        let contract = self.network.borrow().intents_contract.clone();
        [format!("{HISTORY_KEY}received.{contract}"), format!("{HISTORY_KEY}deposits.{contract}")]
    }

    pub(crate) fn publish(&self, q: &Queue) {
        *self.view.borrow_mut() = q.newest_first().into_iter().cloned().collect();
    }
    pub(crate) fn decimals(&self) -> impl Fn(&TokenId) -> u8 + '_ {
        move |t: &TokenId| self.network.borrow().decimals(t)
    }

    /// Reads a token's symbol and decimals from its `ft_metadata` when the network file does not
    /// configure it (once per page load), and keeps them in localStorage for offline use.
    pub(crate) fn learn_token(self: &Rc<Self>, token: &TokenId, refresh: &Callback<()>) {
        let TokenId::Nep141(contract) = token else { return };
        if self.network.borrow().tokens.iter().any(|t| &t.id == token) || !self.asked.borrow_mut().insert(token.clone()) {
            return;
        }
        let (c, contract, refresh) = (self.clone(), contract.clone(), refresh.clone());
        spawn_local(async move {
            let rpc_url = c.network.borrow().rpc_url.clone();
            let Ok(info) = net::rpc_call(&rpc_url, &rpc::ft_metadata_request(&contract)).await.and_then(|t| rpc::parse_ft_metadata(&t, &contract)) else {
                return; // unknown here (no such token, or offline): amounts stay in smallest units
            };
            let mut learned = c.learned.borrow_mut();
            merge_learned(&mut learned, std::slice::from_ref(&info));
            if let Some(s) = storage() {
                let _ = s.set_item(TOKENS_KEY, &serde_json::to_string(&*learned).unwrap_or_default());
            }
            merge_learned(&mut c.network.borrow_mut().tokens, &learned);
            for n in c.networks.borrow_mut().iter_mut() {
                merge_learned(&mut n.tokens, &learned);
            }
            drop(learned);
            refresh.emit(());
        });
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

pub(crate) fn storage() -> Option<web_sys::Storage> {
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
            wallet_manifest: None,
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
        .and_then(|j| serde_json::from_slice::<NetworkConfig>(j.as_bytes()).ok())
        .filter(|n| n.validate().is_ok());
    let mut network = saved.unwrap_or_else(|| networks[0].clone());
    let learned: Vec<TokenInfo> = storage().and_then(|s| s.get_item(TOKENS_KEY).ok().flatten()).and_then(|j| serde_json::from_slice(j.as_bytes()).ok()).unwrap_or_default();
    let mut networks = networks;
    merge_learned(&mut network.tokens, &learned);
    for n in networks.iter_mut() {
        merge_learned(&mut n.tokens, &learned);
    }
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
        idle_lock: keys::IdleLock::from_setting(
            storage()
                .and_then(|s| s.get_item(IDLE_LOCK_KEY).ok().flatten())
                .as_deref(),
        ),
        idle_locked: Cell::new(false),
        show_secret: Cell::new(false),
        wallet: RefCell::new(None),
        learned: RefCell::new(learned),
        asked: RefCell::new(Default::default()),
        sync_owner: Cell::new(false),
    };
    ctx.publish(&queue);
    *ctx.queue.lock().await = queue;
    Ok(ctx)
}

/// Waits for the sync lock (at once in the first tab; when the syncing tab closes, in another),
/// then keeps it for the tab's life.
pub(crate) async fn become_sync_owner(ctx: Rc<Ctx>, refresh: Callback<()>) {
    let held = crate::tabs::acquire(crate::tabs::SYNC_LOCK).await;
    std::mem::forget(held); // released by the browser when the tab goes
    ctx.sync_owner.set(true);
    ctx.wake.set(true);
    refresh.emit(());
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
fn sync_channels(
    ctx: &Rc<Ctx>,
    network: &NetworkConfig,
    refresh: &Callback<()>,
) -> Vec<SyncChannel> {
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
                *ctx.banner.borrow_mut() =
                    Some(format!("the browser gossip node did not start: {e}"));
                None
            }
        };
    }
    let mut channels = Vec::new();
    if let Some(node) = p2p.as_ref() {
        node.tick();
        channels.push(SyncChannel::P2p(node.clone()));
    }
    channels.extend(
        network
            .relayer_url
            .iter()
            .map(|u| SyncChannel::Relayer(RelayerChannel { base: u.clone() })),
    );
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
        // Only the tab holding the sync lock sends and polls (and runs a gossip node).
        let owner = ctx.sync_owner.get();
        let channels = if owner { sync_channels(&ctx, &network, &refresh) } else { Vec::new() };
        // A gossip peer (re)joining is connectivity coming back too.
        let gossip_ready = ctx.p2p.borrow().as_ref().is_some_and(|p| p.ready());
        let gossip_back = gossip_ready && !gossip_was_ready;
        gossip_was_ready = gossip_ready;
        let oracle = RpcOracle {
            rpc_url: network.rpc_url.clone(),
            contract: network.intents_contract.clone(),
        };
        let mut changed = was != online;
        let poll_due = owner && online && now.saturating_sub(last_poll) >= policy.poll_ms;
        if poll_due {
            last_poll = now;
        }
        {
            let mut q = ctx.lock_queue().await;
            // Another tab's changes (new records, its sends) show here too.
            if *ctx.view.borrow() != q.newest_first().into_iter().cloned().collect::<Vec<_>>() {
                changed = true;
            }
            if owner && online && (!was || gossip_back) {
                let bumped = sync::retry_now(&mut q, now);
                if let Err(e) = ctx.db.put(&bumped).await {
                    *ctx.banner.borrow_mut() = Some(e.0);
                }
            }
            if let Some(p2p) = ctx.p2p.borrow().as_ref() {
                p2p.watch(
                    q.records
                        .values()
                        .filter(|r| !r.state.is_final())
                        .map(|r| r.id.clone()),
                );
            }
            if owner && online {
                let r = sync::send_pass(
                    &mut q,
                    &ctx.db,
                    &network.intents_contract,
                    &channels,
                    &policy,
                    now,
                )
                .await;
                changed |= r.changed();
                if let Some(e) = r.store_error {
                    *ctx.banner.borrow_mut() = Some(e);
                    changed = true;
                }
                if poll_due {
                    let r = sync::poll_pass(
                        &mut q,
                        &ctx.db,
                        &network.intents_contract,
                        &channels,
                        Some(&oracle),
                        &policy,
                        now_ms(),
                    )
                    .await;
                    changed |= r.changed();
                }
            }
            if changed {
                ctx.publish(&q);
            }
        }
        if owner && online {
            changed |= watch_payments(&ctx, &oracle, poll_due).await;
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

/// `nonce_status` reads for heard payments per poll.
const PAYMENT_READS: usize = 16;

/// Keeps the gossiped intents that pay the user in the history, and, on each poll, asks the chain
/// what became of the unsettled ones (the payer's `nonce_status`). Returns whether it changed.
async fn watch_payments(ctx: &Ctx, oracle: &RpcOracle, poll: bool) -> bool {
    let heard = ctx.p2p.borrow().as_ref().map(|p| p.take_heard()).unwrap_or_default();
    let mine: Vec<AccountId> = ctx.accounts().into_iter().map(|(a, _)| a).collect();
    let mut changed = false;
    if !heard.is_empty() {
        ctx.update_history(|h| {
            for signed in &heard {
                changed |= h.observe(signed, &mine, &ctx.decimals(), now_ms());
            }
            changed
        });
    }
    if poll {
        // At most PAYMENT_READS per poll, in turns: anyone can gossip validly signed "payments"
        // to an account (no balance is needed to sign), and they must not make the page flood
        // the RPC node.
        let unsettled = ctx.history().unsettled();
        // In u64: usize is 32 bits here, and the page is built with overflow checks.
        let count = unsettled.len();
        let turn = now_ms() / Policy::default().poll_ms * PAYMENT_READS as u64;
        let start = (turn % count.max(1) as u64) as usize;
        for record in unsettled.into_iter().cycle().skip(start).take(PAYMENT_READS.min(count)) {
            if let Ok(status) = oracle.nonce_status(&record).await {
                ctx.update_history(|h| {
                    let settled = h.settle(&record.id, &status, now_ms());
                    changed |= settled;
                    settled
                });
            }
        }
    }
    changed
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Screen {
    Keys,
    Compose,
    Queue,
    Verify,
    Network,
    Wallet,
    Receive,
    History,
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
                                let _ = w.add_event_listener_with_callback(
                                    ev,
                                    cb.as_ref().unchecked_ref(),
                                );
                                cb.forget(); // lives as long as the page
                            }
                            // Activity keeps an unlocked key unlocked (see the idle lock).
                            for ev in ["keydown", "pointerdown"] {
                                let c2 = c.clone();
                                let cb = Closure::<dyn Fn()>::new(move || {
                                    c2.last_activity.set(now_ms())
                                });
                                let _ = w.add_event_listener_with_callback(
                                    ev,
                                    cb.as_ref().unchecked_ref(),
                                );
                                cb.forget();
                            }
                        }
                        spawn_local(become_sync_owner(c.clone(), refresh.clone()));
                        spawn_local(sync_loop(c.clone(), refresh.clone()));
                        // A wallet session from an earlier visit (only then is wallet.js loaded).
                        let (c4, refresh4) = (c.clone(), refresh.clone());
                        spawn_local(async move {
                            let net = c4.network.borrow().clone();
                            if let Some(a) = crate::wallet::restore(&net).await {
                                *c4.wallet.borrow_mut() = Some(a);
                                refresh4.emit(());
                            }
                        });
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
            Some(e) => {
                html! { <main><p class="err" id="fatal">{ format!("Outpost cannot start: {e}") }</p></main> }
            }
            None => html! { <main><p>{"Loading…"}</p></main> },
        };
    };
    let app_ctx = AppCtx {
        ctx: c.clone(),
        rev: *rev,
        refresh,
    };
    let tab = |s: Screen, id: &'static str, label: &'static str| {
        let screen = screen.clone();
        let cls = if *screen == s { "tab active" } else { "tab" };
        html! { <button id={id} class={cls} onclick={Callback::from(move |_| screen.set(s))}>{label}</button> }
    };
    let online = c.online.get();
    let counts = c
        .view
        .borrow()
        .iter()
        .fold(BTreeMap::<&str, usize>::new(), |mut m, r| {
            *m.entry(r.state.name()).or_default() += 1;
            m
        });
    let account = c
        .vault
        .borrow()
        .as_ref()
        .map(|v| v.account_id().to_string());
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
                if let Some(w) = c.wallet.borrow().as_ref() { <span id="wallet-badge" class="badge on mono">{ format!("wallet: {}", w.account_id) }</span> }
                <span id="sync" class="badge" data-owner={c.sync_owner.get().to_string()}>{ if c.sync_owner.get() { "syncs here" } else { "another tab syncs" } }</span>
                <span id="account" class="mono">{ account.map(|a| format!("{a}{}", if locked {" (locked)"} else {""})).unwrap_or_else(|| "no key".into()) }</span>
                <span id="counts">{ counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(" · ") }</span>
            </header>
            if let Some(b) = c.banner.borrow().clone() { <p class="err" id="banner">{b}</p> }
            <nav>
                { tab(Screen::Keys, "tab-keys", "Keys") }
                { tab(Screen::Compose, "tab-compose", "Compose") }
                { tab(Screen::Queue, "tab-queue", "Queue") }
                { tab(Screen::Verify, "tab-verify", "Verify") }
                { tab(Screen::Receive, "tab-receive", "Receive") }
                { tab(Screen::History, "tab-history", "History") }
                { tab(Screen::Wallet, "tab-wallet", "Wallet") }
                { tab(Screen::Network, "tab-network", "Network") }
            </nav>
            <main>
            { match *screen {
                Screen::Keys => html!{ <KeysScreen/> },
                Screen::Compose => html!{ <ComposeScreen/> },
                Screen::Queue => html!{ <QueueScreen/> },
                Screen::Verify => html!{ <VerifyScreen/> },
                Screen::Network => html!{ <NetworkScreen/> },
                Screen::Wallet => html!{ <WalletScreen/> },
                Screen::Receive => html!{ <ReceiveScreen/> },
                Screen::History => html!{ <HistoryScreen/> },
            } }
            </main>
        </ContextProvider<AppCtx>>
    }
}

pub(crate) fn input_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

/// A text input bound to a state, with its error (if any) shown right under it.
pub(crate) fn field(
    id: &str,
    label: &str,
    kind: &str,
    value: &UseStateHandle<String>,
    err: Option<&String>,
) -> Html {
    field_with_list(id, label, kind, value, err, None)
}

/// A field that suggests values from a `<datalist>` (the network's tokens).
pub(crate) fn field_with_list(
    id: &str,
    label: &str,
    kind: &str,
    value: &UseStateHandle<String>,
    err: Option<&String>,
    list: Option<&str>,
) -> Html {
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
