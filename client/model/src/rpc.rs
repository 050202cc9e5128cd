//! NEAR JSON-RPC requests and answers the dApp uses: contract views (`nonce_status`,
//! `get_balance`), the access key and block hash for direct submission, and `send_tx`. Pure
//! functions over JSON text, so they are tested natively; the app only does the fetch.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use outpost_protocol::abi::{methods, BatchFailure};
use outpost_protocol::{AccountId, Nonce, PublicKey, TokenId};
use serde_json::{json, Value};

/// A `query`/`call_function` request on the final block.
pub fn view_request(contract: &str, method: &str, args: &Value) -> String {
    json!({
        "jsonrpc": "2.0", "id": "outpost", "method": "query",
        "params": {
            "request_type": "call_function", "finality": "final",
            "account_id": contract, "method_name": method,
            "args_base64": B64.encode(args.to_string()),
        }
    })
    .to_string()
}

/// `nonce_status`: unused, executed by the intent with this hash, or cancelled.
pub fn nonce_status_request(contract: &str, account: &AccountId, nonce: &Nonce) -> String {
    view_request(contract, methods::NONCE_STATUS, &json!({ "account_id": account, "nonce": nonce }))
}

pub fn parse_nonce_status(body: &str) -> Result<outpost_protocol::abi::NonceStatus, String> {
    parse_view_as(body, "a nonce status")
}

pub fn get_balance_request(contract: &str, account: &AccountId, token: &TokenId) -> String {
    view_request(contract, methods::GET_BALANCE, &json!({ "account_id": account, "token": token }))
}

/// An RPC error in words: the node's own message, plus a hint for the common cases.
fn rpc_error(v: &Value) -> String {
    let cause = v.pointer("/cause/name").and_then(Value::as_str).unwrap_or("");
    let data = v.get("data").map(|d| d.as_str().map(str::to_owned).unwrap_or_else(|| d.to_string())).unwrap_or_default();
    match cause {
        "UNKNOWN_ACCOUNT" => "the account does not exist on this network".into(),
        "UNKNOWN_ACCESS_KEY" => "this key is not an access key of the account".into(),
        "NO_CONTRACT_CODE" => "no contract is deployed at that account".into(),
        _ => {
            if let Some(f) = BatchFailure::find_in(&data) {
                return f.to_string();
            }
            let msg = v.get("message").and_then(Value::as_str).unwrap_or("RPC error");
            if data.is_empty() {
                msg.to_owned()
            } else {
                format!("{msg}: {data}")
            }
        }
    }
}

fn result(body: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(body.as_bytes()).map_err(|_| "the RPC node sent something that is not JSON".to_owned())?;
    if let Some(e) = v.get("error") {
        return Err(rpc_error(e));
    }
    let r = v.get("result").cloned().ok_or("the RPC answer has no result")?;
    // Older nodes report contract panics inside the result.
    if let Some(e) = r.get("error").and_then(Value::as_str) {
        return Err(BatchFailure::find_in(e).map(|f| f.to_string()).unwrap_or_else(|| e.to_owned()));
    }
    Ok(r)
}

/// The bytes a view returned.
fn view_bytes(body: &str) -> Result<Vec<u8>, String> {
    let r = result(body)?;
    r.get("result")
        .and_then(Value::as_array)
        .ok_or("the view returned no bytes")?
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()).ok_or_else(|| "the view returned a non-byte".to_owned()))
        .collect()
}

/// The JSON a view returned.
pub fn parse_view(body: &str) -> Result<Value, String> {
    serde_json::from_slice(&view_bytes(body)?).map_err(|_| "the view did not return JSON".to_owned())
}

/// A view's JSON as `T` (decoded straight from the bytes: one serde_json reader in the page).
pub fn parse_view_as<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, String> {
    let bytes = view_bytes(body)?;
    serde_json::from_slice(&bytes).map_err(|_| format!("expected {what}, got {}", String::from_utf8_lossy(&bytes)))
}

pub fn parse_bool(body: &str) -> Result<bool, String> {
    parse_view(body)?.as_bool().ok_or_else(|| "expected true or false".to_owned())
}

/// `get_balance` returns a decimal string.
pub fn parse_balance(body: &str) -> Result<u128, String> {
    let v = parse_view(body)?;
    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| format!("expected an amount, got {v}"))
}

pub fn view_access_key_request(account: &AccountId, key: &PublicKey) -> String {
    json!({
        "jsonrpc": "2.0", "id": "outpost", "method": "query",
        "params": { "request_type": "view_access_key", "finality": "final", "account_id": account, "public_key": key.to_string() }
    })
    .to_string()
}

/// The access key's current nonce and the block hash the answer was read at (recent enough to
/// build a transaction on).
pub fn parse_access_key(body: &str) -> Result<(u64, [u8; 32]), String> {
    let r = result(body)?;
    let nonce = r.get("nonce").and_then(Value::as_u64).ok_or("the access key has no nonce")?;
    let hash = r.get("block_hash").and_then(Value::as_str).ok_or("the answer has no block hash")?;
    let mut out = [0u8; 32];
    match outpost_protocol::base58::decode_into(hash, &mut out[..]) {
        Ok(32) => Ok((nonce, out)),
        _ => Err("the block hash is not 32 bytes of base58".into()),
    }
}

/// `send_tx`, waiting until the transaction and its receipts ran.
pub fn send_tx_request(signed_tx_base64: &str) -> String {
    json!({
        "jsonrpc": "2.0", "id": "outpost", "method": "send_tx",
        "params": { "signed_tx_base64": signed_tx_base64, "wait_until": "EXECUTED_OPTIMISTIC" }
    })
    .to_string()
}

/// What a submitted transaction did: `Ok(tx_hash)` or the failure in words.
pub fn parse_tx_outcome(body: &str) -> Result<String, String> {
    outcome(&result(body)?)
}

/// A final execution outcome (`{status, transaction}`), from the RPC or from a wallet.
pub fn outcome(r: &Value) -> Result<String, String> {
    let hash = r.pointer("/transaction/hash").and_then(Value::as_str).unwrap_or("").to_owned();
    match r.get("status") {
        Some(s) if s.get("SuccessValue").is_some() => Ok(hash),
        Some(s) => {
            let text = s.to_string();
            Err(BatchFailure::find_in(&text).map(|f| f.to_string()).unwrap_or(format!("the transaction failed: {text}")))
        }
        None => Err("the RPC answer has no status".into()),
    }
}

/// `tx`: a transaction's outcome with all its receipts' (the RPC needs the signer's account to
/// find it), answered once it reached `wait_until` (`EXECUTED_OPTIMISTIC`, `FINAL`, ...).
pub fn tx_status_request(tx_hash: &str, sender: &str, wait_until: &str) -> String {
    json!({
        "jsonrpc": "2.0", "id": "outpost", "method": "tx",
        "params": { "tx_hash": tx_hash, "sender_account_id": sender, "wait_until": wait_until }
    })
    .to_string()
}

/// The intent hashes that `executed` events list in a `tx` answer, taken only from receipts the
/// intents `contract` itself ran, and only from those that succeeded: any account can log an
/// `EVENT_JSON` line, and a receipt that failed after logging settled nothing.
pub fn parse_executed_hashes(body: &str, contract: &str) -> Result<Vec<String>, String> {
    let r = result(body)?;
    let receipts = r.get("receipts_outcome").and_then(Value::as_array).ok_or("the RPC answer lists no receipts")?;
    let mut hashes = Vec::new();
    for receipt in receipts {
        let outcome = receipt.get("outcome").ok_or("a receipt without its outcome")?;
        let succeeded = outcome.get("status").is_some_and(|s| s.get("SuccessValue").is_some() || s.get("SuccessReceiptId").is_some());
        if outcome.get("executor_id").and_then(Value::as_str) != Some(contract) || !succeeded {
            continue;
        }
        for log in outcome.get("logs").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            let Some(event) = log.strip_prefix("EVENT_JSON:").and_then(|j| serde_json::from_slice::<Value>(j.as_bytes()).ok()) else { continue };
            if event["standard"] != outpost_protocol::abi::EVENT_STANDARD || event["event"] != "executed" {
                continue;
            }
            let listed = event.pointer("/data/h").and_then(Value::as_array).ok_or("an `executed` event without its `h` list")?;
            hashes.extend(listed.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    Ok(hashes)
}

/// `view_account`: the account's own NEAR (what a wallet shows), not its ledger balance.
pub fn view_account_request(account: &AccountId) -> String {
    json!({
        "jsonrpc": "2.0", "id": "outpost", "method": "query",
        "params": { "request_type": "view_account", "finality": "final", "account_id": account }
    })
    .to_string()
}

pub fn parse_account_balance(body: &str) -> Result<u128, String> {
    let r = result(body)?;
    r.get("amount").and_then(Value::as_str).and_then(|s| s.parse().ok()).ok_or_else(|| "the account has no amount".to_owned())
}

/// `public_keys_of`: the keys registered in the ledger for a (named) account.
pub fn public_keys_of_request(contract: &str, account: &AccountId) -> String {
    view_request(contract, methods::PUBLIC_KEYS_OF, &json!({ "account_id": account }))
}

pub fn parse_public_keys(body: &str) -> Result<Vec<PublicKey>, String> {
    parse_view_as(body, "a list of keys")
}

/// NEP-148 `ft_metadata` on a token contract: its symbol and decimals.
pub fn ft_metadata_request(token: &AccountId) -> String {
    view_request(token.as_str(), "ft_metadata", &json!({}))
}

/// The token's display info from `ft_metadata`. The symbol is shown in the page, so it is kept
/// short and printable; decimals above 38 cannot be a u128 amount's and are refused.
pub fn parse_ft_metadata(body: &str, token: &AccountId) -> Result<crate::network::TokenInfo, String> {
    let v = parse_view(body)?;
    let decimals = v.get("decimals").and_then(Value::as_u64).filter(|d| *d <= 38).ok_or("the token's metadata has no usable decimals")? as u8;
    let symbol: String = v.get("symbol").and_then(Value::as_str).unwrap_or("").chars().filter(|c| !c.is_control()).take(16).collect();
    let symbol = if symbol.trim().is_empty() { token.to_string() } else { symbol.trim().to_owned() };
    Ok(crate::network::TokenInfo { id: TokenId::Nep141(token.clone()), symbol, decimals })
}

/// NEP-141 `ft_balance_of` on a token contract: the wallet's own token balance.
pub fn ft_balance_of_request(token: &AccountId, account: &AccountId) -> String {
    view_request(token.as_str(), "ft_balance_of", &json!({ "account_id": account }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_answer(json: &str) -> String {
        let bytes: Vec<u8> = json.bytes().collect();
        json!({"jsonrpc":"2.0","id":"outpost","result":{"result":bytes,"logs":[],"block_height":1,"block_hash":"11111111111111111111111111111111"}}).to_string()
    }

    #[test]
    fn view_requests_encode_args() {
        let req: Value = serde_json::from_str(&nonce_status_request("intents.test.near", &"alice.testnet".parse().unwrap(), &Nonce::new(1_800_000_000_000_000_000, [1; 24]))).unwrap();
        assert_eq!(req["params"]["method_name"], "nonce_status");
        let answer = |v: &str| format!(r#"{{"jsonrpc":"2.0","id":"x","result":{{"result":{:?},"logs":[]}}}}"#, v.as_bytes());
        assert_eq!(parse_nonce_status(&answer(r#"{"state":"unused"}"#)), Ok(outpost_protocol::abi::NonceStatus::Unused));
        assert_eq!(parse_nonce_status(&answer(r#"{"state":"cancelled"}"#)), Ok(outpost_protocol::abi::NonceStatus::Cancelled));
        assert!(parse_nonce_status(&answer("true")).is_err());
        let args = B64.decode(req["params"]["args_base64"].as_str().unwrap()).unwrap();
        let args: Value = serde_json::from_slice(&args).unwrap();
        assert_eq!(args, json!({"account_id":"alice.testnet","nonce":Nonce::new(1_800_000_000_000_000_000, [1; 24]).to_string()}));
        let req: Value = serde_json::from_str(&get_balance_request("c.near", &"a.near".parse().unwrap(), &TokenId::Near)).unwrap();
        let args: Value = serde_json::from_slice(&B64.decode(req["params"]["args_base64"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(args, json!({"account_id":"a.near","token":"near"}));
    }

    #[test]
    fn view_answers() {
        assert_eq!(parse_bool(&view_answer("true")), Ok(true));
        assert_eq!(parse_balance(&view_answer("\"1000\"")), Ok(1000));
        assert!(parse_balance(&view_answer("12")).is_err());
        let unknown = r#"{"jsonrpc":"2.0","id":"x","error":{"name":"HANDLER_ERROR","cause":{"name":"UNKNOWN_ACCOUNT","info":{}},"code":-32000,"message":"Server error"}}"#;
        assert_eq!(parse_bool(unknown), Err("the account does not exist on this network".into()));
        let panic = r#"{"jsonrpc":"2.0","id":"x","result":{"error":"wasm execution failed with error: FunctionCallError(ExecutionError(\"Smart contract panicked: intent #0: NONCE_USED: seen\"))","logs":[]}}"#;
        assert_eq!(parse_bool(panic), Err("intent #0: NONCE_USED: seen".into()));
        assert!(parse_bool("not json").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn access_key_and_tx_outcome() {
        let ak = r#"{"jsonrpc":"2.0","id":"x","result":{"nonce":41,"permission":"FullAccess","block_height":5,"block_hash":"4reLvkAWfqk5fsqio1KLudk46cqRz9erQdaHkWZKMJDZ"}}"#;
        let (nonce, hash) = parse_access_key(ak).unwrap();
        assert_eq!(nonce, 41);
        assert_eq!(outpost_protocol::base58::encode(&hash), "4reLvkAWfqk5fsqio1KLudk46cqRz9erQdaHkWZKMJDZ");
        let ok = r#"{"jsonrpc":"2.0","id":"x","result":{"status":{"SuccessValue":""},"transaction":{"hash":"TXH"}}}"#;
        assert_eq!(parse_tx_outcome(ok), Ok("TXH".into()));
        let failed = r#"{"jsonrpc":"2.0","id":"x","result":{"status":{"Failure":{"ActionError":{"kind":{"FunctionCallError":{"ExecutionError":"Smart contract panicked: intent #1: INSUFFICIENT_BALANCE: need 5"}}}}},"transaction":{"hash":"T"}}}"#;
        assert_eq!(parse_tx_outcome(failed), Err("intent #1: INSUFFICIENT_BALANCE: need 5".into()));
        let req: Value = serde_json::from_str(&send_tx_request("AAAA")).unwrap();
        let acct = r#"{"jsonrpc":"2.0","id":"x","result":{"amount":"20000000000000000000000000","locked":"0","code_hash":"11111111111111111111111111111111","storage_usage":182,"block_height":5}}"#;
        assert_eq!(parse_account_balance(acct), Ok(20_000_000_000_000_000_000_000_000));
        let k = outpost_protocol::SecretKey::from_seed([5; 32]).public_key();
        let keys = format!(r#"{{"jsonrpc":"2.0","id":"x","result":{{"result":{:?},"logs":[]}}}}"#, format!("[\"{k}\"]").as_bytes());
        assert_eq!(parse_public_keys(&keys), Ok(vec![k]));
        let usdc: AccountId = "usdc.testnet".parse().unwrap();
        let meta = |j: &str| format!(r#"{{"jsonrpc":"2.0","id":"x","result":{{"result":{:?},"logs":[]}}}}"#, j.as_bytes());
        let info = parse_ft_metadata(&meta(r#"{"spec":"ft-1.0.0","name":"USD Coin","symbol":"USDC","decimals":6}"#), &usdc).unwrap();
        assert_eq!((info.symbol.as_str(), info.decimals, info.id.to_string()), ("USDC", 6, "nep141:usdc.testnet".to_owned()));
        assert!(parse_ft_metadata(&meta(r#"{"symbol":"X","decimals":77}"#), &usdc).is_err());
        assert!(parse_ft_metadata(&meta(r#"{"symbol":"X"}"#), &usdc).is_err());
        let odd = parse_ft_metadata(&meta(r#"{"symbol":"\u0007A VERY LONG SYMBOL INDEED","decimals":18}"#), &usdc).unwrap();
        assert_eq!(odd.symbol, "A VERY LONG SYMB");
        assert_eq!(parse_ft_metadata(&meta(r#"{"symbol":"  ","decimals":0}"#), &usdc).unwrap().symbol, "usdc.testnet");
        let ft: Value = serde_json::from_str(&ft_balance_of_request(&"usdc.testnet".parse().unwrap(), &"a.testnet".parse().unwrap())).unwrap();
        assert_eq!((ft["params"]["account_id"].as_str(), ft["params"]["method_name"].as_str()), (Some("usdc.testnet"), Some("ft_balance_of")));
        assert_eq!(req["method"], "send_tx");
    }

    /// A `tx` answer as nearcore writes it: the transaction's own outcome, then one per receipt.
    fn tx_answer(receipts: Value) -> String {
        json!({"jsonrpc":"2.0","id":"x","result":{
            "final_execution_status":"EXECUTED_OPTIMISTIC",
            "status":{"SuccessValue":""},
            "transaction":{"hash":"TXH","signer_id":"relayer.near","receiver_id":"intents.near"},
            "transaction_outcome":{"id":"TXH","outcome":{"logs":[],"receipt_ids":["R1"],"executor_id":"relayer.near","status":{"SuccessReceiptId":"R1"}}},
            "receipts_outcome": receipts}})
        .to_string()
    }

    fn receipt(executor: &str, status: Value, logs: &[&str]) -> Value {
        json!({"id":"R","block_hash":"B","outcome":{"logs":logs,"receipt_ids":[],"gas_burnt":1,"tokens_burnt":"0","executor_id":executor,"status":status}})
    }

    #[test]
    fn executed_events_are_read_only_from_the_contracts_successful_receipts() {
        let event = |h: &[&str]| format!(r#"EVENT_JSON:{{"standard":"outpost","version":"2.1.0","event":"executed","data":{{"by":"relayer.near","att":"0","chg":"-5","h":{}}}}}"#, json!(h));
        let ok = json!({"SuccessValue":"e30="});
        let (e1, e2) = (event(&["H1", "H2"]), event(&["H3"]));
        let deposit = r#"EVENT_JSON:{"standard":"outpost","version":"2.1.0","event":"deposit","data":[{"account_id":"a","token":"near","amount":"1"}]}"#;
        let body = tx_answer(json!([
            receipt("intents.near", ok.clone(), &["a plain log", deposit, &e1]),
            // Anyone can log the same line from their own contract: not evidence.
            receipt("evil.near", ok.clone(), &[&event(&["FORGED"])]),
            // A receipt that failed after logging settled nothing.
            receipt("intents.near", json!({"Failure":{"ActionError":{"index":0}}}), &[&event(&["ROLLED_BACK"])]),
            receipt("intents.near", json!({"SuccessReceiptId":"R9"}), &[&e2]),
        ]));
        assert_eq!(parse_executed_hashes(&body, "intents.near"), Ok(vec!["H1".into(), "H2".into(), "H3".into()]));
        assert_eq!(parse_executed_hashes(&body, "other.near"), Ok(vec![]));
        let bad = tx_answer(json!([receipt("intents.near", ok, &[r#"EVENT_JSON:{"standard":"outpost","event":"executed","data":{}}"#])]));
        assert!(parse_executed_hashes(&bad, "intents.near").unwrap_err().contains("`h`"));
        let unknown = r#"{"jsonrpc":"2.0","id":"x","error":{"name":"HANDLER_ERROR","cause":{"name":"UNKNOWN_TRANSACTION","info":{}},"code":-32000,"message":"Server error","data":"Transaction TXH doesn't exist"}}"#;
        assert!(parse_executed_hashes(unknown, "intents.near").unwrap_err().contains("doesn't exist"));
        let req: Value = serde_json::from_str(&tx_status_request("TXH", "relayer.near", "EXECUTED_OPTIMISTIC")).unwrap();
        assert_eq!((req["method"].as_str(), req["params"]["tx_hash"].as_str(), req["params"]["sender_account_id"].as_str()), (Some("tx"), Some("TXH"), Some("relayer.near")));
    }
}
