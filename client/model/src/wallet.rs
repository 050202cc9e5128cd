//! A NEAR wallet through near-connect (DESIGN.md §5): what the dApp asks a wallet for, in the
//! shapes near-connect takes, and how it checks what comes back before anything is queued. The
//! app hands these JSON texts to a small JS module (`client/app/js/wallet.js`); nothing here
//! touches the browser, so it is tested natively.
//!
//! * sign in: [`parse_accounts`];
//! * sign an intent: [`message_request`] → wallet `signMessage` (NEP-413) → [`signed_from_wallet`];
//! * deposit NEAR or a token, register keys: [`deposit_near`], [`deposit_token`], [`register_keys`]
//!   → wallet `signAndSendTransaction` → [`parse_outcome`].

use crate::words::Problem;
use outpost_protocol::abi::methods;
use outpost_protocol::{verify_signed_intent, AccountId, DalekCrypto, Intent, Nonce, PublicKey, Signature, SignedIntent};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Gas for the ledger's own methods (deposit, add_public_key): each is a few TGas.
pub const LEDGER_CALL_GAS: u64 = 30_000_000_000_000;
/// `ft_transfer_call` runs the token, then the ledger's `ft_on_transfer`, then the resolve.
pub const FT_TRANSFER_CALL_GAS: u64 = 100_000_000_000_000;
/// Attached to each `add_public_key`: covers the key record's storage (about 0.001 NEAR at 10^19
/// yocto per byte); the contract sends back what it does not use.
pub const KEY_REGISTRATION_DEPOSIT: u128 = 10_000_000_000_000_000_000_000; // 0.01 NEAR

/// An account the wallet signed in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletAccount {
    pub account_id: AccountId,
    /// The key the wallet signs with, when it says (near-connect's `publicKey`).
    pub public_key: Option<PublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountJson {
    account_id: String,
    #[serde(default)]
    public_key: Option<String>,
}

/// near-connect's `getAccounts()`/sign-in answer: `[{accountId, publicKey?}]`.
pub fn parse_accounts(json: &str) -> Result<Vec<WalletAccount>, Problem> {
    let raw: Vec<AccountJson> = serde_json::from_slice(json.as_bytes()).map_err(|e| Problem::new(format!("the wallet's account list is not what near-connect returns: {e}")))?;
    raw.into_iter()
        .map(|a| {
            let account_id = a.account_id.parse().map_err(|_| Problem::new(format!("the wallet named an invalid account `{}`", a.account_id)))?;
            let public_key = match a.public_key.filter(|k| !k.is_empty()) {
                Some(k) => Some(k.parse().map_err(|_| Problem::new(format!("the wallet's key `{k}` is not an ed25519 key")))?),
                None => None,
            };
            Ok(WalletAccount { account_id, public_key })
        })
        .collect()
}

/// What the wallet's `signMessage` is asked to sign (NEP-413): the intent's JSON, a fresh nonce
/// whose expiry is the intent's deadline (v2), and the intents contract as recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRequest {
    pub message: String,
    pub nonce: Nonce,
    pub recipient: String,
}

impl MessageRequest {
    /// The parameters as near-connect takes them, nonce in base64 (the JS side makes the bytes).
    pub fn to_json(&self) -> String {
        json!({ "message": self.message, "nonce": self.nonce.to_string(), "recipient": self.recipient }).to_string()
    }
}

pub fn message_request(intent: &Intent, recipient: &str) -> Result<MessageRequest, Problem> {
    Ok(MessageRequest { message: intent.to_message(), nonce: crate::compose::fresh_nonce(intent)?, recipient: recipient.to_owned() })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedMessageJson {
    account_id: String,
    public_key: String,
    signature: String,
}

/// The signed intent from the wallet's answer (`{accountId, publicKey, signature}`, the signature
/// in base64 as wallets return it). Refused unless the wallet signed as `expected` and the
/// signature verifies under the same rules the contract applies, so a wrong account or a bad
/// signature never reaches the queue.
pub fn signed_from_wallet(req: &MessageRequest, answer: &str, expected: &AccountId, now_ns: u64) -> Result<SignedIntent, Problem> {
    let a: SignedMessageJson = serde_json::from_slice(answer.as_bytes()).map_err(|e| Problem::new(format!("the wallet's answer is not a signed message: {e}")))?;
    if a.account_id != expected.as_str() {
        return Err(Problem::new(format!("the wallet signed as {} instead of {expected}: nothing was queued", a.account_id)));
    }
    let public_key: PublicKey = a.public_key.parse().map_err(|_| Problem::new(format!("the wallet's key `{}` is not an ed25519 key", a.public_key)))?;
    let signature: Signature = a.signature.parse().map_err(|e| Problem::new(format!("the wallet's signature is unreadable: {e}")))?;
    let signed = SignedIntent {
        message: req.message.clone(),
        nonce: req.nonce,
        recipient: req.recipient.clone(),
        callback_url: None,
        public_key,
        signature,
    };
    verify_signed_intent(&DalekCrypto, &signed, &req.recipient, now_ns).map_err(|e| Problem::new(format!("the wallet's signature does not verify: {e}")))?;
    Ok(signed)
}

/// Whether `key` can sign intents for `account` in the ledger: an implicit account's own key
/// always; any other key once registered (`public_keys_of`).
pub fn key_signs_for(account: &AccountId, key: &PublicKey, registered: &[PublicKey]) -> bool {
    PublicKey::of_implicit_account(account) == Some(*key) || registered.contains(key)
}

/// A transaction for the wallet's `signAndSendTransaction`, in near-connect's (wallet-selector)
/// action format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletTx {
    pub receiver_id: String,
    pub actions: Vec<WalletAction>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "params")]
pub enum WalletAction {
    FunctionCall(FunctionCallParams),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallParams {
    pub method_name: String,
    pub args: Value,
    /// Decimal strings: wallets read u64 gas and u128 yocto from text.
    pub gas: String,
    pub deposit: String,
}

impl WalletTx {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain JSON")
    }
}

fn call(method: &str, args: Value, gas: u64, deposit: u128) -> WalletAction {
    WalletAction::FunctionCall(FunctionCallParams { method_name: method.into(), args, gas: gas.to_string(), deposit: deposit.to_string() })
}

/// `deposit()` on the ledger with `amount` yoctoNEAR attached: credited to the signer (less the
/// storage of a first NEAR record, which the contract refuses to take from a deposit that does not
/// exceed it).
pub fn deposit_near(intents_contract: &str, amount: u128) -> Result<WalletTx, Problem> {
    if amount == 0 {
        return Err(Problem::new("enter an amount to deposit"));
    }
    Ok(WalletTx { receiver_id: intents_contract.into(), actions: vec![call(methods::DEPOSIT, json!({}), LEDGER_CALL_GAS, amount)] })
}

/// NEP-141 `ft_transfer_call` of `amount` to the ledger, which credits the sender in
/// `ft_on_transfer` (empty `msg`). 1 yoctoNEAR attached, as NEP-141 requires.
pub fn deposit_token(token_contract: &AccountId, intents_contract: &str, amount: u128) -> Result<WalletTx, Problem> {
    if amount == 0 {
        return Err(Problem::new("enter an amount to deposit"));
    }
    let args = json!({ "receiver_id": intents_contract, "amount": amount.to_string(), "msg": "" });
    Ok(WalletTx { receiver_id: token_contract.to_string(), actions: vec![call("ft_transfer_call", args, FT_TRANSFER_CALL_GAS, 1)] })
}

/// `add_public_key` on the ledger for each key, in one transaction the wallet's account signs:
/// from then on those keys sign intents for that account (this device's key offline).
pub fn register_keys(intents_contract: &str, keys: &[PublicKey]) -> Result<WalletTx, Problem> {
    if keys.is_empty() {
        return Err(Problem::new("every key is registered already"));
    }
    let actions = keys.iter().map(|k| call(methods::ADD_PUBLIC_KEY, json!({ "public_key": k }), LEDGER_CALL_GAS, KEY_REGISTRATION_DEPOSIT)).collect();
    Ok(WalletTx { receiver_id: intents_contract.into(), actions })
}

/// `execute_intents` with the wallet's account as submitter (it pays the gas), attaching
/// `deposit`: what `simulate_intents` reported as the caller's charge (credited to its ledger NEAR,
/// which pays the storage the batch adds).
pub fn execute_intents(intents_contract: &str, signed: &[SignedIntent], deposit: u128) -> WalletTx {
    let args = json!({ "signed": signed });
    WalletTx { receiver_id: intents_contract.into(), actions: vec![call(methods::EXECUTE_INTENTS, args, crate::tx::EXECUTE_GAS, deposit)] }
}

/// The wallet's `signAndSendTransaction` answer (a final execution outcome): the transaction hash
/// when it succeeded, the failure in words otherwise. Wallets answer `null` or nothing when they
/// do not wait for the outcome: then the caller checks the chain itself.
pub fn parse_outcome(json: &str) -> Result<Option<String>, Problem> {
    let v: Value = serde_json::from_slice(json.as_bytes()).map_err(|_| Problem::new("the wallet's answer is not JSON"))?;
    if v.is_null() {
        return Ok(None);
    }
    crate::rpc::outcome(&v).map(Some).map_err(Problem::new)
}

/// Wallets answer once their transaction ran (near-api-js waits for `EXECUTED_OPTIMISTIC`), but the
/// page reads the chain at `final`, a block or two behind. This is the `tx` request that waits until
/// the transaction an answer names (its hash and signer) and all its receipts are final, or `None`
/// when the answer names none (a wallet that answered `null`).
pub fn finality_request(outcome_json: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(outcome_json.as_bytes()).ok()?;
    let hash = v.pointer("/transaction/hash")?.as_str()?;
    let signer = v.pointer("/transaction/signer_id")?.as_str()?;
    Some(crate::rpc::tx_status_request(hash, signer, "FINAL"))
}

/// Whether a `tx` answer says the transaction and all its receipts are in final blocks (an error,
/// such as the node's timeout while it waits, is "not yet").
pub fn is_final(tx_answer: &str) -> bool {
    serde_json::from_slice::<Value>(tx_answer.as_bytes())
        .ok()
        .is_some_and(|v| v.get("error").is_none() && v.pointer("/result/final_execution_status").and_then(Value::as_str) == Some("FINAL"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::Draft;
    use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
    use outpost_protocol::SecretKey;

    const NOW_NS: u64 = 1_800_000_000_000_000_000;

    fn intent(signer: &AccountId) -> Intent {
        let draft = Draft { amount: "1.5".into(), receiver: "bob.testnet".into(), ..Draft::default() };
        draft.build(signer, NOW_NS, &|_: &outpost_protocol::TokenId| 24u8).unwrap()
    }

    /// What a NEP-413 wallet does with the request: sign the payload, base64 the signature.
    fn wallet_answer(key: &SecretKey, account: &str, req: &MessageRequest) -> String {
        let s = key.sign_message(req.message.clone(), req.nonce, &req.recipient, None);
        json!({ "accountId": account, "publicKey": key.public_key().to_string(), "signature": B64.encode(s.signature.0) }).to_string()
    }

    #[test]
    fn a_wallet_signed_message_becomes_a_valid_signed_intent() {
        let key = SecretKey::from_seed([7; 32]);
        let alice: AccountId = "alice.testnet".parse().unwrap();
        let req = message_request(&intent(&alice), "intents.testnet").unwrap();
        assert_eq!(req.nonce.expiry_ns(), intent(&alice).deadline.0, "the nonce expires with the intent (v2)");
        let params: Value = serde_json::from_str(&req.to_json()).unwrap();
        assert_eq!(B64.decode(params["nonce"].as_str().unwrap()).unwrap().len(), 32);
        let signed = signed_from_wallet(&req, &wallet_answer(&key, "alice.testnet", &req), &alice, NOW_NS).unwrap();
        assert_eq!(signed.public_key, key.public_key());
        verify_signed_intent(&DalekCrypto, &signed, "intents.testnet", NOW_NS).unwrap();
        // Two requests never share a nonce.
        assert_ne!(message_request(&intent(&alice), "intents.testnet").unwrap().nonce, req.nonce);
    }

    #[test]
    fn a_wrong_account_or_a_bad_signature_is_refused() {
        let key = SecretKey::from_seed([7; 32]);
        let alice: AccountId = "alice.testnet".parse().unwrap();
        let req = message_request(&intent(&alice), "intents.testnet").unwrap();
        let e = signed_from_wallet(&req, &wallet_answer(&key, "mallory.testnet", &req), &alice, NOW_NS).unwrap_err();
        assert!(e.0.contains("signed as mallory.testnet"), "{e:?}");
        // The wallet signed something else (another message).
        let mut other = req.clone();
        other.message = other.message.replace("bob.testnet", "eve.testnet");
        let e = signed_from_wallet(&req, &wallet_answer(&key, "alice.testnet", &other), &alice, NOW_NS).unwrap_err();
        assert!(e.0.contains("does not verify"), "{e:?}");
        // Past the deadline: the same rules as the contract's.
        assert!(signed_from_wallet(&req, &wallet_answer(&key, "alice.testnet", &req), &alice, u64::MAX - 1).is_err());
        for junk in ["", "null", "{}", r#"{"accountId":"alice.testnet","publicKey":"ed25519:xx","signature":"AA=="}"#] {
            assert!(signed_from_wallet(&req, junk, &alice, NOW_NS).is_err(), "{junk}");
        }
    }

    #[test]
    fn accounts_and_which_keys_sign_for_them() {
        let key = SecretKey::from_seed([3; 32]).public_key();
        let list = parse_accounts(&format!(r#"[{{"accountId":"alice.testnet","publicKey":"{key}"}},{{"accountId":"bob.testnet"}}]"#)).unwrap();
        assert_eq!(list[0], WalletAccount { account_id: "alice.testnet".parse().unwrap(), public_key: Some(key) });
        assert_eq!(list[1].public_key, None);
        assert!(parse_accounts(r#"[{"accountId":"Not Valid"}]"#).is_err());
        assert!(parse_accounts("{}").is_err());
        let alice: AccountId = "alice.testnet".parse().unwrap();
        assert!(!key_signs_for(&alice, &key, &[]));
        assert!(key_signs_for(&alice, &key, &[key]));
        assert!(key_signs_for(&key.implicit_account_id(), &key, &[]), "an implicit account's own key needs no registration");
    }

    #[test]
    fn transactions_in_near_connects_format() {
        let tx: Value = serde_json::from_str(&deposit_near("intents.testnet", 2_000_000_000_000_000_000_000_000).unwrap().to_json()).unwrap();
        assert_eq!(
            tx,
            json!({"receiverId":"intents.testnet","actions":[{"type":"FunctionCall","params":{"methodName":"deposit","args":{},"gas":"30000000000000","deposit":"2000000000000000000000000"}}]})
        );
        assert!(deposit_near("intents.testnet", 0).is_err());
        let token: AccountId = "usdc.testnet".parse().unwrap();
        let tx: Value = serde_json::from_str(&deposit_token(&token, "intents.testnet", 5).unwrap().to_json()).unwrap();
        assert_eq!(tx["receiverId"], "usdc.testnet");
        assert_eq!(tx["actions"][0]["params"]["args"], json!({"receiver_id":"intents.testnet","amount":"5","msg":""}));
        assert_eq!(tx["actions"][0]["params"]["deposit"], "1");
        let (k1, k2) = (SecretKey::from_seed([1; 32]).public_key(), SecretKey::from_seed([2; 32]).public_key());
        let tx: Value = serde_json::from_str(&register_keys("intents.testnet", &[k1, k2]).unwrap().to_json()).unwrap();
        assert_eq!(tx["actions"].as_array().unwrap().len(), 2);
        assert_eq!(tx["actions"][1]["params"]["methodName"], "add_public_key");
        assert_eq!(tx["actions"][1]["params"]["args"], json!({"public_key": k2.to_string()}));
        assert!(register_keys("intents.testnet", &[]).is_err());
        let signed = crate::testutil::signed_transfer(1);
        let tx: Value = serde_json::from_str(&execute_intents("intents.testnet", std::slice::from_ref(&signed), 1000).to_json()).unwrap();
        let p = &tx["actions"][0]["params"];
        assert_eq!((p["methodName"].as_str(), p["gas"].as_str(), p["deposit"].as_str()), (Some("execute_intents"), Some("300000000000000"), Some("1000")));
        assert_eq!(p["args"]["signed"][0], serde_json::to_value(&signed).unwrap(), "the signed intent verbatim");
    }

    #[test]
    fn outcomes() {
        assert_eq!(parse_outcome("null").unwrap(), None);
        assert_eq!(parse_outcome(r#"{"status":{"SuccessValue":""},"transaction":{"hash":"H"}}"#).unwrap(), Some("H".into()));
        let failed = r#"{"status":{"Failure":{"ActionError":{"kind":{"FunctionCallError":{"ExecutionError":"Smart contract panicked: DEPOSIT_REQUIRED: attach at least 1 yoctoNEAR"}}}}},"transaction":{"hash":"T"}}"#;
        assert!(parse_outcome(failed).unwrap_err().0.contains("DEPOSIT_REQUIRED"));
        assert!(parse_outcome("not json").is_err());
    }

    #[test]
    fn the_page_waits_for_a_wallet_transaction_to_be_final() {
        let answer = r#"{"final_execution_status":"EXECUTED_OPTIMISTIC","status":{"SuccessValue":""},"transaction":{"hash":"H1","signer_id":"carol.test.near"}}"#;
        let req: Value = serde_json::from_str(&finality_request(answer).unwrap()).unwrap();
        assert_eq!(req["method"], "tx");
        assert_eq!(req["params"], json!({"tx_hash": "H1", "sender_account_id": "carol.test.near", "wait_until": "FINAL"}));
        assert_eq!(finality_request("null"), None);
        assert_eq!(finality_request(r#"{"status":{"SuccessValue":""},"transaction":{"hash":"H"}}"#), None, "no signer: nothing to ask");
        assert!(is_final(r#"{"jsonrpc":"2.0","id":"outpost","result":{"final_execution_status":"FINAL","status":{"SuccessValue":""}}}"#));
        assert!(!is_final(r#"{"jsonrpc":"2.0","id":"outpost","result":{"final_execution_status":"EXECUTED_OPTIMISTIC"}}"#));
        assert!(!is_final(r#"{"jsonrpc":"2.0","id":"outpost","error":{"name":"HANDLER_ERROR","cause":{"name":"TIMEOUT_ERROR"}}}"#));
        assert!(!is_final("not json"));
    }
}
