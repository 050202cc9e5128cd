//! Tier-1 harness: runs the optimized contract wasm (from `scripts/build-contracts.sh`) in
//! nearcore's own VM (`near-vm-runner`) with the runtime config of a chosen protocol version,
//! against an in-memory trie. It does what a node does around one function call that the mock
//! does not: state changes of a failed call are rolled back, storage usage and balance carry
//! over between calls, and outgoing receipts are collected per call.
//!
//! It does not run receipts across contracts: a cross-contract flow is driven by calling the
//! other side (or the callback, with its promise result) explicitly. Tier 2 covers real receipts.

pub mod tier2;

use near_parameters::{RuntimeConfig, RuntimeConfigStore};
use near_primitives_core::config::ViewConfig;
use near_primitives_core::types::{AccountId, Balance, Gas};
use near_vm_runner::logic::errors::FunctionCallError;
use near_vm_runner::logic::mocks::mock_external::{MockAction, MockedExternal};
use near_vm_runner::logic::types::{PromiseResult, ReturnData};
use near_vm_runner::logic::VMContext;
use near_vm_runner::{ContractCode, MockContractRuntimeCache};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub use near_primitives_core::version::PROTOCOL_VERSION as NEWEST_PROTOCOL;
pub use near_vm_runner::logic::mocks::mock_external::MockAction as Receipt;

/// The oldest protocol the contracts promise to run on: near-sdk 5.29's imports (gas-key host
/// functions) need 85. Stated in README.md; `protocol_floor` tests prove it both ways.
pub const FLOOR_PROTOCOL: u32 = 85;

/// One yoctoNEAR, for NEP-141's "exactly 1 yocto" calls.
pub const ONE_YOCTO: u128 = 1;
pub const NEAR: u128 = 1_000_000_000_000_000_000_000_000;
pub const TGAS: u64 = 1_000_000_000_000;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The folder the build script writes contracts to (`OUTPOST_WASM_DIR`, default `target/near`).
pub fn wasm_dir() -> PathBuf {
    std::env::var_os("OUTPOST_WASM_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/near"))
}

/// Loads a built contract, failing loudly when it was not built (tests never skip this).
pub fn load_wasm(crate_name: &str) -> Vec<u8> {
    let path = wasm_dir().join(format!("{}.wasm", crate_name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}. Build the contracts first: scripts/build-contracts.sh", path.display())
    })
}

/// Tier 2 runs when a sandbox binary is named by NEAR_SANDBOX_BIN_PATH, or when the user allows
/// near-workspaces to download one (OUTPOST_SANDBOX_DOWNLOAD=1, a machine with internet).
pub fn sandbox_available() -> bool {
    std::env::var_os("NEAR_SANDBOX_BIN_PATH").is_some_and(|p| std::path::Path::new(&p).is_file())
        || std::env::var("OUTPOST_SANDBOX_DOWNLOAD").is_ok_and(|v| v == "1")
}

/// A contract call to make.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub args: Vec<u8>,
    pub predecessor: String,
    pub signer: String,
    pub deposit: u128,
    pub gas: u64,
    pub view: bool,
    /// Results of the promises a callback waits on: `Some(value)` succeeded, `None` failed.
    pub promise_results: Vec<Option<Vec<u8>>>,
}

impl Call {
    /// A call of `method` with JSON `args` by `caller` (predecessor and signer).
    pub fn new(method: &str, args: serde_json::Value, caller: &str) -> Self {
        Call {
            method: method.into(),
            args: serde_json::to_vec(&args).expect("JSON"),
            predecessor: caller.into(),
            signer: caller.into(),
            deposit: 0,
            gas: 300 * TGAS,
            view: false,
            promise_results: vec![],
        }
    }
    /// A view call (state writes fail, as over RPC).
    pub fn view(method: &str, args: serde_json::Value) -> Self {
        Call { view: true, ..Call::new(method, args, "viewer.testnet") }
    }
    pub fn raw_args(mut self, args: &[u8]) -> Self {
        self.args = args.to_vec();
        self
    }
    pub fn deposit(mut self, yocto: u128) -> Self {
        self.deposit = yocto;
        self
    }
    pub fn gas(mut self, gas: u64) -> Self {
        self.gas = gas;
        self
    }
    /// Sets the predecessor only (a cross-contract call: the signer stays the user).
    pub fn predecessor(mut self, account: &str) -> Self {
        self.predecessor = account.into();
        self
    }
    /// A callback: the results of the promises it was attached to.
    pub fn promise_results(mut self, results: Vec<Option<Vec<u8>>>) -> Self {
        self.promise_results = results;
        self
    }
}

/// What a call did.
#[derive(Debug)]
pub struct Outcome {
    /// The return value, or the error (for a panic, just its message).
    pub result: Result<Vec<u8>, String>,
    pub logs: Vec<String>,
    pub burnt_gas: u64,
    /// Receipts the call created (none when it failed).
    pub receipts: Vec<MockAction>,
    /// Storage usage of the contract account after the call.
    pub storage_usage: u64,
    /// Gas spent in wasm instructions (the rest is host functions and actions).
    pub wasm_gas: u64,
    /// nearcore's gas profile: host function and action costs.
    pub profile: String,
}

impl Outcome {
    /// The JSON return value; panics with the error when the call failed.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match &self.result {
            Ok(bytes) if bytes.is_empty() => serde_json::Value::Null,
            Ok(bytes) => serde_json::from_slice(bytes).expect("return value is JSON"),
            Err(e) => panic!("call failed: {e}"),
        }
    }
    /// Asserts success.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        if let Err(e) = &self.result {
            panic!("call failed: {e}\nlogs: {:#?}", self.logs);
        }
        self
    }
    /// The error message; panics when the call succeeded.
    #[track_caller]
    pub fn err(&self) -> &str {
        match &self.result {
            Ok(v) => panic!("call succeeded, expected failure: {}", String::from_utf8_lossy(v)),
            Err(e) => e,
        }
    }
    /// NEP-297 events (`EVENT_JSON:` logs), parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.logs
            .iter()
            .filter_map(|l| l.strip_prefix("EVENT_JSON:"))
            .map(|j| serde_json::from_str(j).expect("EVENT_JSON is JSON"))
            .collect()
    }
    /// Receipts as (receiver, actions), in creation order.
    pub fn receipts_by_receiver(&self) -> Vec<(String, Vec<MockAction>)> {
        let mut out: Vec<(String, Vec<MockAction>)> = vec![];
        for a in &self.receipts {
            match a {
                MockAction::CreateReceipt { receiver_id, .. } => out.push((receiver_id.to_string(), vec![])),
                other => {
                    if let Some(last) = out.last_mut() {
                        last.1.push(other.clone())
                    }
                }
            }
        }
        out
    }
}

/// One contract account running one wasm at one protocol version.
pub struct Vm {
    pub protocol: u32,
    pub account: String,
    pub block_timestamp: u64,
    pub block_height: u64,
    config: Arc<RuntimeConfig>,
    ext: MockedExternal,
    storage_usage: u64,
    balance: u128,
}

impl Vm {
    /// Deploys `wasm` to `account` at protocol `protocol`.
    pub fn new(wasm: &[u8], protocol: u32, account: &str) -> Self {
        let config = Arc::clone(RuntimeConfigStore::new(None).get_config(protocol));
        Vm {
            protocol,
            account: account.into(),
            // 2026-11-23T00:00:00Z, a plausible "now"; tests move it.
            block_timestamp: 1_795_392_000_000_000_000,
            block_height: 100,
            config,
            ext: MockedExternal::with_code(ContractCode::new(wasm.to_vec(), None)),
            // What a fresh account with a contract uses; what matters is the difference per call.
            storage_usage: 182 + wasm.len() as u64,
            balance: 100 * NEAR,
        }
    }

    /// The contract account's NEAR balance (attached deposits add to it, transfers take from it).
    pub fn balance(&self) -> u128 {
        self.balance
    }
    pub fn storage_usage(&self) -> u64 {
        self.storage_usage
    }
    /// yoctoNEAR per byte of storage at this protocol.
    pub fn storage_byte_cost(&self) -> u128 {
        self.config.fees.storage_usage_config.storage_amount_per_byte.as_yoctonear()
    }

    /// Runs one call; state changes stay only when it succeeds.
    pub fn call(&mut self, call: &Call) -> Outcome {
        let wasm_config = Arc::clone(&self.config.wasm_config);
        let context = VMContext {
            current_account_id: self.account.parse().expect("contract account id"),
            signer_account_id: call.signer.parse().expect("signer id"),
            signer_account_pk: vec![0; 33],
            predecessor_account_id: call.predecessor.parse().expect("predecessor id"),
            refund_to_account_id: call.predecessor.parse::<AccountId>().expect("predecessor id"),
            input: call.args.clone().into(),
            promise_results: call
                .promise_results
                .iter()
                .map(|r| match r {
                    Some(v) => PromiseResult::Successful(v.clone().into()),
                    None => PromiseResult::Failed,
                })
                .collect::<Vec<_>>()
                .into(),
            block_height: self.block_height,
            block_timestamp: self.block_timestamp,
            epoch_height: 1,
            account_balance: Balance::from_yoctonear(self.balance),
            account_locked_balance: Balance::ZERO,
            storage_usage: self.storage_usage,
            account_contract: near_primitives_core::account::AccountContract::None,
            attached_deposit: Balance::from_yoctonear(call.deposit),
            prepaid_gas: Gas::from_gas(call.gas),
            random_seed: vec![7; 32],
            view_config: call.view.then(|| ViewConfig { max_gas_burnt: Gas::from_teragas(300) }),
            output_data_receivers: vec![],
        };
        let trie_before = self.ext.fake_trie.clone();
        let actions_before = self.ext.action_log.len();
        let gas_counter = context.make_gas_counter(&wasm_config);
        let prepared = near_vm_runner::prepare(&self.ext, wasm_config, Some(compiled_cache()), gas_counter, &call.method);
        let outcome = near_vm_runner::run(prepared, &mut self.ext, &context, Arc::clone(&self.config.fees))
            .unwrap_or_else(|e| panic!("VM error (not a contract failure): {e:?}"));
        let receipts: Vec<MockAction> = self.ext.action_log.drain(actions_before..).collect();
        let result = match &outcome.aborted {
            Some(err) => {
                // A failed receipt leaves no trace in state, like on chain.
                self.ext.fake_trie = trie_before;
                Err(describe(err))
            }
            None => {
                self.storage_usage = outcome.storage_usage;
                self.balance = outcome.balance.as_yoctonear();
                match &outcome.return_data {
                    ReturnData::Value(v) => Ok(v.clone()),
                    _ => Ok(vec![]),
                }
            }
        };
        Outcome {
            receipts: if result.is_ok() { receipts } else { vec![] },
            result,
            logs: outcome.logs.clone(),
            burnt_gas: outcome.burnt_gas.as_gas(),
            storage_usage: self.storage_usage,
            wasm_gas: outcome.profile.get_wasm_cost().as_gas(),
            profile: format!("{:?}", outcome.profile),
        }
    }

    /// Shorthand: a view call's JSON result.
    #[track_caller]
    pub fn view(&mut self, method: &str, args: serde_json::Value) -> serde_json::Value {
        self.call(&Call::view(method, args)).json()
    }
}

/// Compiled contracts, shared by every VM in the process: compiling a 300 KB contract takes longer
/// than running it, and the cache key covers the code and the VM config.
fn compiled_cache() -> &'static MockContractRuntimeCache {
    static CACHE: OnceLock<MockContractRuntimeCache> = OnceLock::new();
    CACHE.get_or_init(MockContractRuntimeCache::default)
}

fn describe(err: &FunctionCallError) -> String {
    let text = err.to_string();
    text.strip_prefix("Smart contract panicked: ").map(str::to_owned).unwrap_or(text)
}

/// A promise result for a callback.
pub fn promise_ok(value: &[u8]) -> Option<Vec<u8>> {
    Some(value.to_vec())
}
pub fn promise_failed() -> Option<Vec<u8>> {
    None
}

/// A gas table: printed, and written to `target/reports/<name>.md` (`OUTPOST_REPORT_DIR`).
pub struct GasReport {
    name: String,
    rows: Vec<(String, u64, String)>,
}

impl GasReport {
    pub fn new(name: &str) -> Self {
        GasReport { name: name.into(), rows: vec![] }
    }
    pub fn add(&mut self, what: &str, burnt_gas: u64, note: impl Into<String>) {
        self.rows.push((what.into(), burnt_gas, note.into()));
    }
    /// Prints the table and writes it; returns the file written.
    pub fn write(&self) -> PathBuf {
        let mut out = format!("# {}\n\n| call | gas burnt (TGas) | note |\n|---|---:|---|\n", self.name);
        for (what, gas, note) in &self.rows {
            let _ = writeln!(out, "| {what} | {:.4} | {note} |", *gas as f64 / TGAS as f64);
        }
        println!("{out}");
        let dir = std::env::var_os("OUTPOST_REPORT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/reports"));
        std::fs::create_dir_all(&dir).expect("report dir");
        let path = dir.join(format!("{}.md", self.name.replace(' ', "-")));
        std::fs::write(&path, out).expect("write report");
        path
    }
}
