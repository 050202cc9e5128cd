//! Argon2id off the UI thread. `worker.js`, a module Web Worker, loads this same wasm (the
//! browser's cache already holds it: nothing more to download) and runs
//! `outpost_client_model::keys::{worker_unlock, worker_seal}`, so creating and unlocking a key
//! (64 MiB, ~0.2-1 s) never freezes the page. Where a worker cannot run, the page does it itself.

use outpost_client_model::keys::{import_secret_key, worker_seal, worker_unlock, Vault};
use outpost_client_model::Problem;
use outpost_protocol::{AccountId, SecretKey};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Where the key derivation ran (shown to the e2e in `data-kdf`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Worker,
    Page,
}

impl Where {
    pub fn name(self) -> &'static str {
        match self {
            Where::Worker => "worker",
            Where::Page => "page",
        }
    }
}

/// The worker's answer: `Ok(Ok(text))`, `Ok(Err(refusal))`, or `Err(())` when it could not run.
type Answer = Result<Result<String, String>, ()>;
type Pending = Rc<RefCell<Vec<(u32, futures::channel::oneshot::Sender<Answer>)>>>;

struct Worker {
    worker: web_sys::Worker,
    pending: Pending,
    next: Cell<u32>,
    _on_message: Closure<dyn Fn(web_sys::MessageEvent)>,
    _on_error: Closure<dyn Fn(web_sys::Event)>,
}

thread_local! {
    static WORKER: RefCell<Option<Rc<Worker>>> = const { RefCell::new(None) };
}

fn field(data: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(data, &name.into()).ok().filter(|v| !v.is_undefined())
}

fn take(pending: &Pending, id: u32) -> Option<futures::channel::oneshot::Sender<Answer>> {
    let mut p = pending.borrow_mut();
    let i = p.iter().position(|(k, _)| *k == id)?;
    Some(p.swap_remove(i).1)
}

fn start() -> Option<Rc<Worker>> {
    if let Some(w) = WORKER.with(|w| w.borrow().clone()) {
        return Some(w);
    }
    let options = web_sys::WorkerOptions::new();
    options.set_type(web_sys::WorkerType::Module);
    let worker = web_sys::Worker::new_with_options("worker.js", &options).ok()?;
    let pending: Pending = Rc::default();
    let p = pending.clone();
    let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let data = e.data();
        let Some(id) = field(&data, "id").and_then(|v| v.as_f64()) else { return };
        let answer = match (field(&data, "ok"), field(&data, "error")) {
            (Some(ok), _) => Ok(Ok(ok.as_string().unwrap_or_default())),
            (None, Some(err)) => Ok(Err(err.as_string().unwrap_or_default())),
            (None, None) => Err(()),
        };
        if let Some(tx) = take(&p, id as u32) {
            let _ = tx.send(answer);
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker failed (script missing, module error): waiting requests are dropped, so their
    // callers run them in the page, and the next request makes a new worker.
    let p = pending.clone();
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
        p.borrow_mut().clear();
        WORKER.with(|w| *w.borrow_mut() = None);
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let w = Rc::new(Worker { worker, pending, next: Cell::new(0), _on_message: on_message, _on_error: on_error });
    WORKER.with(|slot| *slot.borrow_mut() = Some(w.clone()));
    Some(w)
}

/// Starts the worker ahead of need (the key screen does, on opening), so its wasm is compiled by
/// the time the passphrase is typed.
pub fn warm() {
    let _ = start();
}

/// Asks the worker; `None` when it could not answer.
async fn ask(op: &str, args: &[&str]) -> Option<Result<String, String>> {
    let w = start()?;
    let id = w.next.get().wrapping_add(1);
    w.next.set(id);
    let (tx, rx) = futures::channel::oneshot::channel();
    w.pending.borrow_mut().push((id, tx));
    let msg = js_sys::Object::new();
    let list = js_sys::Array::new();
    for a in args {
        list.push(&JsValue::from_str(a));
    }
    let _ = js_sys::Reflect::set(&msg, &"id".into(), &JsValue::from(id));
    let _ = js_sys::Reflect::set(&msg, &"op".into(), &JsValue::from_str(op));
    let _ = js_sys::Reflect::set(&msg, &"args".into(), &list);
    if w.worker.post_message(&msg).is_err() {
        take(&w.pending, id);
        return None;
    }
    rx.await.ok()?.ok()
}

pub async fn unlock(vault: &Vault, passphrase: &str) -> Result<(SecretKey, Where), Problem> {
    let vault_json = serde_json::to_string(vault).map_err(|e| Problem::new(format!("could not read the stored key ({e})")))?;
    let (text, at) = match ask("unlock", &[&vault_json, passphrase]).await {
        Some(r) => (r.map_err(Problem::new)?, Where::Worker),
        None => (worker_unlock(&vault_json, passphrase)?, Where::Page),
    };
    Ok((import_secret_key(&text)?, at))
}

pub async fn seal(key: &SecretKey, passphrase: &str, named_account: Option<AccountId>) -> Result<(Vault, Where), Problem> {
    let (secret, named) = (key.to_string(), named_account.map(|a| a.to_string()).unwrap_or_default());
    let (json, at) = match ask("seal", &[&secret, passphrase, &named]).await {
        Some(r) => (r.map_err(Problem::new)?, Where::Worker),
        None => (worker_seal(&secret, passphrase, &named)?, Where::Page),
    };
    let vault = serde_json::from_slice(json.as_bytes()).map_err(|_| Problem::new("the key worker returned an unreadable vault"))?;
    Ok((vault, at))
}
