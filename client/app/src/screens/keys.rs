//! Keys: create (with seed-phrase confirmation), import, unlock, lock, export, forget.

use crate::app::{field, input_value, AppCtx};
use crate::net::{self, now_ms};
use outpost_client_model::compose::format_units;
use outpost_client_model::keys;
use outpost_protocol::SecretKey;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

#[function_component(KeysScreen)]
pub fn keys_screen() -> Html {
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
    let unlock_ms = use_state(|| None::<(f64, &'static str)>);

    let save_new = {
        let (c, app, pass, pass2, named, msg) = (
            c.clone(),
            app.clone(),
            pass.clone(),
            pass2.clone(),
            named.clone(),
            msg.clone(),
        );
        move |key: SecretKey,
              shown_phrase: Option<String>,
              phrase_state: UseStateHandle<Option<String>>| {
            if *pass != *pass2 {
                msg.set(Some(Err("the two passphrases differ".into())));
                return;
            }
            let named_account = match keys::parse_named_account(&named) {
                Ok(n) => n,
                Err(e) => return msg.set(Some(Err(e.0))),
            };
            let (c, app, msg, pass) = (c.clone(), app.clone(), msg.clone(), (*pass).clone());
            msg.set(Some(Ok("encrypting the key (Argon2id)…".into())));
            spawn_local(async move {
                // Argon2id runs in the key worker: the page stays responsive meanwhile.
                let vault = match crate::kdf::seal(&key, &pass, named_account).await {
                    Ok((v, _)) => v,
                    Err(e) => return msg.set(Some(Err(e.0))),
                };
                match c.db.save_vault(Some(&vault)).await {
                    Ok(()) => {
                        *c.vault.borrow_mut() = Some(vault);
                        *c.key.borrow_mut() = Some(key);
                        c.idle_locked.set(false);
                        c.last_activity.set(now_ms());
                        phrase_state.set(shown_phrase);
                        msg.set(Some(
                            Ok("key saved, encrypted under your passphrase".into()),
                        ));
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
        let (msg, pass, pass2, pending, answers) = (
            msg.clone(),
            pass.clone(),
            pass2.clone(),
            pending.clone(),
            answers.clone(),
        );
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
        let (save_new, msg, phrase, pending, answers) = (
            save_new.clone(),
            msg.clone(),
            phrase.clone(),
            pending.clone(),
            answers.clone(),
        );
        Callback::from(move |_| {
            let Some((key, p, positions)) = (*pending).clone() else {
                return;
            };
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
        let (save_new, msg, import, phrase) = (
            save_new.clone(),
            msg.clone(),
            import.clone(),
            phrase.clone(),
        );
        Callback::from(move |_| {
            let text = import.trim();
            let key = if text.starts_with("ed25519:") {
                keys::import_secret_key(text)
            } else {
                keys::key_from_seed_phrase(text)
            };
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
        let (c, app, unlock_pass, msg, unlock_ms) = (
            c.clone(),
            app.clone(),
            unlock_pass.clone(),
            msg.clone(),
            unlock_ms.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(vault) = c.vault.borrow().clone() else {
                return;
            };
            let t0 = js_sys::Date::now();
            let (c, app, msg, unlock_ms, unlock_pass) = (c.clone(), app.clone(), msg.clone(), unlock_ms.clone(), unlock_pass.clone());
            let pass = (*unlock_pass).clone();
            msg.set(Some(Ok("unlocking…".into())));
            spawn_local(async move {
                match crate::kdf::unlock(&vault, &pass).await {
                    Ok((k, at)) => {
                        unlock_ms.set(Some((js_sys::Date::now() - t0, at.name())));
                        *c.key.borrow_mut() = Some(k);
                        c.idle_locked.set(false);
                        c.last_activity.set(now_ms());
                        unlock_pass.set(String::new());
                        msg.set(Some(Ok("unlocked".into())));
                        app.refresh.emit(());
                    }
                    Err(e) => msg.set(Some(Err(e.0))),
                }
            });
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
    let on_balances: Callback<()> = {
        let (c, balances) = (c.clone(), balances.clone());
        Callback::from(move |()| {
            let Some(vault) = c.vault.borrow().clone() else {
                return;
            };
            let net = c.network.borrow().clone();
            let balances = balances.clone();
            spawn_local(async move {
                let out = net::ledger_balances(&net, &vault.account_id())
                    .await
                    .into_iter()
                    .map(|(t, r)| (net.symbol(&t), r.map(|v| format_units(v, net.decimals(&t)))))
                    .collect();
                balances.set(out);
            });
        })
    };
    use_effect_with((), |_| crate::kdf::warm());
    {
        // Balances without a click: on every visit, and when the key or the network changes.
        let on_balances = on_balances.clone();
        let account = c.vault.borrow().as_ref().map(|v| v.account_id());
        let contract = c.network.borrow().intents_contract.clone();
        use_effect_with((account, contract), move |_| on_balances.emit(()));
    }

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
                        if let Some((ms, at)) = *unlock_ms { <span id="unlock-ms" data-ms={ms.to_string()} data-kdf={at}>{ format!(" unlocked in {ms:.0} ms (Argon2id in the {at})") }</span> }
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
                    <button id="balances" onclick={on_balances.reform(|_| ())}>{"Refresh balances"}</button>
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
