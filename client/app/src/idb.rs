//! IndexedDB: the queue (one object per record, keyed by intent hash) and the encrypted key vault.
//! Every write is one transaction that must report `complete` before the caller goes on, which is
//! what lets the UI say "queued" only once the record would survive a crash.

use outpost_client_model::keys::Vault;
use outpost_client_model::queue::Record;
use outpost_client_model::sync::Store;
use outpost_client_model::Problem;
use rexie::{ObjectStore, Rexie, TransactionMode, TransactionResult};
use wasm_bindgen::JsValue;

const DB: &str = "outpost";
const QUEUE: &str = "queue";
const VAULT: &str = "vault";
const VAULT_KEY: &str = "main";

// Display, not Debug: the release build compiles Debug formatting out (-Zfmt-debug=none).
fn problem(what: &str, e: impl std::fmt::Display) -> Problem {
    Problem::new(format!("the browser's storage refused to {what} ({e})"))
}

pub struct Db(Rexie);

/// Records are stored as `{id, json}`: the id is the key, the JSON is the model's own encoding,
/// so a record reads back exactly as written.
fn to_js(r: &Record) -> Result<JsValue, Problem> {
    let obj = js_sys::Object::new();
    let json = serde_json::to_string(r).map_err(|e| problem("encode a record", e))?;
    js_sys::Reflect::set(&obj, &"id".into(), &r.id.as_str().into())
        .map_err(|e| problem("encode a record", crate::net::js_text(&e)))?;
    js_sys::Reflect::set(&obj, &"json".into(), &json.into())
        .map_err(|e| problem("encode a record", crate::net::js_text(&e)))?;
    Ok(obj.into())
}

impl Db {
    pub async fn open() -> Result<Db, Problem> {
        Rexie::builder(DB)
            .version(1)
            .add_object_store(ObjectStore::new(QUEUE).key_path("id"))
            .add_object_store(ObjectStore::new(VAULT))
            .build()
            .await
            .map(Db)
            .map_err(|e| problem("open the database", e))
    }

    async fn finish(tx: rexie::Transaction, what: &str) -> Result<(), Problem> {
        match tx.done().await {
            Ok(TransactionResult::Committed) => Ok(()),
            Ok(TransactionResult::Aborted) => Err(Problem::new(format!(
                "the browser aborted the write ({what})"
            ))),
            Err(e) => Err(problem(what, e)),
        }
    }

    /// All queue records; a record that does not decode is reported, never dropped silently.
    pub async fn load_records(&self) -> Result<(Vec<Record>, Vec<String>), Problem> {
        let tx = self
            .0
            .transaction(&[QUEUE], TransactionMode::ReadOnly)
            .map_err(|e| problem("read the queue", e))?;
        let store = tx.store(QUEUE).map_err(|e| problem("read the queue", e))?;
        let values = store
            .get_all(None, None)
            .await
            .map_err(|e| problem("read the queue", e))?;
        let mut records = Vec::new();
        let mut broken = Vec::new();
        for v in values {
            let json = js_sys::Reflect::get(&v, &"json".into())
                .ok()
                .and_then(|j| j.as_string())
                .unwrap_or_default();
            match serde_json::from_slice::<Record>(json.as_bytes()) {
                Ok(r) => records.push(r),
                Err(e) => broken.push(format!(
                    "a stored record could not be read ({e}); it was left in storage untouched"
                )),
            }
        }
        Ok((records, broken))
    }

    pub async fn delete_record(&self, id: &str) -> Result<(), Problem> {
        let tx = self
            .0
            .transaction(&[QUEUE], TransactionMode::ReadWrite)
            .map_err(|e| problem("delete", e))?;
        tx.store(QUEUE)
            .map_err(|e| problem("delete", e))?
            .delete(id.into())
            .await
            .map_err(|e| problem("delete", e))?;
        Self::finish(tx, "delete").await
    }

    pub async fn load_vault(&self) -> Result<Option<Vault>, Problem> {
        let tx = self
            .0
            .transaction(&[VAULT], TransactionMode::ReadOnly)
            .map_err(|e| problem("read the key", e))?;
        let v = tx
            .store(VAULT)
            .map_err(|e| problem("read the key", e))?
            .get(VAULT_KEY.into())
            .await
            .map_err(|e| problem("read the key", e))?;
        match v.and_then(|v| v.as_string()) {
            None => Ok(None),
            Some(json) => serde_json::from_slice(json.as_bytes())
                .map(Some)
                .map_err(|e| Problem::new(format!("the stored key could not be read ({e})"))),
        }
    }

    pub async fn save_vault(&self, vault: Option<&Vault>) -> Result<(), Problem> {
        let tx = self
            .0
            .transaction(&[VAULT], TransactionMode::ReadWrite)
            .map_err(|e| problem("save the key", e))?;
        let store = tx.store(VAULT).map_err(|e| problem("save the key", e))?;
        match vault {
            Some(v) => {
                let json = serde_json::to_string(v).map_err(|e| problem("save the key", e))?;
                store
                    .put(&json.into(), Some(&VAULT_KEY.into()))
                    .await
                    .map_err(|e| problem("save the key", e))?;
            }
            None => store
                .delete(VAULT_KEY.into())
                .await
                .map_err(|e| problem("forget the key", e))?,
        }
        Self::finish(tx, "save the key").await
    }
}

impl Store for Db {
    async fn put(&self, records: &[Record]) -> Result<(), Problem> {
        let tx = self
            .0
            .transaction(&[QUEUE], TransactionMode::ReadWrite)
            .map_err(|e| problem("save the queue", e))?;
        let store = tx.store(QUEUE).map_err(|e| problem("save the queue", e))?;
        for r in records {
            store
                .put(&to_js(r)?, None)
                .await
                .map_err(|e| problem("save the queue", e))?;
        }
        Self::finish(tx, "save the queue").await
    }
}
